"""Keeping the index in step, on every backend: index, unindex, rebuild, clear, the versions
``update_index`` compares, bulk indexing, and idempotency counted in the index itself.

``indexed_ids()`` is a set, so an article indexed twice would pass every check built on it;
these tests count index documents per article with ``indexed_id_counts()``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from articles import search as search_service
from articles import signals
from articles.importer import import_paths
from articles.models import Article
from articles.search import SearchQuery, indexed_id_counts, search

from .support import facet, titles

pytestmark = pytest.mark.django_db


@pytest.fixture
def unindexed(make_article):
    """Articles written with the signals suspended: in the database, not yet in the index."""

    def make(*args, **kwargs):
        with signals.suspended():
            return make_article(*args, **kwargs)

    return make


def once_each(ids) -> dict[int, int]:
    return dict.fromkeys(ids, 1)


def check_index(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("check_index", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exit_:
        return exit_.code or 0, out.getvalue()
    return 0, out.getvalue()


# --- the index API -----------------------------------------------------------------------------


def test_indexed_articles_are_found_once_each(unindexed):
    articles = [unindexed(f"Cocoa {i}", body="cocoa") for i in range(3)]
    search_service.index_articles([a.pk for a in articles])
    assert indexed_id_counts() == once_each(a.pk for a in articles)
    assert search(SearchQuery(q="cocoa")).total == 3


def test_indexing_again_replaces_instead_of_adding(unindexed):
    articles = [unindexed(f"Cocoa {i}", body="cocoa") for i in range(3)]
    for _ in range(3):
        search_service.index_articles([a.pk for a in articles])
    assert indexed_id_counts() == once_each(a.pk for a in articles)
    assert search(SearchQuery(q="cocoa")).total == 3


def test_indexing_an_article_gone_from_the_database_removes_it(add_article):
    article = add_article("Cocoa", body="cocoa")
    with signals.suspended():
        Article.objects.filter(pk=article.pk).delete()
    search_service.index_articles([article.pk])
    assert indexed_id_counts() == {}


def test_unindexing_removes_only_those_articles(backend, add_article):
    needs_a_separate_index(backend)
    kept, gone = add_article("Kept", body="cocoa"), add_article("Gone", body="cocoa")
    search_service.unindex_articles([gone.pk, 10_000])
    assert indexed_id_counts() == {kept.pk: 1}
    assert titles(search(SearchQuery(q="cocoa"))) == ["Kept"]


def test_rebuild_indexes_every_article_once_and_drops_the_rest(add_article, unindexed):
    stale = add_article("Stale", body="cocoa")
    indexed = add_article("Indexed", body="cocoa")
    missing = unindexed("Missing", body="cocoa")
    with signals.suspended():
        Article.objects.filter(pk=stale.pk).delete()
    assert search_service.rebuild_index() == 2
    assert indexed_id_counts() == once_each([indexed.pk, missing.pk])
    assert sorted(titles(search(SearchQuery(q="cocoa")))) == ["Indexed", "Missing"]


def test_clear_index_empties_it(backend, add_article):
    needs_a_separate_index(backend)
    add_article("Cocoa", body="cocoa")
    search_service.clear_index()
    assert indexed_id_counts() == {}
    assert search(SearchQuery()).total == 0 and search(SearchQuery()).error is None


def test_indexed_versions_are_the_rows_updated_stamps(add_article):
    articles = [add_article(f"Story {i}") for i in range(3)]
    assert search_service.indexed_versions() == {a.pk: a.updated for a in articles}


def test_bulk_indexer_makes_every_batch_searchable_once(unindexed):
    first = [unindexed(f"Cocoa {i}", body="cocoa") for i in range(3)]
    second = [unindexed(f"Coffee {i}", body="coffee") for i in range(2)]
    with search_service.bulk_indexer() as indexer:
        indexer.add([a.pk for a in first], new=True)
        indexer.add([a.pk for a in second], new=True)
    assert indexed_id_counts() == once_each(a.pk for a in first + second)
    assert search(SearchQuery(q="cocoa")).total == 3


def test_an_article_added_twice_in_one_bulk_run_is_indexed_once(unindexed):
    article = unindexed("Cocoa", body="cocoa")
    with search_service.bulk_indexer() as indexer:
        indexer.add([article.pk], new=True)
        indexer.add([article.pk])  # edited again later in the same run
    assert indexed_id_counts() == {article.pk: 1}


def test_bulk_indexer_keeps_what_was_added_when_the_run_fails(unindexed):
    article = unindexed("Cocoa", body="cocoa")
    with pytest.raises(KeyboardInterrupt), search_service.bulk_indexer() as indexer:
        indexer.add([article.pk], new=True)
        raise KeyboardInterrupt
    assert indexed_id_counts() == {article.pk: 1}


# --- idempotent imports, counted in the index --------------------------------------------------


def test_two_imports_of_the_same_files_leave_one_index_entry_per_article(write_seed, tmp_path):
    for n in range(3):
        write_seed(f"{n}.txt", title=f"Harbour report {n}", body=f"Harbour traffic {n}.")
    import_paths([tmp_path / "seeds"])
    import_paths([tmp_path / "seeds"])
    in_database = Article.objects.values_list("pk", flat=True)
    assert indexed_id_counts() == once_each(in_database)
    assert search(SearchQuery(q="harbour")).total == 3


def test_an_edited_file_reimported_is_still_one_index_entry(write_seed, tmp_path: Path):
    write_seed("a.txt", title="Original title", body="Harbour traffic.")
    write_seed("b.txt", title="Other title", body="Harbour traffic again.")
    import_paths([tmp_path / "seeds"])
    write_seed("a.txt", title="Corrected title", body="Harbour traffic.")
    import_paths([tmp_path / "seeds"])
    import_paths([tmp_path / "seeds"])
    assert indexed_id_counts() == once_each(Article.objects.values_list("pk", flat=True))
    assert titles(search(SearchQuery(q="corrected"))) == ["Corrected title"]
    assert search(SearchQuery(q="harbour")).total == 2


def test_a_rerun_after_an_unindexed_batch_indexes_it_once(write_seed, tmp_path):
    for n in range(3):
        write_seed(f"{n}.txt", title=f"Harbour report {n}", body=f"Harbour traffic {n}.")
    import_paths([tmp_path / "seeds"])
    search_service.clear_index()  # as if the run had died between its commit and indexing
    import_paths([tmp_path / "seeds"])
    import_paths([tmp_path / "seeds"])
    assert indexed_id_counts() == once_each(Article.objects.values_list("pk", flat=True))


# --- drift -------------------------------------------------------------------------------------


def test_check_index_finds_and_fixes_missing_and_stale_articles(backend, add_article, unindexed):
    needs_a_separate_index(backend)
    stale = add_article("Stale")
    with signals.suspended():
        Article.objects.filter(pk=stale.pk).delete()
    missing = unindexed("Missing")
    code, out = check_index()
    assert code == 1
    assert f"in the database but not the index: {missing.pk}" in out
    assert f"in the index but not the database: {stale.pk}" in out
    assert check_index("--fix")[0] == 0
    assert indexed_id_counts() == {missing.pk: 1}
    assert check_index() == (0, "The index matches the database.\n")


def test_check_index_never_misses_an_article_indexed_twice(add_article):
    """Adding an article as new when it is already indexed: a backend either keeps one entry,
    or holds two and then check_index must report and repair them."""
    article = add_article("Cocoa", body="cocoa")
    with search_service.bulk_indexer() as indexer:
        indexer.add([article.pk], new=True)
    copies = indexed_id_counts()[article.pk]
    code, out = check_index()
    if copies == 1:
        assert code == 0
    else:
        assert code == 1 and f"1 articles indexed more than once: {article.pk}" in out
        assert check_index("--fix")[0] == 0
    assert indexed_id_counts() == {article.pk: 1}
    assert search(SearchQuery(q="cocoa")).total == 1


# --- searches follow writes ------------------------------------------------------------------


def test_searcher_sees_new_articles_after_a_write(add_article):
    add_article("First", body="cocoa")
    assert search(SearchQuery(q="cocoa")).total == 1
    add_article("Second", body="cocoa")
    assert search(SearchQuery(q="cocoa")).total == 2


def test_searcher_forgets_deleted_articles(add_article, django_capture_on_commit_callbacks):
    article = add_article("Doomed", body="cocoa")
    assert search(SearchQuery(q="cocoa")).total == 1
    with django_capture_on_commit_callbacks(execute=True):
        article.delete()
    results = search(SearchQuery(q="cocoa"))
    assert results.total == 0
    assert facet(search(SearchQuery()), "source") == {}


def test_result_cache_is_not_served_after_a_change(add_article, django_capture_on_commit_callbacks):
    article = add_article("Cocoa", body="cocoa")
    assert titles(search(SearchQuery(q="cocoa"))) == ["Cocoa"]
    with django_capture_on_commit_callbacks(execute=True):
        article.title = "Cocoa renamed"
        article.save()
    assert titles(search(SearchQuery(q="cocoa"))) == ["Cocoa renamed"]


def needs_a_separate_index(backend) -> None:
    if not backend.separate_index:
        pytest.skip("the search text is part of each row: nothing to unindex, clear or drift")
