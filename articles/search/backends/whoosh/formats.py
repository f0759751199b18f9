"""Readers of Whoosh's files as NumPy arrays: columns, posting blocks and positions.

Whoosh reads these one value at a time in Python; searching needs them whole, as arrays. So
these readers parse Whoosh's private layouts directly: column files, the posting blocks that
whoosh3 writes (a size, a pickled header, a zlib-compressed pickle of ids, weights and
values) and the ``Positions`` format's values (a count and a pickled list of gaps). Where they
read pickles byte by byte, the opcodes and offsets below say what each byte is.

Written against whoosh3 ``WHOOSH3_VERSION``, which requirements.txt pins;
``test_search_backend.py`` checks every reader against Whoosh's public readers, so an upgrade
that changes a layout fails there first. Each fast path falls back to plain unpickling (or to
Whoosh's public reader) whenever the bytes are not laid out as expected.
"""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from collections.abc import Iterator
from itertools import accumulate, chain
from typing import Any, NamedTuple

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC
from whoosh.columns import EmptyColumnReader
from whoosh.util.numeric import byte_to_length

#: The whoosh3 release these readers were written against and tested with.
WHOOSH3_VERSION = "3.54.0"

# Pickle opcodes met below, as byte values (``pickle`` names them, as one-byte strings).
_PROTO = pickle.PROTO[0]  # 0x80, then the protocol number (one byte)
_MARK = pickle.MARK[0]  # "(": the items of a tuple or list follow
_TUPLE = pickle.TUPLE[0]  # "t": the items since MARK become a tuple
_EMPTY_LIST = pickle.EMPTY_LIST[0]  # "]"
_APPEND = pickle.APPEND[0]  # "a": one item into the list below it
_APPENDS = pickle.APPENDS[0]  # "e": the items since MARK into the list below it
_STOP = pickle.STOP[0]  # ".": end of the pickle
_BINPUT = pickle.BINPUT[0]  # "q", then a one-byte memo slot
_LONG_BINPUT = pickle.LONG_BINPUT[0]  # "r", then a four-byte memo slot
_BININT1 = pickle.BININT1[0]  # "K", then an unsigned byte
_BININT2 = pickle.BININT2[0]  # "M", then an unsigned two-byte little-endian int
_BININT = pickle.BININT[0]  # "J", then a signed four-byte little-endian int
_NONE = pickle.NONE[0]  # "N"
_BINFLOAT = pickle.BINFLOAT[0]  # "G", then an eight-byte big-endian double

#: The protocol whoosh3 pickles with (the project's codec writes posting blocks with 3).
_WHOOSH_PROTOCOL = 2


# --- columns ----------------------------------------------------------------------------------


def numeric_column(
    reader: Any, doccount: int, dtype: Any = np.int64, missing_is_zero: bool = True
) -> np.ndarray:
    """A NumericColumn read in one slice (Whoosh would unpack it value by value).

    Documents without the field hold the column's "missing" value (the top of the unsigned
    range); with ``missing_is_zero`` those read as 0, which our columns use for "none". A
    segment where no document has the field has no column at all: Whoosh's stand-in answers
    its default, the top of a 32-bit range for ``day``, which read as -1 once narrowed.
    """
    if isinstance(reader, EmptyColumnReader):
        missing = 0 if missing_is_zero else int(reader._default)
        return np.full(doccount, missing, dtype=np.uint64).astype(dtype)
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


def ref_column(reader: Any, doccount: int) -> tuple[np.ndarray, list[str]]:
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


def field_lengths(reader: Any, fieldname: str) -> np.ndarray:
    """Each document's length in terms of a field, as Whoosh stores it (one byte, rounded)."""
    col = reader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
    if col is None:
        return np.zeros(reader.doc_count_all(), dtype=np.float32)
    raw = numeric_column(col, reader.doc_count_all(), np.int16, missing_is_zero=False)
    return _BYTE_TO_LENGTH[raw]


# --- posting blocks ---------------------------------------------------------------------------

# A term's posting list starts with WHOOSH3_HEADER_MAGIC; then each block is its size (a signed
# four-byte big-endian int, negative for the last block), a pickled header tuple and the
# block's pickle.
_BLOCK_SIZE_FIELD = struct.Struct("!i")
# The header tuple: (count, last id, max weight, compression level, min length, max length).
_HEADER_COUNT = 0
_HEADER_LAST_ID = 1
_HEADER_COMPRESSION = 3


