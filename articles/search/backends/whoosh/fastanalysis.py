"""The project's analyzer chain as one plain loop, for indexing: the same terms and positions.

Whoosh runs a text through a tokenizer and four filters as generators, passing one mutable
``Token`` object down the chain per word, and ``formats.Positions`` then collects the
positions per term: about 75% of stock indexing time here. A word's term is a pure function of
the word as the tokenizer found it (lower-case, fold accents, drop it when too short or a stop
word, stem), so this module computes it once per distinct word and keeps it in a dict; a text
then costs a regex ``findall`` and one dict lookup per word. The writer groups those
occurrences into postings for a whole segment at once, and ``encode_position_runs`` encodes
every posting's positions as ``Positions.encode`` does, in one NumPy buffer.

``FastAnalysis.for_analyzer`` reads every parameter (the token pattern, the character map, the
stop list and sizes, the stemmer) from the analyzer object itself and returns None for any
chain of another shape, so a schema change can never make it disagree with Whoosh silently:
the writer then falls back to the field's own ``index()``. The property test in
``test_fast_indexing.py`` checks it against Whoosh's analyzer on random text, and the encoded
positions against ``Positions.encode``.

Django-free: index sub-writers started with ``spawn`` import it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pickle import dumps
from typing import Any

import numpy as np
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
#: ``formats.Positions.encode`` pickles position deltas with protocol 2 (the posting blocks
#: around them use the codec's protocol; these bytes are the values inside).
POSITIONS_PICKLE_PROTOCOL = 2

#: ``pickle`` writes a list's items in batches of this many (``Pickler._BATCHSIZE``): longer
#: position lists than that are encoded by ``pickle`` itself, not by ``encode_position_runs``.
PICKLE_BATCH = 1000

_STOPPED = None  # the cache's value for a word that gives no term
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

    def occurrences(self, text: str) -> tuple[list[bytes], Iterable[int]]:
        """The terms of ``text`` in order, one per kept word, and their positions.

        Positions follow ``StopFilter(renumber=True)``: the first kept word keeps its place
        among all words, each later kept word is one more (stop words leave no gaps after the
        first kept word). Occurrences are not grouped by term here: ``FieldPostings`` groups a
        whole segment's at once with NumPy, which is cheaper than a dict of lists per text."""
        terms = list(map(self._terms.__getitem__, self.words(text)))
        kept = [term for term in terms if term is not _STOPPED]
        if not kept:
            return kept, ()
        if self._renumber:
            first = terms.index(kept[0])  # the first kept word's place among all words
            return kept, range(first, first + len(kept))
        return kept, [index for index, term in enumerate(terms) if term is not _STOPPED]

    def term_positions(self, text: str) -> dict[bytes, list[int]]:
        """Each term of ``text`` with its positions, in order of first occurrence (what
        ``Positions`` collects from the analyzer: the oracle the tests compare with)."""
        positions: dict[bytes, list[int]] = {}
        for term, position in zip(*self.occurrences(text), strict=True):
            positions.setdefault(term, []).append(position)
        return positions

    @staticmethod
    def encode_positions(positions: list[int]) -> bytes:
        """``formats.Positions.encode``: the count, then the pickled position deltas."""
        return encode_position_runs(np.array([len(positions)]), np.array(positions))[0]


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


def _encode_many(positions: list[int]) -> bytes:
    deltas = [b - a for a, b in zip([0, *positions], positions, strict=False)]
    return pack_uint(len(deltas)) + dumps(deltas, POSITIONS_PICKLE_PROTOCOL)


def encode_position_runs(counts: np.ndarray, positions: np.ndarray) -> list[bytes]:
    """``formats.Positions.encode`` of many postings at once: ``positions`` holds each
    posting's positions in turn (``counts[i]`` of them, increasing).

    The bytes are built in one NumPy buffer, as ``pickle`` (protocol 2) lays out a list of
    small integers: the count (``pack_uint``), ``PROTO 2``, ``EMPTY_LIST``, ``BINPUT 0``, then
    one item and ``APPEND``, or ``MARK``, the items and ``APPENDS``; then ``STOP``. An item is
    ``BININT1`` (below 256), ``BININT2`` (below 65,536) or ``BININT``. Per posting this costs
    a slice of the buffer instead of a list, its deltas and a ``pickle`` call. Postings that
    ``pickle`` lays out otherwise (over ``PICKLE_BATCH`` positions, or one past 2**31 - 1) are
    encoded by it."""
    counts = np.asarray(counts, dtype=np.int64)
    if not len(counts):
        return []
    positions = np.asarray(positions, dtype=np.int64)
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    deltas = np.diff(positions, prepend=0)
    deltas[starts] = positions[starts]  # each posting's first delta is its first position
    item_size = np.where(deltas < 256, 2, np.where(deltas < 65536, 3, 5))
    # per posting: count (4), PROTO 2, EMPTY_LIST, BINPUT 0 (5), MARK if several, STOP
    overhead = 4 + 5 + np.where(counts > 1, 1, 0) + 1 + 1
    item_total = np.add.reduceat(item_size, starts)
    sizes = overhead + item_total
    ends = np.cumsum(sizes)
    begins = ends - sizes
    buffer = np.zeros(int(ends[-1]), dtype=np.uint8)
    buffer[begins[:, None] + np.arange(4)] = counts.astype(">u4").view(np.uint8).reshape(-1, 4)
    buffer[begins[:, None] + np.arange(4, 9)] = np.frombuffer(b"\x80\x02]q\x00", np.uint8)
    several = counts > 1
    buffer[begins[several] + 9] = ord("(")
    items_begin = begins + 9 + several
    # each item's offset: its posting's first item, plus the sizes of the items before it
    within = np.cumsum(item_size) - item_size
    offsets = np.repeat(items_begin - within[starts], counts) + within
    for size, opcode in ((2, b"K"), (3, b"M"), (5, b"J")):
        chosen = item_size == size
        at = offsets[chosen]
        buffer[at] = opcode[0]
        value = deltas[chosen]
        for byte in range(size - 1):
            buffer[at + 1 + byte] = (value >> (8 * byte)) & 0xFF
    buffer[ends - 2] = np.where(several, ord("e"), ord("a"))
    buffer[ends - 1] = ord(".")
    blob = buffer.tobytes()
    values = [blob[begin:end] for begin, end in zip(begins.tolist(), ends.tolist(), strict=True)]
    # long lists and positions past BININT's range: the few postings pickle lays out otherwise
    unusual = (counts > PICKLE_BATCH) | (np.maximum.reduceat(deltas, starts) > 0x7FFFFFFF)
    for index in np.flatnonzero(unusual).tolist():
        first = int(starts[index])
        values[index] = _encode_many(positions[first : first + counts[index]].tolist())
    return values


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
