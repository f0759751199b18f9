"""Index writers that fail fast and clean up: sub-writer processes that die with their import,
a write lock that cannot outlive its owner, and no stray files after a crash.

Whoosh's multiprocess writer (``whoosh.multiproc.MpWriter``, whoosh3 3.54.0) was made for a
happy path. Its sub-writers are forked processes that wait on a job queue and inherit the
index's write lock (an ``flock`` on ``MAIN_WRITELOCK``), so an import killed with ``kill -9``
left them waiting for ever, holding the lock; its ``cancel()`` only flips a flag in the
parent's copy of each task, so a failed import (a full disk) waited for sub-writers that were
never told to stop; and a sub-writer that died was silently left out of the commit. Here:

- a sub-writer asks the kernel for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``), drops
  its inherited copy of the lock (so the lock is the parent's alone and goes with it), and
  leaves Ctrl-C and SIGTERM to the parent, which stops it;
- the parent never waits on a queue without checking that its sub-writers are alive, fails
  with ``IndexWriteError`` naming the cause when one dies, and on cancel stops them for real;
- whoever takes the write lock first removes what a killed writer left (segment files that no
  table of contents names, temporary files) and stops sub-writers that a dead import left
  behind (their pids are recorded beside the lock).

This module must not import Django: sub-writers started with ``spawn`` import it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import pickle
import queue
import signal
import sys
import time
from typing import Any

from whoosh.index import LockError
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util import random_name
from whoosh.writing import SegmentWriter

from ....childprocess import die_with_parent
from ...errors import IndexLockedError, IndexWriteError
from .lockfiles import (
    OwnerRecord,
    WaitingMark,
    lock_holders,
    lock_path,
    remove_stray_files,
    stop_orphaned_subwriters,
    temp_entries,
)

logger = logging.getLogger("articles.search")

POLL_SECONDS = 0.2  # how often a waiting parent checks that its sub-writers are alive
STOP_GRACE_SECONDS = 3.0  # how long a stopped sub-writer gets before SIGKILL
RESULT_GRACE_SECONDS = 5.0  # after a sub-writer exits cleanly, how long its result may lag
_FAILED = "__subwriter_failed__"  # tags a failure report on the result queue
ROLLED_SEGMENT = "__rolled_segment__"  # tags a segment a sub-writer finished and went on from
JOB_PICKLE_PROTOCOL = 2  # MpWriter's job files, read back by SubWriterTask


# --- processes ---------------------------------------------------------------------------------


def drop_inherited_lock(lock_path: str) -> None:
    """Point this process's descriptors of the lock file at /dev/null.

    A forked child shares its parent's open lock file, and an ``flock`` lasts until every
    descriptor of it is closed: so a child that kept it would hold the index lock after its
    parent died. ``dup2`` over the descriptor (not ``close``) keeps any later ``flock`` call on
    that number harmless instead of hitting some other file."""
    real = os.path.realpath(lock_path)
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        for name in fds:
            with contextlib.suppress(OSError, ValueError):
                if os.readlink(f"/proc/self/fd/{name}") == real:
                    os.dup2(devnull, int(name))
    finally:
        os.close(devnull)


def prepare_subwriter(parent_pid: int, lock_path: str) -> None:
    die_with_parent(parent_pid)
    drop_inherited_lock(lock_path)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def report_failure(resultqueue: Any, error: BaseException) -> None:
    with contextlib.suppress(Exception):
        resultqueue.put((_FAILED, describe(error)), timeout=2)
    sys.exit(1)  # quietly: the parent reports the cause once


class GuardedSubWriter(SubWriterTask):
    """Whoosh's sub-writer (fork start), made to die with its parent and report failures."""

    def __init__(self, parent_pid: int, lock_path: str, *args: Any) -> None:
        super().__init__(*args)
        self.parent_pid = parent_pid
        self.lock_path = lock_path

    def run(self) -> None:
        prepare_subwriter(self.parent_pid, self.lock_path)
        try:
            super().run()
        except Exception as error:
            report_failure(self.resultqueue, error)


def run_guarded_subwriter(
    parent_pid: int,
    lock_path: str,
    storage: Any,
    indexname: str,
    jobqueue: Any,
    resultqueue: Any,
    kwargs: dict,
    multisegment: bool,
) -> None:
    """The same for ``spawn`` and ``forkserver`` starts (a module-level, picklable target)."""
    prepare_subwriter(parent_pid, lock_path)
    try:
        SubWriterTask(storage, indexname, jobqueue, resultqueue, kwargs, multisegment).run()
    except Exception as error:
        report_failure(resultqueue, error)


