"""The project's analyzer chain as one plain loop, for indexing: the same terms and positions.

Whoosh runs a text through a tokenizer and four filters as generators, passing one mutable
``Token`` object down the chain per word, and ``formats.Positions`` then collects the
positions per term: about 75% of stock indexing time here. A word's term is a pure function of
the word as the tokenizer found it (lower-case, fold accents, drop it when too short or a stop
word, stem), so this module computes it once per distinct word and keeps it in a dict; a text
then costs a regex ``findall`` and one dict lookup per word.

``FastAnalysis.for_analyzer`` reads every parameter (the token pattern, the character map, the
stop list and sizes, the stemmer) from the analyzer object itself and returns None for any
chain of another shape, so a schema change can never make it disagree with Whoosh silently:
the writer then falls back to the field's own ``index()``. The property test in
``test_fast_indexing.py`` checks it against Whoosh's analyzer on random text.

Django-free: index sub-writers started with ``spawn`` import it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pickle import dumps
from typing import Any

from whoosh.analysis import (
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.analysis.tokenizers import default_pattern
from whoosh.system import pack_uint

#: Distinct words remembered per process; the cache is emptied when it grows past this (a
#: corpus full of numbers and names must not grow it without bound).
TERM_CACHE_WORDS = 200_000
#: How many positions' values of single-occurrence terms are kept ready.
SINGLE_POSITION_CACHE = 4096
#: ``formats.Positions.encode`` pickles position deltas with protocol 2 (the posting blocks
#: around them use the codec's protocol; these bytes are the values inside).
POSITIONS_PICKLE_PROTOCOL = 2

_STOPPED = None  # the cache's value for a word that gives no term
_ONE = pack_uint(1)
_SHARED: dict[tuple, FastAnalysis] = {}


class FastAnalysis:
    """Terms and positions of a text, exactly as the analyzer and ``Positions`` give them."""

    def __init__(
        self,
        pattern: re.Pattern[str],
        charmap: dict,
        stops: frozenset[str],
        minsize: int,
        maxsize: int | None,
        renumber: bool,
        stem: Callable[[str], str],
        ignore: frozenset[str],
    ) -> None:
        self._findall, self._lower_ascii_first = _word_finder(pattern)
        self._charmap = charmap
        self._stops = stops
        self._minsize = minsize
        self._maxsize = maxsize
        self._renumber = renumber
        self._stem = stem
        self._ignore = ignore
        self._terms = _TermCache(self._new_term)
        self._single = _SinglePositions()

    @classmethod
    def for_analyzer(cls, analyzer: Any) -> FastAnalysis | None:
        """The fast path for ``analyzer``, or None when its chain is not the one this mirrors:
        ``RegexTokenizer | LowercaseFilter | CharsetFilter | StopFilter | StemFilter``."""
        if not isinstance(analyzer, CompositeAnalyzer):
            return None
        shape = (RegexTokenizer, LowercaseFilter, CharsetFilter, StopFilter, StemFilter)
        items = list(analyzer.items)
        if len(items) != len(shape) or any(
            type(item) is not kind for item, kind in zip(items, shape, strict=True)
        ):
            return None
        tokenizer, _, charset, stop, stemmer = items
        if tokenizer.gaps or stemmer.lang:
            return None
        parameters = {
            "pattern": tokenizer.expression,
            "charmap": charset.charmap,
            "stops": stop.stops,
            "minsize": stop.min,
            "maxsize": stop.max,
            "renumber": stop.renumber,
            "stem": stemmer.stemfn,
            "ignore": stemmer.ignore,
        }
        # Each writer reads its schema afresh, so equal analyzers are new objects: one
        # instance (and one word cache) per distinct chain serves every writer of the process.
        key = tuple(
            tuple(sorted(value.items())) if isinstance(value, dict) else value
            for value in parameters.values()
        )
        shared = _SHARED.get(key)
        if shared is None:
            shared = _SHARED[key] = cls(**parameters)
        return shared

    def term_of(self, word: str) -> bytes | None:
        """The UTF-8 term a word of the tokenizer's output becomes, None when it is stopped."""
        return self._terms[word]

    def _new_term(self, word: str) -> bytes | None:
        text = word.lower().translate(self._charmap)
        size = len(text)
        if (
            size < self._minsize
            or (self._maxsize is not None and size > self._maxsize)
            or text in self._stops
        ):
            return _STOPPED
        return (text if text in self._ignore else self._stem(text)).encode("utf-8")

    def words(self, text: str) -> list[str]:
        """The tokenizer's words. ASCII text is lower-cased first (the same words, and more cache
        hits); other text is not, since lower-casing can change what the pattern splits."""
        if self._lower_ascii_first and text.isascii():
            text = text.lower()
        return self._findall(text)

    def term_positions(self, text: str) -> dict[bytes, list[int]]:
        """Each term of ``text`` with its positions, in order of first occurrence.

        Positions follow ``StopFilter(renumber=True)``: the first kept word keeps its place among
        all words, each later kept word is one more (stop words leave no gaps after the first
        kept word)."""
        terms = list(map(self._terms.__getitem__, self.words(text)))
        positions: dict[bytes, list[int]] = {}
        position = -1
        for index, term in enumerate(terms):
            if term is _STOPPED:
                continue
            if position < 0 or not self._renumber:
                position = index
            else:
                position += 1
            found = positions.get(term)
            if found is None:
                positions[term] = [position]
            else:
                found.append(position)
        return positions

    def encode_positions(self, positions: list[int]) -> bytes:
        """``formats.Positions.encode``: the count, then the pickled position deltas."""
        return self.encode_all([positions])[0]

    def encode_all(self, position_lists: Iterable[list[int]]) -> list[bytes]:
        """``encode_positions`` of each list, in one pass.

        Each value is a new bytes object: a block pickles its values as a tuple, and pickle
        would store a value shared by two postings once, which is not the stock layout."""
        single = self._single
        return [
            _ONE + single[positions[0]] if len(positions) == 1 else _encode_many(positions)
            for positions in position_lists
        ]


