"""The search form: which GET parameters it accepts, what it refuses and why, and how a query
is written back into a URL (the URL holds a search's whole state)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.http import QueryDict
from hypothesis import given
from hypothesis import strategies as st

from articles.forms import SearchForm, search_params, search_url, toggled
from articles.search import SearchQuery


def form(query_string: str) -> SearchForm:
    bound = SearchForm(QueryDict(query_string))
    bound.is_valid()
    return bound


def params_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def test_no_parameters_build_the_default_query():
    assert form("").to_query() == SearchQuery()


def test_every_parameter_reaches_the_query():
    query = form(
        "q=aleppo&source=AFP&source=Reuters&section=Mid-East&year=2015&month=10&day=10"
        "&date_from=2015-01-01&date_to=2015-12-31&sort=newest&page=3&per_page=50"
    ).to_query()

    assert query == SearchQuery(
        q="aleppo",
        sources=("AFP", "Reuters"),
        sections=("Mid-East",),
        year=2015,
        month=10,
        day=10,
        date_from=dt.date(2015, 1, 1),
        date_to=dt.date(2015, 12, 31),
        sort="newest",
        page=3,
        per_page=50,
    )


def test_repeated_and_blank_filter_values_are_dropped():
    query = form("source=AFP&source=&source=%20AFP%20&source=Reuters").to_query()

    assert query.sources == ("AFP", "Reuters")


def test_query_text_is_stripped():
    assert form("q=%20%20aleppo%20").to_query().q == "aleppo"


@pytest.mark.parametrize(
    ("query_string", "field", "message"),
    [
        ("page=0", "page", "The page must be a whole number"),
        ("page=x", "page", "The page must be a whole number"),
        ("per_page=0", "per_page", "Results per page must be"),
        ("per_page=101", "per_page", "Results per page must be"),
        ("year=abc", "year", "The year must be a number"),
        ("year=2015&month=13", "month", "The month must be a number from 1 to 12"),
        ("year=2015&month=1&day=32", "day", "The day must be a number from 1 to 31"),
        ("date_from=2015-02-30", "date_from", "The start date must be a real date"),
        ("date_to=15/02/2015", "date_to", "The end date must be a real date"),
        ("sort=random", "sort", "Sort must be one of relevance, newest or oldest"),
    ],
)
def test_bad_values_are_refused_with_a_plain_message(query_string, field, message):
    bound = form(query_string)

    assert not bound.is_valid()
    assert list(bound.errors) == [field]
    assert message in bound.error_message()


def test_impossible_day_of_month_is_refused():
    bound = form("year=2015&month=2&day=30")

    assert bound.errors == {"day": ["2015-02-30 is not a real date."]}


def test_month_needs_a_year():
    assert "Choose a year before choosing a month." in form("month=3").error_message()


def test_day_needs_a_month():
    assert "Choose a month before choosing a day." in form("year=2015&day=3").error_message()


def test_end_date_before_start_date_is_refused():
    bound = form("date_from=2015-06-30&date_to=2015-01-01")

    assert bound.errors == {"date_to": ["The end date is before the start date."]}


def test_overlong_query_is_refused():
    assert "at most 500 characters" in form("q=" + "a" * 501).error_message()


def test_bad_value_is_left_out_of_the_query_and_the_rest_kept():
    query = form("q=aleppo&source=AFP&page=0&date_from=2015-02-30").to_query()

    assert query == SearchQuery(q="aleppo", sources=("AFP",))


def test_month_refused_for_a_bad_year_is_not_searched_alone():
    query = form("year=abc&month=3").to_query()

    assert (query.year, query.month) == (None, None)


def test_default_query_has_the_bare_search_url():
    assert search_url(SearchQuery()) == "/search/"


def test_url_parameters_come_in_one_canonical_order_without_defaults():
    query = SearchQuery(
        q="oil", sources=("AFP",), year=2015, sort="oldest", page=2, per_page=20, sections=()
    )

    assert search_params(query) == [
        ("q", "oil"),
        ("source", "AFP"),
        ("year", "2015"),
        ("sort", "oldest"),
        ("page", "2"),
    ]


def test_changing_a_filter_goes_back_to_page_one():
    url = search_url(SearchQuery(q="oil", page=4), sources=("AFP",))

    assert params_of(url) == [("q", "oil"), ("source", "AFP")]


def test_changing_the_page_keeps_every_filter():
    url = search_url(SearchQuery(q="oil", sections=("Business",)), page=2)

    assert params_of(url) == [("q", "oil"), ("section", "Business"), ("page", "2")]


def test_clearing_the_year_clears_its_month_and_day():
    url = search_url(SearchQuery(q="oil", year=2015, month=3, day=5), year=None)

    assert params_of(url) == [("q", "oil")]


def test_choosing_another_year_drops_the_month_of_the_old_one():
    url = search_url(SearchQuery(year=2015, month=3, day=5), year=2016)

    assert params_of(url) == [("year", "2016")]


def test_choosing_another_month_drops_the_day():
    url = search_url(SearchQuery(year=2015, month=3, day=5), month=4)

    assert params_of(url) == [("year", "2015"), ("month", "4")]


def test_toggled_adds_a_missing_value_and_removes_a_present_one():
    assert toggled(("AFP",), "Reuters") == ("AFP", "Reuters")
    assert toggled(("AFP", "Reuters"), "AFP") == ("Reuters",)


names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=20,
)


@st.composite
def search_queries(draw) -> SearchQuery:
    year = draw(st.none() | st.integers(1, 9999))
    month = None if year is None else draw(st.none() | st.integers(1, 12))
    day = None if month is None else draw(st.none() | st.integers(1, 28))
    start = draw(st.none() | st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)))
    end = None if start is None else draw(st.none() | st.dates(start, dt.date(2100, 1, 1)))
    return SearchQuery(
        q=draw(st.text(max_size=40).map(str.strip).filter(lambda s: "\x00" not in s)),
        sources=tuple(dict.fromkeys(draw(st.lists(names, max_size=3)))),
        sections=tuple(dict.fromkeys(draw(st.lists(names, max_size=3)))),
        year=year,
        month=month,
        day=day,
        date_from=start,
        date_to=end,
        sort=draw(st.sampled_from(["", "relevance", "newest", "oldest"])),
        page=draw(st.integers(1, 500)),
        per_page=draw(st.integers(1, 100)),
        collapse=draw(st.booleans()),
    )


@given(search_queries())
def test_a_search_url_reads_back_as_the_same_query(query):
    url = search_url(query)

    read_back = form(urlsplit(url).query).to_query()

    assert read_back == query
