"""An index that cannot be reached is an outage, not "no results": the search service raises
SearchUnavailable, the API answers 503 with a JSON error, the search page a 503 notice, and the
pages that need no search (articles, browsing) keep working. Each outage is logged once.

A real Whoosh index in the test's temp folder is removed, renamed or damaged on disk.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from articles.search import SearchQuery, SearchUnavailable, reset_backend, search
from articles.views import period_counts, period_counts_from_database

pytestmark = pytest.mark.django_db


def assert_outage(client) -> None:
    api = client.get("/api/search", {"q": "aleppo"})
    assert api.status_code == 503
    assert "unavailable" in json.loads(api.content)["error"].lower()
    page = client.get("/search/", {"q": "aleppo"})
    assert page.status_code == 503
    assert "Search is unavailable" in page.content.decode()
    assert "</html>" in page.content.decode()
    for path in ("/search/feed/", "/search/export.csv", "/search/export.jsonl"):
        assert client.get(path, {"q": "aleppo"}).status_code == 503, path
    for fmt in ("csv", "jsonl", "atom"):
        taken = client.get("/api/search", {"q": "aleppo", "format": fmt})
        assert taken.status_code == 503, fmt
        assert "unavailable" in json.loads(taken.content)["error"].lower()


def assert_browsing_works(client, archive: dict) -> None:
    article = client.get(archive["aleppo"].get_absolute_url())
    assert article.status_code == 200
    assert "Rebels advance on Aleppo" in article.content.decode()
    api_article = client.get(f"/api/articles/{archive['aleppo'].pk}")
    assert api_article.status_code == 200
    assert json.loads(api_article.content)["related"] == []
    home = client.get("/")
    assert home.status_code == 200
    assert "2015" in home.content.decode()
    for path in ("/archive/", "/archive/2015/", "/archive/2015/10/", "/archive/2015/10/10/"):
        assert client.get(path).status_code == 200, path
    assert client.get("/sources/afp/").status_code == 200


def test_a_removed_index_is_an_outage_until_it_is_back(
    client, small_archive, search_index_dir: Path, search_failures
) -> None:
    assert client.get("/api/search", {"q": "aleppo"}).status_code == 200  # index open
    moved = search_index_dir.with_name("index-moved")
    search_index_dir.rename(moved)

    assert_outage(client)
    assert_browsing_works(client, small_archive)
    assert_outage(client)
    assert not search_index_dir.exists(), "the outage must not create an empty index"
    assert len(search_failures) == 1, "one outage, one log entry"
    assert search_failures[0].exc_info is not None

    moved.rename(search_index_dir)
    api = client.get("/api/search", {"q": "aleppo"})
    assert api.status_code == 200
    assert json.loads(api.content)["total"] == 3
    assert client.get("/search/", {"q": "aleppo"}).status_code == 200


def test_a_missing_index_in_a_new_worker_is_an_outage_not_an_empty_archive(
    client, small_archive, search_index_dir: Path, search_failures
) -> None:
    reset_backend()  # as a worker started after the index went
    shutil.rmtree(search_index_dir)

    with pytest.raises(SearchUnavailable, match="missing"):
        search(SearchQuery(q="aleppo"))
    assert_outage(client)
    assert_browsing_works(client, small_archive)
    assert not search_index_dir.exists()
    assert len(search_failures) == 1


def test_a_damaged_index_is_an_outage(
    client, small_archive, search_index_dir: Path, search_failures
) -> None:
    reset_backend()
    for path in search_index_dir.iterdir():
        path.write_bytes(b"\x00garbage" * 8)

    assert_outage(client)
    assert_browsing_works(client, small_archive)
    assert search_failures


def test_a_fresh_install_with_no_articles_is_an_empty_archive(client, db) -> None:
    api = client.get("/api/search", {"q": "aleppo"})
    assert api.status_code == 200
    assert json.loads(api.content)["total"] == 0
    assert client.get("/search/").status_code == 200
    assert client.get("/").status_code == 200


def test_bad_query_syntax_is_not_an_outage(client, small_archive) -> None:
    """The parser stays lenient: a malformed query is a 200 with a note, and nothing is logged
    (the autouse fixture would fail this test otherwise)."""
    api = client.get("/api/search", {"q": 'title:( "unclosed AND OR'})
    assert api.status_code == 200


@pytest.mark.parametrize(
    ("kind", "period"),
    [("year", {}), ("month", {"year": 2015}), ("day", {"year": 2015, "month": 10})],
)
@pytest.mark.parametrize("ordering", ["ASC", "DESC"])
def test_date_counts_from_the_database_match_the_index(small_archive, kind, period, ordering):
    """The fallback for browsing by date gives what the index gives."""
    from_index = period_counts(kind, ordering, **period)
    assert from_index
    assert period_counts_from_database(kind, ordering, **period) == from_index
