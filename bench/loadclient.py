"""The load client of `python -m bench load`: N threads, each with its own HTTP connection, send a
fixed plan of GET requests to one local server for a fixed time and record every answer.

Pure Python (`http.client`), because the server it drives answers on the order of a hundred
requests a second: a thread spends well under a millisecond of CPU per request, and the client
measures its own CPU so a report shows when that stops being true. Connections are kept alive
when the server allows it; gunicorn's sync workers close every connection after the response
(`Connection: close`), and `http.client` then opens a new one for the next request, as a
browser would. The connect time is part of the latency.

A request is an error when it fails to connect, times out, or is answered with anything but a
2xx or 3xx status. A 3xx on an article's id alias is followed on the same connection (the
alias redirects to the canonical URL), and the page it leads to is a request of its own.
Every request carries a User-Agent naming the phase (`newsarchive-bench-load/1-c16`), so the
server's access log can be matched against the client's counts afterwards.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from bench.measure import percentile

USER_AGENT_PREFIX = "newsarchive-bench-load/"
REQUEST_TIMEOUT_SECONDS = 60.0
MAX_REDIRECTS = 3
ERROR_EXAMPLES = 10


@dataclass(frozen=True)
class Action:
    """One step of the plan: a GET of `path`, of a named kind ("search page", ...)."""

    kind: str
    path: str
    follow_redirect: bool = False


@dataclass
class Sample:
    """One HTTP request as the client saw it."""

    kind: str
    status: int | None
    seconds: float
    error: str | None = None


@dataclass
class LevelResult:
    """Everything recorded at one level of concurrency."""

    connections: int
    samples: list[Sample] = field(default_factory=list)
    wall_seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    error_examples: list[dict[str, Any]] = field(default_factory=list)


def phase_user_agent(phase: str) -> str:
    """The User-Agent of a phase; the access log is split by it."""
    return f"{USER_AGENT_PREFIX}{phase}"


def get(
    conn: http.client.HTTPConnection, path: str, user_agent: str
) -> tuple[int, str | None, bytes]:
    """One GET on `conn`: status, Location header and body (read in full, as a browser would)."""
    conn.request("GET", path, headers={"User-Agent": user_agent, "Accept-Encoding": "identity"})
    response = conn.getresponse()
    body = response.read()
    return response.status, response.getheader("Location"), body


def _same_server_path(location: str, current: str, host: str, port: int) -> str | None:
    """The path to request for a redirect, or None if it leads to another server."""
    target = urlsplit(urljoin(f"http://{host}:{port}{current}", location))
    if (target.hostname, target.port or 80) != (host, port):
        return None
    return target.path + (f"?{target.query}" if target.query else "")


class _Worker:
    """One connection's loop: take the next action of the shared plan until the deadline."""

    def __init__(
        self,
        host: str,
        port: int,
        plan: Sequence[Action],
        counter: itertools.count,
        deadline: float,
        user_agent: str,
        result: LevelResult,
        lock: threading.Lock,
    ) -> None:
        self.host, self.port = host, port
        self.plan, self.counter, self.deadline = plan, counter, deadline
        self.user_agent = user_agent
        self.result, self.lock = result, lock
        self.samples: list[Sample] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_SECONDS)
        try:
            while time.perf_counter() < self.deadline:
                action = self.plan[next(self.counter) % len(self.plan)]
                conn = self._do(conn, action)
        finally:
            conn.close()
            with self.lock:
                self.result.samples.extend(self.samples)

    def _do(self, conn: http.client.HTTPConnection, action: Action) -> http.client.HTTPConnection:
        """Send one action (and the redirects it follows); the connection to use next."""
        path, kind = action.path, action.kind
        for hop in range(MAX_REDIRECTS + 1):
            started = time.perf_counter()
            try:
                status, location, _body = get(conn, path, self.user_agent)
            except (OSError, http.client.HTTPException) as exc:
                self._record(Sample(kind, None, time.perf_counter() - started, repr(exc)), path)
                conn.close()  # a fresh connection for the next action
                return http.client.HTTPConnection(
                    self.host, self.port, timeout=REQUEST_TIMEOUT_SECONDS
                )
            seconds = time.perf_counter() - started
            follow = action.follow_redirect and 300 <= status < 400
            next_path = self._redirect_target(location, path) if follow else None
            error = None
            if not 200 <= status < 400:
                error = f"HTTP {status}"
            elif follow and next_path is None:
                error = f"redirect to {location!r}, not a path on this server"
            elif follow and hop == MAX_REDIRECTS:
                error = "too many redirects"
            self._record(Sample(kind, status, seconds, error), path)
            if error is not None or next_path is None:
                return conn
            path, kind = next_path, f"{action.kind} (after redirect)"
        return conn

    def _redirect_target(self, location: str | None, current: str) -> str | None:
        """The path a redirect leads to, or None without one or when it leaves this server."""
        if not location:
            return None
        return _same_server_path(location, current, self.host, self.port)

    def _record(self, sample: Sample, path: str) -> None:
        self.samples.append(sample)
        if sample.error is not None:
            with self.lock:
                if len(self.result.error_examples) < ERROR_EXAMPLES:
                    self.result.error_examples.append(
                        {"kind": sample.kind, "path": path, "error": sample.error}
                    )


