"""The Whoosh backend: schema, writing with lock retry, and a NumPy fast path for searching.

Why not ``searcher.search(q, groupedby=[...])``? Whoosh walks posting lists one document at a
time in Python, and grouping walks the match set again: at 30,000 articles that measured
230 ms median and 420 ms p95 per query here, against 1 ms and 29 ms for this path.

Per open searcher (a ``Snapshot``) we keep NumPy arrays of each document's article id, source
and section ordinal, publication day, timestamps and field lengths, read once per segment
straight from Whoosh's column files. Posting lists are read block by block into arrays,
decoding only the ids and weights at the head of each block, and cached per segment (segments
never change, so caches survive refreshes after writes). A query tree is evaluated with dense
boolean masks, scored with BM25 in one vectorised pass, facets are counted with
``np.bincount`` (each without its own selection), filters are masks, the empty query is the
live mask, and ordering is a partial sort of the best ``ORDER_DEPTH``. Phrases are the AND of
their terms, verified with positions decoded in bulk for those candidates only.

This reads some of Whoosh's private structures (column files, the layout of posting blocks
and their pickles), so whoosh3 is pinned; ``test_search_backend.py`` checks
every fast reader against Whoosh's public readers, and the block decoders fall back to plain
unpickling whenever a block is not laid out as they expect.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import logging
import math
import pickle
import shutil
import struct
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import accumulate, chain, islice
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from whoosh import columns, fields, index
from whoosh.analysis import (
    CharsetFilter,
    IDTokenizer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec
from whoosh.support.charset import accent_map
from whoosh.util.numeric import byte_to_length

from .. import query as q
from ..facets import FacetCounts
from . import BackendResults, BulkIndexer, Filters, SearchBackend, whoosh_buffers
from .whoosh_bulkwrite import open_bulk_writer
from .whoosh_codec import NativeBlocksCodec
from .whoosh_writers import cancel_quietly, commit, index_write_errors

whoosh_buffers.install()
# NumPy imports numpy.dtypes on the first ``unique()`` of a process (20 ms here), which phrase
# checks call: pay it when a worker starts, not on some reader's first phrase search.
np.unique(np.zeros(1))

logger = logging.getLogger(__name__)

#: How much a match in the title counts against one in the body.
TITLE_WEIGHT = 2.5
BM25_K1 = 1.2
BM25_B = 0.75
#: Bounds on costly expansions (per query word).
MAX_PREFIX_TERMS = 64
PREFIX_SCAN_LIMIT = 4096
MAX_FUZZY_TERMS = 16
#: Seconds a writer waits for another writer (an import, a rebuild) to release the lock.
WRITE_LOCK_TIMEOUT = 60.0
#: Long imports keep one writer across batches, committing after this many documents or
#: seconds, whichever comes first, so a save waiting for the lock gets in well within its wait.
BULK_COMMIT_DOCS = 5_000
BULK_COMMIT_SECONDS = 15.0
#: A first batch at least this big gets parallel sub-writers (Whoosh's procs/multisegment):
#: they index while the importer parses and writes the next batch. Smaller imports (an admin
#: upload of a few files, tests) skip the cost of starting processes.
BULK_PARALLEL_MIN = 200
BULK_PROCS = 2
#: Each sub-writer's buffer: 2,500 documents (half a commit) fit without spilling runs to disk,
#: which the benchmark's sweep showed costs a third of the throughput; 2 x 256 MB plus the
#: importer keeps the whole import under 1 GB whatever the corpus size.
BULK_LIMITMB = 256
#: Segments under this many documents are merged at each commit, which is cheap. Bigger ones
#: are left alone: Whoosh's default policy decided, at 50,000 articles in the middle of an
#: import, to merge half the archive in pure Python (minutes, with the lock held), and would do
#: the same on a single admin save.
TINY_SEGMENT_DOCS = 1_000
#: Postings per block in new segments (Whoosh's default: 128). Small blocks serve Whoosh's own
#: skip-ahead matching; this backend reads whole posting lists into arrays, and every block
#: costs a fixed ~60 us of Python, so a term's first read is ~3.5x faster with 1,024 (measured
#: at 10,000 articles) while indexing speed and index size stay the same.
POSTINGS_BLOCK_SIZE = 1024
#: Roughly how many posting entries the per-segment caches may hold (8 bytes each).
POSTINGS_CACHE_ENTRIES = 6_000_000
#: Phrase terms at most this many times as common as each other are read in one pass each
#: (postings and positions together); rarer first terms let the others skip blocks instead.
DENSE_PHRASE_RATIO = 32
RESULT_CACHE_SIZE = 64
#: Matches put in order per query (50 pages of 20); deeper pages re-run the query.
ORDER_DEPTH = 1000
#: A word is thought misspelt when no article has it and an edit of it is common.
SUGGEST_MAX_DF = 0
SUGGEST_BELOW_TOTAL = 10
#: Words longer than this get no spelling edits (fuzzy, did you mean): no real word is.
MAX_EDIT_CHARS = 30

# Seconds added to published timestamps, so that 0 can mean "undated" (and 1900 still fits).
_EPOCH_OFFSET = 2**35
# Phrase matching packs (document, position) into one int64: positions get 32 bits (a
# few-MB article has well under 2**31 words), plus slack so position - offset stays >= 0.
_POS_BITS = 32
_POS_SLACK = 1 << 30


# --- analysis and schema -------------------------------------------------------------------


def build_analyzer():
    """English words, lower-cased, accents folded (Médecins -> medecins), stop words out, stemmed.

    Folding comes before stemming so that accented and plain spellings share a stem.
    """
    return (
        RegexTokenizer()
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter()
        | StemFilter(cachesize=-1)
    )


ANALYZER = build_analyzer()
# The same chain without the stemmer, for wildcard prefixes ("econom*" must not be stemmed).
_FOLD = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map)
_LABEL = IDTokenizer() | LowercaseFilter()


def build_codec() -> W3Codec:
    """whoosh3's codec with larger posting blocks (see ``POSTINGS_BLOCK_SIZE``), pickled with
    protocol 3 (see ``whoosh_codec``)."""
    return NativeBlocksCodec(blocklimit=POSTINGS_BLOCK_SIZE)


def build_schema() -> fields.Schema:
    """The index schema. Only the article id is stored: result lists read rows from the DB.

    ``source``/``section`` hold display names, indexed as a lower-cased term and kept in a
    reference column (one small integer per document); ``day`` is the publication day
    (yyyymmdd in the archive's time zone, 0 when undated); ``published`` is seconds, for
    sorting; ``updated`` is the row's ``updated`` stamp in microseconds, for update_index.
    """
    number = {"numtype": int, "signed": False, "sortable": True, "shift_step": 0}
    return fields.Schema(
        id=fields.NUMERIC(bits=64, unique=True, stored=True, **number),
        title=fields.TEXT(analyzer=ANALYZER, field_boost=TITLE_WEIGHT),
        body=fields.TEXT(analyzer=ANALYZER),
        source=fields.ID(analyzer=_LABEL, sortable=columns.RefBytesColumn()),
        section=fields.ID(analyzer=_LABEL, sortable=columns.RefBytesColumn()),
        published=fields.NUMERIC(bits=64, **number),
        day=fields.NUMERIC(bits=32, **number),
        updated=fields.NUMERIC(bits=64, **number),
    )


def document_for(article: Any, tz: Any) -> dict[str, Any]:
    """The Whoosh document for an Article row (source and section selected with it)."""
    doc: dict[str, Any] = {
        "id": int(article.pk),
        "title": article.title or "",
        "body": article.body or "",
        "updated": _micros(article.updated),
    }
    if article.source_id is not None:
        doc["source"] = article.source.name
    if article.section_id is not None:
        doc["section"] = article.section.name
    if article.published is not None:
        local = article.published.astimezone(tz)
        doc["published"] = int(article.published.timestamp()) + _EPOCH_OFFSET
        doc["day"] = local.year * 10000 + local.month * 100 + local.day
    return doc


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(value: datetime | None) -> int:
    """Microseconds since the epoch, exactly (a float timestamp can be 1 µs off)."""
    if value is None:
        return 0
    return (value - _EPOCH) // timedelta(microseconds=1)


def analyze(text: str) -> list[str]:
    return [t.text for t in ANALYZER(text)]


# --- reading columns and postings as arrays ------------------------------------------------


def _numeric_column(
    reader: Any, doccount: int, dtype: Any = np.int64, missing_is_zero: bool = True
) -> np.ndarray:
    """A NumericColumn read in one slice (Whoosh would unpack it value by value).

    Documents without the field hold the column's "missing" value (the top of the unsigned
    range); with ``missing_is_zero`` those read as 0, which our columns use for "none".
    """
    try:
        code = reader._typecode
        width = reader._fixedlen
        count = min(reader._count, doccount)
        raw = reader._dbfile.get(reader._basepos, count * width)
        arr = np.frombuffer(bytes(raw), dtype=np.dtype(code).newbyteorder(">")).astype(np.uint64)
        if count < doccount:
            fill = np.full(doccount - count, int(reader._default), dtype=np.uint64)
            arr = np.concatenate([arr, fill])
    except AttributeError:  # another column implementation: take the slow, public path
        width = 8
        arr = np.fromiter(
            (int(reader[i]) for i in range(doccount)), dtype=np.uint64, count=doccount
        )
    if missing_is_zero:
        arr[arr >= np.uint64(1 << (8 * width - 1))] = 0
    return arr.astype(dtype)


def _ref_column(reader: Any, doccount: int) -> tuple[np.ndarray, list[str]]:
    """A RefBytesColumn as (per-document reference, unique values) without a Python loop."""
    try:
        uniques = [u.decode("utf-8") for u in reader._uniques]
        raw = reader._dbfile.get(reader._basepos, doccount * reader._itemsize)
        refs = np.frombuffer(bytes(raw), dtype=np.dtype(reader._typecode).newbyteorder(">"))
        return refs.astype(np.int32), uniques
    except AttributeError:
        values = [reader[i] for i in range(doccount)]
        table = {v: i for i, v in enumerate(dict.fromkeys(values))}
        refs = np.array([table[v] for v in values], dtype=np.int32)
        return refs, [bytes(v).decode("utf-8") for v in table]


_BYTE_TO_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)


class _LRU:
    """A small thread-safe LRU keyed by anything, bounded by a total 'size'."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0
        self.data: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self.lock:
            item = self.data.get(key)
            if item is None:
                return None
            self.data.move_to_end(key)
            return item[0]

    def put(self, key: Any, value: Any, size: int = 1) -> None:
        with self.lock:
            if key in self.data:
                self.size -= self.data.pop(key)[1]
            self.data[key] = (value, size)
            self.size += size
            while self.size > self.capacity and len(self.data) > 1:
                _, (_, old) = self.data.popitem(last=False)
                self.size -= old


