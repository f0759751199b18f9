"""Workers open the index at start-up, not on their first reader's request."""

from __future__ import annotations

import gc
import importlib
import sys

import pytest

from articles.search import (
    SearchQuery,
    SearchUnavailable,
    get_backend,
    reset_backend,
    search,
    warm_up,
)
from articles.search.backends import Filters
from articles.search.backends.whoosh import backend as whoosh_backend
from articles.search.query import parse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def unfrozen():
    """warm_up() freezes the process's objects out of the collector's sight; undo it after."""
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.fixture
def snapshots_opened(monkeypatch) -> list[int]:
    """Counts the index snapshots the Whoosh backend opens from now on."""
    opened: list[int] = []
    real = whoosh_backend.Snapshot

    def counting(*args, **kwargs):
        opened.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(whoosh_backend, "Snapshot", counting)
    reset_backend()
    return opened


def test_the_first_search_after_warm_up_reuses_the_open_index(small_archive, snapshots_opened):
    warm_up()
    assert len(snapshots_opened) == 1
    results = search(SearchQuery(q="cocoa"))
    assert [hit.title for hit in results.hits] == ["Cocoa harvest falls short"]
    assert len(snapshots_opened) == 1


def test_warm_up_survives_a_broken_index_folder(settings, tmp_path, search_failures):
    settings.NEWSARCHIVE_INDEX_DIR = tmp_path / "not-a-folder"
    settings.NEWSARCHIVE_INDEX_DIR.write_text("oops")
    reset_backend()
    assert warm_up() >= 0
    with pytest.raises(SearchUnavailable):  # an outage, not an empty archive
        search(SearchQuery(q="cocoa"))
    assert len(search_failures) == 1  # warm-up and the search met the same cause: logged once


def test_warm_up_of_a_good_index_logs_nothing(small_archive, caplog):
    warm_up()
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []


def test_the_wsgi_module_warms_up(small_archive, snapshots_opened):
    sys.modules.pop("newsarchive.wsgi", None)
    module = importlib.import_module("newsarchive.wsgi")
    assert callable(module.application)
    assert len(snapshots_opened) == 1
    # Asked of the backend: the WSGI module closes the warm-up's database connection.
    found = get_backend().search(parse("aleppo"), Filters(), "", 0, 10, [])
    assert found.total == 3
    assert len(snapshots_opened) == 1


def test_warm_up_hides_start_up_objects_from_the_garbage_collector(small_archive):
    assert gc.get_freeze_count() == 0
    warm_up()
    assert gc.get_freeze_count() > 1000
