"""A new segment's postings held in memory, and written as Whoosh's own posting lists.

``FieldPostings`` keeps one field's postings (and the occurrences of analysed text) as flat
arrays and turns them into posting lists in term order with one NumPy sort; ``PostingListWriter``
writes each list a whole block at a time, the same bytes as ``W3PostingsWriter``, and
``add_terms`` their records into the term table as ``OrderedHashWriter`` does. ``bulkwrite``'s
segment writer holds one ``FieldPostings`` per field and calls these at commit. Django-free.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable, Iterator
from itertools import chain, repeat
from operator import sub
from typing import Any

import numpy as np
from whoosh.codec import whoosh3
from whoosh.codec.whoosh3 import COMPRESSION_MIN_SIZE, W3TermInfo
from whoosh.filedb.filetables import _lengths as _KEY_VALUE_LENGTHS
from whoosh.system import pack_int, pack_long
from whoosh.util.numeric import length_to_byte

from .fastanalysis import encode_position_runs

#: Postings whose positions are encoded in one go at commit: bounds the encoder's temporary
#: arrays (a few MB) whatever the segment's size.
ENCODE_CHUNK_POSTINGS = 1 << 16

#: Posting lists are written to the file in pieces of about this size, not one call per term.
WRITE_BUFFER_BYTES = 1 << 20

#: A term's postings as written: document numbers, weights (doubles, as the stock writer has
#: them before a block stores them as floats) and encoded values (None for formats without).
_TermPostings = tuple[array, array, list | None]


class FieldPostings:
    """One field's postings in a new segment, as flat arrays in the order they were added.

    Text analysed by ``fastanalysis`` is kept as occurrences (term, document, position: one
    per kept word), added with a few C-level ``extend`` calls per document; other postings
    (labels, numbers, segments merged in) as postings. At commit one stable NumPy sort by
    term puts both in (term, document) order, since documents were added in increasing order,
    and the occurrences of each (term, document) become its posting: the count, the weight and
    the encoded positions, for the whole segment at once (``fastanalysis.encode_position_runs``)
    instead of a dict of lists, a pickle and a few list appends per term and document."""

    def __init__(self, keeps_values: bool, field_boost: float = 1.0) -> None:
        self.term_ids = _TermIds()
        self.terms = array("I")
        self.docs = array("I")
        self.weights = array("d")
        self.values: list[bytes] | None = [] if keeps_values else None
        self.field_boost = field_boost
        self.occurrence_terms = array("I")
        self.occurrence_docs = array("I")
        self.occurrence_positions = array("I")
        self.occurrence_postings = 0  # distinct (term, document) pairs among them
        self.document_boosts: dict[int, float] = {}  # documents whose boost is not 1

    def add_occurrences(
        self, docnum: int, terms: list[bytes], positions: Iterable[int], boost: float
    ) -> None:
        """A document's kept words (``FastAnalysis.occurrences``) for postings whose weight is
        the term's frequency times the field boost, times ``boost``, as ``Positions`` gives."""
        self.occurrence_terms.extend(map(self.term_ids.__getitem__, terms))
        self.occurrence_docs.extend(repeat(docnum, len(terms)))
        self.occurrence_positions.extend(positions)
        self.occurrence_postings += len(set(terms))
        if boost != 1.0:
            self.document_boosts[docnum] = boost

    def __len__(self) -> int:
        return len(self.docs) + self.occurrence_postings

    def add(self, tbytes: bytes, docnum: int, weight: float, vbytes: bytes | None) -> None:
        self.terms.append(self.term_ids[tbytes])
        self.docs.append(docnum)
        self.weights.append(weight)
        if self.values is not None:
            self.values.append(vbytes or b"")

    def posting_lists(self) -> Iterator[tuple[bytes, _TermPostings]]:
        """(term, postings) in term byte order, each term's postings in document order; once
        (the occurrences are turned into postings on the way)."""
        names = list(self.term_ids)  # term id -> term (ids were given in insertion order)
        if not names:
            return
        by_name = sorted(range(len(names)), key=names.__getitem__)
        rank = np.empty(len(names), dtype=np.int64)
        rank[by_name] = np.arange(len(names))
        ranks, docs, weights, values = self._sorted_postings(rank)
        counts = np.bincount(ranks, minlength=len(names)).tolist()
        docs = array("I", docs.astype(np.uint32).tobytes())
        weights = array("d", weights.tobytes())
        start = 0
        for term_id, count in zip(by_name, counts, strict=True):
            if not count:
                continue
            end = start + count
            term_values = values[start:end] if values is not None else None
            yield names[term_id], (docs[start:end], weights[start:end], term_values)
            start = end

    def _sorted_postings(self, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any, Any]:
        """Every posting's term rank, document, weight and value, in (term, document) order."""
        added = self._added_postings(rank)
        if not len(self.occurrence_terms):
            return added
        found = self._occurrence_postings(rank)
        if not len(self.docs):
            return found
        # Both kinds in one field (a segment merged into a writer that also indexed text):
        # rare, so simply sorted together.
        ranks = np.concatenate([found[0], added[0]])
        docs = np.concatenate([found[1], added[1]])
        order = np.lexsort((docs, ranks))
        weights = np.concatenate([found[2], added[2]])[order]
        values = None
        if self.values is not None:
            held = np.fromiter(chain(found[3], added[3]), dtype=object, count=len(order))
            values = held[order].tolist()
        return ranks[order], docs[order], weights, values

    def _take_occurrences(self) -> tuple[array, array, array]:
        taken = (self.occurrence_terms, self.occurrence_docs, self.occurrence_positions)
        self.occurrence_terms, self.occurrence_docs = array("I"), array("I")
        self.occurrence_positions = array("I")
        self.occurrence_postings = 0
        return taken

    def _added_postings(self, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any, Any]:
        ranks = rank[np.frombuffer(self.terms, dtype=np.uint32)]
        order = np.argsort(ranks, kind="stable")
        docs = np.frombuffer(self.docs, dtype=np.uint32)[order]
        weights = np.frombuffer(self.weights, dtype=np.float64)[order]
        values = None
        if self.values is not None:  # reordered without a Python int per posting (memory)
            held = np.fromiter(self.values, dtype=object, count=len(self.values))
            values = held[order].tolist()
            del held
        return ranks[order], docs, weights, values

    def _occurrence_postings(self, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any, Any]:
        """The occurrences as postings; they are let go of once sorted (the segment is being
        written), so that the encoded positions do not add to their memory."""
        terms, docs, positions = self._take_occurrences()
        ranks = rank.astype(np.uint32)[np.frombuffer(terms, dtype=np.uint32)]
        del terms
        order = np.argsort(ranks, kind="stable")  # then by document and position, as added
        ranks = ranks[order]
        docs = np.frombuffer(docs, dtype=np.uint32)[order]
        positions = np.frombuffer(positions, dtype=np.uint32)[order]
        del order
        first = np.ones(len(ranks), dtype=bool)
        first[1:] = (ranks[1:] != ranks[:-1]) | (docs[1:] != docs[:-1])
        starts = np.flatnonzero(first)
        del first
        counts = np.diff(starts, append=len(ranks))
        # Positions.word_values: frequency * field boost; add_document: times the boost
        weights = counts.astype(np.float64) * self.field_boost
        docs = docs[starts]
        if self.document_boosts:
            boosts = np.array([self.document_boosts.get(d, 1.0) for d in docs.tolist()])
            weights = weights * boosts
        values = None
        if self.values is not None:
            values = []
            for first in range(0, len(starts), ENCODE_CHUNK_POSTINGS):
                last = first + ENCODE_CHUNK_POSTINGS
                begin = starts[first]
                end = starts[last] if last < len(starts) else len(positions)
                values += encode_position_runs(counts[first:last], positions[begin:end])
        return ranks[starts], docs, weights, values


