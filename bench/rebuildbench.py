"""Searches while the index is rebuilt: does search keep answering, and how slowly?

Run inside a Django-configured process (bench/run.py sets the environment): it starts
`manage.py rebuild_index` as a subprocess and, until that ends, runs the search service in a
loop over the bench's query mix (`searchbench.cases()`), recording every search's time and
every failure. A search that raises, logs an ERROR, or is the empty query and finds fewer
articles than the database holds, is an error, and has no time in the figures. The
rebuild's wall and CPU time and peak memory are measured like the import's.

    DATABASE_URL=... NEWSARCHIVE_INDEX_DIR=... python -m bench.rebuildbench --json OUT
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.measure import TreeMemoryMonitor, percentile
from bench.searchbench import Case, cases, errors_logged, timed

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def run(json_out: Path | None = None) -> dict[str, Any]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings")
    django.setup()
    from articles import search
    from articles.models import Article
    from articles.search import SearchQuery

    search.warm_up()
    expected = Article.objects.count()
    mix = cases()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    argv = [sys.executable, str(PROJECT_ROOT / "manage.py"), "rebuild_index", "--verbosity", "0"]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, stderr=subprocess.PIPE, text=True)

    def run_one(case: Case) -> int:
        query = SearchQuery(q=case.q, sources=case.sources, sections=case.sections, page=case.page)
        found = search.search(query)
        if not case.q and not case.filtered and found.total != expected:
            raise AssertionError(f"empty query found {found.total} of {expected}")
        return found.total

    with TreeMemoryMonitor(proc.pid, interval=0.2) as monitor, errors_logged() as logged:
        for case in itertools.cycle(mix):
            if proc.poll() is not None:
                break
            sample = timed(run_one, case, logged)
            if sample.error is not None:
                name = sample.error[:160]
                errors[name] = errors.get(name, 0) + 1
            else:
                assert sample.seconds is not None
                latencies.append(sample.seconds * 1000)
        stderr = proc.communicate()[1]
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "articles": expected,
        "returncode": proc.returncode,
        "stderr_tail": stderr.strip().splitlines()[-3:],
        "seconds": round(seconds, 2),
        "articles_per_s": round(expected / seconds, 1) if seconds else None,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime - cpu_before, 2),
        "peak_rss_mb": monitor.peak_rss_mb,
        "searches": len(latencies) + sum(errors.values()),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "median_ms": round(percentile(latencies, 50) or 0, 1),
        "p95_ms": round(percentile(latencies, 95) or 0, 1),
        "worst_ms": round(max(latencies, default=0), 1),
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rebuildbench", description=__doc__)
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    result = run(args.json)
    print(json.dumps(result, indent=2))
    return 0 if result["returncode"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
