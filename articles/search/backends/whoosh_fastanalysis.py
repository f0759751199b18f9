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
from collections.abc import Callable
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
TERM_CACHE_WORDS = 500_000
#: Positions values of single-occurrence terms are cached up to this position.
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
        self._terms: dict[str, bytes | None] = {}
        self._single: dict[int, bytes] = {}

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
        found = self._terms.get(word, False)
        if found is not False:
            return found
        text = word.lower().translate(self._charmap)
        size = len(text)
        if (
            size < self._minsize
            or (self._maxsize is not None and size > self._maxsize)
            or text in self._stops
        ):
            term = _STOPPED
        else:
            term = (text if text in self._ignore else self._stem(text)).encode("utf-8")
        if len(self._terms) >= TERM_CACHE_WORDS:
            self._terms.clear()
        self._terms[word] = term
        return term

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
        terms_get = self._terms.get
        term_of = self.term_of
        terms = [
            term if (term := terms_get(word, False)) is not False else term_of(word)
            for word in self.words(text)
        ]
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
        """``formats.Positions.encode``: the count, then the pickled position deltas.

        Always a new bytes object: a block pickles its values as a tuple, and pickle would
        store a value shared by two postings once, which is not the stock writer's layout."""
        if len(positions) == 1:
            position = positions[0]
            pickled = self._single.get(position)
            if pickled is None:
                pickled = dumps([position], POSITIONS_PICKLE_PROTOCOL)
                if position < SINGLE_POSITION_CACHE:
                    self._single[position] = pickled
            return _ONE + pickled
        deltas = [b - a for a, b in zip([0, *positions], positions, strict=False)]
        return pack_uint(len(deltas)) + dumps(deltas, POSITIONS_PICKLE_PROTOCOL)


def _word_finder(pattern: re.Pattern[str]) -> tuple[Callable[[str], list[str]], bool]:
    """A ``findall`` giving the tokenizer's words (``match.group(0)``), and whether ASCII text
    may be lower-cased before it (true for Whoosh's default pattern, which is case-blind)."""
    if pattern.pattern == default_pattern.pattern and pattern.flags == default_pattern.flags:
        return _DEFAULT_WORDS.findall, True
    return (lambda text: [match.group(0) for match in pattern.finditer(text)]), False


#: Whoosh's default token pattern with its group made non-capturing, so that ``findall`` (a
#: C loop) returns whole matches.
_DEFAULT_WORDS = re.compile(default_pattern.pattern.replace("(", "(?:"), default_pattern.flags)
