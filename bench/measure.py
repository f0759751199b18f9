"""Measuring helpers shared by the benchmarks: peak memory of a process tree, timed subprocesses,
percentiles and folder sizes.

Memory is sampled with psutil every `interval` seconds over a process and all its descendants
(Whoosh's `procs=N` writers and any worker pool the importer starts). Two sums are kept:

* RSS: resident pages of every process added up. Forked children share pages with their parent,
  so this counts shared pages once per process: an upper bound.
* PSS: proportional set size (shared pages split between the processes sharing them), which adds
  up to what the tree really occupies. Linux only; None elsewhere.

Sampling can miss a short spike between two samples; the figures are peaks of what was seen.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil

MB = 1024 * 1024


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return [root]


class TreeMemoryMonitor:
    """Samples the memory of process `pid` and its descendants in a background thread.

    Use as a context manager; read `peak_rss_mb`, `peak_pss_mb`, `peak_processes` afterwards.
    """

    def __init__(self, pid: int | None = None, interval: float = 0.1, pss: bool = True) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.interval = interval
        self.pss = pss
        self.peak_rss = 0
        self.peak_pss: int | None = None
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-monitor", daemon=True)

    def __enter__(self) -> TreeMemoryMonitor:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        rss = 0
        pss = 0 if self.pss else None
        procs = _tree(root)
        for proc in procs:
            try:
                if pss is not None:
                    info = proc.memory_full_info()
                    rss += info.rss
                    pss += getattr(info, "pss", info.rss)
                else:
                    rss += proc.memory_info().rss
            except psutil.AccessDenied:
                self.pss = False
                pss = None
            except psutil.Error:
                continue
        self.peak_rss = max(self.peak_rss, rss)
        if pss is not None:
            self.peak_pss = max(self.peak_pss or 0, pss)
        self.peak_processes = max(self.peak_processes, len(procs))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @property
    def peak_rss_mb(self) -> float:
        return round(self.peak_rss / MB, 1)

    @property
    def peak_pss_mb(self) -> float | None:
        return None if self.peak_pss is None else round(self.peak_pss / MB, 1)


@dataclass
class CommandResult:
    """A finished subprocess with its wall time and peak memory."""

    argv: list[str]
    returncode: int
    seconds: float
    peak_rss_mb: float
    peak_pss_mb: float | None
    peak_processes: int
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    extra: dict = field(default_factory=dict)
    cpu_seconds: float | None = None  # user + system of it and the children it waited for

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def tail(self, lines: int = 15) -> str:
        """The last lines of stderr (or stdout), for a failure message."""
        text = (self.stderr or self.stdout).strip().splitlines()
        return "\n".join(text[-lines:])


def run_measured(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    timeout: float | None = None,
    interval: float = 0.1,
) -> CommandResult:
    """Run `argv`, timing it and sampling the peak memory of it and its children."""
    started = time.perf_counter()
    cpu_before = _children_cpu()
    proc = subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    monitor = TreeMemoryMonitor(proc.pid, interval=interval)
    timed_out = False
    with monitor:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            for child in _tree(psutil.Process(proc.pid))[1:]:
                with contextlib.suppress(psutil.Error):
                    child.kill()
            proc.kill()
            stdout, stderr = proc.communicate()
    return CommandResult(
        argv=list(argv),
        returncode=proc.returncode,
        seconds=round(time.perf_counter() - started, 3),
        peak_rss_mb=monitor.peak_rss_mb,
        peak_pss_mb=monitor.peak_pss_mb,
        peak_processes=monitor.peak_processes,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        cpu_seconds=round(_children_cpu() - cpu_before, 2),
    )


def _children_cpu() -> float:
    """CPU seconds of the waited-for children of this process (a subprocess counts its own
    waited-for children, such as index sub-writers, in its figure). On a shared machine
    this moves far less than wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def folder_bytes(path: Path | str) -> int:
    """Total size of the regular files under `path` (0 if it does not exist)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def read_through(paths: Sequence[Path | str], chunk: int = 1 << 20) -> int:
    """Read every file under `paths` (files or folders; missing ones are skipped) once;
    returns the bytes read.

    Puts the operating system's file cache in the same state for each search surface: the
    first surface otherwise met an index partly pushed out of the cache by the baseline run
    before it (3.6 s to open and 340 ms for its first query, against 0.26 s and 38 ms).
    """
    total = 0
    for top in paths:
        files = [Path(top)] if Path(top).is_file() else sorted(Path(top).rglob("*"))
        for path in files:
            with contextlib.suppress(OSError), open(path, "rb") as handle:
                while block := handle.read(chunk):
                    total += len(block)
    return total


def files_bytes(paths: Sequence[Path | str]) -> int:
    """Total size of the given files that exist (a SQLite database and its -wal/-shm files)."""
    total = 0
    for p in paths:
        with contextlib.suppress(OSError):
            total += os.stat(p).st_size
    return total


def log(message: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)