class Block(NamedTuple):
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


def posting_blocks(postfile: Any, info: Any) -> Iterator[Block]:
    """The blocks of a term's posting list, from one read of its bytes.

    This is what Whoosh's ``W3LeafMatcher`` reads; building the matcher looked the term up a
    second time and cost as much as decoding a block, paid per segment for every term of a
    query.
    """
    start, length = info.extent()
    if isinstance(length, tuple):  # whoosh3 3.54 reads the length as a 1-tuple
        length = length[0]
    buf = postfile.get(start, length)
    if buf[: len(WHOOSH3_HEADER_MAGIC)] != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"no postings block at offset {start}: the index may be damaged")
    stream = io.BytesIO(buf)
    pos = len(WHOOSH3_HEADER_MAGIC)
    while True:
        (size,) = _BLOCK_SIZE_FIELD.unpack_from(buf, pos)
        stream.seek(pos + _BLOCK_SIZE_FIELD.size)
        header = pickle.load(stream)
        end = pos + _BLOCK_SIZE_FIELD.size + abs(size)
        yield Block(
            header[_HEADER_COUNT],
            header[_HEADER_LAST_ID],
            bool(header[_HEADER_COMPRESSION]),
            buf[stream.tell() : end],
        )
        if size < 0:
            return
        pos = end


# A block's pickle is ``pickle.dumps((ids, weights, values))``: PROTO and the protocol, then the
# ids tuple, the weights (None, one float, or a tuple of floats) and the values.
_BLOCK_PROTOCOL_AT = 1
#: The MARK opening the ids tuple (of 4 or more postings; 1 to 3 are pickled with TUPLE1-3,
#: without a MARK, and take the fallback).
_BLOCK_IDS_AT = 2
# The most a block's ids and weights take in its pickle: an opcode and up to 4 bytes per id,
# an opcode and 8 bytes per weight, and a few opcodes around them (PROTO, MARK, TUPLE, BINPUT).
_MAX_ID_BYTES = 5
_MAX_WEIGHT_BYTES = 9
_HEAD_SLACK = 32
#: A tuple of weights: one BINFLOAT opcode and its eight bytes per weight.
_WEIGHTS_DTYPE = np.dtype([("op", "u1"), ("value", ">f8")])


class _Unexpected(Exception):
    """The block is not laid out as parse_block_head expects: unpickle it whole instead."""


def block_head(block: Block) -> tuple[np.ndarray, Any]:
    """(id deltas, weights) of a block without unpickling its positions.

    The values (positions) are most of a block's bytes and of the unpickling time. Only the
    start of the stream is decompressed and the two leading tuples are read directly; anything
    unexpected falls back to ``pickle.loads``. Measured 4-5x faster per block than unpickling a
    protocol-2 block whole.
    """
    n = block.count
    try:
        if block.compressed:
            head_bytes = _HEAD_SLACK + _MAX_ID_BYTES * n + _MAX_WEIGHT_BYTES * n
            head = zlib.decompressobj().decompress(block.data, head_bytes)
        else:
            head = block.data
        return parse_block_head(head, n)
    except (_Unexpected, IndexError, ValueError, zlib.error):
        data = block.unpickled()
        return np.asarray(data[0], dtype=np.int64), data[1]


