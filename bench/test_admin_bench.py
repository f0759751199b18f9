"""The admin list bench end to end on a tiny archive, so it cannot rot between `make bench`
runs (its figures are only meaningful at N=300,000; nothing here is timed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import admin

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_admin_bench_runs_and_reports_every_page(tmp_path: Path) -> None:
    out = tmp_path / "admin.json"
    command = [sys.executable, "-m", "bench.admin", "--n", "300", "--repeats", "1"]
    command += ["--work", str(tmp_path / "work"), "--out", str(out)]

    subprocess.run(command, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=300)

    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["n"] == 300
    expected = admin.pages(1, 1, 1, 300) + admin.searches(["w"] * 12)
    assert [row["page"] for row in report["pages"]] == [what for what, _ in expected]
    assert all(row["median_ms"] > 0 for row in report["pages"])
    assert not any((tmp_path / "work").iterdir())
