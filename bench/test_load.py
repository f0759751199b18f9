"""The load run's own checks: the client counts what a real server answers, and the whole run
(import, gunicorn, load, stop) works end to end on a tiny corpus in a few seconds."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from bench import corpus
from bench.loadclient import Action, run_level, summarize
from bench.server import free_port


class _Handler(BaseHTTPRequestHandler):
    """A small real server: /ok answers 200, /alias redirects to /ok, /away redirects to
    another host, anything else is a 404."""

    protocol_version = "HTTP/1.1"  # keep-alive, unlike gunicorn's sync workers

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path == "/ok":
            self._answer(200)
        elif self.path == "/alias":
            self._answer(302, location="/ok")
        elif self.path == "/away":
            self._answer(302, location="http://example.invalid/ok")
        else:
            self._answer(404)

    def _answer(self, status: int, location: str | None = None) -> None:
        body = b"hello"
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_client_follows_redirects_and_counts_errors(local_server: int) -> None:
    plan = [
        Action("page", "/ok"),
        Action("alias", "/alias", follow_redirect=True),
        Action("missing", "/missing"),
        Action("away", "/away", follow_redirect=True),
    ]
    level = summarize(run_level("127.0.0.1", local_server, plan, 2, 0.3, "test"))
    kinds = level["per_kind"]
    assert kinds["page"]["requests"] > 0 and kinds["page"]["errors"] == 0
    assert kinds["alias"]["errors"] == 0
    # Every redirect was followed to the page it names, which answered.
    assert kinds["alias (after redirect)"]["requests"] == kinds["alias"]["requests"]
    assert kinds["alias (after redirect)"]["errors"] == 0
    assert kinds["missing"]["errors"] == kinds["missing"]["requests"] > 0
    # A redirect to another host is an error and is not followed.
    assert kinds["away"]["errors"] == kinds["away"]["requests"] > 0
    assert "away (after redirect)" not in kinds
    assert level["errors"] == kinds["missing"]["errors"] + kinds["away"]["errors"]
    assert level["statuses"]["404"] == kinds["missing"]["requests"]
    redirects = kinds["alias"]["requests"] + kinds["away"]["requests"]
    assert level["statuses"]["302"] == redirects
    assert any(e["error"] == "HTTP 404" for e in level["error_examples"])
    assert any(
        e["error"].startswith("redirect to 'http://example.invalid/ok'")
        for e in level["error_examples"]
    )


def test_client_counts_connection_failures() -> None:
    port = free_port()  # nothing listens there
    level = summarize(run_level("127.0.0.1", port, [Action("page", "/ok")], 2, 0.2, "test"))
    assert level["requests"] > 0
    assert level["errors"] == level["requests"]
    assert level["statuses"] == {"no answer": level["requests"]}


def test_quick_load_run_has_no_errors_and_leaves_no_server(tmp_path: Path) -> None:
    pytest.importorskip("gunicorn", reason="gunicorn is not installed (see requirements.txt)")
    from bench.load import main

    corpus.generate(40, tmp_path / "corpus", seed=2)
    out = tmp_path / "load.json"
    argv = ["--quick", "--corpus", str(tmp_path / "corpus"), "--work", str(tmp_path / "work")]
    assert main([*argv, "--out", str(out)]) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    run = report["run"]
    assert run["import"]["articles"] == 40
    assert [lv["connections"] for lv in run["levels"]] == [2, 4]
    for level in run["levels"]:
        assert level["errors"] == 0, level["error_examples"]
        assert level["requests"] > 0
        assert level["p50_ms"] <= level["p95_ms"] <= level["p99_ms"] <= level["max_ms"]
        # The server logged exactly what the client counted.
        assert level["server_log"]["agrees"]
        assert level["server_log"]["requests"] == level["requests"]
        kinds = level["per_kind"]
        assert kinds["search page"]["requests"] > 0
        assert (
            kinds["article page (after redirect)"]["requests"] == kinds["article page"]["requests"]
        )
    assert report["problems"] == []

    server = run["server"]
    assert server["argv"][1:3] == ["newsarchive.wsgi", "--bind"]
    assert server["argv"][server["argv"].index("--workers") + 1] == "2"
    assert len(server["pids"]) == 3  # the master and two workers
    assert server["left_behind"] == []
    bind = server["argv"][3]
    for proc in psutil.process_iter(["cmdline"]):
        assert bind not in " ".join(proc.info["cmdline"] or []), proc
    assert not list((tmp_path / "work").glob("load-*")), "the scratch folder was not removed"