def parse_block_head(b: bytes, n: int) -> tuple[np.ndarray, Any]:
    """Read the ids and weights tuples at the start of a block's pickle (protocol 2 or 3
    write them alike)."""
    if n < 4 or b[0] != _PROTO or b[_BLOCK_IDS_AT] != _MARK:
        raise _Unexpected
    i = _BLOCK_IDS_AT + 1
    op = b[i]
    if op == _BININT1:
        first, i = b[i + 1], i + 2
    elif op == _BININT2:
        first, i = b[i + 1] | (b[i + 2] << 8), i + 3
    elif op == _BININT:
        first, i = int.from_bytes(b[i + 1 : i + 5], "little", signed=True), i + 5
    else:
        raise _Unexpected
    rest = n - 1
    ops = np.frombuffer(b, np.uint8, count=2 * rest, offset=i)
    if b[i + 2 * rest] == _TUPLE and (ops[0::2] == _BININT1).all():  # all small deltas
        ids = np.empty(n, dtype=np.int64)
        ids[0] = first
        ids[1:] = ops[1::2]
        i += 2 * rest + 1
    else:
        out = [first]
        while True:
            op = b[i]
            if op == _BININT1:
                out.append(b[i + 1])
                i += 2
            elif op == _BININT2:
                out.append(b[i + 1] | (b[i + 2] << 8))
                i += 3
            elif op == _BININT:
                out.append(int.from_bytes(b[i + 1 : i + 5], "little", signed=True))
                i += 5
            elif op == _TUPLE:
                i += 1
                break
            else:
                raise _Unexpected
        ids = np.array(out, dtype=np.int64)
    if len(ids) != n:
        raise _Unexpected
    if b[i] == _BINPUT:  # the ids tuple memoised
        i += 2
    elif b[i] == _LONG_BINPUT:
        i += 5
    op = b[i]
    if op == _NONE:  # every weight is 1
        return ids, None
    if op == _BINFLOAT:  # one weight for all
        return ids, struct.unpack(">d", b[i + 1 : i + 9])[0]
    if op == _MARK:
        arr = np.frombuffer(b, dtype=_WEIGHTS_DTYPE, count=n, offset=i + 1)
        if not (arr["op"] == _BINFLOAT).all():
            raise _Unexpected
        return ids, arr["value"].astype(np.float32)
    raise _Unexpected


# Segments written before the project's codec hold protocol-2 blocks, whose values are
# rebuilt through ``_codecs.encode``: the slowest part of unpickling them. Rebuilding them
# through ``slice`` (each arrives as ``slice(latin1_text, "latin1")``) and encoding the text
# costs less.
_CODECS_GLOBAL = b"c_codecs\nencode\n"
_SLICE_GLOBAL = b"c__builtin__\nslice\n"


def block_values(block: Block) -> tuple[Any, Any, Any]:
    """(id deltas, weights, values as bytes) of a block, weights as in ``block_head``."""
    raw = block.pickled
    written_before = raw[_BLOCK_PROTOCOL_AT] == _WHOOSH_PROTOCOL
    at = raw.find(_CODECS_GLOBAL) if written_before else -1
    if at < 0:
        data = pickle.loads(raw)
        return data[0], data[1], data[2]
    data = pickle.loads(raw[:at] + _SLICE_GLOBAL + raw[at + len(_CODECS_GLOBAL) :])
    return data[0], data[1], [v.start.encode("latin-1") if type(v) is slice else v for v in data[2]]


def weights_array(weights: Any, count: int) -> np.ndarray:
    """A block's weights as float32: Whoosh stores None when all are 1, one float when equal."""
    if weights is None:
        return np.ones(count, dtype=np.float32)
    if isinstance(weights, float):
        return np.full(count, weights, dtype=np.float32)
    return np.asarray(weights, dtype=np.float32)


# --- positions --------------------------------------------------------------------------------

# A value of Whoosh's Positions format: the number of positions (a four-byte big-endian
# unsigned int), then ``pickle.dumps(gaps, 2)``, the list of gaps between positions.
_COUNT_BYTES = 4
#: How protocol 2 starts a list: PROTO 2, EMPTY_LIST, BINPUT into memo slot 0.
LIST_PICKLE_HEAD = bytes([_PROTO, _WHOOSH_PROTOCOL, _EMPTY_LIST, _BINPUT, 0])
#: Where a value's list items start, after the count and the list's head.
_ITEMS_AT = _COUNT_BYTES + len(LIST_PICKLE_HEAD)
# One gap under 256 is ``BININT1 gap APPEND STOP``; several are ``MARK (BININT1 gap)...
# APPENDS STOP``, two bytes a gap.
_ONE_GAP_BYTES = _ITEMS_AT + 4
_GAPS_OVERHEAD = _ITEMS_AT + 3
_APPEND_STOP = bytes([_APPEND, _STOP])
_APPENDS_STOP = bytes([_APPENDS, _STOP])


