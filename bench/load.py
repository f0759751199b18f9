"""`python -m bench load` (`make bench-load`): the site under concurrent load, served by gunicorn
as `make run` serves it.

1. A fresh scratch folder (its own database, index and var dir), both corpora of
   `../shared/corpus` unpacked and imported with `import_seeds` (or, when they are absent, the
   bench's synthetic corpus of 20,000 articles);
2. gunicorn started as `make run` starts it, on a free port of 127.0.0.1 (bench/server.py),
   and polled until it answers;
3. a short unrecorded warm-up, then each level of concurrency (16 and 32 connections for 30 s by
   default) over a seeded mix of search pages with facets, API searches and article pages drawn
   from the imported archive (bench/loadplan.py), driven by bench/loadclient.py;
4. gunicorn stopped (its whole process group) and checked gone, its access log matched against
   the client's counts.

Results go to bench/results/load.json and a table on stdout. The run exits 1 when a request
failed, a process outlived the server, or the server's log disagrees with the client: it is the
scripted check of "zero errors under load".

    python -m bench load                                  # what `make bench-load` does
    python -m bench load --connections 8 --duration 10    # other levels and lengths
    python -m bench load --quick                          # seconds, on 50 synthetic articles
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tarfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import corpus as corpus_mod
from bench.loadclient import Action, run_level, summarize
from bench.loadplan import build_plan, describe, read_archive
from bench.measure import read_through, run_measured
from bench.run import PROJECT_ROOT, count_articles, django_env, log, machine_info
from bench.server import Gunicorn, access_log_statuses

DEFAULT_CORPORA = PROJECT_ROOT.parent / "shared" / "corpus"
CORPUS_ARCHIVES = ("bbc-seeds.tar.gz", "reuters-seeds.tar.gz")
DEFAULT_WORK = Path("/tmp/newsarchive-bench")
DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "load.json"
SYNTHETIC_N = 20_000
CONNECTIONS = (16, 32)
DURATION_SECONDS = 30.0
WARMUP_SECONDS = 5.0
READY_TIMEOUT_SECONDS = 180.0
# --quick: what the test runs, in seconds.
QUICK_N = 50
QUICK_CONNECTIONS = (2, 4)
QUICK_DURATION_SECONDS = 2.0
QUICK_WARMUP_SECONDS = 1.0


# --- the archive -------------------------------------------------------------------------------


def unpack_corpora(corpora: Path, into: Path) -> list[Path] | None:
    """Both real corpora unpacked under `into`; None when either archive is missing."""
    archives = [corpora / name for name in CORPUS_ARCHIVES]
    if not all(a.is_file() for a in archives):
        return None
    folders = []
    for archive in archives:
        target = into / archive.name.removesuffix(".tar.gz")
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
        folders.append(target)
    return folders


def import_archive(folders: list[Path], env: dict[str, str], work: Path) -> dict[str, Any]:
    """`migrate` and `import_seeds` on the scratch database; raises RuntimeError on failure."""
    manage = str(PROJECT_ROOT / "manage.py")
    done = run_measured(
        [sys.executable, manage, "migrate", "--noinput", "-v", "0"], env, PROJECT_ROOT
    )
    if not done.ok:
        raise RuntimeError(f"migrate failed: {done.tail()}")
    argv = [sys.executable, manage, "import_seeds", *map(str, folders), "--verbosity", "0"]
    done = run_measured(argv, env, PROJECT_ROOT)
    articles = count_articles(work / "db.sqlite3")
    if not articles:
        raise RuntimeError(f"import_seeds imported nothing (exit {done.returncode}): {done.tail()}")
    return {
        "folders": [str(f) for f in folders],
        "articles": articles,
        "seconds": done.seconds,
        "articles_per_s": round(articles / done.seconds, 1),
        "returncode": done.returncode,  # 1 when some file failed; the good ones are in
    }


# --- the run -----------------------------------------------------------------------------------


def run_load(
    folders: list[Path],
    work: Path,
    connections: tuple[int, ...] = CONNECTIONS,
    duration: float = DURATION_SECONDS,
    warmup: float = WARMUP_SECONDS,
    seed: int = 1,
    ready_timeout: float = READY_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Import `folders` into a fresh archive in `work`, serve it with gunicorn and load it at
    each level of `connections`; everything measured, as a dict."""
    env = django_env(work)
    result: dict[str, Any] = {"work": str(work)}
    log(f"load: importing {', '.join(f.name for f in folders)}")
    result["import"] = import_archive(folders, env, work)
    log(
        f"load: imported {result['import']['articles']:,} articles "
        f"in {result['import']['seconds']:.0f} s"
    )
    facts = read_archive(work / "db.sqlite3")
    plan = build_plan(facts, seed)
    result["plan"] = describe(facts, plan)
    read_through([work / "db.sqlite3", work / "db.sqlite3-wal", work / "index"])

    levels: list[dict[str, Any]] = []
    server = Gunicorn(env, PROJECT_ROOT, work / "gunicorn.log")
    with server:
        ready = server.wait_ready(ready_timeout)
        log(f"load: gunicorn answered on 127.0.0.1:{server.port} after {ready:.1f} s")
        offset = 0
        if warmup > 0:
            log(f"load: warm-up, {warmup:g} s at {min(connections)} connections")
            done = run_level(
                "127.0.0.1", server.port, plan, min(connections), warmup, "warmup", offset
            )
            offset += len(done.samples)
            result["warmup"] = {k: v for k, v in summarize(done).items() if k != "per_kind"}
        for number, level in enumerate(connections, 1):
            log(f"load: {level} connections for {duration:g} s")
            summary = _measure_level(server, plan, level, duration, f"{number}-c{level}", offset)
            offset += summary["requests"]
            levels.append(summary)
            log(
                f"load: {level} connections: {summary['requests_per_s']:.1f} requests/s, "
                f"{summary['errors']} errors, p95 {summary['p95_ms']} ms"
            )
    log(
        f"load: gunicorn stopped in {server.stop_seconds or 0:.1f} s, "
        f"{len(server.leftovers)} processes left behind"
    )
    result["levels"] = levels
    result["server"] = {
        "argv": server.argv,
        "ready_seconds": round(ready, 2),
        "pids": sorted(server.seen),
        "exit_code": server.exit_code,
        "stop_seconds": round(server.stop_seconds or 0.0, 2),
        "left_behind": server.leftovers,
        "log": str(server.log_path),
    }
    _match_access_log(levels, access_log_statuses(server.log_path))
    return result


