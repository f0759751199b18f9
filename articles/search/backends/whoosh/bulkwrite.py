"""A Whoosh segment writer that builds postings in memory and writes them in bulk.

Stock Whoosh sends every posting of every document, one tuple at a time, through an external
sorting pool, and at commit feeds the sorted stream back one posting at a time into the posting
writer: about a sixth of indexing time, plus the commit (2.8 ms per article here). A segment's
postings fit in memory (a commit holds a few thousand articles), so this writer keeps them per
field and per term as arrays in document order, which is already the order a posting list is
written in; at commit it sorts only the terms and hands each posting list to the codec's
posting writer a whole block (1,024 postings) at a time. Text fields that use the project's
analyzer go through ``fastanalysis`` instead of the token pipeline.

The files are Whoosh's own: the same codec writes the blocks, term records and columns, with
the same statistics, so stock Whoosh reads them and the segment is byte for byte what
``SegmentWriter`` writes for the same documents (``test_fast_indexing.py`` compares both, and
stock Whoosh's search results on each). Per-document data (stored fields, lengths, columns) goes
through the codec's per-document writer as before.

Opening, locking, sub-writer processes and cleanup on failure stay ``writers``'s: the
classes here only plug into it. Django-free: sub-writers started with ``spawn`` import it.
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
from whoosh.formats import Positions
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from .fastanalysis import FastAnalysis, encode_position_runs, learn_words, learned_words
from .writers import (
    ROLLED_SEGMENT,
    GuardedMpWriter,
    GuardedSubWriter,
    TidyOnFailure,
    open_writer,
    prepare_subwriter,
    report_failure,
)

#: Memory a posting takes in a sub-writer until its segment is written, at the peak of the
#: commit (term id, document, weight, a slot in the values list, the sort's copies): 133 bytes
#: measured on the bench's articles, so ``limitmb`` bounds a segment (``segment_posting_limit``).
BYTES_PER_POSTING = 136
#: Each sub-writer's ``limitmb`` when none is given (Whoosh's default for a writer's pool).
DEFAULT_LIMITMB = 128

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


class BulkPostings:
    """For a ``SegmentWriter``: its new segment's postings kept in memory per field
    (``FieldPostings``) instead of Whoosh's sorting pool, and written in bulk at commit. Also
    what a segment merged in at commit (``add_reader``) adds goes there."""

    def __init__(self, ix: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(ix, *args, **kwargs)
        self._postings: dict[str, FieldPostings] = {}

    def add_postings_to_pool(self, reader: Any, startdoc: int, docmap: Any) -> None:
        """Postings of a segment being merged in (``add_reader``) join the in-memory table;
        its documents come after this writer's own, so every list stays in document order."""
        schema = self.schema
        for fieldname, tbytes, docnum, weight, vbytes in self._process_posts(
            reader.iter_postings(), startdoc, docmap
        ):
            postings = self._postings.get(fieldname)
            if postings is None:
                postings = _new_field_postings(schema[fieldname])
                self._postings[fieldname] = postings
            postings.add(tbytes, docnum, weight, vbytes)

    def posting_count(self) -> int:
        """Postings held for the new segment so far (what its memory grows with)."""
        return sum(map(len, self._postings.values()))

    # ---- writing the segment ----------------------------------------------------------------

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        lengths = self.per_document_reader() if self.codec.length_stats else None
        try:
            self._write_postings(lengths)
        finally:
            if lengths is not None:
                lengths.close()
        self.fieldwriter.close()
        self._postings.clear()

    def _write_postings(self, lengths: Any) -> None:
        """Fields and terms in byte order, each posting list a block at a time, with the
        field lengths the stock writer reads back from the new segment for block statistics;
        the term records go into the codec's term table as ``W3FieldWriter`` puts them."""
        writer = self.fieldwriter
        doccount = self.docnum
        for fieldname in sorted(self._postings):
            postings = self._postings[fieldname]
            if not postings.term_ids:
                continue
            field = self.schema[fieldname]
            field_lengths = _field_lengths(lengths, fieldname, doccount)
            writer.start_field(fieldname, field)
            lists = _PostingListWriter(writer, field.format)
            prefix = pack_ushort(writer._fieldid)
            records = [
                (prefix + tbytes, lists.write(term_postings, field_lengths))
                for tbytes, term_postings in postings.posting_lists()
            ]
            lists.flush()
            add_terms(writer._tindex, records)  # what W3FieldWriter.finish_term does, per term
            writer.finish_field()