class PositionsBuilder:
    """Collects (document, position) pairs from block values and decodes them in bulk.

    When every gap is under 256 a value's pickle is ``BININT1 <byte>`` pairs at fixed offsets,
    so the wanted values of a term are joined into one byte array and decoded with NumPy
    (gather the gap bytes, one cumulative sum); the rare others (large gaps) are decoded one
    by one.
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
        b = [raw[starts + k].astype(np.int64) for k in range(_ITEMS_AT + 1)]
        count = (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]  # the _COUNT_BYTES
        header = b[_COUNT_BYTES] == LIST_PICKLE_HEAD[0]
        for k in range(1, len(LIST_PICKLE_HEAD)):
            header &= b[_COUNT_BYTES + k] == LIST_PICKLE_HEAD[k]
        many = (
            header & (count >= 2) & (lens == _GAPS_OVERHEAD + 2 * count) & (b[_ITEMS_AT] == _MARK)
        )
        one = header & (count == 1) & (lens == _ONE_GAP_BYTES) & (b[_ITEMS_AT] == _BININT1)
        fast = many | one
        # Offset of the first gap byte: after its BININT1, and after the MARK before it.
        first = np.where(one, starts + _ITEMS_AT + 1, starts + _ITEMS_AT + 2)
        n = np.where(fast, count, 0)
        total = int(n.sum())
        value_of = np.repeat(np.arange(len(values)), n)
        within = np.arange(total) - np.repeat(np.cumsum(n) - n, n)
        at = first[value_of] + 2 * within
        bad_op = raw[at - 1] != _BININT1  # every item must be a one-byte int
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
        plain = bool((header[slow] & (raw[starts[slow] + lens[slow] - 1] == _STOP)).all())
        slow_docs, slow_positions = _decode_many(
            [values[i] for i in slow.tolist()], docs[slow], plain
        )
        return (
            np.concatenate([docs[value_of], slow_docs]),
            np.concatenate([running - offsets[value_of], slow_positions]),
        )


def _decode_many(
    values: list[bytes], docs: np.ndarray, plain: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(document, position) pairs of values the byte-offset decoder can't read (gaps of 256
    or more are two-byte ``BININT2`` items), unpickled together in one ``pickle.loads``.

    Each value's pickle is ``<head> items <STOP>``; EMPTY_LIST + items makes it one list on
    the unpickler's stack, so ``<head> MARK value... APPENDS STOP`` is the list of every
    value's gaps. Unless every value is laid out that way (``plain``, checked by the caller),
    they are decoded one by one.
    """
    if not values:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    try:
        if not plain:
            raise ValueError("not a plain list pickle")
        joined = b"".join([pickle.EMPTY_LIST + v[_ITEMS_AT:-1] for v in values])
        lists = pickle.loads(LIST_PICKLE_HEAD + pickle.MARK + joined + _APPENDS_STOP)
        if len(lists) != len(values):
            raise ValueError("values ran into each other")
    except Exception:  # noqa: BLE001 - any surprise: decode one by one
        lists = [decode_positions(v) for v in values]
        lists = [np.diff(np.asarray(p, dtype=np.int64), prepend=0) for p in lists]
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    deltas = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(counts.sum()))
    running = np.cumsum(deltas)
    before = np.repeat(np.cumsum(counts) - counts, counts)
    restart = np.concatenate([[0], running])[before]  # running total where each value began
    return np.repeat(docs, counts), running - restart


def decode_positions(value: bytes) -> list[int]:
    """Positions from one value of Whoosh's Positions format.

    The pickle of a list of small ints is ``BININT1``/``BININT2`` items, read here directly
    (several times faster than unpickling); anything else is unpickled.
    """
    if value[_COUNT_BYTES:_ITEMS_AT] == LIST_PICKLE_HEAD:
        if value[_ITEMS_AT] == _MARK and value[-2:] == _APPENDS_STOP:
            ops = value[_ITEMS_AT + 1 : -2 : 2]
            if ops == pickle.BININT1 * len(ops):
                return list(accumulate(value[_ITEMS_AT + 2 : -2 : 2]))
            out, i, end = [], _ITEMS_AT + 1, len(value) - 2
            while i < end:
                op = value[i]
                if op == _BININT1:
                    out.append(value[i + 1])
                    i += 2
                elif op == _BININT2:
                    out.append(value[i + 1] | (value[i + 2] << 8))
                    i += 3
                else:
                    break
            else:
                return list(accumulate(out))
        elif (
            value[_ITEMS_AT] == _BININT1
            and len(value) == _ONE_GAP_BYTES
            and value[-2:] == _APPEND_STOP
        ):
            return [value[_ITEMS_AT + 1]]
        elif (
            value[_ITEMS_AT] == _BININT2
            and len(value) == _ONE_GAP_BYTES + 1
            and value[-2:] == _APPEND_STOP
        ):
            return [value[_ITEMS_AT + 1] | (value[_ITEMS_AT + 2] << 8)]
    return list(accumulate(pickle.loads(value[_COUNT_BYTES:])))
