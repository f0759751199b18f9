"""The import service: every file imported or reported, idempotent runs, safe interruptions."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.utils import timezone

from articles import importer, index_health, search
from articles.importer import discover, import_paths
from articles.models import Article, ImportRun, Section, Source

from .conftest import seed_text

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"

pytestmark = pytest.mark.django_db(transaction=True)


def statuses(paths, **kwargs) -> dict[str, str]:
    """Run an import and return {file name: status}."""
    reports = []
    import_paths(paths, on_report=reports.append, **kwargs)
    return {Path(r.path).name: r.status for r in reports}


def test_shipped_seed_document_imports_with_every_field_right():
    import_paths([SEEDS_DIR])

    article = Article.objects.get()
    assert article.title == "IS advances on Aleppo despite Russian air strikes"
    assert str(article.source) == "AFP"
    assert str(article.section) == "Mid-East"
    assert article.published == dt.datetime(2015, 10, 10, 0, 38, 2, tzinfo=dt.UTC)
    assert article.body.startswith("The Islamic State (IS) group fighters advanced Friday")
    assert article.body.endswith("jihadists and Kurdish forces.")
    assert "Posted in" not in article.body
    assert "Disqus" not in article.body
    assert article.source_path == "seeds/000_6a5f84842cef7bdc.txt"
    assert article.original_text.startswith("IS advances on Aleppo")


def test_imported_articles_are_in_the_search_index(write_seed, tmp_path):
    write_seed("a.txt", title="Cocoa prices climb", body="Cocoa rose sharply in Bahia.")
    import_paths([tmp_path / "seeds"])

    results = search.search(search.SearchQuery(q="cocoa"))
    assert [hit.title for hit in results.hits] == ["Cocoa prices climb"]


def test_folders_are_walked_recursively(write_seed, tmp_path):
    write_seed("top.txt", title="Top")
    write_seed("2015/10/nested.txt", title="Nested")

    assert statuses([tmp_path / "seeds"]) == {"top.txt": "created", "nested.txt": "created"}
    assert set(Article.objects.values_list("source_path", flat=True)) == {
        "seeds/top.txt",
        "seeds/2015/10/nested.txt",
    }


def test_hidden_files_and_other_extensions_are_reported_as_skipped(write_seed, tmp_path):
    write_seed("good.txt")
    write_seed(".hidden.txt", title="Hidden")
    write_seed(".git/inside.txt", title="Inside hidden folder")
    write_seed("notes.md", title="Markdown")
    reports = []

    import_paths([tmp_path / "seeds"], on_report=reports.append)

    by_name = {Path(r.path).name: r for r in reports}
    assert by_name["good.txt"].status == "created"
    assert by_name[".hidden.txt"].status == "skipped"
    assert by_name[".hidden.txt"].error == "hidden file"
    assert by_name["inside.txt"].status == "skipped"
    assert by_name["notes.md"].status == "skipped"
    assert "not a .txt file" in by_name["notes.md"].error
    assert Article.objects.count() == 1


def test_a_symlink_loop_does_not_hang_the_walk(write_seed, tmp_path):
    write_seed("a.txt")
    os.symlink(tmp_path / "seeds", tmp_path / "seeds" / "loop")

    assert statuses([tmp_path / "seeds"]) == {"a.txt": "created"}


@pytest.mark.parametrize("file_first", [True, False], ids=["file-then-folder", "folder-then-file"])
def test_a_file_given_with_its_folder_is_met_once(write_seed, tmp_path, file_first):
    path = write_seed("a.txt")
    write_seed("b.txt", title="Other")
    given = [path, tmp_path / "seeds"] if file_first else [tmp_path / "seeds", path]

    assert sorted(c.stored_path for c in discover(given)) == ["seeds/a.txt", "seeds/b.txt"]


def test_a_symlinked_file_is_met_once(write_seed, tmp_path):
    target = write_seed("a.txt")
    os.symlink(target, tmp_path / "seeds" / "z-link.txt")  # after its target in walking order
    other = tmp_path / "other"
    other.mkdir()
    os.symlink(target, other / "a-link.txt")  # walked before the target's own folder

    found = [c.stored_path for c in discover([other, tmp_path / "seeds"])]

    assert found == ["other/a-link.txt"]


def test_broken_and_looping_symlinks_are_reported_not_dropped(write_seed, tmp_path):
    write_seed("a.txt")
    os.symlink(tmp_path / "seeds" / "gone.txt", tmp_path / "seeds" / "b.txt")
    os.symlink(tmp_path / "seeds" / "c.txt", tmp_path / "seeds" / "c.txt")

    assert statuses([tmp_path / "seeds"]) == {
        "a.txt": "created",
        "b.txt": "failed",
        "c.txt": "failed",
    }


def test_hard_links_are_two_files(write_seed, tmp_path):
    target = write_seed("a.txt")
    os.link(target, tmp_path / "seeds" / "b.txt")

    assert statuses([tmp_path / "seeds"]) == {"a.txt": "created", "b.txt": "duplicate"}


def test_a_file_and_its_folder_record_the_same_path(write_seed, tmp_path):
    path = write_seed("a.txt")
    found_via_file = next(discover([path]))
    found_via_folder = next(discover([tmp_path / "seeds"]))

    assert found_via_file.stored_path == found_via_folder.stored_path == "seeds/a.txt"


def test_a_second_run_creates_and_changes_nothing(write_seed, tmp_path):
    write_seed("a.txt", title="One")
    write_seed("b.txt", title="Two")
    import_paths([tmp_path / "seeds"])
    before = list(Article.objects.values_list("id", "updated").order_by("id"))

    second = statuses([tmp_path / "seeds"])

    assert second == {"a.txt": "unchanged", "b.txt": "unchanged"}
    assert list(Article.objects.values_list("id", "updated").order_by("id")) == before


def test_an_edited_file_updates_its_article_in_place(write_seed, tmp_path):
    path = write_seed("a.txt", title="Original title")
    import_paths([tmp_path / "seeds"])
    original = Article.objects.get()

    write_seed("a.txt", title="Corrected title")
    assert statuses([path]) == {"a.txt": "updated"}

    article = Article.objects.get()
    assert article.pk == original.pk
    assert article.title == "Corrected title"
    assert article.slug == original.slug, "the article keeps its URL"
    assert search.search(search.SearchQuery(q="corrected")).total == 1
    assert search.search(search.SearchQuery(q="original")).total == 0


def test_same_content_under_another_name_and_encoding_is_one_article(write_seed, tmp_path):
    text = seed_text(title="Café society", body="Prices at the café rose.")
    write_seed("utf8.txt", text.encode("utf-8"))
    write_seed("windows.txt", text.replace("\n", "\r\n").encode("cp1252"))
    reports = []

    import_paths([tmp_path / "seeds"], on_report=reports.append)

    by_name = {Path(r.path).name: r for r in reports}
    assert Article.objects.count() == 1
    assert by_name["utf8.txt"].status == "created"
    assert by_name["windows.txt"].status == "duplicate"
    assert by_name["windows.txt"].article_id == by_name["utf8.txt"].article_id


def test_a_duplicate_of_an_article_from_an_earlier_run_names_that_article(write_seed, tmp_path):
    write_seed("first.txt", folder=tmp_path / "one")
    import_paths([tmp_path / "one"])
    write_seed("copy.txt", folder=tmp_path / "two")
    reports = []

    import_paths([tmp_path / "two"], on_report=reports.append)

    assert reports[0].status == "duplicate"
    assert reports[0].article_id == Article.objects.get().pk


def test_files_differing_only_in_published_stamp_are_two_articles(write_seed, tmp_path):
    write_seed("first.txt", published="1987-03-02 10:00:00")
    write_seed("resent.txt", published="1987-03-02 14:30:00")

    assert statuses([tmp_path / "seeds"]) == {"first.txt": "created", "resent.txt": "created"}
    assert Article.objects.count() == 2
    assert len(set(Article.objects.values_list("slug", flat=True))) == 2


def test_missing_metadata_still_imports_with_empty_fields_and_warnings(write_seed, tmp_path):
    write_seed("bare.txt", source=None, published=None, section=None)
    reports = []

    import_paths([tmp_path / "seeds"], on_report=reports.append)

    article = Article.objects.get()
    assert (article.source, article.section, article.published) == (None, None, None)
    assert reports[0].status == "created"
    assert len(reports[0].warnings) >= 3


def test_source_names_differing_in_case_and_spacing_are_one_source(write_seed, tmp_path):
    write_seed("a.txt", title="One", source="AFP")
    write_seed("b.txt", title="Two", source=" afp")

    import_paths([tmp_path / "seeds"])

    assert Source.objects.count() == 1
    assert str(Source.objects.get()) == "AFP"
    assert Source.objects.with_counts().get().article_count == 2


def test_naive_stamps_are_read_in_the_archive_time_zone(settings, write_seed, tmp_path):
    settings.TIME_ZONE = "Europe/Paris"
    write_seed("a.txt", published="2015-10-10 12:00:00")

    import_paths([tmp_path / "seeds"])

    published = Article.objects.get().published
    assert published == dt.datetime(2015, 10, 10, 10, 0, tzinfo=dt.UTC)
    assert timezone.localtime(published).hour == 12


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"   \n\n  \n", "empty"),
        (b"Only a title\n", "no article text"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "binary"),
    ],
    ids=["empty", "blank", "title-only", "binary"],
)
def test_bad_files_fail_with_a_reason_and_the_good_ones_still_import(
    write_seed, tmp_path, content, reason
):
    write_seed("good.txt")
    write_seed("bad.txt", content)
    reports = []

    summary = import_paths([tmp_path / "seeds"], on_report=reports.append)

    by_name = {Path(r.path).name: r for r in reports}
    assert by_name["bad.txt"].status == "failed"
    assert reason in by_name["bad.txt"].error.lower()
    assert by_name["good.txt"].status == "created"
    assert summary.failed == 1
    assert Article.objects.count() == 1


def test_files_over_the_size_limit_fail_without_being_read(settings, write_seed, tmp_path):
    settings.NEWSARCHIVE_MAX_FILE_BYTES = 1000
    write_seed("huge.txt", body="word " * 1000)
    reports = []

    import_paths([tmp_path / "seeds"], on_report=reports.append)

    assert reports[0].status == "failed"
    assert "1000" in reports[0].error


def test_dry_run_parses_and_reports_without_writing(write_seed, tmp_path):
    write_seed("a.txt")
    write_seed("bad.txt", b"")

    assert statuses([tmp_path / "seeds"], dry_run=True) == {"a.txt": "created", "bad.txt": "failed"}
    assert Article.objects.count() == 0
    assert search.indexed_ids() == set()


def test_an_interrupted_run_leaves_whole_batches_and_a_rerun_finishes(
    write_seed, tmp_path, monkeypatch
):
    for n in range(5):
        write_seed(f"{n}.txt", title=f"Article number {n}", body=f"Body {n}.")
    indexer_class = type(search.get_backend().bulk_indexer())
    real_add = indexer_class.add_articles
    calls = []

    def add_then_crash(self, articles, *, new=False):
        if articles:
            calls.append(articles)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_add(self, articles, new=new)

    monkeypatch.setattr(indexer_class, "add_articles", add_then_crash)
    with pytest.raises(KeyboardInterrupt):
        import_paths([tmp_path / "seeds"], batch_size=2)
    assert Article.objects.count() == 4, "two whole batches were committed"
    assert len(search.indexed_ids()) == 2, "the second batch never reached the index"

    monkeypatch.setattr(indexer_class, "add_articles", real_add)
    second = statuses([tmp_path / "seeds"], batch_size=2)

    assert sorted(second.values()) == ["created"] + ["unchanged"] * 4
    assert search.indexed_ids() == set(Article.objects.values_list("id", flat=True))


def test_a_database_error_mid_batch_writes_nothing_of_that_batch(write_seed, tmp_path, monkeypatch):
    for n in range(3):
        write_seed(f"{n}.txt", title=f"Article {n}")

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "_assign_unique_slugs", fail)
    with pytest.raises(RuntimeError):
        import_paths([tmp_path / "seeds"])

    assert Article.objects.count() == 0
    assert Source.objects.count() == Section.objects.count() == 0, "labels roll back too"


def test_each_run_is_recorded_with_its_counts(write_seed, tmp_path):
    write_seed("a.txt")
    write_seed("b.md")

    import_paths([tmp_path / "seeds"])

    run = ImportRun.objects.get()
    assert run.counts["created"] == 1
    assert run.counts["skipped"] == 1
    assert run.finished is not None


def test_repeated_titles_get_distinct_stable_slugs(write_seed, tmp_path):
    write_seed("a.txt", title="Markets close", published="2015-01-01 10:00")
    write_seed("b.txt", title="Markets close", published="2015-01-02 10:00")

    import_paths([tmp_path / "seeds"])

    slugs = sorted(Article.objects.values_list("slug", flat=True))
    assert slugs[0] == "markets-close"
    assert slugs[1].startswith("markets-close-")


def test_large_imports_index_with_parallel_writers_committing_along_the_way(
    write_seed, tmp_path, monkeypatch
):
    from articles.search.backends.whoosh import writing

    monkeypatch.setattr(writing, "BULK_PARALLEL_MIN", 4)
    monkeypatch.setattr(writing, "BULK_COMMIT_DOCS", 8)
    for n in range(20):
        write_seed(f"{n:02}.txt", title=f"Harbour report {n}", body=f"Harbour traffic {n}.")

    import_paths([tmp_path / "seeds"], batch_size=5)

    assert search.indexed_ids() == set(Article.objects.values_list("id", flat=True))
    assert search.search(search.SearchQuery(q="harbour")).total == 20


def test_a_save_waiting_for_the_index_gets_in_during_a_long_import(
    write_seed, tmp_path, monkeypatch
):
    """The import commits as soon as another writer waits for the lock, not at its interval."""
    import threading
    import time

    from articles.search.backends.whoosh import writing
    from articles.search.backends.whoosh.lockfiles import lock_path, writers_waiting
    from articles.search.backends.whoosh.writers import cancel_quietly

    monkeypatch.setattr(writing, "BULK_PARALLEL_MIN", 4)
    monkeypatch.setattr(writing, "WRITE_LOCK_TIMEOUT", 20.0)  # the import never commits by then
    for n in range(20):
        write_seed(f"{n:02}.txt", title=f"Harbour report {n}", body=f"Harbour traffic {n}.")
    backend = search.get_backend()
    events: list = []

    def save() -> None:
        try:
            cancel_quietly(backend._writer())
            events.append("saved")
        except Exception as error:  # noqa: BLE001 - the test reports it
            events.append(error)

    saver = threading.Thread(target=save)

    def on_report(report) -> None:
        events.append("imported")
        if len(events) == 5:  # the first batch is in: the import's writer holds the lock
            saver.start()
            path = lock_path(backend._index())
            while not writers_waiting(path):
                time.sleep(0.01)

    import_paths([tmp_path / "seeds"], batch_size=5, on_report=on_report)
    saver.join(30)

    # In as the next batch (the second) is committed, before the third is indexed.
    assert "saved" in events and events.index("saved") == 10, events
    assert search.indexed_ids() == set(Article.objects.values_list("id", flat=True))
    assert not list(Path(backend.index_dir).glob("*.waiting-*"))


def test_articles_indexed_from_memory_are_indexed_as_their_rows_are(write_seed, tmp_path):
    # The importer indexes the objects it has just saved rather than reading the rows back;
    # the oracle is an index rebuilt from the rows. Labels are met in another spelling than
    # the stored one, and stamps come with offsets, where memory and rows could differ.
    Source.for_name("Reuters")
    Section.for_name("Mid-East")
    for n in range(6):
        write_seed(
            f"{n}.txt",
            title=f"Markets move {n}",
            source=["REUTERS", "AFP", "reuters"][n % 3],
            section=["MID-EAST", "Business", None][n % 3],
            published=[f"2015-10-1{n} 23:38:02", f"2016-03-0{n + 1}T01:15:00+05:00", None][n % 3],
            body=f"Oil prices rose {n} percent.",
        )
    import_paths([tmp_path / "seeds"])
    facets = ["source", "section", "year", "month", "day"]
    queries = [
        search.SearchQuery(q="", sort="newest", collapse=False),
        search.SearchQuery(q="markets oil", collapse=False),
        search.SearchQuery(q="", sources=("Reuters",), sections=("Mid-East",), collapse=False),
    ]

    def seen() -> list:
        counts = [search.facet_counts(query, facets) for query in queries]
        found = [{name: sorted(values) for name, values in c.items()} for c in counts]
        matches = [search.matching_ids(query, 100) for query in queries]
        return found + [(m.total, sorted(m.ids)) for m in matches]  # ties may order otherwise

    from_memory = seen()
    search.rebuild_index()
    assert seen() == from_memory
    assert from_memory[0]["source"] == [("AFP", "AFP", 2), ("Reuters", "Reuters", 4)]
    assert index_health.out_of_date() == ([], [])


def test_reading_ahead_in_a_child_gives_the_import_of_one_process(write_seed, tmp_path):
    """Files read, parsed and signed one batch ahead in a child process: the same reports in
    the same order, and the same rows and threads, as when this process reads them itself."""
    for n in range(7):
        body = "Iran warned of retaliation." if n % 3 == 0 else f"Oil prices rose {n} percent."
        write_seed(f"{n}.txt", title=f"Story {n % 3}", body=body, published=f"2015-10-1{n} 1:00")
    write_seed(
        "copy.txt", title="Story 0", body="Iran warned of retaliation.", published="2015-10-10 1:00"
    )
    write_seed("notes.md", title="Not a seed")
    (tmp_path / "seeds" / "empty.txt").write_bytes(b"")

    def run(read_ahead: bool) -> tuple[list, dict]:
        reports = []
        import_paths(
            [tmp_path / "seeds"], batch_size=2, on_report=reports.append, read_ahead=read_ahead
        )
        rows = Article.objects.values_list(
            "source_path", "title", "body", "minhash", "fingerprint", "thread"
        )
        by_path = {path: rest for path, *rest in rows}
        path_of = {pk: path for pk, path in Article.objects.values_list("pk", "source_path")}
        for values in by_path.values():
            values[-1] = path_of.get(values[-1])  # the thread named by its first file
            values[2] = bytes(values[2]) if values[2] is not None else None

        def named(error: str | None) -> str | None:  # "same content as article 8": ids differ
            return re.sub(r"article (\d+)", lambda m: path_of[int(m[1])], error or "")

        return [(Path(r.path).name, r.status, named(r.error)) for r in reports], by_path

    ahead = run(read_ahead=True)
    Article.objects.all().delete()
    assert run(read_ahead=False) == ahead
    reports, rows = ahead
    assert [status for name, status, _ in reports].count("created") == 7
    assert {name for name, status, _ in reports if status != "created"} == {
        "copy.txt",
        "notes.md",
        "empty.txt",
    }
    assert all(values[2] is not None for values in rows.values())  # every row signed
