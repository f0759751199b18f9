"""Helper processes that cannot outlive their parent, and a pipeline one batch ahead of it.

The import reads and signs the next batch of files in a forked child while its own process
writes the current batch to the database (``ahead``): that work then costs the import's
serial main process nothing. The index's sub-writers use ``die_with_parent`` too.

This module must not import Django: it runs in forked and spawned children.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from typing import TypeVar

Batch = TypeVar("Batch")
Result = TypeVar("Result")

_PR_SET_NAME = 15  # prctl(2) option numbers (linux/prctl.h)
_PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 3.0  # how long a child told to stop gets before SIGKILL


class HelperProcessError(RuntimeError):
    """A helper process failed or died; the message says how."""


def is_alive(pid: int) -> bool:
    """Whether a process runs; a zombie (dead, not yet reaped by its parent) does not."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent exits; exit now if the process that
    started it has already gone (it died before prctl took effect). Under ``forkserver`` the
    parent is the fork server, which ends with the process that started it."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid and not is_alive(parent_pid):
        os._exit(1)  # killed while forking us: it may still be a zombie, which counts as gone


def _set_name(name: str) -> None:
    """This process's name in ``ps`` and /proc/PID/comm (Linux keeps 15 bytes of it)."""
    _prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]))


def _prctl(option: int, argument: object) -> None:
    """Linux's prctl(2), where there is one (elsewhere the option is simply not set)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, argument, 0, 0, 0)


def ahead(
    work: Callable[[Batch], Result], batches: Iterable[Batch], *, name: str, child: bool = True
) -> Iterator[Result]:
    """``work(batch)`` for each batch, in order; with ``child``, each next batch is worked on
    in a forked child process (called ``name`` in ``ps``) while the caller handles the one
    before.

    ``work`` must not touch what the child cannot share (a database connection): it gets its
    batch and returns its result through a pipe, both pickled. A stream of one batch is worked
    in this process (a fork would cost more than it saves). The child is started on the second
    batch and stopped when the stream ends or the caller stops early; should the parent die,
    the kernel kills it. Where processes cannot fork (Windows), every batch is worked here.
    An exception in ``work`` or the child's death raises ``HelperProcessError`` here.
    """
    stream = iter(batches)
    first = next(stream, None)
    if first is None:
        return
    second = next(stream, None)
    if second is None or not child or "fork" not in multiprocessing.get_all_start_methods():
        started = [first] if second is None else [first, second]
        yield from map(work, itertools.chain(started, stream))
        return
    with _Child(work, name) as helper:
        helper.send(first)
        pending: Batch | None = second
        while True:
            result = helper.receive()
            more = pending is not None
            if more:
                helper.send(pending)  # worked on while the caller handles ``result``
                pending = next(stream, None)
            yield result
            if not more:
                return


class _Child:
    """One forked process running ``work`` on each batch it is sent, until it is sent None."""

    def __init__(self, work: Callable[[Batch], Result], name: str) -> None:
        self._in_flight = 0
        self.name = name
        parent_end, child_end = multiprocessing.Pipe()
        context = multiprocessing.get_context("fork")
        self._process = context.Process(
            target=_serve, args=(work, child_end, os.getpid(), name), name=name, daemon=True
        )
        self._process.start()
        child_end.close()  # the child's death must reach us as end of file
        self._conn = parent_end

    def __enter__(self) -> _Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, batch: Batch) -> None:
        try:
            self._conn.send(batch)
        except OSError:
            raise self._died() from None
        self._in_flight += 1

    def receive(self) -> Result:
        try:
            ok, value = self._conn.recv()
        except (EOFError, OSError):
            raise self._died() from None
        self._in_flight -= 1
        if not ok:
            raise HelperProcessError(f"the helper process {self.name} failed: {value}")
        return value

    def _died(self) -> HelperProcessError:
        self._process.join(STOP_GRACE_SECONDS)
        code = self._process.exitcode
        how = f"was killed by signal {-code}" if code and code < 0 else f"exited ({code})"
        return HelperProcessError(f"the helper process {self.name} {how}")

    def close(self) -> None:
        """Stop the child: asked when it is idle, killed when it is busy or slow to leave."""
        with contextlib.suppress(OSError, ValueError):
            if self._in_flight == 0:
                self._conn.send(None)
        self._conn.close()
        self._process.join(STOP_GRACE_SECONDS if self._in_flight == 0 else 0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _serve(work: Callable[[Batch], Result], conn: Connection, parent_pid: int, name: str) -> None:
    """The child's loop: one result (or the failure's traceback) per batch received."""
    die_with_parent(parent_pid)
    _set_name(name)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        try:
            reply = (True, work(batch))
        except Exception as error:
            reply = (False, "".join(traceback.format_exception_only(error)).strip())
        try:
            conn.send(reply)
        except Exception as error:  # an unpicklable result
            conn.send((False, f"cannot send the result back: {error}"))