def _measure_level(
    server: Gunicorn, plan: list[Action], connections: int, seconds: float, phase: str, offset: int
) -> dict[str, Any]:
    """One level of load, with what it cost the server and how busy the machine was."""
    load_before = os.getloadavg()[0]
    cpu_before, wait_before = server.cpu_seconds(), server.run_queue_seconds()
    done = run_level("127.0.0.1", server.port, plan, connections, seconds, phase, offset)
    cpu = server.cpu_seconds() - cpu_before
    wait_after = server.run_queue_seconds()
    summary = {"phase": phase, **summarize(done)}
    summary["server_cpu_percent"] = round(100 * cpu / done.wall_seconds, 1)
    # Time the server's processes were ready to run but waited for a CPU: other work on the
    # machine. Near 0 on an idle machine; CPU + wait near 200% means the workers never idled.
    summary["server_cpu_wait_percent"] = (
        round(100 * (wait_after - wait_before) / done.wall_seconds, 1)
        if wait_before is not None and wait_after is not None
        else None
    )
    # What a request costs the server, which a busy machine changes less than the rate.
    summary["server_cpu_ms_per_request"] = (
        round(1000 * cpu / summary["requests"], 1) if summary["requests"] else None
    )
    summary["loadavg_before"] = round(load_before, 2)
    summary["loadavg_after"] = round(os.getloadavg()[0], 2)
    return summary