class BulkSegmentWriter(BulkPostings, SegmentWriter):
    """``SegmentWriter`` with postings kept in memory and written a block at a time, and text
    fields analysed by ``fastanalysis``."""

    def __init__(self, ix: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(ix, *args, **kwargs)
        self._fast: dict[str, FastAnalysis | None] = {}
        for fieldname, field in self.schema.items():
            if field.vector or field.separate_spelling():
                raise NotImplementedError(f"bulk writing of {fieldname}: vectors or spelling")

    # ---- adding documents -------------------------------------------------------------------

    def add_document(self, **fields: Any) -> None:
        """``SegmentWriter.add_document``, step for step, with postings into ``_postings``."""
        self._check_state()
        perdoc = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdoc.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    boost = self._field_boost(fields, fieldname, docboost)
                    length = self._index_value(fieldname, field, value, boost)
                stored_value = fields.get(f"_stored_{fieldname}", value)
                perdoc.add_field(fieldname, field, stored_value if field.stored else None, length)
                column = field.column_type
                if column and stored_value is not None:
                    perdoc.add_column_value(fieldname, column, field.to_column_value(stored_value))
        except ValueError:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _index_value(self, fieldname: str, field: Any, value: Any, boost: float) -> int:
        """Add one field's postings for the current document; return its length."""
        postings = self._postings.get(fieldname)
        if postings is None:
            postings = self._postings[fieldname] = _new_field_postings(field)
        fast = self._fast_analysis(fieldname, field)
        if fast is not None and isinstance(value, str):
            terms, positions = fast.occurrences(value)
            postings.add_occurrences(self.docnum, terms, positions, boost)
            length = len(terms)
        else:
            length = 0
            for tbytes, freq, weight, vbytes in field.index(value):
                postings.add(tbytes, self.docnum, weight * boost, vbytes)
                length += freq
        return length if field.scorable else 0

    def _fast_analysis(self, fieldname: str, field: Any) -> FastAnalysis | None:
        if fieldname not in self._fast:
            self._fast[fieldname] = fast_analysis_for(field)
        return self._fast[fieldname]


def fast_analysis_for(field: Any) -> FastAnalysis | None:
    """The fast path for a field's analysis, None when it has none."""
    if type(field.format) is not Positions:  # subclasses store more per posting
        return None
    return FastAnalysis.for_analyzer(field.analyzer)


def _new_field_postings(field: Any) -> FieldPostings:
    keeps_values = field.format.fixed_value_size() != 0
    return FieldPostings(keeps_values, field.format.field_boost)


def _field_lengths(lengths: Any, fieldname: str, doccount: int) -> list | None:
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


class _PostingListWriter:
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


# ---- plugging into writers ----------------------------------------------------------------------


class TidyBulkSegmentWriter(TidyOnFailure, BulkSegmentWriter):
    """The one-process bulk writer, removing what it wrote when cancelled or failing."""


def segment_posting_limit(limitmb: int | None) -> int:
    """How many postings a sub-writer's segment holds before it is written and another one
    started: its memory stays within ``limitmb`` whatever the size of the import."""
    return max(1, (limitmb or DEFAULT_LIMITMB) * 1024 * 1024 // BYTES_PER_POSTING)


def run_bulk_subwriter(task: Any) -> None:
    """A sub-writer's loop (Whoosh's ``SubWriterTask.run`` for ``multisegment=True``) with a
    ``BulkSegmentWriter``: take job files off the queue, then finish the segment and report it.

    A segment that reaches ``segment_posting_limit`` is finished on the spot and reported as
    rolled (the parent names it in its next commit), and the sub-writer goes on with a new one:
    segments as big as memory allows, however long the writer stays open. A commit pays per
    distinct term of each segment, so bigger segments are cheaper per article."""
    ix = task.storage.open_index(task.indexname)
    limit = segment_posting_limit(task.kwargs.get("limitmb"))
    writer = task.writer = BulkSegmentWriter(ix, _lk=False, **task.kwargs)
    while task.running:
        job = task.jobqueue.get()
        if job is None:
            break
        task._process_file(*job)
        if writer.posting_count() >= limit:
            segment = writer._finalize_segment()
            task.resultqueue.put((ROLLED_SEGMENT, writer.pool.fieldnames, segment), timeout=5)
            writer = task.writer = BulkSegmentWriter(ix, _lk=False, **task.kwargs)
    if not task.running:
        writer.cancel()
        return
    segment = writer._finalize_segment()
    task.resultqueue.put((None, writer.pool.fieldnames, segment, learned_words()), timeout=5)


class BulkSubWriter(GuardedSubWriter):
    """A guarded sub-writer (dies with its parent, reports failures) that writes in bulk."""

    def run(self) -> None:
        prepare_subwriter(self.parent_pid, self.lock_path)
        try:
            run_bulk_subwriter(self)
        except Exception as error:
            report_failure(self.resultqueue, error)


def run_spawned_bulk_subwriter(parent_pid: int, lock_path: str, *args: Any) -> None:
    """The same for ``spawn`` and ``forkserver`` starts (a module-level, picklable target)."""
    BulkSubWriter(parent_pid, lock_path, *args).run()


class BulkMpWriter(BulkPostings, GuardedMpWriter):
    """The guarded multiprocess writer with bulk-writing sub-writers, one segment each; small
    segments merged at its commit are written in bulk too."""

    subwriter_class = BulkSubWriter
    spawned_subwriter = staticmethod(run_spawned_bulk_subwriter)

    def __init__(self, ix: Any, *args: Any, **kwargs: Any) -> None:
        if not kwargs.get("multisegment"):
            raise ValueError("bulk sub-writers write a segment each: pass multisegment=True")
        super().__init__(ix, *args, **kwargs)
        for _, field in self.schema.items():
            fast_analysis_for(field)  # so that this process can keep what sub-writers learn

    def _collect_results(self) -> list[Any]:
        """Each sub-writer's result, after taking in the words it learned (for the next)."""
        results = []
        for item in super()._collect_results():
            if len(item) == 4:
                learn_words(item[3])
            results.append(item[:3])
        return results


def open_bulk_writer(ix: Any, *, timeout: float, procs: int = 1, **options: Any) -> Any:
    """``writers.open_writer`` (the lock, clearing what a dead writer left) with the
    bulk writers; ``procs > 1`` needs ``multisegment=True``."""
    return open_writer(
        ix,
        timeout=timeout,
        procs=procs,
        single_class=TidyBulkSegmentWriter,
        parallel_class=BulkMpWriter,
        **options,
    )
