"""gunicorn for the load run, started the way `make run` starts it and always stopped again.

`make run` serves with `gunicorn newsarchive.wsgi --bind HOST:PORT --workers 2 --timeout 600
--access-logfile -`; `GUNICORN_ARGS` below is that command with a free port on 127.0.0.1. The
server runs in a session (process group) of its own, so stopping it reaches the master and
every worker even if the master dies first; after the stop the group is checked for
survivors, which are killed and reported. The access log goes to a file in the run's scratch
folder (a pipe nobody reads would block the server once full) and is read back afterwards
(`access_log_statuses`) to check the client's counts against the server's.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from bench.loadclient import USER_AGENT_PREFIX, get, phase_user_agent

HOST = "127.0.0.1"  # the load run never talks to anything else
WSGI_MODULE = "newsarchive.wsgi"
WORKERS = 2
TIMEOUT_SECONDS = 600
READY_PATH = "/"
GRACEFUL_STOP_SECONDS = 40.0
# The default access log format ends with: "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s".
ACCESS_LINE = re.compile(
    r'"(?P<request>[A-Z]+ [^"]*)" (?P<status>\d{3}) \S+ "[^"]*" "(?P<user_agent>[^"]*)"'
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_argv(port: int, workers: int = WORKERS) -> list[str]:
    """`make run`'s gunicorn command line, on `port` of 127.0.0.1."""
    script = Path(sys.executable).with_name("gunicorn")
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]
    return [
        *launcher,
        WSGI_MODULE,
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--timeout",
        str(TIMEOUT_SECONDS),
        "--access-logfile",
        "-",
    ]


class ServerError(RuntimeError):
    """gunicorn did not start or answer."""


class Gunicorn:
    """A running gunicorn; use as a context manager so it is stopped whatever happens."""

    def __init__(self, env: Mapping[str, str], cwd: Path, log_path: Path) -> None:
        self.env, self.cwd, self.log_path = dict(env), cwd, log_path
        self.port = free_port()
        self.argv = gunicorn_argv(self.port)
        self.proc: subprocess.Popen | None = None
        self.seen: dict[int, psutil.Process] = {}  # pid -> process (knows its start time)
        self.leftovers: list[int] = []
        self.stop_seconds: float | None = None
        self.exit_code: int | None = None

    def __enter__(self) -> Gunicorn:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._remember([psutil.Process(self.proc.pid)])
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pgid(self) -> int:
        assert self.proc is not None
        return self.proc.pid  # start_new_session: the master leads its own group

    def processes(self) -> list[psutil.Process]:
        """The master and its workers, as they are now."""
        assert self.proc is not None
        try:
            master = psutil.Process(self.proc.pid)
            procs = [master, *master.children(recursive=True)]
        except psutil.Error:
            return []
        self._remember(procs)
        return procs

    def _remember(self, procs: list[psutil.Process]) -> None:
        for proc in procs:
            self.seen.setdefault(proc.pid, proc)

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far."""
        total = 0.0
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def run_queue_seconds(self) -> float | None:
        """Seconds the master and workers have spent ready to run but waiting for a CPU, from
        the kernel's scheduler statistics (Linux); None where they cannot be read."""
        total = 0
        for proc in self.processes():
            try:
                fields = Path(f"/proc/{proc.pid}/schedstat").read_text().split()
                total += int(fields[1])
            except (OSError, IndexError, ValueError):
                return None
        return total / 1e9

    def wait_ready(self, timeout: float) -> float:
        """Poll the home page until it answers 200; seconds waited. Raises ServerError when
        gunicorn exits or does not answer in time."""
        assert self.proc is not None
        started = time.perf_counter()
        while True:
            if self.proc.poll() is not None:
                raise ServerError(f"gunicorn exited with {self.proc.returncode}: {self.log_tail()}")
            conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
            try:
                status, _location, _body = get(conn, READY_PATH, phase_user_agent("ready"))
                if status == 200:
                    self.processes()
                    return time.perf_counter() - started
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            if time.perf_counter() - started > timeout:
                raise ServerError(f"no answer on {HOST}:{self.port} after {timeout:.0f} s")
            time.sleep(0.2)

    def stop(self) -> None:
        """TERM the whole group, wait for a graceful exit, KILL whatever is left, and record
        any process of the group that outlived that."""
        if self.proc is None or self.stop_seconds is not None:
            return
        self.processes()
        started = time.perf_counter()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGTERM)
        try:
            self.exit_code = self.proc.wait(timeout=GRACEFUL_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
            self.exit_code = self.proc.wait()
        self.leftovers = self._survivors()
        for pid in self.leftovers:
            with contextlib.suppress(psutil.Error):
                self.seen[pid].kill()  # a Process object refuses a recycled pid
        self.stop_seconds = time.perf_counter() - started

    def _survivors(self, grace: float = 5.0) -> list[int]:
        """Pids of the server's processes still alive: those seen while it ran and any other
        member of its group (zombies are given a moment to be reaped by init)."""
        deadline = time.perf_counter() + grace
        while True:
            self._remember(self._group_members())
            alive = sorted(pid for pid, proc in self.seen.items() if _alive(proc))
            if not alive or time.perf_counter() > deadline:
                return alive
            time.sleep(0.1)

    def _group_members(self) -> list[psutil.Process]:
        members = []
        for pid in psutil.pids():
            with contextlib.suppress(OSError, psutil.Error):
                if os.getpgid(pid) == self.pgid:
                    members.append(psutil.Process(pid))
        return members

    def log_tail(self, lines: int = 12) -> str:
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
            return "\n".join(text.strip().splitlines()[-lines:])
        return ""


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def access_log_statuses(log_path: Path) -> dict[str, Any]:
    """Requests per phase and status as the server logged them (lines from this client only)."""
    phases: dict[str, Counter] = {}
    with contextlib.suppress(OSError), open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            match = ACCESS_LINE.search(line)
            if not match or not match["user_agent"].startswith(USER_AGENT_PREFIX):
                continue
            phase = match["user_agent"].removeprefix(USER_AGENT_PREFIX)
            phases.setdefault(phase, Counter())[match["status"]] += 1
    return {
        phase: {"requests": sum(c.values()), "statuses": dict(sorted(c.items()))}
        for phase, c in sorted(phases.items())
    }
