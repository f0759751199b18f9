"""Fast checks of the benchmark's own pieces (corpus determinism and format, stats, report)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bench import corpus
from bench.measure import percentile, read_through
from bench.report import render


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.txt"))}


def test_corpus_is_deterministic_and_prefix_stable(tmp_path: Path) -> None:
    corpus.generate(12, tmp_path / "a", seed=3)
    corpus.generate(12, tmp_path / "b", seed=3)
    corpus.generate(5, tmp_path / "c", seed=3)
    corpus.generate(5, tmp_path / "d", seed=4)
    a, b, c, d = (_files(tmp_path / x) for x in "abcd")
    assert a == b
    assert len(a) == 12
    assert c == {name: a[name] for name in c}
    assert set(d) != set(c)


def test_corpus_files_follow_the_seed_format(tmp_path: Path) -> None:
    corpus.generate(20, tmp_path, seed=1)
    for path in tmp_path.glob("*.txt"):
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        assert lines[0] and lines[1] == ""
        source, stamp = lines[2].removeprefix("Source:").split(" Published: ")
        assert source in corpus.SOURCES
        published = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
        assert corpus.START <= published < corpus.END
        assert text.endswith("\n\nblog comments powered by Disqus")
        section = text.split("Posted in: ")[1].split("\n")[0]
        assert section in corpus.SECTIONS
        body = text.split("\n\n", 2)[2].split("\n\n\n\nPosted in:")[0]
        assert 200 <= len(body.split()) <= 1200


def test_project_parser_reads_corpus_files(tmp_path: Path) -> None:
    seedfile = pytest.importorskip("articles.seedfile")
    corpus.generate(5, tmp_path, seed=1)
    for path in tmp_path.glob("*.txt"):
        article = seedfile.parse_file(path)
        assert article.title and article.body
        assert article.source in corpus.SOURCES
        assert article.section in corpus.SECTIONS
        assert article.published is not None


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 99) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)


def test_report_renders_partial_runs() -> None:
    report = {
        "started": "2026-01-01T00:00:00+00:00",
        "machine": {"python": "3.11", "whoosh": "x", "cpus": 2, "loadavg_at_start": [0.1]},
        "runs": [
            {
                "n": 10,
                "unavailable": {"import": "migrate failed: ImportError: no module"},
                "search": {},
                "sizes": {"corpus_bytes": 1000},
            }
        ],
    }
    text = render(report)
    assert "stage import unavailable: migrate failed: ImportError: no module" in text
    assert "| corpus (10 files) |" in text


def test_read_through_reads_files_and_folders_once(tmp_path: Path) -> None:
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "seg.pst").write_bytes(b"p" * 3_000_000)
    (tmp_path / "index" / "deeper").mkdir()
    (tmp_path / "index" / "deeper" / "toc").write_bytes(b"t" * 10)
    (tmp_path / "db.sqlite3").write_bytes(b"d" * 5)
    paths = [tmp_path / "db.sqlite3", tmp_path / "db.sqlite3-wal", tmp_path / "index"]
    assert read_through(paths) == 3_000_015


def test_report_renders_the_cpu_ratio_and_the_rebuild() -> None:
    report = {
        "started": "2026-01-01T00:00:00+00:00",
        "machine": {"python": "3.11", "whoosh": "x", "cpus": 2, "loadavg_at_start": [0.1]},
        "runs": [
            {
                "n": 10,
                "import": {"articles": 10, "seconds": 1.0, "articles_per_cpu_s": 30.0},
                "baseline": {"doc_count": 10, "articles_per_cpu_s": 10.0},
                "import_vs_baseline_cpu": 3.0,
                "rebuild": {"returncode": 0, "searches": 40, "errors": 0, "worst_ms": 12.5},
                "search": {},
                "sizes": {"corpus_bytes": 1000},
            }
        ],
    }
    text = render(report)
    assert "import/baseline articles per CPU second: **3.00** (30 against 10;" in text
    assert "| exit 0 |" in text and "| 40 | 0 |" in text and "12.5 ms |" in text
