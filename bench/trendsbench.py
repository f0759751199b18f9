"""Trends page latency (issue 20): ``GET /trends/`` with five searches, at the bench's N.

Run inside a Django-configured process (bench/run.py starts it after the search stages, on
the same database and index): the process opens the index as a web worker does
(``warm_up``), then asks for trends pages through the whole Django stack, template and SVG
included. Each set is five ordinary words of the corpus's vocabulary, at the page's default
granularity (years over the synthetic corpus's 25 years), without and with a source filter;
the first request of a set is "cold" (new to this process: no cached results), the repeats
"warm". Reported: median, p95 and worst of each, against the issue's target of 300 ms at
100,000 articles.

    DATABASE_URL=... NEWSARCHIVE_INDEX_DIR=... python -m bench.trendsbench --json OUT

Self-contained on purpose: ``stage`` is run.py's only hook, ``report_lines`` report.py's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.corpus import FUNCTION_WORD_RANKS, load_words
from bench.measure import percentile, run_measured

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Searches per trends page, as the issue's target states it.
QUERIES_PER_PAGE = 5
#: Distinct sets of five searches, each asked without and with the source filter.
SETS = 8
FILTER_SOURCE = "AFP"
TARGET_MS = 300.0


def query_sets(count: int = SETS) -> list[tuple[str, ...]]:
    """Five words per set, spread over the vocabulary from common to uncommon, no word twice."""
    words = load_words()[FUNCTION_WORD_RANKS:]
    stride = max(1, min(len(words) // (count * QUERIES_PER_PAGE), 37))
    picked = words[::stride][: count * QUERIES_PER_PAGE]
    return [tuple(picked[i::count][:QUERIES_PER_PAGE]) for i in range(count)]  # mixed ranks


def _ms(samples: list[float]) -> dict[str, float | int | None]:
    if not samples:
        return {"n": 0, "median_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "n": len(samples),
        "median_ms": round(statistics.median(samples) * 1000, 1),
        "p95_ms": round(percentile(samples, 95) * 1000, 1),
        "max_ms": round(max(samples) * 1000, 1),
    }


def run(repeats: int = 4) -> dict[str, Any]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings")
    django.setup()
    from django.test import Client

    from articles import search

    setup_started = time.perf_counter()
    search.warm_up()
    setup_ms = round((time.perf_counter() - setup_started) * 1000, 1)
    client = Client()
    pages = []
    for words in query_sets():
        params: list[tuple[str, str]] = [("q", w) for w in words]
        pages += [params, [*params, ("source", FILTER_SOURCE)]]
    cold: list[float] = []
    warm: list[float] = []
    errors: list[str] = []
    by = set()
    for attempt in range(repeats):
        for params in pages:
            started = time.perf_counter()
            response = client.get(f"/trends/?{urlencode(params)}")
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                errors.append(f"{urlencode(params)}: HTTP {response.status_code}")
                continue
            drawn = re.search(rb"Matching articles per (month|year)", response.content)
            by.add(drawn.group(1).decode() if drawn else "none")
            (warm if attempt else cold).append(elapsed)
    return {
        "queries_per_page": QUERIES_PER_PAGE,
        "pages": len(pages),
        "repeats": repeats,
        "by": sorted(by),
        "setup_ms": setup_ms,
        "cold": _ms(cold),
        "warm": _ms(warm),
        "all": _ms(cold + warm),
        "errors": errors,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


# --- hooks for bench/run.py and bench/report.py --------------------------------------------


def stage(result: dict[str, Any], n: int, work: Path, env: dict[str, str]) -> None:
    """Run this bench in a fresh process on the run's database and index; ``result["trends"]``."""
    out = work / "trends.json"
    argv = [sys.executable, "-m", "bench.trendsbench", "--json", str(out)]
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] N={n:,}: trends page, {QUERIES_PER_PAGE} searches", file=sys.stderr)
    done = run_measured(argv, env, PROJECT_ROOT, timeout=1800)
    if done.ok and out.exists():
        result["trends"] = json.loads(out.read_text(encoding="utf-8"))
    else:
        result.setdefault("unavailable", {})["trends"] = f"exit {done.returncode}"


def report_lines(run_result: dict[str, Any]) -> list[str]:
    """The trends table of one run, for the markdown report."""
    data = run_result.get("trends")
    if not data:
        return []

    def cell(group: str, stat: str) -> str:
        value = data[group].get(stat)
        return "-" if value is None else f"{value:,.1f}"

    rows = [
        f"| {group} ({data[group]['n']}) | {cell(group, 'median_ms')} | {cell(group, 'p95_ms')} "
        f"| {cell(group, 'max_ms')} |"
        for group in ("cold", "warm", "all")
    ]
    return [
        "",
        f"| `GET /trends/`, {data['queries_per_page']} searches (by {'/'.join(data['by'])}), "
        f"ms | median | p95 | worst |",
        "| --- | ---: | ---: | ---: |",
        *rows,
        f"target: p95 under {TARGET_MS:.0f} ms at 100,000 articles; errors: {len(data['errors'])}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.trendsbench", description="Trends page latency."
    )
    parser.add_argument("--repeats", type=int, default=4, help="passes over the pages (>= 2)")
    parser.add_argument("--json", help="write the result here (default: stdout)")
    args = parser.parse_args(argv)
    result = run(max(args.repeats, 2))
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