class _Segment:
    """One immutable Whoosh segment's columns and cached posting arrays.

    Segments never change once written (only their deletions do), so this survives index
    refreshes: after a small write only the new segment is read.
    """

    def __init__(self, reader: Any, postings_cache: _LRU) -> None:
        self.segid = reader.segment().segment_id()
        self.doccount = n = reader.doc_count_all()
        self._reader = reader
        self._terms = reader._terms
        self._cache = postings_cache
        self.ids = _numeric_column(reader.column_reader("id", translate=False), n)
        self.published = _numeric_column(reader.column_reader("published", translate=False), n)
        self.day = _numeric_column(reader.column_reader("day", translate=False), n, np.int32)
        self.updated = _numeric_column(reader.column_reader("updated", translate=False), n)
        self.source_refs, self.source_values = _ref_column(
            reader.column_reader("source", translate=False), n
        )
        self.section_refs, self.section_values = _ref_column(
            reader.column_reader("section", translate=False), n
        )
        self.lengths = {f: self._lengths(reader, f) for f in ("title", "body")}
        self.lock = threading.Lock()

    @staticmethod
    def _lengths(reader: Any, fieldname: str) -> np.ndarray:
        col = reader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        if col is None:
            return np.zeros(reader.doc_count_all(), dtype=np.float32)
        raw = _numeric_column(col, reader.doc_count_all(), np.int16, missing_is_zero=False)
        return _BYTE_TO_LENGTH[raw]

    def doc_frequency(self, fieldname: str, tbytes: bytes) -> int:
        try:
            return self._terms.doc_frequency(fieldname, tbytes)
        except KeyError:
            return 0

    def prefixed(self, fieldname: str, prefix: str) -> list[tuple[str, int]]:
        """(term, documents) for this segment's terms starting with ``prefix``, bounded.

        Asked of each segment rather than of Whoosh's multi-segment reader, which merges every
        segment's terms in Python and then looks each one up in every segment again."""
        with self.lock:
            found = islice(self._reader.iter_prefix(fieldname, prefix), PREFIX_SCAN_LIMIT)
            return [
                (t.decode("utf-8") if isinstance(t, bytes) else t, info.doc_frequency())
                for t, info in found
            ]

    def terms_within(self, fieldname: str, text: str, maxdist: int) -> list[str]:
        """Terms of this segment within ``maxdist`` edits of ``text`` (same first letter)."""
        with self.lock:
            try:
                near = islice(self._reader.terms_within(fieldname, text, maxdist, prefix=1), 64)
                return [t.decode("utf-8") if isinstance(t, bytes) else t for t in near]
            except Exception:  # the automaton is an optional extra; edits1 still applies
                logger.debug("terms_within failed for %r", text, exc_info=True)
                return []

    @staticmethod
    def deleted(reader: Any) -> np.ndarray:
        docs = reader.deleted_docs_set
        return np.fromiter(docs, dtype=np.int64, count=len(docs))

    def postings(self, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, weights) of a term in this segment, read block by block."""
        key = (self.segid, fieldname, tbytes)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        with self.lock:
            result = self._read_postings(fieldname, tbytes)
        self._cache.put(key, result, size=len(result[0]) + 1)
        return result

    def _term_info(self, fieldname: str, tbytes: bytes) -> Any:
        """Whoosh's record of a term in this segment, or None when the segment lacks it."""
        try:
            return self._terms.term_info(fieldname, tbytes)
        except Exception as exc:
            if isinstance(exc, KeyError) or type(exc).__name__ == "TermNotFound":
                return None
            raise

    def read_whole(self, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, list]:
        """(document numbers, position values) of every posting of a term, in one pass that
        also caches its postings: a phrase of common words needs nearly every block's values,
        so reading the heads first and the values again would read each block twice."""
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        values: list = []
        with self.lock:
            info = self._term_info(fieldname, tbytes)
            if info is None:
                return np.empty(0, np.int64), []
            if info.is_inlined():
                ids_t, weights_t, values_t = info.inlined_postings()
                ids.append(np.asarray(ids_t, dtype=np.int64))
                weights.append(np.asarray(weights_t, dtype=np.float32))
                values.extend(values_t)
            else:
                for block in _posting_blocks(self._terms._postfile, info):
                    deltas, w, block_values = _block_values(block)
                    ids.append(np.cumsum(np.asarray(deltas, dtype=np.int64)))
                    weights.append(_weights_array(w, block.count))
                    values.extend(block_values)
        all_ids = np.concatenate(ids) if ids else np.empty(0, np.int64)
        all_weights = np.concatenate(weights) if weights else np.empty(0, np.float32)
        key = (self.segid, fieldname, tbytes)
        if self._cache.get(key) is None:
            self._cache.put(key, (all_ids.astype(np.int32), all_weights), size=len(all_ids) + 1)
        return all_ids, values

    def phrase_key(self, fieldname: str, tokens: tuple[tuple[str, int], ...]) -> tuple:
        return (self.segid, "phrase", fieldname, tokens)

    def add_positions(
        self,
        fieldname: str,
        tbytes: bytes,
        wanted: np.ndarray,
        offset: int,
        found: _PositionsBuilder,
        prefetched: tuple[np.ndarray, list] | None = None,
    ) -> None:
        """Give ``found`` the position values of a term for the wanted documents (a bool mask),
        numbered from ``offset``; blocks holding none of them are skipped."""
        if prefetched is not None:
            ids, values = prefetched
            found.take(ids + offset, values, np.flatnonzero(wanted[ids]))
            return
        with self.lock:
            info = self._term_info(fieldname, tbytes)
            if info is None:
                return
            if info.is_inlined():
                ids_t, _, values_t = info.inlined_postings()
                ids = np.asarray(ids_t, dtype=np.int64)
                found.take(ids + offset, values_t, np.flatnonzero(wanted[ids]))
                return
            # Wanted documents up to each number, to skip blocks that hold none of them.
            upto = np.cumsum(wanted, dtype=np.int64)
            total, low = int(upto[-1]), 0
            for block in _posting_blocks(self._terms._postfile, info):
                high = min(block.last_id, self.doccount - 1)
                before = int(upto[low - 1]) if low else 0
                if int(upto[high]) > before:
                    deltas, _, values = _block_values(block)
                    ids = np.cumsum(np.asarray(deltas, dtype=np.int64))
                    found.take(ids + offset, values, np.flatnonzero(wanted[ids]))
                if int(upto[high]) == total:
                    break
                low = high + 1

    def _read_postings(self, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
        empty = (np.empty(0, np.int32), np.empty(0, np.float32))
        info = self._term_info(fieldname, tbytes)
        if info is None:
            return empty
        if info.is_inlined():
            ids_t, weights_t, _ = info.inlined_postings()
            return np.asarray(ids_t, dtype=np.int32), np.asarray(weights_t, dtype=np.float32)
        id_parts: list[np.ndarray] = []
        weight_parts: list[np.ndarray] = []
        for block in _posting_blocks(self._terms._postfile, info):
            deltas, w = _block_head(block)
            id_parts.append(np.cumsum(deltas).astype(np.int32))
            weight_parts.append(_weights_array(w, block.count))
        if not id_parts:
            return empty
        return np.concatenate(id_parts), np.concatenate(weight_parts)


class _Block(NamedTuple):
    """One block of a posting list: its header fields and its (maybe compressed) pickle."""

    count: int
    last_id: int
    compressed: bool
    data: bytes

    @property
    def pickled(self) -> bytes:
        """The block's pickle, decompressed."""
        return zlib.decompress(self.data) if self.compressed else self.data

    def unpickled(self) -> tuple:
        """The block's (ids, weights, values) tuple, as Whoosh reads it."""
        return pickle.loads(self.pickled)


_BLOCK_SIZE_FIELD = struct.Struct("!i")
_POSTINGS_MAGIC = b"W3Bl"


def _posting_blocks(postfile: Any, info: Any) -> Iterator[_Block]:
    """The blocks of a term's posting list, from one read of its bytes.

    Each block is a 4-byte size (negative for the last), a pickled header (count, last id,
    max weight, compression, min and max length) and the block's pickle. This is what
    Whoosh's ``W3LeafMatcher`` reads; building the matcher looked the term up a second time
    and cost as much as decoding a block, paid per segment for every term of a query.
    """
    start, length = info.extent()
    if isinstance(length, tuple):  # whoosh3 3.54 reads the length as a 1-tuple
        length = length[0]
    buf = postfile.get(start, length)
    if buf[:4] != _POSTINGS_MAGIC:
        raise ValueError(f"no postings block at offset {start}: the index may be damaged")
    stream = io.BytesIO(buf)
    pos = 4
    while True:
        (size,) = _BLOCK_SIZE_FIELD.unpack_from(buf, pos)
        stream.seek(pos + 4)
        header = pickle.load(stream)
        end = pos + 4 + abs(size)
        yield _Block(header[0], header[1], bool(header[3]), buf[stream.tell() : end])
        if size < 0:
            return
        pos = end


class _Unexpected(Exception):
    """The block is not laid out as _parse_head expects: unpickle it whole instead."""


_WEIGHTS_DTYPE = np.dtype([("op", "u1"), ("value", ">f8")])


def _block_head(block: _Block) -> tuple[np.ndarray, Any]:
    """(id deltas, weights) of the current block without unpickling its positions.

    A Whoosh block is ``pickle.dumps((ids, weights, values))``, zlib-compressed; the values
    (positions) are most of its bytes and of the unpickling time. Only the start of the stream
    is decompressed and the two leading tuples are read directly; anything unexpected falls
    back to ``pickle.loads``. Measured 4-5x faster per block than unpickling a protocol-2
    block whole.
    """
    n = block.count
    try:
        if block.compressed:
            head = zlib.decompressobj().decompress(block.data, 32 + 5 * n + 9 * n)
        else:
            head = block.data
        return _parse_head(head, n)
    except (_Unexpected, IndexError, ValueError, zlib.error):
        data = block.unpickled()
        return np.asarray(data[0], dtype=np.int64), data[1]


def _parse_head(b: bytes, n: int) -> tuple[np.ndarray, Any]:
    """Read the ids and weights tuples at the start of a block's pickle (protocol 2 or 3
    write them alike)."""
    if n < 4 or b[0] != 0x80 or b[2] != 0x28:  # PROTO, MARK (tuples of 4+ items)
        raise _Unexpected
    i = 3
    op = b[i]
    if op == 0x4B:  # BININT1
        first, i = b[i + 1], i + 2
    elif op == 0x4D:  # BININT2
        first, i = b[i + 1] | (b[i + 2] << 8), i + 3
    elif op == 0x4A:  # BININT
        first, i = int.from_bytes(b[i + 1 : i + 5], "little", signed=True), i + 5
    else:
        raise _Unexpected
    rest = n - 1
    ops = np.frombuffer(b, np.uint8, count=2 * rest, offset=i)
    if b[i + 2 * rest] == 0x74 and (ops[0::2] == 0x4B).all():  # small deltas, then TUPLE
        ids = np.empty(n, dtype=np.int64)
        ids[0] = first
        ids[1:] = ops[1::2]
        i += 2 * rest + 1
    else:
        out = [first]
        while True:
            op = b[i]
            if op == 0x4B:
                out.append(b[i + 1])
                i += 2
            elif op == 0x4D:
                out.append(b[i + 1] | (b[i + 2] << 8))
                i += 3
            elif op == 0x4A:
                out.append(int.from_bytes(b[i + 1 : i + 5], "little", signed=True))
                i += 5
            elif op == 0x74:
                i += 1
                break
            else:
                raise _Unexpected
        ids = np.array(out, dtype=np.int64)
    if len(ids) != n:
        raise _Unexpected
    if b[i] == 0x71:  # BINPUT
        i += 2
    elif b[i] == 0x72:  # LONG_BINPUT
        i += 5
    op = b[i]
    if op == 0x4E:  # None: every weight is 1
        return ids, None
    if op == 0x47:  # BINFLOAT: one weight for all
        return ids, struct.unpack(">d", b[i + 1 : i + 9])[0]
    if op == 0x28:
        arr = np.frombuffer(b, dtype=_WEIGHTS_DTYPE, count=n, offset=i + 1)
        if not (arr["op"] == 0x47).all():
            raise _Unexpected
        return ids, arr["value"].astype(np.float32)
    raise _Unexpected


# Segments written before ``whoosh_codec`` hold protocol-2 blocks, whose values are
# rebuilt through ``_codecs.encode``: the slowest part of unpickling them. Rebuilding them
# through ``slice`` (each arrives as ``slice(latin1_text, "latin1")``) and encoding the text
# costs less.
_CODECS_GLOBAL = b"c_codecs\nencode\n"
_SLICE_GLOBAL = b"c__builtin__\nslice\n"


def _block_values(block: _Block) -> tuple[Any, Any, Any]:
    """(id deltas, weights, values as bytes) of a block, weights as in ``_block_head``."""
    raw = block.pickled
    at = raw.find(_CODECS_GLOBAL) if raw[1] == 2 else -1  # PROTO 2: maybe written before
    if at < 0:
        data = pickle.loads(raw)
        return data[0], data[1], data[2]
    data = pickle.loads(raw[:at] + _SLICE_GLOBAL + raw[at + len(_CODECS_GLOBAL) :])
    return data[0], data[1], [v.start.encode("latin-1") if type(v) is slice else v for v in data[2]]


def _weights_array(weights: Any, count: int) -> np.ndarray:
    """A block's weights as float32: Whoosh stores None when all are 1, one float when equal."""
    if weights is None:
        return np.ones(count, dtype=np.float32)
    if isinstance(weights, float):
        return np.full(count, weights, dtype=np.float32)
    return np.asarray(weights, dtype=np.float32)


class _PositionsBuilder:
    """Collects (document, position) pairs from block values and decodes them in bulk.

    A value is a 4-byte position count and a pickled list of position deltas. When every
    delta is under 256 that pickle is ``K<byte>`` pairs at fixed offsets, so the wanted values
    of a term are joined into one byte array and decoded with NumPy (gather the delta bytes,
    one cumulative sum); the rare others (large gaps) are decoded one by one.
    """

    def __init__(self) -> None:
        self.values: list[bytes] = []
        self.docs: list[int] = []

    def take(self, ids: np.ndarray, values: Any, selected: np.ndarray) -> None:
        picked = selected.tolist()
        id_list = ids.tolist()
        self.docs.extend([id_list[j] for j in picked])
        self.values.extend([values[j] for j in picked])

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        values = self.values
        if not values:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        docs = np.asarray(self.docs, dtype=np.int64)
        lens = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        raw = np.frombuffer(b"".join(values), dtype=np.uint8)
        raw = np.concatenate([raw, np.zeros(16, dtype=np.uint8)])  # reads past a short value
        starts = np.cumsum(lens) - lens
        b = [raw[starts + k].astype(np.int64) for k in range(10)]
        count = (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]
        header = (b[4] == 0x80) & (b[5] == 2) & (b[6] == 0x5D) & (b[7] == 0x71) & (b[8] == 0)
        many = header & (count >= 2) & (lens == 12 + 2 * count) & (b[9] == 0x28)
        one = header & (count == 1) & (lens == 13) & (b[9] == 0x4B)
        fast = many | one
        first = np.where(one, starts + 10, starts + 11)  # offset of the first delta byte
        n = np.where(fast, count, 0)
        total = int(n.sum())
        value_of = np.repeat(np.arange(len(values)), n)
        within = np.arange(total) - np.repeat(np.cumsum(n) - n, n)
        at = first[value_of] + 2 * within
        bad_op = raw[at - 1] != 0x4B  # every item must be a one-byte int
        if bad_op.any():
            fast[value_of[bad_op]] = False
            keep = fast[value_of]
            value_of, at = value_of[keep], at[keep]
            n = np.where(fast, count, 0)
        deltas = raw[at].astype(np.int64)
        running = np.cumsum(deltas)
        begin = np.cumsum(n) - n
        has = n > 0
        offsets = np.zeros(len(values), dtype=np.int64)
        offsets[has] = running[begin[has]] - deltas[begin[has]]
        slow = np.flatnonzero(~fast)
        # Plain list pickles (the head checked above, ending in STOP) can be unpickled together.
        plain = bool((header[slow] & (raw[starts[slow] + lens[slow] - 1] == 0x2E)).all())
        slow_docs, slow_positions = _decode_many(
            [values[i] for i in slow.tolist()], docs[slow], plain
        )
        return (
            np.concatenate([docs[value_of], slow_docs]),
            np.concatenate([running - offsets[value_of], slow_positions]),
        )


_LIST_PICKLE_HEAD = b"\x80\x02]q\x00"


def _decode_many(
    values: list[bytes], docs: np.ndarray, plain: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(document, position) pairs of values the byte-offset decoder can't read (gaps of 256
    or more are two-byte ``M`` items), unpickled together in one ``pickle.loads``.

    Each value's pickle is ``<head> items <end>``; ``]`` + items makes it one list on the
    unpickler's stack, so ``<head> ( value... e .`` is the list of every value's deltas.
    Unless every value is laid out that way (``plain``, checked by the caller), they are
    decoded one by one.
    """
    if not values:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    try:
        if not plain:
            raise ValueError("not a plain list pickle")
        joined = b"".join([b"]" + v[9:-1] for v in values])
        lists = pickle.loads(_LIST_PICKLE_HEAD + b"(" + joined + b"e.")
        if len(lists) != len(values):
            raise ValueError("values ran into each other")
    except Exception:  # noqa: BLE001 - any surprise: decode one by one
        lists = [_decode_positions(v) for v in values]
        lists = [np.diff(np.asarray(p, dtype=np.int64), prepend=0) for p in lists]
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    deltas = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(counts.sum()))
    running = np.cumsum(deltas)
    before = np.repeat(np.cumsum(counts) - counts, counts)
    restart = np.concatenate([[0], running])[before]  # running total where each value began
    return np.repeat(docs, counts), running - restart


def _decode_positions(value: bytes) -> list[int]:
    """Positions from Whoosh's Positions format: a 4-byte count, then a pickled delta list.

    The pickle of a list of small ints is ``K<byte>``/``M<2 bytes>`` items, read here directly
    (several times faster than unpickling); anything else is unpickled.
    """
    if value[4:9] == _LIST_PICKLE_HEAD:
        if value[9] == 0x28 and value[-2:] == b"e.":  # MARK ... APPENDS STOP
            ops = value[10:-2:2]
            if ops == b"K" * len(ops):
                return list(accumulate(value[11:-2:2]))
            out, i, end = [], 10, len(value) - 2
            while i < end:
                op = value[i]
                if op == 0x4B:
                    out.append(value[i + 1])
                    i += 2
                elif op == 0x4D:
                    out.append(value[i + 1] | (value[i + 2] << 8))
                    i += 3
                else:
                    break
            else:
                return list(accumulate(out))
        elif value[9] == 0x4B and len(value) == 13 and value[-2:] == b"a.":
            return [value[10]]
        elif value[9] == 0x4D and len(value) == 14 and value[-2:] == b"a.":
            return [value[10] | (value[11] << 8)]
    return list(accumulate(pickle.loads(value[4:])))


def _verify_phrase(
    fieldname: str,
    tokens: tuple[tuple[str, int], ...],
    order: list[str],
    parts: list[tuple[_Segment, int, np.ndarray]],
    prefetched: dict[tuple[str, str], tuple[np.ndarray, list]],
) -> np.ndarray:
    """Document numbers, among each segment's candidates, holding the tokens at their relative
    positions; each segment's answer is cached (segments never change).

    Each term's (document, position - offset in the phrase) pairs are packed into one integer
    and intersected with NumPy, rarest term first; a later term is only decoded for the
    documents still in the running. One decode per term over all segments at once: per
    segment, the fixed cost of the array work was most of a cold phrase at 40+ segments.
    """
    base = tokens[0][1]
    wanted = []
    for seg, _, local in parts:
        mask = np.zeros(seg.doccount, dtype=bool)
        mask[local] = True
        wanted.append(mask)
    alive: np.ndarray | None = None
    for term in order:
        found = _PositionsBuilder()
        for (seg, offset, _), mask in zip(parts, wanted, strict=True):
            if mask.any():
                seg.add_positions(
                    fieldname,
                    term.encode("utf-8"),
                    mask,
                    offset,
                    found,
                    prefetched.get((seg.segid, term)),
                )
        docs, pos = found.arrays()
        # A term is at most once at a position, so each term's keys are already unique.
        term_keys = None
        for rel in {p - base for tok, p in tokens if tok == term}:
            k = (docs << _POS_BITS) | np.maximum(pos - rel + _POS_SLACK, 0)
            term_keys = k if term_keys is None else np.intersect1d(term_keys, k, True)
        alive = term_keys if alive is None else np.intersect1d(alive, term_keys, True)
        if not len(alive):
            break
        still = alive >> _POS_BITS
        for (seg, offset, _), mask in zip(parts, wanted, strict=True):
            mask[:] = False
            mask[still[(still >= offset) & (still < offset + seg.doccount)] - offset] = True
    result = (
        np.unique(alive >> _POS_BITS).astype(np.int32)
        if alive is not None and len(alive)
        else np.empty(0, np.int32)
    )
    for seg, offset, _ in parts:
        local = result[(result >= offset) & (result < offset + seg.doccount)] - offset
        seg._cache.put(seg.phrase_key(fieldname, tokens), local, size=len(local) + 1)
    return result


# --- one open searcher, as arrays ----------------------------------------------------------


class _Match:
    """A dense (mask, score) pair over all document numbers of a snapshot."""

    __slots__ = ("mask", "score")

    def __init__(self, mask: np.ndarray, score: np.ndarray | None) -> None:
        self.mask = mask
        self.score = score


class Snapshot:
    """Everything needed to answer searches against one index generation.

    Built when the searcher is (re)opened; cheap after small writes because per-segment
    arrays are reused. Holds caches that are only valid for this generation (term document
    sets, phrase matches, whole-archive facet counts, recent result orderings).
    """

    def __init__(self, ix: Any, segments: dict[str, _Segment], cache: _LRU, tz: Any) -> None:
        self.searcher = ix.searcher()
        self.tz = tz
        reader = self.searcher.reader()
        self.generation = reader.generation()
        leaves = reader.leaf_readers()
        self.parts: list[tuple[_Segment, int]] = []
        live_parts = []
        for leaf, offset in leaves:
            if leaf.segment() is None or not leaf.doc_count_all():
                continue  # an empty index has a placeholder reader and no segments
            segid = leaf.segment().segment_id()
            seg = segments.get(segid)
            if seg is None:
                seg = segments[segid] = _Segment(leaf, cache)
            else:
                seg._reader, seg._terms = leaf, leaf._terms
            self.parts.append((seg, offset))
            live = np.ones(seg.doccount, dtype=bool)
            if leaf.has_deletions():
                live[seg.deleted(leaf)] = False
            live_parts.append(live)
        for segid in list(segments):
            if segid not in {seg.segid for seg, _ in self.parts}:
                del segments[segid]
        self.n = sum(seg.doccount for seg, _ in self.parts)

        def cat(name: str, dtype: Any) -> np.ndarray:
            if not self.parts:
                return np.empty(0, dtype=dtype)
            return np.concatenate([getattr(seg, name) for seg, _ in self.parts]).astype(dtype)

        self.biggest = sorted((seg for seg, _ in self.parts), key=lambda g: -g.doccount)[:2]
        self.live = np.concatenate(live_parts) if live_parts else np.empty(0, dtype=bool)
        self.ids = cat("ids", np.int64)
        self.published = cat("published", np.int64)
        self.updated = cat("updated", np.int64)
        self.day = cat("day", np.int32)
        self.year = (self.day // 10000).astype(np.int32)
        self.month = ((self.day // 100) % 100).astype(np.int32)
        self.dom = (self.day % 100).astype(np.int32)
        self.lengths = {
            f: np.concatenate([seg.lengths[f] for seg, _ in self.parts])
            if self.parts
            else np.empty(0, np.float32)
            for f in ("title", "body")
        }
        self.live_count = int(self.live.sum())
        self.avg_length = {
            f: float(arr[self.live].mean()) if self.live_count else 1.0
            for f, arr in self.lengths.items()
        }
        self.norm = {
            f: (BM25_K1 * (1 - BM25_B + BM25_B * arr / max(self.avg_length[f], 1.0))).astype(
                np.float32
            )
            for f, arr in self.lengths.items()
        }
        self.labels = {
            "source": self._labels("source_refs", "source_values"),
            "section": self._labels("section_refs", "section_values"),
        }
        self.lock = threading.RLock()
        self.terms = _LRU(512)
        self.results = _LRU(RESULT_CACHE_SIZE)
        self.facet_cache: dict[Any, dict[str, FacetCounts]] = {}
        self._docnum_by_id: dict[int, int] | None = None

    def _labels(self, refs_name: str, values_name: str) -> tuple[np.ndarray, list[str]]:
        """Global ordinals for a label column; ordinal 0 is "none"."""
        names: list[str] = [""]
        index_of: dict[str, int] = {"": 0}
        parts = []
        for seg, _ in self.parts:
            values = getattr(seg, values_name)
            mapping = np.zeros(max(len(values), 1), dtype=np.int32)
            for i, value in enumerate(values):
                if value not in index_of:
                    index_of[value] = len(names)
                    names.append(value)
                mapping[i] = index_of[value]
            refs = getattr(seg, refs_name)
            parts.append(mapping[refs] if len(values) else np.zeros(len(refs), np.int32))
        ords = np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)
        return ords, names

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing twice is harmless
            self.searcher.close()

    def up_to_date(self) -> bool:
        return self.searcher.up_to_date()

    # ---- terms -----------------------------------------------------------------------------

    def term(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Global (document numbers, weights) of an index term; cached for this generation."""
        key = (fieldname, text)
        hit = self.terms.get(key)
        if hit is not None:
            return hit
        tbytes = text.encode("utf-8")
        docs_parts, weight_parts = [], []
        for seg, offset in self.parts:
            docs, weights = seg.postings(fieldname, tbytes)
            if len(docs):
                docs_parts.append(docs + offset)
                weight_parts.append(weights)
        if docs_parts:
            result = (np.concatenate(docs_parts), np.concatenate(weight_parts))
        else:
            result = (np.empty(0, np.int32), np.empty(0, np.float32))
        self.terms.put(key, result)
        return result

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """Documents holding the term, from the term dictionary (no posting list is read)."""
        hit = self.terms.get((fieldname, text))
        if hit is not None:
            return len(hit[0])
        return self.searcher.reader().doc_frequency(fieldname, text)

    def probe_frequency(self, fieldname: str, text: str) -> int:
        """Roughly how common a term is, estimated from the two biggest segments.

        Spelling edits probe hundreds of candidate terms; asking every segment's dictionary
        costs ten times as much and ranking candidates needs no exact count.
        """
        tbytes = text.encode("utf-8")
        found = sum(seg.doc_frequency(fieldname, tbytes) for seg in self.biggest)
        probed = sum(seg.doccount for seg in self.biggest)
        if not found or probed >= self.n:
            return found
        return math.ceil(found * self.n / probed)  # scaled up to the whole index

    def _score_term(self, fieldname: str, text: str, out: _Match) -> None:
        docs, weights = self.term(fieldname, text)
        if not len(docs):
            return
        df = len(docs)
        idf = math.log(1 + (self.live_count - df + 0.5) / (df + 0.5))
        norm = self.norm[fieldname][docs]
        # Whoosh stored title weights already multiplied by the field boost.
        contribution = idf * weights * (BM25_K1 + 1) / (weights + norm)
        out.mask[docs] = True
        if out.score is not None:
            # Each document appears once in a posting list, so fancy-index += is exact.
            out.score[docs] += contribution.astype(np.float32)

    # ---- query evaluation ------------------------------------------------------------------

    def blank(self, scored: bool = True) -> _Match:
        return _Match(
            np.zeros(self.n, dtype=bool), np.zeros(self.n, dtype=np.float32) if scored else None
        )

    def evaluate(self, node: q.Node, terms: set[str]) -> _Match:
        """Dense mask and BM25 scores for a query tree; ``terms`` collects highlight terms."""
        if isinstance(node, q.MatchAll):
            return _Match(self.live.copy(), np.zeros(self.n, dtype=np.float32))
        if isinstance(node, q.And):
            children = [self.evaluate(c, terms) for c in node.children]
            mask = children[0].mask.copy()
            score = children[0].score.copy()
            for child in children[1:]:
                mask &= child.mask
                score += child.score
            return _Match(mask, score)
        if isinstance(node, q.Or):
            children = [self.evaluate(c, terms) for c in node.children]
            mask = children[0].mask.copy()
            score = children[0].score.copy()
            for child in children[1:]:
                mask |= child.mask
                score += child.score
            return _Match(mask, score)
        if isinstance(node, q.Not):
            child = self.evaluate(node.child, set())
            return _Match(~child.mask, np.zeros(self.n, dtype=np.float32))
        if isinstance(node, q.DateRange):
            return _Match(self.day_mask(node.start, node.end), np.zeros(self.n, dtype=np.float32))
        if node.field in q.LABEL_FIELDS:  # type: ignore[attr-defined]
            return self.label_match(node)
        fieldnames = (node.field,) if node.field else q.TEXT_FIELDS  # type: ignore[attr-defined]
        if isinstance(node, q.Term):
            return self.word(node.text, fieldnames, terms)
        if isinstance(node, q.Phrase):
            return self.phrase(node.text, fieldnames, terms)
        if isinstance(node, q.Prefix):
            return self.any_of(self.expand_prefix(node.text), fieldnames, terms)
        if isinstance(node, q.Fuzzy):
            return self.any_of(self.expand_fuzzy(node.text, node.maxdist), fieldnames, terms)
        return self.blank()

    def word(self, text: str, fieldnames: tuple[str, ...], terms: set[str]) -> _Match:
        tokens = analyze(text)
        if not tokens:
            # A stop word alone ("the"): it narrows nothing, so it matches everything.
            return _Match(self.live.copy(), np.zeros(self.n, dtype=np.float32))
        if len(tokens) > 1:  # "e-mail", "U.S.-led": read as a phrase
            return self.phrase(text, fieldnames, terms)
        terms.add(tokens[0])
        out = self.blank()
        for fieldname in fieldnames:
            self._score_term(fieldname, tokens[0], out)
        return out

    def any_of(self, words: list[str], fieldnames: tuple[str, ...], terms: set[str]) -> _Match:
        out = self.blank()
        for word in words:
            terms.add(word)
            for fieldname in fieldnames:
                self._score_term(fieldname, word, out)
        return out

    def phrase(self, text: str, fieldnames: tuple[str, ...], terms: set[str]) -> _Match:
        tokens = [(t.text, t.pos) for t in ANALYZER(text, positions=True)]
        if not tokens:
            return _Match(self.live.copy(), np.zeros(self.n, dtype=np.float32))
        terms.update(t for t, _ in tokens)
        out = self.blank()
        if len(tokens) == 1:
            for fieldname in fieldnames:
                self._score_term(fieldname, tokens[0][0], out)
            return out
        for fieldname in fieldnames:
            key = ("phrase", fieldname, tuple(tokens))
            docs = self.terms.get(key)
            if docs is None:
                docs = self._phrase_docs(fieldname, tokens)
                self.terms.put(key, docs)
            if not len(docs):
                continue
            field_match = self.blank()
            for token, _ in tokens:
                self._score_term(fieldname, token, field_match)
            out.mask[docs] = True
            out.score[docs] += field_match.score[docs]
        return out

    def _phrase_docs(self, fieldname: str, tokens: list[tuple[str, int]]) -> np.ndarray:
        """Documents with the tokens at consecutive positions: candidates by AND, then verify.

        The AND of the terms' document sets is found with arrays; positions are decoded only
        for those candidates, rarest term first, dropping documents as soon as one fails.
        """
        unique = list(dict.fromkeys(t for t, _ in tokens))
        key_tokens = tuple(tokens)
        prefetched = self._prefetch_dense_phrase(fieldname, key_tokens, unique)
        sets = {t: self.term(fieldname, t)[0] for t in unique}
        if any(not len(d) for d in sets.values()):
            return np.empty(0, np.int32)
        order = sorted(unique, key=lambda t: len(sets[t]))
        cand = sets[order[0]]
        for t in order[1:]:
            cand = np.intersect1d(cand, sets[t], assume_unique=True)
            if not len(cand):
                return cand.astype(np.int32)
        found: list[np.ndarray] = []
        unverified: list[tuple[_Segment, int, np.ndarray]] = []
        for seg, offset in self.parts:
            local = cand[(cand >= offset) & (cand < offset + seg.doccount)] - offset
            if not len(local):
                continue
            known = seg._cache.get(seg.phrase_key(fieldname, key_tokens))
            if known is None:
                unverified.append((seg, offset, local))
            elif len(known):
                found.append(known[np.isin(known, local, assume_unique=True)] + offset)
        if unverified:
            found.append(_verify_phrase(fieldname, key_tokens, order, unverified, prefetched))
        return np.sort(np.concatenate(found)) if found else np.empty(0, np.int32)

    def _prefetch_dense_phrase(
        self, fieldname: str, tokens: tuple[tuple[str, int], ...], unique: list[str]
    ) -> dict[tuple[str, str], tuple[np.ndarray, list]]:
        """Every posting and position value of the phrase's terms, read in one pass per term
        and segment, when the terms are about as common as each other (then the candidates
        are in nearly every block of each term); otherwise nothing, and the rarer term's
        candidates decide which blocks of the others are read."""
        frequencies = [self.doc_frequency(fieldname, t) for t in unique]
        if not min(frequencies) or max(frequencies) > DENSE_PHRASE_RATIO * min(frequencies):
            return {}
        return {
            (seg.segid, term): seg.read_whole(fieldname, term.encode("utf-8"))
            for seg, _ in self.parts
            if seg._cache.get(seg.phrase_key(fieldname, tokens)) is None
            for term in unique
        }

    def expand_prefix(self, text: str) -> list[str]:
        """Index terms starting with the (folded, unstemmed) prefix: the most frequent few."""
        folded = "".join(t.text for t in _FOLD(text))
        key = ("prefix", folded)
        hit = self.terms.get(key)
        if hit is not None:
            return hit
        seen: dict[str, int] = {}
        for fieldname in q.TEXT_FIELDS:
            for seg, _ in self.parts:
                for word, frequency in seg.prefixed(fieldname, folded):
                    seen[word] = seen.get(word, 0) + frequency
        for stem in analyze(text):  # "presidents*" should still find the stem "presid"
            seen.setdefault(stem, 1)
        words = heapq.nlargest(MAX_PREFIX_TERMS, seen, key=seen.__getitem__)
        self.terms.put(key, words)
        return words

    def expand_fuzzy(self, text: str, maxdist: int) -> list[str]:
        """Stems of words within ``maxdist`` edits, as the index knows them; bounded.

        The index holds stems, so edits of the typed word are stemmed and looked up
        (``presdent`` -> ``president`` -> ``presid``), and stems close to the typed word's
        own stem are added from the term dictionary.
        """
        folded = "".join(t.text for t in _FOLD(text))
        key = ("fuzzy", folded, maxdist)
        hit = self.terms.get(key)
        if hit is not None:
            return hit
        found: dict[str, int] = {}
        for stem in analyze(folded):
            found[stem] = self.doc_frequency("body", stem) + self.doc_frequency("title", stem)
        if len(folded) > MAX_EDIT_CHARS:  # no real word is this long; edits would be costly
            self.terms.put(key, list(found))
            return list(found)
        stems = {stem for candidate in _edits1(folded) for stem in analyze(candidate)}
        if self.biggest:
            # Stems near the typed word's own stem, from the biggest segment's dictionary
            # (Whoosh's automaton is fast on one segment, slow across many).
            biggest = self.biggest[0]
            for stem in analyze(folded)[:1]:
                stems.update(biggest.terms_within("body", stem, maxdist))
        for stem in stems - found.keys():
            df = self.probe_frequency("body", stem)
            if df:
                found[stem] = df
        words = heapq.nlargest(MAX_FUZZY_TERMS, (w for w in found if found[w]), key=found.get)
        self.terms.put(key, words)
        return words

    def label_match(self, node: q.Node) -> _Match:
        from articles.models import label_key

        fieldname = node.field  # type: ignore[attr-defined]
        ords, names = self.labels[fieldname]
        wanted = label_key(node.text)  # type: ignore[attr-defined]
        if isinstance(node, q.Prefix):
            hits = [i for i, n in enumerate(names) if i and label_key(n).startswith(wanted)]
        else:
            hits = [i for i, n in enumerate(names) if i and label_key(n) == wanted]
        mask = np.isin(ords, hits) if hits else np.zeros(self.n, dtype=bool)
        return _Match(mask, np.zeros(self.n, dtype=np.float32))

    def day_mask(self, start: Any, end: Any) -> np.ndarray:
        mask = self.day > 0
        if start is not None:
            mask &= self.day >= start.year * 10000 + start.month * 100 + start.day
        if end is not None:
            mask &= self.day <= end.year * 10000 + end.month * 100 + end.day
        return mask

    # ---- filters and facets ----------------------------------------------------------------

    def filter_masks(self, filters: Filters) -> dict[str, np.ndarray]:
        """One mask per facet-like filter, so facets can leave their own out."""
        from articles.models import label_key

        masks: dict[str, np.ndarray] = {}
        for name, chosen in (("source", filters.sources), ("section", filters.sections)):
            if chosen:
                ords, names = self.labels[name]
                hits = [i for i, n in enumerate(names) if i and label_key(n) in chosen]
                masks[name] = np.isin(ords, hits) if hits else np.zeros(self.n, dtype=bool)
        if filters.year is not None:
            masks["year"] = self.year == filters.year
        if filters.month is not None:
            masks["month"] = self.month == filters.month
        if filters.day is not None:
            masks["day"] = self.dom == filters.day
        if filters.day_from is not None or filters.day_to is not None:
            mask = self.day > 0
            if filters.day_from is not None:
                mask &= self.day >= filters.day_from
            if filters.day_to is not None:
                mask &= self.day <= filters.day_to
            masks["range"] = mask
        return masks

    def facet_counts(
        self, base: np.ndarray, masks: dict[str, np.ndarray], names: Iterable[str]
    ) -> dict[str, FacetCounts]:
        """Counts per facet over ``base`` and every filter except the facet's own."""
        out: dict[str, FacetCounts] = {}
        for name in names:
            mask = base
            for other, m in masks.items():
                if other != name:
                    mask = mask & m
            if name in ("source", "section"):
                ords, labels = self.labels[name]
                counts = np.bincount(ords[mask], minlength=len(labels))
                out[name] = [
                    (labels[i], labels[i], int(c)) for i, c in enumerate(counts) if i and c
                ]
            else:
                arr = {"year": self.year, "month": self.month, "day": self.dom}[name]
                values = arr[mask & (self.day > 0)]
                counts = np.bincount(values) if len(values) else np.empty(0, dtype=np.int64)
                out[name] = [(str(v), str(v), int(counts[v])) for v in np.flatnonzero(counts)]
        return out

    # ---- the search ------------------------------------------------------------------------

    def search(
        self,
        parsed: q.ParsedQuery,
        filters: Filters,
        sort: str,
        offset: int,
        limit: int,
        facet_names: Iterable[str],
    ) -> BackendResults:
        facet_names = tuple(facet_names)
        sort = sort or ("relevance" if parsed.node is not None else "newest")
        key = (repr(parsed.node), filters.key(), sort, facet_names)
        depth = offset + limit
        cached = self.results.get(key)
        if cached is None or (len(cached[0]) < min(depth, cached[1])):
            with self.lock:
                cached = self._run(parsed, filters, sort, facet_names, depth)
            self.results.put(key, cached)
        order, total, facets, terms = cached
        page = order[offset:depth] if offset < len(order) else order[:0]
        return BackendResults(
            total=total,
            ids=[int(i) for i in self.ids[page]],
            facets=facets,
            terms=frozenset(terms),
        )

    def _run(
        self,
        parsed: q.ParsedQuery,
        filters: Filters,
        sort: str,
        facet_names: tuple[str, ...],
        depth: int,
    ) -> tuple[np.ndarray, int, dict[str, FacetCounts], set[str]]:
        """Match, count facets and order the best ``depth`` (at least ORDER_DEPTH) matches."""
        terms: set[str] = set()
        masks = self.filter_masks(filters)
        if parsed.node is None:
            base = self.live
            scores = None
        else:
            match = self.evaluate(parsed.node, terms)
            base = match.mask & self.live
            scores = match.score
        if parsed.node is None and not masks:
            facets = self.facet_cache.get(facet_names)
            if facets is None:
                facets = self.facet_counts(base, masks, facet_names)
                self.facet_cache[facet_names] = facets
        else:
            facets = self.facet_counts(base, masks, facet_names)
        final = base
        for m in masks.values():
            final = final & m
        docs = np.flatnonzero(final)
        published = self.published[docs]
        if sort == "relevance" and scores is not None:
            # Highest score first; ties newest first.
            primary, secondary = -scores[docs].astype(np.float64), -published
        elif sort == "oldest":
            # Oldest first, undated last.
            primary, secondary = np.where(published == 0, np.iinfo(np.int64).max, published), docs
        else:  # newest first; undated (0) sorts last by itself
            primary, secondary = -published, -docs
        order = docs[_top(primary, secondary, max(depth, ORDER_DEPTH))]
        return order, len(docs), facets, terms

    def docnum_for(self, article_id: int) -> int | None:
        if self._docnum_by_id is None:
            live = np.flatnonzero(self.live)
            self._docnum_by_id = dict(zip(self.ids[live].tolist(), live.tolist(), strict=True))
        return self._docnum_by_id.get(article_id)

    def top_for_terms(
        self, weighted: dict[str, float], limit: int, exclude: int | None
    ) -> list[int]:
        """Best-scoring live documents for a bag of terms (for "more like this")."""
        out = self.blank()
        for term, boost in weighted.items():
            part = self.blank()
            for fieldname in q.TEXT_FIELDS:
                self._score_term(fieldname, term, part)
            out.mask |= part.mask
            out.score += part.score * boost
        mask = out.mask & self.live
        if exclude is not None:
            mask[exclude] = False
        docs = np.flatnonzero(mask)
        if not len(docs):
            return []
        k = min(limit, len(docs))
        top = docs[np.argpartition(-out.score[docs], k - 1)[:k]]
        top = top[np.lexsort((-self.published[top], -out.score[top]))]
        return [int(i) for i in self.ids[top]]

    def suggest(self, parsed: q.ParsedQuery, total: int) -> str | None:
        """A corrected query when a word is (nearly) unknown and an edit of it is common."""
        if total >= SUGGEST_BELOW_TOTAL:
            return None
        text = parsed.text
        changed = False
        for word in dict.fromkeys(q.positive_words(parsed.node)):
            stems = analyze(word)
            if len(stems) != 1 or not word.isalpha() or not 4 <= len(word) <= MAX_EDIT_CHARS:
                continue
            df = self.doc_frequency("body", stems[0]) + self.doc_frequency("title", stems[0])
            if df > SUGGEST_MAX_DF:
                continue
            best, best_df = None, max(df * 10, 3)
            folded = "".join(t.text for t in _FOLD(word))
            by_stem: dict[str, str] = {}
            for candidate in _edits1(folded):
                cand_stems = analyze(candidate)
                if len(cand_stems) == 1:
                    by_stem.setdefault(cand_stems[0], candidate)
            for stem, candidate in by_stem.items():
                cdf = self.probe_frequency("body", stem)
                if cdf > best_df:
                    best, best_df = candidate, cdf
            if best:
                text = _replace_word(text, word, best)
                changed = True
        return text if changed else None


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _edits1(word: str) -> Iterator[str]:
    """Every string one deletion, swap, substitution or insertion away (Norvig's edits1)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    seen = {word}
    for left, right in splits:
        options = []
        if right:
            options.append(left + right[1:])
            options.extend(left + c + right[1:] for c in _LETTERS)
        if len(right) > 1:
            options.append(left + right[1] + right[0] + right[2:])
        options.extend(left + c + right for c in _LETTERS)
        for option in options:
            if option not in seen and option:
                seen.add(option)
                yield option


def _replace_word(text: str, word: str, replacement: str) -> str:
    import re

    return re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", replacement, text, flags=re.IGNORECASE)


def _top(primary: np.ndarray, secondary: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest (primary, secondary) pairs, in order.

    A partial sort: ``argpartition`` finds the k-th primary value, every item up to it (ties at
    the boundary included, so pages stay consistent whatever k was) is then sorted.
    """
    n = len(primary)
    if k < n:
        kth = primary[np.argpartition(primary, k - 1)[k - 1]]
        idx = np.flatnonzero(primary <= kth)
    else:
        idx = np.arange(n)
    idx = idx[np.lexsort((secondary[idx], primary[idx]))]
    return idx[:k]


# --- the backend ---------------------------------------------------------------------------


def merge_tiny(writer: Any, segments: list[Any]) -> list[Any]:
    """Whoosh merge policy: fold the small segments of single saves into one, keep the rest."""
    from whoosh.reading import SegmentReader

    tiny = [s for s in segments if s.doc_count_all() < TINY_SEGMENT_DOCS]
    if len(tiny) < 2:
        return segments
    for segment in tiny:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s not in tiny]


