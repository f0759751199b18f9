"""How best-match order is scored: BM25F and its parameters.

BM25F: a word's occurrences in the title and in the body are added up first, the title's
counting ``title_weight`` times and each field's count divided by its own length
normalisation (``1 - b + b * length / average length``), and the sum is saturated once
(``tf * (k1 + 1) / (tf + k1)``) and weighted by one idf. Summing two separate BM25 scores, as
the index did before, lets a word in both fields score almost twice its idf, so a short title
that repeats a common word outranked the article about it.

The values were chosen by measurement on a judged query set (``python -m bench relevance
--sweep``, see ``bench/relevance.py``), from the middle of a plateau of good values rather
than its single best point, and no rule is about any particular word. Body length is only
lightly normalised (``body_b``): a long report that keeps naming its topic is more often
about it than a brief note that mentions it once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ranking:
    """The scoring parameters of best-match order."""

    #: Term-frequency saturation (for one-word queries it changes no order).
    k1: float = 1.2
    #: Length normalisation per field (0: none, 1: full).
    title_b: float = 0.6
    body_b: float = 0.3
    #: How many body occurrences one title occurrence is worth.
    title_weight: float = 3.0


#: The ranking searches use.
RANKING = Ranking()