class _TermCache(dict):
    """Word -> term (None for a stopped word), computed on first use; emptied when full."""

    def __init__(self, compute: Callable[[str], bytes | None]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, word: str) -> bytes | None:
        if len(self) >= TERM_CACHE_WORDS:
            self.clear()
        term = self[word] = self.compute(word)
        return term


class _SinglePositions(dict):
    """Position -> the pickled one-element list of deltas, made on first use."""

    def __missing__(self, position: int) -> bytes:
        pickled = dumps([position], POSITIONS_PICKLE_PROTOCOL)
        if len(self) < SINGLE_POSITION_CACHE:
            self[position] = pickled
        return pickled


def _encode_many(positions: list[int]) -> bytes:
    deltas = [b - a for a, b in zip([0, *positions], positions, strict=False)]
    return pack_uint(len(deltas)) + dumps(deltas, POSITIONS_PICKLE_PROTOCOL)


def learned_words() -> list[tuple[tuple, dict]]:
    """Every fast analysis's word cache in this process, to hand to another process."""
    return [(key, dict(analysis._terms)) for key, analysis in _SHARED.items()]


def learn_words(learned: list[tuple[tuple, dict]]) -> None:
    """Add word caches from another process (an index sub-writer) to this one's, so that the
    sub-writers it starts next (forked, with a copy of its memory) begin warm: stemming a
    word the first time costs about ten times its lookup afterwards."""
    for key, words in learned:
        analysis = _SHARED.get(key)
        if analysis is not None and len(analysis._terms) + len(words) <= TERM_CACHE_WORDS:
            analysis._terms.update(words)


def _word_finder(pattern: re.Pattern[str]) -> tuple[Callable[[str], list[str]], bool]:
    """A ``findall`` giving the tokenizer's words (``match.group(0)``), and whether ASCII text
    may be lower-cased before it (true for Whoosh's default pattern, which is case-blind)."""
    if pattern.pattern == default_pattern.pattern and pattern.flags == default_pattern.flags:
        return _DEFAULT_WORDS.findall, True
    return (lambda text: [match.group(0) for match in pattern.finditer(text)]), False


#: Whoosh's default token pattern with its group made non-capturing, so that ``findall`` (a
#: C loop) returns whole matches.
_DEFAULT_WORDS = re.compile(default_pattern.pattern.replace("(", "(?:"), default_pattern.flags)
