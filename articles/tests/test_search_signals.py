"""The index follows the database through the signals in articles.signals."""

from __future__ import annotations

import pytest
from django.db import transaction

from articles import search, signals
from articles.models import Article, Source
from articles.search import SearchQuery, indexed_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def index_calls(monkeypatch):
    """Every call to search.index_articles, as a list of id sets (the calls still happen)."""
    calls: list[set[int]] = []
    real = search.index_articles

    def spy(ids):
        ids = set(ids)
        calls.append(ids)
        real(ids)

    monkeypatch.setattr(search, "index_articles", spy)
    return calls


def test_created_article_is_indexed_on_commit(make_article, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        article = make_article("Cocoa")
    assert indexed_ids() == {article.pk}


def test_nothing_is_indexed_before_the_commit(make_article, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        make_article("Cocoa")
        assert indexed_ids() == set()
    assert len(callbacks) == 1


def test_edited_article_is_reindexed(add_article, django_capture_on_commit_callbacks):
    article = add_article("Cocoa harvest")
    with django_capture_on_commit_callbacks(execute=True):
        article.title = "Coffee harvest"
        article.save()
    assert search.search(SearchQuery(q="coffee")).total == 1
    assert search.search(SearchQuery(q="cocoa")).total == 0


def test_deleted_article_is_unindexed(add_article, django_capture_on_commit_callbacks):
    article = add_article("Cocoa")
    with django_capture_on_commit_callbacks(execute=True):
        article.delete()
    assert indexed_ids() == set()


def test_bulk_delete_unindexes_every_row_in_one_index_commit(
    add_article, django_capture_on_commit_callbacks, index_calls
):
    kept = add_article("Keep", source="BBC")
    for i in range(5):
        add_article(f"Drop {i}", source="AFP")
    index_calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        Article.objects.filter(source__name="AFP").delete()
    assert indexed_ids() == {kept.pk}
    assert len(index_calls) == 1


def test_many_saves_in_one_transaction_are_one_index_commit(
    make_article, django_capture_on_commit_callbacks, index_calls
):
    with django_capture_on_commit_callbacks(execute=True):
        articles = [make_article(f"Story {i}") for i in range(4)]
    assert index_calls == [{a.pk for a in articles}]


def test_renaming_a_source_reindexes_its_articles(add_article, django_capture_on_commit_callbacks):
    add_article("Cocoa", source="Reuters")
    source = Source.objects.get(name="Reuters")
    with django_capture_on_commit_callbacks(execute=True):
        source.name = "Thomson Reuters"
        source.save()
    results = search.search(SearchQuery(q="cocoa"))
    assert results.hits[0].source == "Thomson Reuters"
    assert [v.label for v in results.facets["source"]] == ["Thomson Reuters"]
    assert search.search(SearchQuery(sources=("thomson reuters",))).total == 1


def test_saving_a_source_without_renaming_reindexes_nothing(
    add_article, django_capture_on_commit_callbacks, index_calls
):
    add_article("Cocoa", source="Reuters")
    index_calls.clear()
    source = Source.objects.get(name="Reuters")
    with django_capture_on_commit_callbacks(execute=True):
        source.save()
    assert index_calls == []


def test_suspended_signals_leave_the_index_alone(make_article, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), signals.suspended():
        make_article("Cocoa")
    assert indexed_ids() == set()


def test_index_failure_does_not_undo_the_save(
    make_article, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def broken(ids):
        raise RuntimeError("disk full")

    monkeypatch.setattr(search, "index_articles", broken)
    with django_capture_on_commit_callbacks(execute=True):
        article = make_article("Cocoa")
    assert Article.objects.filter(pk=article.pk).exists()
    assert "update_index" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_save_outside_a_transaction_is_indexed_at_once(make_article):
    article = make_article("Cocoa")
    assert indexed_ids() == {article.pk}


@pytest.mark.django_db(transaction=True)
def test_rolled_back_save_is_not_indexed_and_later_saves_are(make_article):
    with pytest.raises(RuntimeError), transaction.atomic():
        make_article("Rolled back")
        raise RuntimeError("abort")
    assert indexed_ids() == set()
    with transaction.atomic():
        article = make_article("Committed")
    assert indexed_ids() == {article.pk}


@pytest.mark.django_db(transaction=True)
def test_delete_rolled_back_with_a_savepoint_keeps_the_article_indexed(make_article):
    with transaction.atomic():
        article = make_article("Survivor")
        try:
            with transaction.atomic():
                Article.objects.filter(pk=article.pk).delete()
                raise RuntimeError("abort")
        except RuntimeError:
            pass
    assert indexed_ids() == {article.pk}
