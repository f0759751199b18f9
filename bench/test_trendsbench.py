"""The trends stage of the bench: its query sets and its lines in the report."""

from __future__ import annotations

from bench.report import render
from bench.trendsbench import QUERIES_PER_PAGE, SETS, query_sets, report_lines


def test_query_sets_are_five_distinct_words_each_never_repeated() -> None:
    sets = query_sets()

    assert len(sets) == SETS
    assert all(len(s) == QUERIES_PER_PAGE for s in sets)
    words = [w for s in sets for w in s]
    assert len(set(words)) == len(words)


def test_the_report_shows_the_trends_table_when_measured() -> None:
    stats = {"n": 16, "median_ms": 55.3, "p95_ms": 67.6, "max_ms": 91.5}
    run = {
        "n": 10000,
        "backend": "whoosh",
        "trends": {
            "queries_per_page": 5,
            "by": ["year"],
            "cold": stats,
            "warm": stats,
            "all": stats,
            "errors": [],
        },
    }

    lines = report_lines(run)

    assert "| `GET /trends/`, 5 searches (by year), ms | median | p95 | worst |" in lines
    assert "| warm (16) | 55.3 | 67.6 | 91.5 |" in lines
    assert report_lines({"n": 10}) == []
    report = {
        "started": "2026-01-01T00:00:00+00:00",
        "machine": {"python": "3.11", "whoosh": "x", "cpus": 2, "loadavg_at_start": [0.1]},
        "runs": [{**run, "search": {}, "sizes": {"corpus_bytes": 1000}}],
    }
    assert "| cold (16) | 55.3 | 67.6 | 91.5 |" in render(report)