class _TermIds(dict):
    """Term -> a small number, given in order of first appearance."""

    def __missing__(self, term: bytes) -> int:
        number = self[term] = len(self)
        return number


def new_field_postings(field: Any) -> FieldPostings:
    keeps_values = field.format.fixed_value_size() != 0
    return FieldPostings(keeps_values, field.format.field_boost)


def document_lengths(lengths: Any, fieldname: str, doccount: int) -> list | None:
    """Each document's length as the stock writer sees it (``doc_field_length_reader``: the
    length byte decoded, None or 0 when absent), or None when no document has one."""
    if lengths is None:
        return None
    length_of = lengths.doc_field_length_reader(fieldname)
    found = [length_of(docnum) for docnum in range(doccount)]
    return found if any(found) else None


def add_terms(table: Any, records: list[tuple[bytes, bytes]]) -> None:
    """``OrderedHashWriter.add`` for each (key, value), in one write: the same bytes, hash
    buckets and key index, without asking the file for its position (a system call) and
    writing three times per term. Keys must increase, as ``add`` checks."""
    dbfile = table.dbfile
    position = dbfile.tell()
    parts: list[bytes] = []
    index_append = table.index.append
    buckets = table.buckets
    hashfn = table.hashfn
    pack_lengths = _KEY_VALUE_LENGTHS.pack
    header = _KEY_VALUE_LENGTHS.size
    lastkey = table.lastkey
    for key, value in records:
        if key <= lastkey:
            raise ValueError(f"Keys must increase: {lastkey!r}..{key!r}")
        index_append(position)
        parts += (pack_lengths(len(key), len(value)), key, value)
        hashed = hashfn(key)
        buckets[hashed & 255].append((hashed, position))
        position += header + len(key) + len(value)
        lastkey = key
    dbfile.write(b"".join(parts))
    table.lastkey = lastkey


