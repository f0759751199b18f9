"""The search rules (articles.search.rules): each written once, and every surface following it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from articles.forms import SearchForm
from articles.search import SearchQuery, search
from articles.search.rules import (
    DEFAULT_PER_PAGE,
    MAX_QUERY_CHARS,
    NEWEST,
    OLDEST,
    RELEVANCE,
    SORT_NAMES,
    SORTS,
    day_number,
    day_parts,
    effective_sort,
    label_key,
)

days = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))


# --- sorting ---------------------------------------------------------------------------------


def test_every_sort_has_one_name_and_a_label():
    assert SORT_NAMES == (RELEVANCE, NEWEST, OLDEST)
    assert [label for _, label in SORTS] == ["Best match", "Newest first", "Oldest first"]


@pytest.mark.parametrize("requested", SORT_NAMES)
def test_a_requested_sort_is_kept_whatever_the_query(requested):
    assert effective_sort(requested, has_words=True) == requested
    assert effective_sort(requested, has_words=False) == requested


def test_the_default_sort_is_best_match_with_words_and_newest_without():
    assert effective_sort("", has_words=True) == RELEVANCE
    assert effective_sort("", has_words=False) == NEWEST


def test_a_query_the_parser_reduces_to_nothing_is_listed_and_shown_newest_first(
    client, small_archive
):
    results = search(SearchQuery(q="-"))

    assert results.sort == NEWEST
    response = client.get("/search/", {"q": "-"})
    assert response.context["current_sort"] == NEWEST
    assert '<option value="newest" selected>' in response.content.decode()


def test_words_are_ranked_by_default_and_the_page_says_so(client, small_archive):
    assert search(SearchQuery(q="aleppo")).sort == RELEVANCE
    assert client.get("/search/", {"q": "aleppo"}).context["current_sort"] == RELEVANCE


def test_the_form_offers_exactly_the_rules_sorts():
    assert [value for value, _ in SearchForm().fields["sort"].choices] == ["", *SORT_NAMES]


# --- limits ----------------------------------------------------------------------------------


def test_the_form_takes_a_query_of_the_longest_length_and_refuses_a_longer_one():
    assert SearchForm({"q": "a" * MAX_QUERY_CHARS}).is_valid()
    form = SearchForm({"q": "a" * (MAX_QUERY_CHARS + 1)})
    assert not form.is_valid()
    assert f"at most {MAX_QUERY_CHARS} characters" in form.error_message()


def test_a_search_without_a_page_size_uses_the_default():
    assert SearchForm({}).to_query().per_page == DEFAULT_PER_PAGE
    assert SearchQuery().per_page == DEFAULT_PER_PAGE


# --- the day encoding ------------------------------------------------------------------------


def test_a_day_number_reads_as_the_date():
    assert day_number(dt.date(2015, 10, 9)) == 20151009
    assert day_number(dt.datetime(1987, 3, 1, 23, 59)) == 19870301


@given(days, days)
def test_day_numbers_are_ordered_like_the_days(a, b):
    assert (day_number(a) < day_number(b)) == (a < b)


@given(days)
def test_day_parts_give_back_the_date(day):
    assert day_parts(day_number(day)) == (day.year, day.month, day.day)


def test_day_parts_work_on_arrays_of_day_numbers():
    years, months, days_of_month = day_parts(np.array([20151009, 19870301], dtype=np.int32))
    assert years.tolist() == [2015, 1987]
    assert months.tolist() == [10, 3]
    assert days_of_month.tolist() == [9, 1]


# --- names -----------------------------------------------------------------------------------


def test_names_differing_in_case_or_spacing_have_one_key():
    assert label_key("AFP") == label_key(" afp") == label_key("Afp\t")
    assert label_key("Press  Association") == "press association"
    assert label_key("AFP") != label_key("AP")
