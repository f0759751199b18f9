"""`make bench`: import throughput, the raw Whoosh baseline, search latency and sizes, per N.

For each corpus size N, on a fresh database and index in a scratch folder of its own
(`/tmp/newsarchive-bench/run-n<N>-<pid>/`, removed afterwards unless `--keep`):

1. `manage.py migrate`, then `manage.py import_seeds DIR --verbosity 0` in a subprocess:
   wall time, articles/s and peak memory of its process tree;
2. the raw Whoosh baseline (bench/baseline.py) on the same files: articles/s, peak memory, and
   the ratio import/baseline (skipped above `BASELINE_MAX_N` articles unless `--baseline`:
   the stock writer would take hours there; `--no-baseline` skips it at any N);
3. search latency (median, p95, p99; cold, warm and new queries, see bench/searchbench.py)
   on four surfaces, each in a fresh process: the service, /api/search, /search/ and naive
   Whoosh, with the p95 ratio service/naive;
4. `manage.py rebuild_index` with the search service running the query mix in a loop until it
   ends (bench/rebuildbench.py): the rebuild's time, and the searches' errors and latency;
5. database and index size on disk against the corpus size.

A stage that cannot run (module not written yet, command missing, an earlier stage failed)
is reported as "stage X unavailable: reason" and the rest still runs, so a partial run still
gives a table. Results go to a JSON file (default bench/results/latest.json). The exit
status is 1 when any search failed, in any search stage or during the rebuild, or a search
stage could not run (after the report is written); else 0.

    python -m bench --n 10000 --n 100000
    python -m bench --quick                    # N=2,000 smoke run
    python -m bench --corpus DIR               # an existing folder of seed files
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import corpus as corpus_mod
from bench import trendsbench
from bench.measure import (
    CommandResult,
    files_bytes,
    folder_bytes,
    log,
    read_through,
    run_measured,
)
from bench.pgrun import PostgresRun
from bench.report import SURFACE_LABELS, render
from bench.searchbench import GROUPS, SURFACES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK = Path("/tmp/newsarchive-bench")
DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "latest.json"
QUICK_N = 2000
#: Above this N the stock-Whoosh baseline is skipped unless asked for: it indexes about 100
#: articles/s here, so 1,000,000 articles would take it about three hours.
BASELINE_MAX_N = 200_000
BACKENDS = ("whoosh", "postgres")


def unavailable(result: dict[str, Any], stage: str, reason: str) -> None:
    """Record and announce a stage that could not run."""
    reason = reason.strip() or "no reason given"
    result.setdefault("unavailable", {})[stage] = reason
    first_line = reason.splitlines()[-1] if reason.splitlines() else reason
    log(f"stage {stage} unavailable: {first_line}")


def _failure_reason(done: CommandResult) -> str:
    if done.timed_out:
        return f"timed out after {done.seconds:.0f} s"
    tail = done.tail(12)
    if "Unknown command" in tail:
        return f"command missing ({tail.splitlines()[-1]})"
    return f"exit status {done.returncode}: {tail}"


def count_articles(db_path: Path) -> int | None:
    """Rows in the articles table of a SQLite database, read directly (no Django needed)."""
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT COUNT(*) FROM articles_article").fetchone()[0]
    except sqlite3.Error:
        return None


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        import whoosh

        info["whoosh"] = whoosh.versionstring()
    except ImportError:
        pass
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    try:
        info["git"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        info["git"] = None
    return info


def django_env(work: Path, postgres: PostgresRun | None = None) -> dict[str, str]:
    """The environment of every Django subprocess: a database and index of its own."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=postgres.django_url if postgres else f"sqlite:///{work / 'db.sqlite3'}",
        NEWSARCHIVE_SEARCH_BACKEND="postgres" if postgres else "whoosh",
        NEWSARCHIVE_INDEX_DIR=str(work / "index"),
        NEWSARCHIVE_VAR_DIR=str(work / "var"),
        DJANGO_SETTINGS_MODULE="newsarchive.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
    )
    env.pop("DJANGO_DEBUG", None)
    return env


