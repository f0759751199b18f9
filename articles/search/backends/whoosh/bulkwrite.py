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

from typing import Any

from whoosh.formats import Positions
from whoosh.system import pack_ushort
from whoosh.writing import SegmentWriter

from .fastanalysis import FastAnalysis, learn_words, learned_words
from .postings import (
    FieldPostings,
    PostingListWriter,
    add_terms,
    document_lengths,
    new_field_postings,
)
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
                postings = new_field_postings(schema[fieldname])
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
            field_lengths = document_lengths(lengths, fieldname, doccount)
            writer.start_field(fieldname, field)
            lists = PostingListWriter(writer, field.format)
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
            postings = self._postings[fieldname] = new_field_postings(field)
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
