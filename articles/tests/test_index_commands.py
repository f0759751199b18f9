"""rebuild_index, update_index and check_index: thin commands over the search API."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from articles import search, signals
from articles.models import Article
from articles.search import SearchQuery, indexed_ids

pytestmark = pytest.mark.django_db


def run(name: str, *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of a management command."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code or 0
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def unindexed(make_article):
    """Articles written with the signals suspended, as a crash before indexing would leave them."""

    def make(*args, **kwargs):
        with signals.suspended():
            return make_article(*args, **kwargs)

    return make


# --- rebuild_index -------------------------------------------------------------------------------


def test_rebuild_index_indexes_every_article(unindexed):
    articles = [unindexed(f"Story {i}") for i in range(3)]
    code, out, _ = run("rebuild_index")
    assert code == 0 and "Indexed 3 articles" in out
    assert indexed_ids() == {a.pk for a in articles}


def test_rebuild_index_drops_what_is_no_longer_in_the_database(add_article):
    article = add_article("Gone")
    with signals.suspended():
        Article.objects.filter(pk=article.pk).delete()
    run("rebuild_index")
    assert indexed_ids() == set()


def test_rebuild_index_is_silent_at_verbosity_0(unindexed):
    unindexed("Story")
    code, out, err = run("rebuild_index", "--verbosity", "0")
    assert (code, out, err) == (0, "", "")


def test_rebuild_index_reports_progress(unindexed):
    for i in range(3):
        unindexed(f"Story {i}")
    seen: list[int] = []
    assert search.rebuild_index(progress=seen.append) == 3
    assert sum(seen) == 3


# --- update_index --------------------------------------------------------------------------------


def test_update_index_adds_missing_articles(add_article, unindexed):
    add_article("Indexed")
    missing = unindexed("Missing")
    code, out, _ = run("update_index")
    assert code == 0 and "Indexed 1 articles and removed 0" in out
    assert missing.pk in indexed_ids()


def test_update_index_picks_up_edits_made_without_signals(add_article):
    article = add_article("Cocoa harvest")
    with signals.suspended():
        Article.objects.filter(pk=article.pk).update(
            title="Coffee harvest", updated=article.updated + dt.timedelta(seconds=5)
        )
    run("update_index")
    assert search.search(SearchQuery(q="coffee")).total == 1


def test_update_index_leaves_unchanged_articles_alone(add_article, monkeypatch):
    add_article("Indexed")
    calls = []
    monkeypatch.setattr(search, "index_articles", calls.append)
    code, out, _ = run("update_index")
    assert calls == [] and "Indexed 0 articles and removed 0" in out


def test_update_index_removes_deleted_articles(add_article):
    article = add_article("Gone")
    with signals.suspended():
        Article.objects.filter(pk=article.pk).delete()
    run("update_index")
    assert indexed_ids() == set()


def test_update_index_dry_run_changes_nothing(unindexed):
    unindexed("Missing")
    code, out, _ = run("update_index", "--dry-run")
    assert "Would index 1" in out and indexed_ids() == set()


# --- check_index ---------------------------------------------------------------------------------


def test_check_index_passes_when_in_step(add_article):
    add_article("Fine")
    code, out, _ = run("check_index")
    assert code == 0 and "matches" in out


def test_check_index_exits_1_on_drift(add_article, unindexed):
    stale = add_article("Stale")
    with signals.suspended():
        Article.objects.filter(pk=stale.pk).delete()
    missing = unindexed("Missing")
    code, out, _ = run("check_index")
    assert code == 1
    assert f"1 articles in the database but not the index: {missing.pk}" in out
    assert f"1 articles in the index but not the database: {stale.pk}" in out


def test_check_index_fix_repairs_the_drift(add_article, unindexed):
    stale = add_article("Stale")
    with signals.suspended():
        Article.objects.filter(pk=stale.pk).delete()
    missing = unindexed("Missing")
    code, out, _ = run("check_index", "--fix")
    assert code == 0 and "Fixed" in out
    assert indexed_ids() == {missing.pk}
    assert run("check_index")[0] == 0


def test_check_index_after_edits_and_deletes_reports_no_drift(
    add_article, django_capture_on_commit_callbacks
):
    articles = [add_article(f"Story {i}") for i in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        articles[0].title = "Edited"
        articles[0].save()
        articles[1].delete()
        Article.objects.filter(pk=articles[2].pk).delete()
    assert run("check_index")[0] == 0


def test_check_index_reports_and_fixes_an_article_indexed_twice(add_article):
    """A set of ids cannot show a duplicate; the counts per id can (Whoosh keeps both copies
    of an article added as new when it was already indexed)."""
    article = add_article("Cocoa")
    with search.bulk_indexer() as indexer:
        indexer.add([article.pk], new=True)
    assert search.indexed_id_counts() == {article.pk: 2}
    assert indexed_ids() == {article.pk}

    code, out, _ = run("check_index")
    assert code == 1 and f"1 articles indexed more than once: {article.pk}" in out
    code, out, _ = run("check_index", "--fix")
    assert code == 0 and "Fixed" in out
    assert search.indexed_id_counts() == {article.pk: 1}