def _match_access_log(levels: list[dict[str, Any]], logged: dict[str, Any]) -> None:
    """Put the server's own counts beside the client's, level by level."""
    for level in levels:
        server_side = logged.get(level["phase"], {"requests": 0, "statuses": {}})
        client_side = {k: v for k, v in level["statuses"].items() if k != "no answer"}
        level["server_log"] = {**server_side, "agrees": server_side["statuses"] == client_side}


def problems(result: dict[str, Any]) -> list[str]:
    """What makes the run a failure."""
    found = []
    for level in result.get("levels", []):
        c = level["connections"]
        if level["errors"]:
            found.append(f"{level['errors']} errors at {c} connections")
        if not level["requests"]:
            found.append(f"no requests completed at {c} connections")
        if not level["server_log"]["agrees"]:
            found.append(f"the server's access log disagrees with the client at {c} connections")
    left = result.get("server", {}).get("left_behind")
    if left:
        found.append(f"gunicorn processes outlived the stop: {left}")
    return found


# --- report ------------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def render(report: dict[str, Any]) -> str:
    """The results as markdown tables."""
    m = report["machine"]
    run = report["run"]
    imp = run["import"]
    lines = [
        "# newsarchive load run",
        "",
        f"{report['started']} - Python {m.get('python')}, {m.get('cpus')} CPUs, load "
        f"{m['loadavg_at_start'][0]} at start, {m.get('loadavg_at_end', ['?'])[0]} at end; "
        f"{imp['articles']:,} articles ({report['corpus']}); gunicorn "
        f"{' '.join(run['server']['argv'][1:])}",
        "",
        "| connections | seconds | requests | requests/s | errors | p50 ms | p95 ms | p99 ms | "
        "max ms | client CPU | server CPU | server waited for CPU | server CPU ms/request | "
        "server log |",
        "| ---: |" + " ---: |" * 12 + " --- |",
    ]
    for lv in run["levels"]:
        lines.append(
            f"| {lv['connections']} | {lv['seconds']:.1f} | {lv['requests']:,} | "
            f"{lv['requests_per_s']:.1f} | {lv['errors']} | {lv['p50_ms']} | {lv['p95_ms']} | "
            f"{lv['p99_ms']} | {lv['max_ms']} | {lv['client_cpu_percent']:.0f}% | "
            f"{lv['server_cpu_percent']:.0f}% | {_percent(lv['server_cpu_wait_percent'])} | "
            f"{lv['server_cpu_ms_per_request']} | "
            f"{'agrees' if lv['server_log']['agrees'] else 'DIFFERS'} |"
        )
    lines += ["", "| kind (connections) | requests | errors | p50 ms | p95 ms | p99 ms | max ms |"]
    lines.append("| --- |" + " ---: |" * 6)
    for lv in run["levels"]:
        for kind, k in lv["per_kind"].items():
            lines.append(
                f"| {kind} ({lv['connections']}) | {k['requests']:,} | {k['errors']} | "
                f"{k['p50_ms']} | {k['p95_ms']} | {k['p99_ms']} | {k['max_ms']} |"
            )
    server = run["server"]
    lines += [
        "",
        f"gunicorn stopped in {server['stop_seconds']:.1f} s (exit {server['exit_code']}), "
        f"processes left behind: {len(server['left_behind'])}",
    ]
    for lv in run["levels"]:
        for example in lv["error_examples"]:
            lines.append(f"- error at {lv['connections']}: {example}")
    return "\n".join(lines) + "\n"


