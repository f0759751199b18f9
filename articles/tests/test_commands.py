"""`manage.py import_seeds`: arguments, exit status, summary line and the JSON-lines report."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from articles.models import Article

pytestmark = pytest.mark.django_db(transaction=True)


def run_import(*args: str) -> tuple[int, str]:
    """Run the command; return (exit status, stdout)."""
    out = io.StringIO()
    try:
        call_command("import_seeds", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exit_:
        return int(exit_.code), out.getvalue()
    return 0, out.getvalue()


def test_default_path_is_the_shipped_seeds_folder():
    status, _ = run_import()

    assert status == 0
    assert Article.objects.get().title == "IS advances on Aleppo despite Russian air strikes"


def test_summary_line_counts_every_status_and_the_rate(write_seed, tmp_path):
    write_seed("a.txt")
    write_seed("b.md")

    status, out = run_import(str(tmp_path / "seeds"))

    assert status == 0
    line = out.strip().splitlines()[-1]
    for part in ("1 created", "0 updated", "0 unchanged", "0 duplicate", "1 skipped", "0 failed"):
        assert part in line
    assert "articles/s" in line


def test_exit_status_is_1_when_a_file_failed_and_good_files_are_kept(write_seed, tmp_path):
    write_seed("good.txt")
    write_seed("empty.txt", b"")

    status, out = run_import(str(tmp_path / "seeds"))

    assert status == 1
    assert "empty.txt" in out
    assert Article.objects.count() == 1


def test_a_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(CommandError, match="No such file or folder"):
        call_command("import_seeds", str(tmp_path / "nowhere"))


def test_report_has_one_json_object_per_input_file(write_seed, tmp_path):
    write_seed("a.txt", title="One")
    write_seed("b.txt", title="Two")
    write_seed("c.md")
    write_seed("d.txt", b"")
    report = tmp_path / "report.jsonl"

    run_import(str(tmp_path / "seeds"), "--report", str(report))

    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert sorted(Path(r["path"]).name for r in rows) == ["a.txt", "b.txt", "c.md", "d.txt"]
    assert all(set(r) == {"path", "status", "article_id", "error", "warnings"} for r in rows)
    by_name = {Path(r["path"]).name: r for r in rows}
    assert by_name["a.txt"]["article_id"] == Article.objects.get(title="One").pk
    assert by_name["d.txt"]["status"] == "failed"
    assert by_name["d.txt"]["error"]


def test_verbosity_0_prints_nothing(write_seed, tmp_path):
    write_seed("a.txt")

    status, out = run_import(str(tmp_path / "seeds"), "--verbosity", "0")

    assert (status, out) == (0, "")


def test_no_progress_bar_when_output_is_not_a_terminal(write_seed, tmp_path, capsys):
    write_seed("a.txt")

    run_import(str(tmp_path / "seeds"))

    assert "Importing" not in capsys.readouterr().err


def test_dry_run_writes_nothing(write_seed, tmp_path):
    write_seed("a.txt")

    status, out = run_import(str(tmp_path / "seeds"), "--dry-run")

    assert status == 0
    assert "Dry run" in out
    assert Article.objects.count() == 0
