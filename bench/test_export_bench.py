"""The export memory bench end to end on a tiny archive, so it cannot rot between `make bench`
runs (its figures are only meaningful at N=100,000; nothing here is timed)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import export


def test_export_bench_runs_and_reports_every_case(tmp_path: Path) -> None:
    out = tmp_path / "export.json"

    assert export.main(["--n", "40", "--work", str(tmp_path / "work"), "--out", str(out)]) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["setup"]["articles"] == 40
    cases = {(c["format"], c["body"], c["cap"]): c for c in report["cases"]}
    assert set(cases) == {(fmt, body, cap) for fmt, body in export.CASES for cap in (4, 40)}
    for (fmt, _, cap), case in cases.items():
        assert case["rows"] == cap and case["total"] == 40
        assert case["truncated"] == (cap < 40)
        assert case["lines"] == cap + (1 if fmt == "csv" else 0)  # CSV has a header line
        assert case["peak_rss_mb"] >= case["rss_after_warm_up_mb"] > 0
    assert "| jsonl + text | 40 |" in export.render(report)
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())
