"""Fast checks of the benchmark's own pieces (corpus determinism and format, stats, report), and
of what its search figures mean, on a real archive of a few dozen articles: cold samples find
nothing cached, new queries are of every kind, a failed search is an error, the baseline writes
as the importer does. Nothing here is timed."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from bench import baseline, corpus, searchbench
from bench import run as run_bench
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
    assert "| import / baseline (CPU) | 3.00 |" in text
    assert "| exit 0 |" in text and "| 40 | 0 |" in text and "12.5 ms |" in text


# --- what the search figures mean -------------------------------------------------------------


def test_new_queries_hold_every_kind_and_nothing_seen_before() -> None:
    new = searchbench.new_cases(seed=1)
    by_kind: dict[str, list[searchbench.Case]] = {}
    for case in new:
        by_kind.setdefault(case.kind, []).append(case)
    assert set(by_kind) == {f"new {k}" for k in searchbench.NEW_KINDS}
    assert {len(v) for v in by_kind.values()} == {searchbench.NEW_PER_KIND}
    assert all(c.q.startswith('"') and c.q.endswith('"') for c in by_kind["new phrase"])
    assert all(len(c.q.strip('"').split()) == 2 for c in by_kind["new phrase"])
    assert all(c.q.endswith("*") for c in by_kind["new prefix"])
    assert all(c.q.endswith("~") for c in by_kind["new fuzzy"])
    assert all(c.q.startswith("title:") for c in by_kind["new field"])
    assert all(len(c.q.split()) == 2 for c in by_kind["new two words"])
    assert all(c.page >= 20 for c in by_kind["new deep page"])
    assert any(c.filtered for c in by_kind["new word"])
    # No word stem is shared between two queries of the run, the mix's included.
    stems = [searchbench._stem_key(w) for _, q in searchbench.QUERIES for w in q.split()]
    words = [w.strip('"*~').removeprefix("title:") for c in new for w in c.q.split()]
    new_stems = [w.lower()[: searchbench.STEM_PREFIX] for w in words]
    assert len(set(new_stems)) == len(new_stems)
    assert not set(new_stems) & {s.strip('"*~').removeprefix("title:") for s in stems}
    assert searchbench.new_cases(seed=1) == new
    assert searchbench.new_cases(seed=2) != new


@pytest.fixture
def tiny_archive(db, settings, tmp_path: Path):
    """A few dozen bench articles imported for real into a Whoosh index of this test's own."""
    from django.core.management import call_command

    from articles.search import reset_backend

    settings.NEWSARCHIVE_INDEX_DIR = tmp_path / "index"
    reset_backend()
    corpus.generate(40, tmp_path / "corpus", seed=1)
    call_command("import_seeds", str(tmp_path / "corpus"), verbosity=0)
    yield tmp_path / "index"
    reset_backend()


def test_cold_samples_find_nothing_cached(tiny_archive: Path) -> None:
    from articles.search import clear_caches, warm_up

    warm_up()  # as every surface starts: it answers (and caches) the empty query
    service = searchbench.make_runner("service", {})
    mix = searchbench.cases()

    def cached_before_cold(clear) -> list[int]:
        seen: set[str] = set()
        found: list[int] = []

        def run(case: searchbench.Case) -> int | None:
            if case.key not in seen:  # the first, cold, sample of this query
                seen.add(case.key)
                found.append(clear_caches())  # what was cached when it started
            return service(case)

        measured = searchbench.measure(run, clear, mix, [], repeats=2)
        assert measured["error_count"] == 0
        assert measured["cold"]["n"] == measured["warm"]["n"] == len(mix)
        return found

    assert cached_before_cold(searchbench.cache_clearer("service")) == [0] * len(mix)
    # The hook does see cached answers: without it, the empty query (from the warm-up) and
    # page 50 after page 1 of the same query started cached.
    warm_up()
    assert sum(1 for n in cached_before_cold(lambda: 0) if n) >= len(mix) // 2