# --- command line ------------------------------------------------------------------------------


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """A TERM to the bench unwinds like Ctrl-C, so gunicorn is stopped on the way out."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench load",
        description="Serve an imported archive with gunicorn and load it with concurrent "
        "connections.",
    )
    parser.add_argument(
        "--corpora",
        type=Path,
        default=DEFAULT_CORPORA,
        help=f"folder holding {' and '.join(CORPUS_ARCHIVES)} (default {DEFAULT_CORPORA})",
    )
    parser.add_argument(
        "--corpus", type=Path, action="append", help="import this folder of seed files instead"
    )
    parser.add_argument(
        "--n", type=int, help=f"synthetic articles when no corpus is there (default {SYNTHETIC_N})"
    )
    parser.add_argument(
        "--connections", type=int, action="append", help="concurrent connections; repeatable"
    )
    parser.add_argument("--duration", type=float, help="seconds per level (default 30)")
    parser.add_argument("--warmup", type=float, help="unrecorded seconds first (default 5)")
    parser.add_argument(
        "--quick", action="store_true", help="a few seconds at 2 and 4 connections, 50 articles"
    )
    parser.add_argument("--seed", type=int, default=1, help="corpus and plan seed (default 1)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="scratch folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    parser.add_argument("--keep", action="store_true", help="keep the database, index and log")
    args = parser.parse_args(argv)
    connections = tuple(args.connections or (QUICK_CONNECTIONS if args.quick else CONNECTIONS))
    duration = _given_or(args.duration, QUICK_DURATION_SECONDS if args.quick else DURATION_SECONDS)
    warmup = _given_or(args.warmup, QUICK_WARMUP_SECONDS if args.quick else WARMUP_SECONDS)
    if any(c < 1 for c in connections) or duration <= 0 or warmup < 0:
        parser.error("connections and duration must be positive, warm-up not negative")
    for folder in args.corpus or []:
        if not folder.is_dir():
            parser.error(f"--corpus {folder} is not a folder")

    work = args.work / f"load-{os.getpid()}"  # private: runs may overlap
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "settings": {"connections": connections, "duration": duration, "warmup": warmup},
    }
    try:
        with _stop_on_sigterm():
            folders, report["corpus"] = _corpus_folders(args, work)
            report["run"] = run_load(folders, work, connections, duration, warmup, args.seed)
        _finish(report, args.out)
    finally:
        if not args.keep:
            # Last: deleting 21,000 unpacked files can take a minute on this machine's disk.
            log(f"load: removing {work}")
            shutil.rmtree(work, ignore_errors=True)
    return 1 if report["problems"] else 0


def _finish(report: dict[str, Any], out: Path) -> None:
    """Judge the run, write the JSON and print the table."""
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["problems"] = problems(report["run"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(render(report), flush=True)
    log(f"results written to {out}")
    for problem in report["problems"]:
        log(f"check failed: {problem}")


def _given_or(value: float | None, default: float) -> float:
    return default if value is None else value


def _corpus_folders(args: argparse.Namespace, work: Path) -> tuple[list[Path], str]:
    """The folders to import and a one-line description of them."""
    if args.corpus:
        return [f.resolve() for f in args.corpus], "given folders"
    why_synthetic = "--quick"
    if not args.quick:
        folders = unpack_corpora(args.corpora, work / "corpus")
        if folders is not None:
            return folders, f"{' + '.join(CORPUS_ARCHIVES)}"
        why_synthetic = f"no {' and '.join(CORPUS_ARCHIVES)} in {args.corpora}"
        log(f"load: {why_synthetic}; synthetic corpus instead")
    n = args.n or (QUICK_N if args.quick else SYNTHETIC_N)
    started = time.perf_counter()
    folder = corpus_mod.cached_corpus(n, args.work, args.seed, progress=n >= 1000)
    log(f"load: synthetic corpus of {n:,} ready in {time.perf_counter() - started:.1f} s")
    return [folder], f"synthetic, n={n:,}, {why_synthetic}"


if __name__ == "__main__":
    sys.exit(main())
