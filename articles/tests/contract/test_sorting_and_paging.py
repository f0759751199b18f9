"""Sorting and paging on every backend: newest, oldest (undated last), relevance, and pages."""

from __future__ import annotations

import pytest

from articles.search import SearchQuery, clear_caches, search

from .support import day, titles

pytestmark = pytest.mark.django_db


# --- sorting and paging --------------------------------------------------------------------------


@pytest.fixture
def dated(add_article):
    add_article("Middle", body="cocoa", published=day(2005))
    add_article("Newest", body="cocoa", published=day(2015))
    add_article("Undated", body="cocoa", published=None)
    add_article("Oldest", body="cocoa cocoa cocoa", published=day(1987))


def test_newest_first(dated):
    assert titles(search(SearchQuery(q="cocoa", sort="newest"))) == [
        "Newest",
        "Middle",
        "Oldest",
        "Undated",
    ]


def test_oldest_first_puts_undated_last(dated):
    assert titles(search(SearchQuery(q="cocoa", sort="oldest"))) == [
        "Oldest",
        "Middle",
        "Newest",
        "Undated",
    ]


def test_relevance_ranks_more_matches_first(dated):
    assert titles(search(SearchQuery(q="cocoa", sort="relevance")))[0] == "Oldest"


def test_default_sort_is_relevance_with_words_and_newest_without(dated):
    assert titles(search(SearchQuery(q="cocoa")))[0] == "Oldest"
    assert titles(search(SearchQuery()))[0] == "Newest"


def test_unknown_sort_falls_back_with_a_message(dated):
    results = search(SearchQuery(q="cocoa", sort="sideways"))
    assert results.total == 4 and "sort" in results.error


def test_pages_split_the_results(add_article):
    for i in range(5):
        add_article(f"Story {i}", published=day(2000 + i))
    first = search(SearchQuery(per_page=2))
    last = search(SearchQuery(per_page=2, page=3))
    assert (first.total, first.pages, titles(first)) == (5, 3, ["Story 4", "Story 3"])
    assert titles(last) == ["Story 0"]


def test_page_past_the_end_is_empty_with_the_right_total(add_article):
    add_article("Only")
    results = search(SearchQuery(page=99))
    assert (results.total, results.hits, results.page) == (1, [], 99)


def test_clear_caches_forgets_answers_and_changes_none(dated):
    """The bench's cold searches start from ``clear_caches()``: after it nothing is cached (a
    second call finds nothing to drop) and every search answers as before."""
    queries = [SearchQuery(q="cocoa", per_page=2, page=page) for page in (1, 2)] + [SearchQuery()]
    before = [titles(search(query)) for query in queries]

    clear_caches()

    assert clear_caches() == 0
    assert [titles(search(query)) for query in queries] == before