class PostingListWriter:
    """Writes posting lists into a segment's postings file exactly as ``W3PostingsWriter``
    does (the same blocks, block headers and term statistics), a whole block per step.

    The stock writer fills a block one posting at a time, creating a terminfo object and two
    arrays per term and asking the file for its position (a system call) twice; most terms
    of a segment are rare, so that per-term cost is most of a commit. The layout written:
    per term a magic header, then per block the signed length of header and data (negative
    for the last), the header ``(count, last id, max weight, compression, min length byte,
    max length byte)`` and the data ``(id deltas, weights, values)``, both pickled with the
    codec's ``dumps``, the data zlib-compressed from ``COMPRESSION_MIN_SIZE`` bytes."""

    def __init__(self, fieldwriter: Any, format_: Any) -> None:
        codec = fieldwriter._codec
        self.file = fieldwriter._postfile
        self.offset = self.file.tell()
        self.blocklimit = codec._blocklimit
        self.compression = codec._compression
        self.fixed_size = format_.fixed_value_size()
        self.pending: list[bytes] = []  # posting lists not written yet (``flush``)
        self.pending_bytes = 0

    def flush(self) -> None:
        """Write the posting lists kept so far, in one call."""
        if self.pending:
            self.file.write(b"".join(self.pending))
            self.pending, self.pending_bytes = [], 0

    def write(self, postings: _TermPostings, field_lengths: list | None) -> bytes:
        """Write one term's postings; return its term record (``W3TermInfo.to_bytes()``)."""
        ids, weights, values = postings
        dumps = whoosh3.dumps  # looked up each time, as whoosh3 does: whoosh_codec replaces it
        parts = [whoosh3.WHOOSH3_HEADER_MAGIC]  # written in one call at the end
        total_weight: float = 0
        term_minlength = None
        term_maxlength = 0
        term_maxweight: float = 0
        count = len(ids)
        limit = self.blocklimit
        for first in range(0, count, limit):
            block_ids = ids[first : first + limit]
            block_weights = weights[first : first + limit]
            stored_weights = array("f", block_weights)
            minlength, maxlength = _length_range(block_ids, field_lengths)
            top = max(block_weights)
            maxweight = top if top > 0 else 0
            data = (
                tuple(map(sub, block_ids, chain((0,), block_ids))),
                _mini_weights(stored_weights),
                self._mini_values(values, first, first + limit),
            )
            databytes = dumps(data, 2)
            compression = self.compression if len(databytes) >= COMPRESSION_MIN_SIZE else 0
            if compression:
                databytes = zlib.compress(databytes, compression)
            header = (
                len(block_ids),
                block_ids[-1],
                maxweight,
                compression,
                length_to_byte(minlength),
                length_to_byte(maxlength),
            )
            infobytes = dumps(header, 2)
            size = len(infobytes) + len(databytes)
            parts += (pack_int(-size if first + limit >= count else size), infobytes, databytes)
            # W3TermInfo.add_block, statistic by statistic
            total_weight += sum(stored_weights)
            first_block = term_minlength is None
            term_minlength = minlength if first_block else min(term_minlength, minlength)
            term_maxlength = max(term_maxlength, maxlength)
            term_maxweight = max(term_maxweight, maxweight)
        chunk = b"".join(parts)
        self.pending.append(chunk)
        self.pending_bytes += len(chunk)
        if self.pending_bytes >= WRITE_BUFFER_BYTES:
            self.flush()
        start = self.offset
        self.offset += len(chunk)
        record = W3TermInfo._struct.pack(
            False,
            total_weight,
            count,
            0 if term_minlength is None else length_to_byte(term_minlength),
            length_to_byte(term_maxlength),
            term_maxweight,
            ids[0],
            ids[-1],
        )
        return record + pack_long(start) + pack_int(len(chunk))

    def _mini_values(self, values: list | None, first: int, last: int) -> Any:
        """``W3PostingsWriter._mini_values`` (only non-empty values are kept, as it does)."""
        if self.fixed_size == 0:
            return None
        block = values[first:last] if values is not None else []
        if not all(block):
            block = [value for value in block if value]
        if self.fixed_size is None or self.fixed_size < 0:
            return tuple(block)
        return b"".join(block)


def _mini_weights(weights: array) -> Any:
    """``W3PostingsWriter._mini_weights``: None when all are 1, one value when all are equal."""
    count = len(weights)
    if weights.count(1.0) == count:
        return None
    if weights.count(weights[0]) == count:
        return weights[0]
    return tuple(weights)


def _length_range(block_ids: array, field_lengths: list | None) -> tuple[int | None, int]:
    """The shortest and longest field length of a block's documents, as ``add_posting``
    tracks them (absent lengths are skipped)."""
    if field_lengths is None:
        return None, 0
    present = [n for n in map(field_lengths.__getitem__, block_ids) if n]
    if not present:
        return None, 0
    return min(present), max(present)