# --- the writer --------------------------------------------------------------------------------


class TidyOnFailure:
    """A writer that, when cancelled or failing, removes what it wrote before it lets go of
    the lock (Whoosh leaves a cancelled segment's files for a later commit to sweep)."""

    def cancel(self) -> None:
        if self.is_closed:
            return
        with contextlib.suppress(Exception):
            self._close_segment()
        self._cleanup_on_error()

    def _cleanup_on_error(self) -> None:
        with contextlib.suppress(Exception):
            remove_stray_files(self, temp_entries(self.storage.folder), keep_own=False)
        super()._cleanup_on_error()  # Whoosh's release of the searcher, temp folder and lock


class TidySegmentWriter(TidyOnFailure, SegmentWriter):
    """Whoosh's one-process writer, tidy on failure."""


class GuardedMpWriter(TidyOnFailure, MpWriter):
    """Whoosh's multiprocess writer with sub-writers that cannot hang or outlive it."""

    #: What runs in a sub-writer: a Process class (fork), a picklable target (spawn).
    subwriter_class: Any = None  # None: GuardedSubWriter
    spawned_subwriter: Any = None  # None: run_guarded_subwriter

    def __init__(self, ix: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(ix, *args, **kwargs)
        self.lock_path = lock_path(ix)
        self._owner = OwnerRecord(self.lock_path)

    def _new_task(self) -> Any:
        args = (
            self.storage,
            self.indexname,
            self.jobqueue,
            self.resultqueue,
            self.subargs,
            self.multisegment,
        )
        guard = (os.getpid(), self.lock_path)
        if self.start_method is None:
            task = (self.subwriter_class or GuardedSubWriter)(*guard, *args)
        else:
            target = self.spawned_subwriter or run_guarded_subwriter
            task = self._mpctx.Process(target=target, args=(*guard, *args))
        self.tasks.append(task)
        task.start()
        self._owner.write(self.tasks)
        return task

    def _enqueue(self) -> None:
        """Whoosh's job-file hand-off, with a put that notices dead sub-writers."""
        filename = f"{random_name()}.doclist"
        with self.temp_storage().create_file(filename).raw_file() as f:
            for item in self.docbuffer:
                pickle.dump(item, f, JOB_PICKLE_PROTOCOL)
        if len(self.tasks) < self.procs:
            self._new_task()
        self._put((filename, len(self.docbuffer)))
        self.docbuffer = []

    def _put(self, job: Any) -> None:
        while True:
            try:
                self.jobqueue.put(job, timeout=POLL_SECONDS)
                return
            except queue.Full:
                self._check_tasks()

    def _check_tasks(self) -> None:
        """Raise as soon as any sub-writer has died (a disk error, a kill)."""
        for task in self.tasks:
            if task.exitcode not in (None, 0):
                raise IndexWriteError(self._failure_reason(task))

    def _failure_reason(self, task: Any) -> str:
        with contextlib.suppress(queue.Empty, OSError, EOFError, ValueError):
            while True:
                item = self.resultqueue.get_nowait()
                if item and item[0] == _FAILED:
                    return item[1]
        if task.exitcode is not None and task.exitcode < 0:
            return f"an index sub-writer was killed by signal {-task.exitcode}"
        return f"an index sub-writer failed (exit status {task.exitcode})"

    def _collect_results(self) -> list[Any]:
        """One final result per sub-writer (after any segments it rolled over on the way,
        which come first), or an error naming why one is missing."""
        results: list[Any] = []
        rolled: list[Any] = []
        clean_exit_seen: float | None = None
        while len(results) < len(self.tasks):
            try:
                item = self.resultqueue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                self._check_tasks()
                if all(task.exitcode == 0 for task in self.tasks):
                    clean_exit_seen = clean_exit_seen or time.monotonic()
                    if time.monotonic() - clean_exit_seen > RESULT_GRACE_SECONDS:
                        missing = "an index sub-writer finished without its segment"
                        raise IndexWriteError(missing) from None
                continue
            if item and item[0] == _FAILED:
                raise IndexWriteError(item[1])
            (rolled if item and item[0] == ROLLED_SEGMENT else results).append(item)
        for task in self.tasks:
            task.join(STOP_GRACE_SECONDS)  # each has handed in its segment and is leaving
        stop_processes(self.tasks)  # none should be left; never wait on one for ever
        return rolled + results

    def _commit(self, mergetype: Any, optimize: Any, merge: Any) -> None:
        """Whoosh's parallel commit, waiting on sub-writers without ever hanging on them."""
        if self.docbuffer:
            self._enqueue()
        for _task in self.tasks:
            self._put(None)
        finalsegments = self._merge_segments(mergetype, optimize, merge)
        results = self._collect_results()
        if self.multisegment:
            finalsegments += [segment for _, _, segment in results]
            if self._added:
                finalsegments.append(self._finalize_segment())
            else:
                self._close_segment()
        else:
            self._merge_subsegments(results, mergetype)
            self._close_segment()
            self._assemble_segment()
            finalsegments.append(self.get_segment())
        self._commit_toc(finalsegments)
        self._finish()
        self._owner.remove()

    def cancel(self) -> None:
        """Stop the sub-writers for real, then drop what was written and release the lock."""
        self._stop()
        super().cancel()

    def _cleanup_on_error(self) -> None:
        self._stop()
        super()._cleanup_on_error()

    def _stop(self) -> None:
        stop_processes(self.tasks)
        self._owner.remove()


def stop_processes(tasks: list[Any]) -> None:
    """SIGTERM, a short grace, then SIGKILL: no sub-writer survives a cancel."""
    for task in tasks:
        if task.is_alive():
            with contextlib.suppress(OSError):
                task.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for task in tasks:
        task.join(max(0.0, deadline - time.monotonic()))
        if task.is_alive():
            with contextlib.suppress(OSError):
                task.kill()
            task.join(1.0)


# --- opening a writer ---------------------------------------------------------------------------


def open_writer(
    ix: Any,
    *,
    timeout: float,
    procs: int = 1,
    single_class: Any = None,
    parallel_class: Any = None,
    **options: Any,
) -> SegmentWriter:
    """A writer holding the index lock, after clearing what a killed writer left behind.

    Waits up to ``timeout`` seconds for another writer (an import, a rebuild) to finish; a
    lock that is still held then is named with the processes holding it. ``single_class`` and
    ``parallel_class`` replace the writer classes (subclasses of the two below)."""
    path = lock_path(ix)
    stop_orphaned_subwriters(path)
    leftovers = temp_entries(ix.storage.folder)  # before our own writer adds to them
    if procs > 1:
        parallel = parallel_class or GuardedMpWriter
        options["procs"] = procs
    writer_class = parallel if procs > 1 else (single_class or TidySegmentWriter)

    def take_lock(wait: float) -> SegmentWriter:
        with index_write_errors():
            return writer_class(ix, timeout=wait, delay=0.05, **options)

    try:
        try:
            writer = take_lock(0)
        except LockError:
            if timeout <= 0:
                raise
            with WaitingMark(path):  # a long writer seeing it commits and lets us in
                writer = take_lock(timeout)
    except LockError as error:
        holders = ", ".join(f"{pid} ({cmd[:80]})" for pid, cmd in lock_holders(path))
        held_by = f"; held by process {holders}" if holders else ""
        raise IndexLockedError(
            f"the search index in {ix.storage.folder} stayed locked for {timeout:.0f}s{held_by}"
        ) from error
    remove_stray_files(writer, leftovers)
    return writer


@contextlib.contextmanager
def index_write_errors() -> Any:
    """Turn a disk or file error while writing the index into one ``IndexWriteError``."""
    try:
        yield
    except OSError as error:
        reason = f"the search index could not be written: {describe(error)}"
        raise IndexWriteError(reason) from error


def commit(writer: Any, **options: Any) -> None:
    """Commit, or cancel and raise ``IndexWriteError`` naming the cause: a failed commit must
    not keep the lock, its sub-writers or its half-written files."""
    try:
        with index_write_errors():
            writer.commit(**options)
    except BaseException:
        cancel_quietly(writer)
        raise


def cancel_quietly(writer: Any) -> None:
    """Cancel a writer that may already have failed half-way: the first error is the one that
    matters, and the lock must be released whatever state the writer is in."""
    try:
        writer.cancel()
    except Exception as error:
        logger.debug("cancelling a failed index writer: %s", describe(error))
        with contextlib.suppress(Exception):
            writer._cleanup_on_error()  # Whoosh's own release of the lock and temp folder


def describe(error: BaseException) -> str:
    """One line for a person: what failed, where, and why."""
    if isinstance(error, OSError):
        reason = error.strerror or (errno.errorcode.get(error.errno or 0)) or str(error)
        where = f" ({error.filename})" if error.filename else ""
        return f"{reason}{where}"
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