def test_a_failed_search_is_an_error_and_fails_the_run(tiny_archive: Path) -> None:
    from articles.search import warm_up

    warm_up()
    service = searchbench.make_runner("service", {})
    page = searchbench.make_runner("page", {})
    mix, new = searchbench.cases()[:4], searchbench.new_cases()[:3]
    assert searchbench.measure(service, lambda: 0, mix, new, repeats=2)["error_count"] == 0

    shutil.rmtree(tiny_archive)  # the index goes while the database still holds articles

    for run in (service, page):
        measured = searchbench.measure(run, lambda: 0, mix, new, repeats=2)
        assert measured["error_count"] == 2 * len(mix) + len(new)
        assert measured["all"]["n"] == 0 and measured["worst_ms"] is None
        assert measured["cold"]["errors"] == len(mix) and measured["new"]["errors"] == len(new)
        assert len(measured["errors"]) == len(mix) + len(new)
    report = {"runs": [{"n": 40, "backend": "whoosh", "search": {"page": measured}}]}
    assert run_bench.search_failures(report)
    failed = f"| {measured['error_count']} |"
    text = render({**report, **_REPORT_HEAD})
    assert f"| failed searches (all surfaces) {failed}" in text
    assert failed in next(row for row in text.splitlines() if row.startswith("| GET /search/ |"))


def test_a_search_that_logs_an_error_is_an_error() -> None:
    def run(case: searchbench.Case) -> int:
        logging.getLogger("articles.search").error("index unreadable")
        return 1

    measured = searchbench.measure(run, lambda: 0, searchbench.cases()[:2], [], repeats=1)
    assert measured["error_count"] == 2 and measured["cold"]["n"] == 0
    assert "index unreadable" in next(iter(measured["errors"].values()))


def test_the_baseline_writes_with_the_importers_settings(db, settings, tmp_path: Path) -> None:
    from articles.search.backends.whoosh import writing

    settings.NEWSARCHIVE_IMPORT_BATCH_SIZE = 15
    policy = baseline.importer_policy()
    assert (policy.procs, policy.limitmb) == (writing.BULK_PROCS, writing.BULK_LIMITMB)
    assert (policy.commit_docs, policy.commit_seconds) == (
        writing.BULK_COMMIT_DOCS,
        writing.BULK_COMMIT_SECONDS,
    )
    assert policy.parallel_min == writing.BULK_PARALLEL_MIN
    assert policy.mergetype is writing.merge_tiny
    assert policy.batch_size == 15

    corpus.generate(40, tmp_path / "corpus", seed=1)
    schema, origin = baseline.load_schema()
    make_document, _ = baseline.document_maker(origin)
    parsed: list[int] = []

    def counting_maker(article, i):
        parsed.append(i)
        return make_document(article, i)

    policy = replace(policy, commit_docs=20)  # 15 + 15 go in, then a commit; 10 more, another
    result = baseline.index_corpus(
        tmp_path / "corpus", schema, counting_maker, tmp_path / "ix", policy
    )
    assert result["doc_count"] == result["documents"] == 40
    assert result["commits"] == 2
    assert result["writer"]["batch_size"] == 15 and result["writer"]["mergetype"] == "merge_tiny"
    assert parsed == list(range(40))


def test_report_table_has_a_column_per_n_and_says_why_the_baseline_was_skipped() -> None:
    runs = [
        {"n": 10_000, "backend": "whoosh", "baseline": {"articles_per_s": 100.0}},
        {"n": 1_000_000, "backend": "whoosh", "baseline_skipped": "N above 200,000"},
    ]
    text = render({**_REPORT_HEAD, "runs": runs})
    assert "| | N = 10,000, whoosh | N = 1,000,000, whoosh |" in text
    assert "| stock-Whoosh baseline, articles/s | 100 | skipped |" in text
    assert "| raw Whoosh baseline | skipped: N above 200,000 |" in text


_REPORT_HEAD = {
    "started": "2026-01-01T00:00:00+00:00",
    "machine": {"python": "3.11", "whoosh": "x", "cpus": 2, "loadavg_at_start": [0.1]},
}
