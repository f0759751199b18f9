"""How best-match order is scored: BM25F's parameters and pseudo-relevance feedback.

Every value here was chosen by measurement on a judged query set (``python -m bench
relevance``, see ``bench/relevance.py``), from a plateau of good values rather than its single
best point, and none is about any particular word.

- BM25F: a word's occurrences in the title and in the body are added up first (the title's
  counting ``title_weight`` times, each field normalised by its own length) and saturated once,
  so a word in both fields does not score twice its idf.
- Feedback (RM3): the best ``feedback_docs`` matches of the query are read, their words
  weighted by how much of each of those articles they make up and by the article's score, and
  the ``feedback_terms`` strongest words that are not too common re-score every match. The
  match set never changes (every word typed is still required): feedback only re-orders it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .schema import analyze


@dataclass(frozen=True)
class Ranking:
    """The scoring parameters of best-match order."""

    #: BM25 term-frequency saturation.
    k1: float = 1.2
    #: Length normalisation per field (0: none, 1: full).
    title_b: float = 0.6
    body_b: float = 0.3
    #: How many body occurrences one title occurrence is worth.
    title_weight: float = 3.0
    #: Pseudo-relevance feedback: the top matches read, the words added (0: no feedback), and
    #: the added words' share of the score.
    feedback_docs: int = 10
    feedback_terms: int = 10
    feedback_weight: float = 0.0
    #: Words in more than this share of the archive say nothing about a topic.
    feedback_max_df: float = 0.1
    #: A word must be in at least this many of the top matches: one article's names and
    #: oddities are not the topic's.
    feedback_min_docs: int = 2


#: The ranking searches use.
RANKING = Ranking()

#: Characters of an article's body that feedback reads: news puts the topic first, and the
#: bound keeps feedback's cost the same whatever the articles' length.
FEEDBACK_CHARS = 2000

#: The article ids -> "title\nbody" texts of feedback documents (the backend reads them).
TextSource = Callable[[Sequence[int]], list[str]]


def feedback_words(
    texts: Sequence[str],
    scores: Sequence[float],
    query_terms: set[str],
    document_frequency: Callable[[str], int],
    live_count: int,
    ranking: Ranking,
) -> dict[str, float]:
    """RM3's relevance model: the words of the top documents weighted by P(w | d) times the
    document's share of the top scores, without the query's own words and words too common
    (or too rare: in one article only) to mark a topic; the strongest few, summing to 1."""
    total = sum(scores) or 1.0
    model: Counter[str] = Counter()
    seen_in: Counter[str] = Counter()
    for text, score in zip(texts, scores, strict=True):
        words = analyze(text)
        if not words:
            continue
        share = score / total / len(words)
        counts = Counter(words)
        seen_in.update(counts.keys())
        for word, count in counts.items():
            model[word] += count * share
    limit = ranking.feedback_max_df * live_count
    chosen: dict[str, float] = {}
    for word, weight in model.most_common():
        if word in query_terms or seen_in[word] < ranking.feedback_min_docs:
            continue
        if any(ch.isdigit() for ch in word):  # figures and dates mark no topic
            continue
        df = document_frequency(word)
        if df < 2 or df > limit:
            continue
        chosen[word] = weight * math.log(live_count / df)
        if len(chosen) >= ranking.feedback_terms * 3:
            break
    best = sorted(chosen.items(), key=lambda kv: -kv[1])[: ranking.feedback_terms]
    norm = sum(w for _, w in best) or 1.0
    return {word: w / norm for word, w in best}
