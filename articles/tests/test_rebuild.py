"""rebuild_index beside the live index: searches answer from the old index until the new one
is swapped in at once, saves made meanwhile are kept, and a failed rebuild changes nothing.

The rebuild calls ``progress`` after each batch it has indexed; these tests search, save and
fail from there, in the middle of a rebuild, with small batches.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from articles import search, signals
from articles.models import Article
from articles.search import SearchQuery, indexed_ids
from articles.search.backends.whoosh import rebuild as whoosh_rebuild
from articles.search.backends.whoosh import writing

pytestmark = pytest.mark.django_db


def total(text: str) -> int:
    return search.search(SearchQuery(q=text)).total


def index_files() -> set[str]:
    return set(os.listdir(settings.NEWSARCHIVE_INDEX_DIR))


def side_folders() -> list[Path]:
    return list(Path(settings.NEWSARCHIVE_INDEX_DIR).parent.glob("*.rebuild-*"))


@pytest.fixture
def archive(add_article, monkeypatch):
    monkeypatch.setattr(whoosh_rebuild, "REBUILD_BATCH", 5)
    return [add_article(f"Story {i}", body=f"Harbour news number {i}.") for i in range(20)]


def test_searches_answer_from_the_old_index_until_the_swap(archive):
    with signals.suspended():  # the database changes, the index does not know yet
        Article.objects.filter(pk=archive[3].pk).update(title="Zebra crossing")
    seen = []

    def progress(count):
        seen.append((total("harbour"), total("zebra")))

    assert search.rebuild_index(progress) == 20
    assert seen == [(20, 0)] * 4  # every search during the rebuild found the old index
    assert total("zebra") == 1 and total("harbour") == 20


def test_saves_and_deletes_during_a_rebuild_are_kept(
    archive, add_article, django_capture_on_commit_callbacks
):
    added = []

    def progress(count):
        if added:
            return
        # The first batch (articles 0-4) is already in the new index: change it behind it.
        with django_capture_on_commit_callbacks(execute=True):
            archive[0].title = "Quokka sighted"
            archive[0].save()
            archive[1].delete()
        added.append(add_article("Platypus returns"))

    search.rebuild_index(progress)
    assert total("quokka") == 1 and total("platypus") == 1
    assert indexed_ids() == set(Article.objects.values_list("pk", flat=True))
    assert archive[1].pk not in indexed_ids()


def test_a_rebuild_that_fails_leaves_the_live_index_untouched(archive):
    before = index_files()

    def progress(count):
        if count and len(side_folders()) == 1:
            raise RuntimeError("the machine went down")

    with pytest.raises(RuntimeError):
        search.rebuild_index(progress)
    assert index_files() == before
    assert side_folders() == []
    assert total("harbour") == 20


def test_a_failure_during_the_swap_leaves_the_live_index_untouched(archive, monkeypatch):
    before = index_files()

    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(whoosh_rebuild, "_reindex", broken)
    with pytest.raises(search.IndexWriteError):
        search.rebuild_index()
    assert index_files() == before
    assert side_folders() == []
    assert total("harbour") == 20
    search.index_articles([archive[0].pk])  # the lock was released


def test_a_killed_rebuilds_folder_is_removed_by_the_next(archive):
    index_dir = Path(settings.NEWSARCHIVE_INDEX_DIR)
    abandoned = index_dir.with_name(f"{index_dir.name}.rebuild-{2**22 + 12345}")
    abandoned.mkdir()
    (abandoned / "MAIN_x.seg").write_bytes(b"half a segment")
    search.rebuild_index()
    assert not abandoned.exists()
    assert total("harbour") == 20


# --- optimize_index ----------------------------------------------------------------------------


def segment_count() -> int:
    return len(search.get_backend().snapshot().parts)


@pytest.fixture
def segmented(add_article, monkeypatch):
    """Six articles in six segments (small segments are not merged at each commit)."""
    monkeypatch.setattr(writing, "TINY_SEGMENT_DOCS", 1)
    return [add_article(f"Story {i}", body=f"Harbour news number {i}.") for i in range(6)]


def test_optimize_index_merges_every_segment_into_one(segmented):
    assert segment_count() == 6
    code, out, _ = run("optimize_index")
    assert code == 0 and "Merged 6 segments" in out
    assert segment_count() == 1
    assert total("harbour") == 6
    assert indexed_ids() == set(Article.objects.values_list("pk", flat=True))
    assert side_folders() == []


def test_saves_during_an_optimize_are_kept(
    segmented, monkeypatch, django_capture_on_commit_callbacks
):
    merge = whoosh_rebuild.swap_in

    def save_then_swap(*args):
        with django_capture_on_commit_callbacks(execute=True):
            segmented[2].title = "Walrus on the quay"
            segmented[2].save()
        merge(*args)

    monkeypatch.setattr(whoosh_rebuild, "swap_in", save_then_swap)
    search.optimize_index()
    assert total("walrus") == 1
    assert segment_count() == 2  # the merged segment and the save's


def run(name: str, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return 0, out.getvalue(), err.getvalue()