def run_level(
    host: str,
    port: int,
    plan: Sequence[Action],
    connections: int,
    seconds: float,
    phase: str,
    start_at: int = 0,
) -> LevelResult:
    """Drive `connections` concurrent connections through `plan` (round-robin, shared) for
    `seconds`; requests in flight at the deadline are finished and counted."""
    if not plan:
        raise ValueError("the request plan is empty")
    result = LevelResult(connections=connections)
    lock = threading.Lock()
    counter = itertools.count(start_at)
    user_agent = phase_user_agent(phase)
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    workers = [
        _Worker(host, port, plan, counter, deadline, user_agent, result, lock)
        for _ in range(connections)
    ]
    threads = [
        threading.Thread(target=w.run, name=f"load-{phase}-{i}", daemon=True)
        for i, w in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall_seconds = time.perf_counter() - started
    result.client_cpu_seconds = time.process_time() - cpu_started
    return result


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def latency_stats(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99/max in milliseconds."""
    return {
        "p50_ms": _ms(percentile(seconds, 50)),
        "p95_ms": _ms(percentile(seconds, 95)),
        "p99_ms": _ms(percentile(seconds, 99)),
        "max_ms": _ms(max(seconds)) if seconds else None,
    }


def _status_label(sample: Sample) -> str:
    return "no answer" if sample.status is None else str(sample.status)


def summarize(level: LevelResult) -> dict[str, Any]:
    """The JSON of one level: counts, rates, latency overall and per kind, client CPU."""
    samples = level.samples
    errors = [s for s in samples if s.error is not None]
    wall = level.wall_seconds or float("nan")
    per_kind: dict[str, Any] = {}
    for kind in sorted({s.kind for s in samples}):
        mine = [s for s in samples if s.kind == kind]
        per_kind[kind] = {
            "requests": len(mine),
            "errors": sum(1 for s in mine if s.error is not None),
            **latency_stats([s.seconds for s in mine if s.error is None]),
        }
    return {
        "connections": level.connections,
        "seconds": round(level.wall_seconds, 2),
        "requests": len(samples),
        "errors": len(errors),
        "requests_per_s": round(len(samples) / wall, 1) if samples else 0.0,
        "statuses": dict(sorted(Counter(_status_label(s) for s in samples).items())),
        **latency_stats([s.seconds for s in samples if s.error is None]),
        "client_cpu_seconds": round(level.client_cpu_seconds, 2),
        "client_cpu_percent": round(100 * level.client_cpu_seconds / wall, 1),
        "per_kind": per_kind,
        "error_examples": level.error_examples,
    }
