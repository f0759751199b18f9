"""The files beside an index's write lock, and the processes they name.

Who holds the lock and which sub-writers it started (``OwnerRecord``), who waits for it
(``WaitingMark``), who holds it now (``lock_holders``), and what a killed writer left behind
(``stop_orphaned_subwriters``, ``remove_stray_files``). A process is named by its pid and its
start time, so a reused pid is never mistaken for a dead writer's.

This module must not import Django: sub-writers started with ``spawn`` import it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import time
from typing import TYPE_CHECKING, Any

from whoosh.index import TOC

if TYPE_CHECKING:
    from whoosh.writing import SegmentWriter

LOCK_NAME = "WRITELOCK"  # Whoosh locks ``<indexname>_WRITELOCK`` in the index folder
OWNER_SUFFIX = ".owner"  # beside the lock: who holds it and which sub-writers it started
WAITING_INFIX = ".waiting-"  # beside the lock, one per process waiting for it: <lock>.waiting-<pid>

logger = logging.getLogger("articles.search")


# --- processes ---------------------------------------------------------------------------------


def process_start(pid: int) -> int | None:
    """The kernel's start time of a process (clock ticks since boot), None when it is gone.

    A pid alone can be reused; pid and start time name one process for good."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19])  # field 22 of proc(5); fields[0] is field 3 (state)


def is_running(pid: int, start: int | None) -> bool:
    """Whether the process that had this pid and start time still runs."""
    return start is not None and process_start(pid) == start


# --- the lock and what a dead writer left ------------------------------------------------------


def lock_path(ix: Any) -> str:
    return os.path.join(ix.storage.folder, f"{ix.indexname}_{LOCK_NAME}")


class OwnerRecord:
    """Beside the lock: the writer's pid and its sub-writers', each with its start time.

    Sub-writers die with their parent and drop the lock, so the record is a second line of
    defence: a later writer that finds the owner gone stops any sub-writer still running."""

    def __init__(self, path_of_lock: str) -> None:
        self.path = path_of_lock + OWNER_SUFFIX

    def write(self, tasks: list[Any]) -> None:
        me = os.getpid()
        children = [[t.pid, process_start(t.pid)] for t in tasks if t.pid]
        record = {"pid": me, "start": process_start(me), "subwriters": children}
        with contextlib.suppress(OSError):
            tmp = f"{self.path}.{me}"
            with open(tmp, "w", encoding="utf-8") as out:
                json.dump(record, out)
            os.replace(tmp, self.path)

    def read(self) -> dict | None:
        try:
            with open(self.path, encoding="utf-8") as record:
                return json.load(record)
        except (OSError, ValueError):
            return None

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            os.remove(self.path)


class WaitingMark:
    """A file beside the lock saying that this process waits for it, while it waits.

    A long writer (an import) looks for these between batches (``writers_waiting``) and
    commits early, releasing the lock, so that a save gets in within its wait whatever the
    writer's commit interval. The file holds the waiter's start time, so a mark left by a
    killed waiter (or a reused pid) is recognised as stale and removed."""

    def __init__(self, path_of_lock: str) -> None:
        self.path = f"{path_of_lock}{WAITING_INFIX}{os.getpid()}"

    def __enter__(self) -> WaitingMark:
        with contextlib.suppress(OSError), open(self.path, "w", encoding="ascii") as mark:
            mark.write(str(process_start(os.getpid())))
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            os.remove(self.path)


def writers_waiting(path_of_lock: str) -> int:
    """How many live processes wait for this lock (see ``WaitingMark``); stale marks go."""
    folder, prefix = os.path.split(path_of_lock + WAITING_INFIX)
    waiting = 0
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if not name.startswith(prefix):
                continue
            mark = os.path.join(folder, name)
            try:
                with open(mark, encoding="ascii") as text:
                    start = int(text.read().strip())
                pid = int(name[len(prefix) :])
            except (OSError, ValueError):
                continue  # being written (empty), or not a mark
            if is_running(pid, start):
                waiting += 1
            else:
                _remove(mark)
    return waiting


def stop_orphaned_subwriters(path_of_lock: str) -> list[int]:
    """Kill the sub-writers of a writer that is gone; return their pids.

    Only processes named in the record with the same start time are touched, and only when
    the recorded owner no longer runs, so a live import is never disturbed."""
    owner = OwnerRecord(path_of_lock)
    record = owner.read()
    if not record or is_running(record.get("pid", 0), record.get("start")):
        return []
    stopped = []
    for pid, start in record.get("subwriters", []):
        if is_running(pid, start):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                stopped.append(pid)
    for pid, start in record.get("subwriters", []):
        for _ in range(50):
            if not is_running(pid, start):
                break
            time.sleep(0.02)
    owner.remove()
    if stopped:
        logger.warning("Stopped %d index sub-writer(s) left by a killed import", len(stopped))
    return stopped


def lock_holders(path_of_lock: str) -> list[tuple[int, str]]:
    """Processes that have the lock file open (pid, command line), from /proc."""
    real = os.path.realpath(path_of_lock)
    holders = []
    for name in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not name.isdigit() or int(name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{name}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{name}/fd/{fd}") == real:
                        holders.append((int(name), _cmdline(int(name))))
                        break
    return holders


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as raw:
            return raw.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def remove_stray_files(
    writer: SegmentWriter, leftovers: list[str] = (), *, keep_own: bool = True
) -> None:
    """Delete what no table of contents names: a killed or failed writer's segment files, and
    the temporary files in ``leftovers``; with ``keep_own=False`` also this writer's own new
    segment (it is being cancelled). Call only while holding the write lock (no other writer
    is at work)."""
    storage, indexname = writer.storage, writer.indexname
    keep = {segment.segment_id() for segment in writer.segments}
    if keep_own:
        keep.add(writer.newsegment.segment_id())
    tocs, segments = TOC._pattern(indexname), TOC._segment_pattern(indexname)
    current_toc = writer.generation - 1
    for filename in list(storage):
        toc, segment = tocs.match(filename), segments.match(filename)
        stale = (toc and int(toc.group(1)) != current_toc) or (
            segment and segment.group(1) not in keep
        )
        if stale:
            with contextlib.suppress(OSError):
                storage.delete_file(filename)
    for path in leftovers:
        _remove(path)


def temp_entries(folder: str) -> list[str]:
    """What is in Whoosh's temporary folders (``<indexname>.tmp``, shared by every writer of
    the index). Listed before a writer takes the lock, whatever is still there once it holds
    the lock was left by a writer that died."""
    entries = []
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if name.endswith(".tmp") and os.path.isdir(path):
                entries += [os.path.join(path, inner) for inner in os.listdir(path)]
    return entries


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
