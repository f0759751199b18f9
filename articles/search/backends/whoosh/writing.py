"""Writing the index: one writer across an import's batches, the write lock, merging, rebuilds.

Whoosh lets one writer at a time hold an index; a save in the admin waits for an import's
writer rather than failing (``WRITE_LOCK_TIMEOUT``). Long imports keep one writer with
parallel sub-writers and commit every few thousand documents, merging only tiny segments
(``merge_tiny``): Whoosh's own merge policy stalled big imports for minutes. ``IndexWriting``
is the writing half of ``WhooshBackend``, kept apart from the searching half in ``backend``.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from whoosh import index

from .. import BulkIndexer
from .bulkwrite import open_bulk_writer
from .codec import build_codec
from .lockfiles import lock_path, writers_waiting
from .schema import build_schema, document_for
from .writers import cancel_quietly, commit, index_write_errors

if TYPE_CHECKING:
    from .backend import WhooshBackend

logger = logging.getLogger(__name__)

#: Seconds a writer waits for another writer (an import, a rebuild) to release the lock.
WRITE_LOCK_TIMEOUT = 60.0
#: Long imports keep one writer across batches, committing after this many documents or
#: seconds, whichever comes first, or at once when another process waits for the lock (an
#: admin save: see ``lockfiles.WaitingMark``), so a save gets in well within its wait. Between
#: commits the sub-writers write a segment whenever theirs reaches its memory limit, so the
#: interval sets how soon an import's articles become searchable, not the segments' size.
BULK_COMMIT_DOCS = 100_000
BULK_COMMIT_SECONDS = 60.0
#: How often an import whose commit let a waiting writer in looks whether it is done.
WAITING_POLL_SECONDS = 0.05
#: A first batch at least this big gets parallel sub-writers (Whoosh's procs/multisegment):
#: they index while the importer parses and writes the next batch. Smaller imports (an admin
#: upload of a few files, tests) skip the cost of starting processes.
BULK_PARALLEL_MIN = 200
BULK_PROCS = 2
#: Each sub-writer's memory for its segment's postings (``bulkwrite.segment_posting_limit``):
#: past it the segment is written and a new one begun (about 7,500 of the bench's articles of
#: 4 KB), so two sub-writers of about 470 MB each and the importer stay near 1.2 GB whatever
#: the size of the import.
BULK_LIMITMB = 384
#: Segments under this many documents are merged at each commit, which is cheap. Bigger ones
#: are left alone: Whoosh's default policy decided, at 50,000 articles in the middle of an
#: import, to merge half the archive in pure Python (minutes, with the lock held), and would do
#: the same on a single admin save.
TINY_SEGMENT_DOCS = 1_000


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
        self._uncommitted: set[int] = set()  # ids the open writer holds

    def add(self, ids: Iterable[int], *, new: bool = False) -> None:
        ids = sorted({int(i) for i in ids})
        if ids:
            self._add(ids, lambda new: self._write_rows(ids, new), new)

    def add_articles(self, articles: Sequence[Any], *, new: bool = False) -> None:
        if articles:
            ids = [int(article.pk) for article in articles]
            self._add(ids, lambda new: self._write_documents(articles, new), new)

    def _add(self, ids: list[int], write: Callable[[bool], None], new: bool) -> None:
        if not self._uncommitted.isdisjoint(ids):
            # Whoosh's update_document cannot replace a document its own writer still holds:
            # commit it first, then update what is now in the index.
            self.close()
            new = False
        if self._writer is None:
            self._open(parallel=len(ids) >= BULK_PARALLEL_MIN)
        try:
            with index_write_errors():
                write(new)
        except Exception:
            self.cancel()  # a writer that failed half-way must not be committed, nor hang
            raise
        self._pending += len(ids)
        self._uncommitted.update(ids)
        if self._commit_due():
            self.close()

    def _commit_due(self) -> bool:
        if self._pending >= BULK_COMMIT_DOCS:
            return True
        if time.monotonic() - self._opened >= BULK_COMMIT_SECONDS:
            return True
        return writers_waiting(lock_path(self._writer)) > 0

    def _write_rows(self, ids: list[int], new: bool) -> None:
        """Index rows read from the database; ids without a row are removed from the index."""
        found: set[int] = set()
        for article in articles_by_id(ids):
            found.add(article.pk)
            self._write_document(article, new)
        for missing in set(ids) - found:
            self._writer.delete_by_term("id", missing)

    def _write_documents(self, articles: Sequence[Any], new: bool) -> None:
        for article in articles:
            self._write_document(article, new)

    def _write_document(self, article: Any, new: bool) -> None:
        document = document_for(article, self.backend.tz)
        if new:
            self._writer.add_document(**document)
        else:
            self._writer.update_document(**document)

    def _open(self, parallel: bool) -> None:
        self._let_waiting_writers_in()
        options = {}
        if parallel:
            options = {"procs": BULK_PROCS, "multisegment": True, "limitmb": BULK_LIMITMB}
        self._writer = self.backend._writer(**options)
        self._opened = time.monotonic()

    def _let_waiting_writers_in(self) -> None:
        """Before taking the lock again, wait while other writers wait for it (they poll it
        every 50 ms, we would win it back at once): for at most their own wait."""
        with index_write_errors():
            path = lock_path(self.backend._index())
        deadline = time.monotonic() + WRITE_LOCK_TIMEOUT
        while writers_waiting(path) and time.monotonic() < deadline:
            time.sleep(WAITING_POLL_SECONDS)

    def close(self) -> None:
        writer, pending, self._writer, self._pending = self._writer, self._pending, None, 0
        self._uncommitted = set()
        if writer is not None:
            logger.debug("index commit started (%d documents)", pending)
            commit(writer, mergetype=merge_tiny)
            logger.debug("index commit finished")

    def cancel(self) -> None:
        """Drop what was added since the last commit (a failed write, a failed reindex)."""
        writer, self._writer, self._pending = self._writer, None, 0
        self._uncommitted = set()
        if writer is not None:
            cancel_quietly(writer)


class IndexWriting:
    """Index, unindex, rebuild and clear: the writing half of ``WhooshBackend``.

    Its methods run on the backend, and use what the backend keeps for both halves: the
    index folder and time zone, the open index (``_index()``, ``_ix``), the lock that guards
    opening it, and ``close()``.
    """

    index_dir: Path
    tz: Any
    _ix: Any
    _lock: threading.RLock

    def _index(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _writer(self, **kwargs: Any) -> Any:
        """A writer, waiting for the lock while another process (an import) holds it; it
        writes the same segments as Whoosh's own, in bulk (see ``bulkwrite``)."""
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
        and saves carry on meanwhile (see ``rebuild``)."""
        from .rebuild import rebuild_beside

        return rebuild_beside(self, progress)

    def optimize(self) -> int:
        """Merge the index into one segment beside it, then swap it in (see ``rebuild``)."""
        from .rebuild import optimize_beside

        return optimize_beside(self)

    def clear(self) -> None:
        with self._lock:
            self.close()
            if self.index_dir.exists():
                shutil.rmtree(self.index_dir)
            self.index_dir.mkdir(parents=True, exist_ok=True)
            self._ix = index.create_in(str(self.index_dir), build_schema())


def articles_by_id(ids: list[int]) -> Iterator[Any]:
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