class WhooshBulkIndexer(BulkIndexer):
    """One writer for many import batches: a commit per batch would cost a new segment and a
    merge each time, and parallel sub-writers need a long-lived writer to pay off."""

    backend: WhooshBackend

    def __init__(self, backend: WhooshBackend) -> None:
        super().__init__(backend)
        self._writer: Any = None
        self._pending = 0
        self._opened = 0.0

    def add(self, ids: Iterable[int], *, new: bool = False) -> None:
        ids = sorted({int(i) for i in ids})
        if not ids:
            return
        if self._writer is None:
            self._open(parallel=len(ids) >= BULK_PARALLEL_MIN)
        try:
            with index_write_errors():
                self._write(ids, new)
        except Exception:
            self.cancel()  # a writer that failed half-way must not be committed, nor hang
            raise
        self._pending += len(ids)
        waited = time.monotonic() - self._opened
        if self._pending >= BULK_COMMIT_DOCS or waited >= BULK_COMMIT_SECONDS:
            self.close()

    def _write(self, ids: list[int], new: bool) -> None:
        found: set[int] = set()
        for article in _articles(ids):
            found.add(article.pk)
            document = document_for(article, self.backend.tz)
            if new:
                self._writer.add_document(**document)
            else:
                self._writer.update_document(**document)
        for missing in set(ids) - found:
            self._writer.delete_by_term("id", missing)

    def _open(self, parallel: bool) -> None:
        options = {}
        if parallel:
            options = {"procs": BULK_PROCS, "multisegment": True, "limitmb": BULK_LIMITMB}
        self._writer = self.backend._writer(**options)
        self._opened = time.monotonic()

    def close(self) -> None:
        writer, pending, self._writer, self._pending = self._writer, self._pending, None, 0
        if writer is not None:
            logger.debug("index commit started (%d documents)", pending)
            commit(writer, mergetype=merge_tiny)
            logger.debug("index commit finished")

    def cancel(self) -> None:
        """Drop what was added since the last commit (a failed write, a failed reindex)."""
        writer, self._writer, self._pending = self._writer, None, 0
        if writer is not None:
            cancel_quietly(writer)