def run_one(
    folder: Path,
    n: int,
    work: Path,
    repeats: int,
    timeout: float | None,
    search_budget: float,
    postgres: PostgresRun | None = None,
    baseline: bool | None = None,
    seed: int = 1,
    reuse: bool = False,
) -> dict[str, Any]:
    """All stages for one corpus folder and backend (Whoosh on SQLite, or PostgreSQL when
    ``postgres`` gives a database); a dict of everything measured. ``baseline``: True or
    False to run the stock-Whoosh baseline or not, None for "up to BASELINE_MAX_N".
    ``reuse``: ``postgres`` names a database imported earlier; it is migrated and measured,
    not emptied or imported again (the run has no import figures)."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if postgres is not None and not reuse:
        postgres.create()
    env = django_env(work, postgres)
    python = sys.executable
    manage = str(PROJECT_ROOT / "manage.py")
    result: dict[str, Any] = {
        "n": n,
        "backend": "postgres" if postgres else "whoosh",
        "corpus": str(folder),
        "corpus_bytes": folder_bytes(folder),
        "work": str(work),
    }

    # 1. import_seeds --------------------------------------------------------------------------
    imported = False
    log(f"N={n:,}: migrate")
    done = run_measured([python, manage, "migrate", "--noinput", "-v", "0"], env, PROJECT_ROOT)
    result["migrate_seconds"] = done.seconds
    if not done.ok:
        unavailable(result, "import", f"migrate failed: {_failure_reason(done)}")
    elif reuse and postgres is not None:
        articles = postgres.scalar("SELECT count(*) FROM articles_article")
        result["reused_database"] = {"name": postgres.name, "articles": articles}
        imported = bool(articles)
        log(f"N={n:,}: measuring database {postgres.name} as it is ({articles:,} articles)")
    else:
        log(f"N={n:,}: import_seeds")
        argv = [python, manage, "import_seeds", str(folder), "--verbosity", "0"]
        done = run_measured(argv, env, PROJECT_ROOT, timeout=timeout)
        articles = (
            postgres.scalar("SELECT count(*) FROM articles_article")
            if postgres
            else count_articles(work / "db.sqlite3")
        )
        result["import"] = {
            "returncode": done.returncode,
            "seconds": done.seconds,
            "articles": articles,
            "articles_per_s": round(articles / done.seconds, 1)
            if articles and done.seconds
            else None,
            "peak_rss_mb": done.peak_rss_mb,
            "peak_pss_mb": done.peak_pss_mb,
            "peak_processes": done.peak_processes,
            "cpu_seconds": done.cpu_seconds,
            "articles_per_cpu_s": round(articles / done.cpu_seconds, 1)
            if articles and done.cpu_seconds
            else None,
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        }
        if done.timed_out or (done.returncode != 0 and not articles):
            unavailable(result, "import", _failure_reason(done))
            result["import"]["error"] = _failure_reason(done)
        else:
            imported = True
            if done.returncode != 0:
                # import_seeds exits 1 when some file failed; the good ones are in.
                result["import"]["warning"] = _failure_reason(done)
            log(
                f"N={n:,}: imported {articles:,} articles in {done.seconds:.1f} s "
                f"(peak RSS {done.peak_rss_mb:,.0f} MB)"
            )

    # 2. raw Whoosh baseline (Whoosh runs only) ------------------------------------------------
    if postgres is None:
        if baseline is False:
            result["baseline_skipped"] = "--no-baseline"
        elif baseline is None and n > BASELINE_MAX_N:
            result["baseline_skipped"] = (
                f"N above {BASELINE_MAX_N:,}: the stock writer would take hours "
                "(--baseline runs it anyway)"
            )
        else:
            _baseline(result, folder, n, work, env, timeout, imported)
        if "baseline_skipped" in result:
            log(f"N={n:,}: raw Whoosh baseline skipped: {result['baseline_skipped']}")
    _search_stages(result, n, work, env, repeats, search_budget, imported, postgres, seed)
    if imported:  # the trends page (issue 20), self-contained in bench/trendsbench.py
        trendsbench.stage(result, n, work, env)
    # 4. rebuild_index with searches running (Whoosh runs: PostgreSQL has nothing to rebuild)
    if postgres is None and imported:
        _rebuild_stage(result, n, work, env, timeout)
    # 5. sizes ---------------------------------------------------------------------------------
    if postgres is not None:
        result["sizes"] = {"corpus_bytes": result["corpus_bytes"], **postgres.sizes()}
        return result
    db = work / "db.sqlite3"
    result["sizes"] = {
        "corpus_bytes": result["corpus_bytes"],
        "database_bytes": files_bytes([db, Path(f"{db}-wal"), Path(f"{db}-shm")]) or None,
        "index_bytes": folder_bytes(work / "index") or None,
        "baseline_index_bytes": folder_bytes(work / "baseline-index") or None,
    }
    return result


def _rebuild_stage(
    result: dict[str, Any], n: int, work: Path, env: dict[str, str], timeout: float | None
) -> None:
    log(f"N={n:,}: rebuild_index, searching all the while")
    out = work / "rebuild.json"
    argv = [sys.executable, "-m", "bench.rebuildbench", "--json", str(out)]
    done = run_measured(argv, env, PROJECT_ROOT, timeout=timeout)
    if out.exists():
        result["rebuild"] = rebuilt = json.loads(out.read_text(encoding="utf-8"))
        log(
            f"N={n:,}: rebuilt in {rebuilt['seconds']:,.1f} s; {rebuilt['searches']:,} "
            f"searches meanwhile, {rebuilt['errors']} errors, worst {rebuilt['worst_ms']} ms"
        )
    if not done.ok:
        unavailable(result, "rebuild", _failure_reason(done))


def _baseline(
    result: dict[str, Any],
    folder: Path,
    n: int,
    work: Path,
    env: dict[str, str],
    timeout: float | None,
    imported: bool,
) -> None:
    python = sys.executable
    log(f"N={n:,}: raw Whoosh baseline")
    baseline_json = work / "baseline.json"
    argv = [
        python,
        "-m",
        "bench.baseline",
        "--corpus",
        str(folder),
        "--index",
        str(work / "baseline-index"),
        "--json",
        str(baseline_json),
        "--quiet",
    ]
    done = run_measured(argv, env, PROJECT_ROOT, timeout=timeout)
    if done.ok and baseline_json.exists():
        base = json.loads(baseline_json.read_text(encoding="utf-8"))
        base["process_seconds"] = done.seconds
        base["process_peak_rss_mb"] = done.peak_rss_mb
        base["process_peak_pss_mb"] = done.peak_pss_mb
        result["baseline"] = base
        imp = result.get("import", {}).get("articles_per_s")
        if imported and imp and base.get("articles_per_s"):
            result["import_vs_baseline"] = round(imp / base["articles_per_s"], 3)
        imp_cpu = result.get("import", {}).get("articles_per_cpu_s")
        if imported and imp_cpu and base.get("articles_per_cpu_s"):
            result["import_vs_baseline_cpu"] = round(imp_cpu / base["articles_per_cpu_s"], 3)
        log(
            f"N={n:,}: baseline {base['articles_per_s']:,.0f} articles/s "
            f"(peak RSS {base['peak_rss_mb']:,.0f} MB)"
        )
    else:
        unavailable(result, "baseline", _failure_reason(done))


def _search_stages(
    result: dict[str, Any],
    n: int,
    work: Path,
    env: dict[str, str],
    repeats: int,
    search_budget: float,
    imported: bool,
    postgres: PostgresRun | None,
    seed: int,
) -> None:
    python = sys.executable
    result["search"] = {}
    # The naive surface is plain Whoosh: nothing to compare with on PostgreSQL.
    surfaces = [s for s in SURFACES if not (postgres and s == "naive")]
    if not imported:
        unavailable(result, "search", "nothing imported, so no index to search")
    else:
        for surface in surfaces:
            log(f"N={n:,}: search latency, {SURFACE_LABELS[surface]}")
            # Cold means the process's first run of a query, never a disk read: each surface
            # starts with the database and index in the file cache.
            if postgres is not None:
                cached_bytes = postgres.warm()
            else:
                cached_bytes = read_through(
                    [work / "db.sqlite3", work / "db.sqlite3-wal", work / "index"]
                )
            out = work / f"search-{surface}.json"
            argv = [
                python,
                "-m",
                "bench.searchbench",
                "--surface",
                surface,
                "--repeats",
                str(repeats),
                "--budget",
                str(search_budget),
                "--seed",
                str(seed),
                "--json",
                str(out),
            ]
            done = run_measured(argv, env, PROJECT_ROOT, timeout=search_budget * 2 + 300)
            if done.ok and out.exists():
                data = json.loads(out.read_text(encoding="utf-8"))
                data["process_peak_rss_mb"] = done.peak_rss_mb
                data["read_into_file_cache_mb"] = round(cached_bytes / 2**20, 1)
                result["search"][surface] = data
                if data.get("errors") and not data["all"]["n"]:
                    first = next(iter(data["errors"].values()))
                    unavailable(result, f"search:{surface}", f"every query failed: {first}")
            else:
                unavailable(result, f"search:{surface}", _failure_reason(done))
        ratios = {}
        for group in GROUPS:
            service = result["search"].get("service", {}).get(group, {})
            naive = result["search"].get("naive", {}).get(group, {})
            if service.get("p95_ms") and naive.get("p95_ms"):
                ratios[group] = round(service["p95_ms"] / naive["p95_ms"], 3)
        result["service_vs_naive_p95"] = ratios


# --- report ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Import, baseline, search-latency and size benchmark of newsarchive.",
    )
    parser.add_argument(
        "--n", type=int, action="append", help="corpus size; repeat for several (default 10000)"
    )
    parser.add_argument("--corpus", type=Path, help="benchmark this folder of seed files instead")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: N={QUICK_N:,}")
    parser.add_argument(
        "--work", type=Path, default=DEFAULT_WORK, help=f"scratch folder (default {DEFAULT_WORK})"
    )
    parser.add_argument("--repeats", type=int, help="passes over the query mix (default 5)")
    parser.add_argument(
        "--timeout", type=float, help="seconds allowed per import / baseline (default: none)"
    )
    parser.add_argument(
        "--search-budget", type=float, default=600.0, help="seconds per search surface"
    )
    parser.add_argument("--keep", action="store_true", help="keep each run's database and index")
    parser.add_argument(
        "--baseline",
        action=argparse.BooleanOptionalAction,
        help=f"run the stock-Whoosh baseline (default: only up to N={BASELINE_MAX_N:,})",
    )
    parser.add_argument(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="search backend to measure; repeat for both (default: both)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"),
        help="a PostgreSQL server where each postgres run gets a fresh database "
        "(default: $BENCH_DATABASE_URL or $TEST_DATABASE_URL)",
    )
    parser.add_argument(
        "--postgres-database",
        help="measure this database of the --postgres-url server as it is, imported "
        "earlier (migrated, never emptied or dropped; no import figures): one --n, "
        "postgres only",
    )
    args = parser.parse_args(argv)
    backends = args.backend or list(BACKENDS)
    if args.postgres_database and (backends != ["postgres"] or len(args.n or [0]) != 1):
        parser.error("--postgres-database measures one size with --backend postgres")

    repeats = args.repeats or (3 if args.quick else 5)
    if args.corpus is not None:
        if not args.corpus.is_dir():
            parser.error(f"--corpus {args.corpus} is not a folder")
        folders = [(args.corpus.resolve(), None)]
    else:
        sizes = [QUICK_N] if args.quick else (args.n or [10_000])
        if any(n < 1 for n in sizes):
            parser.error("--n must be at least 1")
        folders = [(None, n) for n in sizes]

    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "settings": {
            "repeats": repeats,
            "seed": args.seed,
            "quick": args.quick,
            "backends": backends,
        },
        "runs": [],
    }
    for folder, n in folders:
        if folder is None:
            assert n is not None
            log(f"N={n:,}: corpus (cached under {args.work})")
            started = time.perf_counter()
            folder = corpus_mod.cached_corpus(n, args.work, args.seed, progress=True)
            log(f"N={n:,}: corpus ready in {time.perf_counter() - started:.1f} s: {folder}")
        else:
            n = sum(1 for p in folder.rglob("*.txt") if p.is_file())
        for backend in backends:
            work = args.work / f"run-n{n}-{backend}-{os.getpid()}"  # private: runs may overlap
            postgres = None
            if backend == "postgres":
                if not args.postgres_url:
                    run = {"n": n, "backend": backend}
                    unavailable(
                        run,
                        "postgres",
                        "no PostgreSQL server: set --postgres-url (make bench "
                        "starts one with scripts/test-postgres.sh)",
                    )
                    report["runs"].append(run)
                    continue
                name = args.postgres_database or f"newsarchive_bench_n{n}_{os.getpid()}"
                postgres = PostgresRun(args.postgres_url, name)
            run = run_one(
                folder,
                n,
                work,
                repeats,
                args.timeout,
                args.search_budget,
                postgres,
                args.baseline,
                args.seed,
                reuse=bool(args.postgres_database),
            )
            report["runs"].append(run)
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
                if postgres is not None and not args.postgres_database:
                    postgres.drop()
            _write(report, args.out)  # after every run, so a long run leaves partial results

    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    _write(report, args.out)
    print(render(report))
    log(f"results written to {args.out}")
    failures = search_failures(report)
    for failure in failures:
        log(f"search failure: {failure}")
    return 1 if failures else 0


def search_failures(report: dict[str, Any]) -> list[str]:
    """What makes the run fail: searches that failed (any stage, the rebuild's included) and
    search stages that could not run once there was an archive to search."""
    out = []
    for run in report["runs"]:
        where = f"N={run['n']:,} {run.get('backend', 'whoosh')}"
        for surface, data in run.get("search", {}).items():
            if data.get("error_count"):
                first = next(iter(data.get("errors", {}).values()), "")
                out.append(f"{where} {surface}: {data['error_count']} failed searches ({first})")
        rebuilt = run.get("rebuild", {})
        if rebuilt.get("errors"):
            kinds = "; ".join(rebuilt.get("error_kinds", {}))
            out.append(f"{where} rebuild: {rebuilt['errors']} failed searches ({kinds})")
        for stage, reason in run.get("unavailable", {}).items():
            if stage.startswith("search:") or (stage == "search" and run.get("import")):
                out.append(f"{where} {stage} could not run: {reason.splitlines()[-1]}")
    return out


def _write(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    tmp.replace(out)
