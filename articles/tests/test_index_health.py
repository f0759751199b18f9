"""Index health (articles.index_health): drift between database and index, and its repair."""

from __future__ import annotations

import datetime as dt

import pytest

from articles import index_health, signals
from articles.models import Article
from articles.search import indexed_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def behind_the_index(make_article):
    """Writes rows with the signals suspended, as a crash before indexing would leave them."""

    def make(*args, **kwargs):
        with signals.suspended():
            return make_article(*args, **kwargs)

    return make


def test_no_drift_when_every_article_is_indexed(add_article):
    articles = [add_article(f"Story {n}") for n in range(2)]

    health = index_health.index_health()

    assert (health.in_database, health.in_index) == (2, 2)
    assert (health.missing, health.stale, health.drift) == ([], [], False)
    assert indexed_ids() == {a.pk for a in articles}


def test_drift_names_missing_and_stale_ids_in_order(add_article, behind_the_index):
    kept = add_article("Kept")
    missing = sorted([behind_the_index("Missing one").pk, behind_the_index("Missing two").pk])
    gone = add_article("Gone")
    with signals.suspended():
        Article.objects.filter(pk=gone.pk).delete()

    health = index_health.index_health()

    assert health.missing == missing
    assert health.stale == [gone.pk]
    assert (health.in_database, health.in_index, health.drift) == (3, 2, True)
    assert kept.pk not in health.missing + health.stale


def test_fix_drift_indexes_the_missing_and_drops_the_stale(add_article, behind_the_index):
    missing = behind_the_index("Missing")
    gone = add_article("Gone")
    with signals.suspended():
        Article.objects.filter(pk=gone.pk).delete()

    found = index_health.fix_drift()

    assert (found.missing, found.stale) == ([missing.pk], [gone.pk])
    assert not index_health.index_health().drift
    assert indexed_ids() == {missing.pk}


def test_a_repair_bigger_than_a_batch_indexes_every_article(behind_the_index, monkeypatch):
    monkeypatch.setattr(index_health, "REPAIR_BATCH", 2)
    articles = [behind_the_index(f"Story {n}") for n in range(5)]

    index_health.fix_drift()

    assert indexed_ids() == {a.pk for a in articles}


def test_out_of_date_lists_rows_changed_since_indexing_and_rows_gone(add_article):
    fresh, edited, gone = (add_article(name) for name in ("Fresh", "Edited", "Gone"))
    later = edited.updated + dt.timedelta(seconds=5)
    with signals.suspended():
        Article.objects.filter(pk=edited.pk).update(title="Edited again", updated=later)
        Article.objects.filter(pk=gone.pk).delete()

    to_index, to_remove = index_health.out_of_date()

    assert (to_index, to_remove) == ([edited.pk], [gone.pk])
    assert fresh.pk not in to_index


def test_out_of_date_lists_rows_the_index_never_saw(add_article, behind_the_index):
    add_article("Indexed")
    unseen = behind_the_index("Unseen")

    assert index_health.out_of_date() == ([unseen.pk], [])


def test_apply_changes_removes_then_indexes(add_article, behind_the_index):
    kept, dropped = add_article("Kept"), add_article("Dropped")
    new = behind_the_index("New")

    index_health.apply_changes([new.pk], [dropped.pk])

    assert indexed_ids() == {kept.pk, new.pk}


def test_apply_changes_with_nothing_to_do_leaves_the_index_alone(add_article):
    article = add_article("Kept")

    index_health.apply_changes([], [])

    assert indexed_ids() == {article.pk}