class WhooshBackend(SearchBackend):
    """A Whoosh index in one folder, with a shared, self-refreshing searcher snapshot."""

    def __init__(self, index_dir: str | Path | None = None) -> None:
        from django.conf import settings
        from django.utils import timezone

        self.index_dir = Path(index_dir or settings.NEWSARCHIVE_INDEX_DIR)
        self.tz = timezone.get_default_timezone()
        self._ix: Any = None
        self._snapshot: Snapshot | None = None
        self._retired: list[Snapshot] = []
        self._segments: dict[str, _Segment] = {}
        self._postings_cache = _LRU(POSTINGS_CACHE_ENTRIES)
        self._lock = threading.RLock()

    # ---- opening ---------------------------------------------------------------------------

    def _index(self) -> Any:
        """The index, created on first use (an empty index is a valid, empty archive)."""
        if self._ix is None:
            with self._lock:
                if self._ix is None:
                    self.index_dir.mkdir(parents=True, exist_ok=True)
                    if index.exists_in(str(self.index_dir)):
                        self._ix = index.open_dir(str(self.index_dir))
                    else:
                        self._ix = index.create_in(str(self.index_dir), build_schema())
        return self._ix

    def snapshot(self) -> Snapshot:
        """The current snapshot, reopened only when another writer changed the index."""
        snap = self._snapshot
        if snap is not None and snap.up_to_date():
            return snap
        with self._lock:
            snap = self._snapshot
            if snap is not None and snap.up_to_date():
                return snap
            new = Snapshot(self._index(), self._segments, self._postings_cache, self.tz)
            self._snapshot = new
            if snap is not None:
                # A request may still be using the old snapshot: close it a refresh later.
                self._retired.append(snap)
                while len(self._retired) > 2:
                    self._retired.pop(0).close()
            return new

    def close(self) -> None:
        with self._lock:
            for snap in [*self._retired, self._snapshot]:
                if snap is not None:
                    snap.close()
            self._snapshot = None
            self._retired.clear()
            self._segments.clear()
            self._ix = None

    # ---- reading ---------------------------------------------------------------------------

    def search(
        self,
        parsed: q.ParsedQuery,
        filters: Filters,
        sort: str,
        offset: int,
        limit: int,
        facet_names: Iterable[str],
    ) -> BackendResults:
        snap = self.snapshot()
        results = snap.search(parsed, filters, sort, offset, limit, facet_names)
        if parsed.node is not None:
            results.suggestion = snap.suggest(parsed, results.total)
        return results

    def more_like_this(self, article_id: int, limit: int = 5) -> list[int]:
        from articles.models import Article

        article = Article.objects.filter(pk=article_id).only("title", "body").first()
        if article is None:
            return []
        snap = self.snapshot()
        counts: dict[str, int] = {}
        for token in analyze(f"{article.title}\n{article.title}\n{article.body}"):
            counts[token] = counts.get(token, 0) + 1
        n = max(snap.live_count, 1)
        weights = {}
        for token, tf in counts.items():
            df = snap.doc_frequency("body", token) + snap.doc_frequency("title", token)
            if df < 2 or df > n * 0.5:
                continue  # unique to this article, or too common to say anything
            weights[token] = tf * math.log(n / df)
        top = dict(heapq.nlargest(12, weights.items(), key=lambda kv: kv[1]))
        return snap.top_for_terms(top, limit, snap.docnum_for(article_id))

    def indexed_ids(self) -> set[int]:
        snap = self.snapshot()
        return set(snap.ids[snap.live].tolist())

    def indexed_versions(self) -> dict[int, datetime | None]:
        snap = self.snapshot()
        live = snap.live
        out: dict[int, datetime | None] = {}
        for aid, micros in zip(snap.ids[live].tolist(), snap.updated[live].tolist(), strict=True):
            out[aid] = _EPOCH + timedelta(microseconds=micros) if micros else None
        return out

    def term_for(self, word: str) -> str | None:
        tokens = analyze(word)
        return tokens[0] if tokens else None

    # ---- writing ---------------------------------------------------------------------------

    def _writer(self, **kwargs: Any) -> Any:
        """A writer, waiting for the lock while another process (an import) holds it; it
        writes the same segments as Whoosh's own, in bulk (see ``whoosh_bulkwrite``)."""
        with index_write_errors():
            ix = self._index()
        return open_bulk_writer(ix, timeout=WRITE_LOCK_TIMEOUT, codec=build_codec(), **kwargs)

    def bulk_indexer(self) -> WhooshBulkIndexer:
        return WhooshBulkIndexer(self)

    def index_articles(self, ids: Iterable[int]) -> None:
        indexer = WhooshBulkIndexer(self)
        try:
            indexer.add(ids)
        except BaseException:
            indexer.cancel()
            raise
        indexer.close()

    def unindex_articles(self, ids: Iterable[int]) -> None:
        ids = sorted({int(i) for i in ids})
        if not ids:
            return
        writer = self._writer()
        try:
            with index_write_errors():
                for article_id in ids:
                    writer.delete_by_term("id", article_id)
        except BaseException:
            cancel_quietly(writer)
            raise
        commit(writer, mergetype=merge_tiny)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Index every article into a new index beside this one, then swap it in: searches
        and saves carry on meanwhile (see ``whoosh_rebuild``)."""
        from .whoosh_rebuild import rebuild_beside

        return rebuild_beside(self, progress)

    def optimize(self) -> int:
        """Merge the index into one segment beside it, then swap it in (``whoosh_rebuild``)."""
        from .whoosh_rebuild import optimize_beside

        return optimize_beside(self)

    def clear(self) -> None:
        with self._lock:
            self.close()
            if self.index_dir.exists():
                shutil.rmtree(self.index_dir)
            self.index_dir.mkdir(parents=True, exist_ok=True)
            self._ix = index.create_in(str(self.index_dir), build_schema())


def _articles(ids: list[int]) -> Iterator[Any]:
    from articles.models import Article

    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        yield from (
            Article.objects.filter(pk__in=chunk)
            .select_related("source", "section")
            .only(
                "id",
                "title",
                "body",
                "published",
                "updated",
                "source__name",
                "section__name",
            )
        )
