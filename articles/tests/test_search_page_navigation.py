"""Issue 17 on the server side: results navigation on article pages, facet counts that equal
the totals their links land on, the chart's zoom, honest bad syntax and the empty page."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest

from articles.search import NOTHING_LEFT, SearchQuery, search

pytestmark = pytest.mark.django_db


@pytest.fixture
def dated(add_article):
    """Fifteen "river" articles: 2004-01 (3), 2004-02 (2), 2005-01 (4, on the 3rd and 4th),
    2005-02 (6)."""

    def add(n: int, year: int, month: int, day: int = 1):
        return [
            add_article(
                f"River report {year}-{month}-{day}-{i}",
                body="The river rose.",
                source="AFP",
                section="World",
                published=dt.datetime(year, month, day, 12, tzinfo=dt.UTC),
            )
            for i in range(n)
        ]

    return [*add(3, 2004, 1), *add(2, 2004, 2), *add(2, 2005, 1, 3), *add(2, 2005, 1, 4),
            *add(6, 2005, 2)]  # fmt: skip


def total_at(client, url: str) -> int:
    return client.get(url).context["results"].total


# --- 4: facet counts -------------------------------------------------------------------------


def test_every_date_facet_count_equals_the_total_its_link_lands_on(client, dated):
    response = client.get("/search/", {"q": "river", "year": 2005, "month": 1, "day": 3})

    groups = {group.key: group for group in response.context["facet_groups"]}
    year_counts = {item.label: item.count for item in groups["year"].items}
    assert year_counts == {"2004": 5, "2005": 10}  # whole years: their links drop the month
    checked = 0
    for key in ("year", "month", "day"):
        for item in groups[key].items:
            if not item.selected:
                assert total_at(client, item.url) == item.count, (key, item.label)
                checked += 1
    assert checked >= 3


def test_chart_bars_count_what_their_links_land_on(client, dated):
    chart = client.get("/search/", {"q": "river", "year": 2005}).context["chart"]

    linked = [bar for bar in chart.bars if bar.url]
    assert [bar.label for bar in linked] == ["Jan", "Feb"]
    for bar in linked:
        assert total_at(client, bar.url) == bar.count


# --- 5: the chart adapts --------------------------------------------------------------------


def test_the_chart_shows_years_when_several_years_match(client, dated):
    chart = client.get("/search/", {"q": "river"}).context["chart"]
    assert [(bar.label, bar.count) for bar in chart.bars] == [("2004", 5), ("2005", 10)]
    assert all(bar.count_label == str(bar.count) for bar in chart.bars)


def test_the_chart_shows_the_months_of_the_one_year_that_matches(client, dated):
    chart = client.get("/search/", {"q": "river", "date_from": "2005-01-01"}).context["chart"]
    assert chart.caption == "Matches per month in 2005"
    assert [bar.count for bar in chart.bars][:3] == [4, 6, 0]


def test_the_chart_shows_the_days_of_a_chosen_month(client, dated):
    chart = client.get("/search/", {"q": "river", "year": 2005, "month": 1}).context["chart"]
    assert chart.caption == "Matches per day in January 2005"
    assert len(chart.bars) == 31
    assert [bar.count for bar in chart.bars][2:4] == [2, 2]


# --- 2: results navigation -------------------------------------------------------------------


def result_links(response) -> list[str]:
    return [unescape(href) for href in re.findall(r'class="result__title"><a href="([^"]+)"',
                                                  response.content.decode())]  # fmt: skip


def test_an_article_opened_from_results_steps_to_its_neighbours_and_back(client, dated):
    page2 = client.get("/search/", {"q": "river", "sort": "oldest", "per_page": 5, "page": 2})
    links = result_links(page2)
    assert len(links) == 5

    article = client.get(links[0]).context
    nav = article["results_nav"]
    assert (nav.position, nav.total) == (6, 15)
    assert nav.back_url == "/search/?q=river&sort=oldest&per_page=5&page=2"
    assert nav.next_url == links[1]
    previous = client.get(nav.previous_url).context["results_nav"]
    assert previous.position == 5
    assert previous.back_url == "/search/?q=river&sort=oldest&per_page=5"  # page 1
    assert client.get(nav.next_url).context["article"].pk != article["article"].pk


def test_an_article_without_a_search_has_no_results_navigation(client, dated):
    response = client.get(dated[0].get_absolute_url())
    assert response.context["results_nav"] is None
    assert b'id="result-nav"' not in response.content


def test_a_stale_position_is_corrected_and_a_non_matching_article_only_goes_back(client, dated):
    first = dated[0]
    order = [hit.id for hit in search(SearchQuery(q="river", sort="oldest", per_page=20)).hits]
    moved = client.get(first.get_absolute_url(), {"q": "river", "sort": "oldest", "n": 9})
    assert moved.context["results_nav"].position == order.index(first.pk) + 1
    gone = client.get(first.get_absolute_url(), {"q": "nothinglikethis", "n": 1})
    nav = gone.context["results_nav"]
    assert nav.position is None and nav.back_url == "/search/?q=nothinglikethis"


# --- 6: bad syntax ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["title:(", "()", "AND", "title:()"])
def test_a_query_repaired_to_nothing_finds_nothing_and_says_so(client, dated, text):
    results = search(SearchQuery(q=text))
    assert results.total == 0
    assert NOTHING_LEFT in results.error
    assert "was closed" not in results.error
    response = client.get("/search/", {"q": text})
    assert "Nothing was left to search for" in response.content.decode()


def test_a_blank_query_still_lists_the_archive(dated):
    assert search(SearchQuery(q="  ")).total == len(dated)


# --- 8: zero results, heading ---------------------------------------------------------------


def test_no_results_shows_no_facets_date_form_or_sort_but_keeps_the_filters(client, dated):
    response = client.get("/search/", {"q": "zzzqqq", "source": "AFP"})
    html = response.content.decode()
    assert 'id="facet-dates"' not in html and 'id="sort"' not in html
    assert "No source" not in html
    assert '<input type="hidden" form="search-form" name="source" value="AFP">' in html


def test_a_phrase_heading_has_one_pair_of_quotes(client, dated):
    html = client.get("/search/", {"q": '"river rose"'}).content.decode()
    assert "Results for “river rose”" in html


def test_a_phrase_is_highlighted_where_its_words_stand_together_only():
    from articles.templatetags.archive_extras import highlight

    text = "Interest rates rose. The rate of interest was the rates question."
    marked = str(highlight(text, '"interest rates" question'))
    assert marked == (
        "<mark>Interest rates</mark> rose. The rate of interest was the rates "
        "<mark>question</mark>."
    )


def test_a_snippet_marks_a_phrase_where_it_stands_and_not_its_words_elsewhere(add_article):
    add_article(
        "Interest rates rise",
        body="The rate was set by the bank. Higher interest rates hit borrowers; rates vary.",
        published=dt.datetime(2015, 1, 1, tzinfo=dt.UTC),
    )

    hit = search(SearchQuery(q='"interest rates"')).hits[0]
    assert hit.title_html == "<mark>Interest</mark> <mark>rates</mark> rise"
    assert "<mark>interest rates</mark>" in hit.snippet.replace("</mark> <mark>", " ")
    assert "The <mark>rate" not in hit.snippet and "; <mark>rates" not in hit.snippet
    both = search(SearchQuery(q='"interest rates" rate')).hits[0]
    assert "The <mark>rate</mark> was" in both.snippet  # asked for on its own too
