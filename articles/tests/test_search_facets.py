"""Facet shaping (articles.search.facets): labels, selection, order and toggles, from counts."""

from __future__ import annotations

from articles.search import SearchQuery
from articles.search.facets import FACETS, facet_results, facets_for, month_name

SOURCE, SECTION, YEAR, MONTH, DAY = FACETS


def shaped(facet, counts, query):
    return [(v.value, v.label, v.count, v.selected) for v in facet.results(counts, query)]


# --- sources and sections --------------------------------------------------------------------


def test_label_values_come_biggest_first_then_by_name_without_empty_ones():
    counts = [("reuters", "Reuters", 3), ("AFP", "AFP", 3), ("BBC", "BBC", 9), ("AP", "AP", 0)]

    values = shaped(SOURCE, counts, SearchQuery())

    assert values == [
        ("BBC", "BBC", 9, False),
        ("AFP", "AFP", 3, False),
        ("reuters", "Reuters", 3, False),
    ]


def test_a_selected_name_matches_its_value_whatever_the_case_or_spacing():
    query = SearchQuery(sources=(" afp ",))

    values = shaped(SOURCE, [("AFP", "AFP", 2), ("Reuters", "Reuters", 1)], query)

    assert values == [("AFP", "AFP", 2, True), ("Reuters", "Reuters", 1, False)]


def test_a_selected_name_without_matches_stays_listed_at_zero():
    query = SearchQuery(sections=("Sport",))

    values = shaped(SECTION, [("Business", "Business", 4)], query)

    assert values == [("Business", "Business", 4, False), ("Sport", "Sport", 0, True)]


def test_toggling_an_unselected_name_adds_it_to_the_selection():
    query = SearchQuery(sources=("AFP",))
    reuters = next(
        v for v in SOURCE.results([("Reuters", "Reuters", 1)], query) if v.value == "Reuters"
    )

    assert reuters.toggle == {"sources": ("AFP", "Reuters")}


def test_toggling_a_selected_name_removes_every_spelling_of_it():
    query = SearchQuery(sources=("afp", "Reuters"))
    afp = next(v for v in SOURCE.results([("AFP", "AFP", 2)], query) if v.value == "AFP")

    assert afp.toggle == {"sources": ("Reuters",)}


# --- dates -----------------------------------------------------------------------------------


def test_years_come_in_calendar_order_with_the_chosen_one_selected():
    query = SearchQuery(year=2015)

    values = shaped(YEAR, [("2016", "2016", 1), ("2014", "2014", 5), ("2015", "2015", 2)], query)

    assert values == [
        ("2014", "2014", 5, False),
        ("2015", "2015", 2, True),
        ("2016", "2016", 1, False),
    ]


def test_a_date_value_toggles_to_itself_or_back_to_none():
    query = SearchQuery(year=2015)
    by_value = {v.value: v.toggle for v in YEAR.results([("2014", "2014", 1)], query)}

    assert by_value == {"2014": {"year": 2014}, "2015": {"year": None}}


def test_months_are_labelled_by_name():
    query = SearchQuery(year=2015)

    labels = [v.label for v in MONTH.results([("10", "10", 1), ("3", "3", 2)], query)]

    assert labels == ["March", "October"]
    assert month_name(12) == "December"


def test_month_and_day_facets_apply_once_a_year_and_a_month_are_chosen():
    assert [f.name for f in facets_for(SearchQuery())] == ["source", "section", "year"]
    assert [f.name for f in facets_for(SearchQuery(year=2015))][-1] == "month"
    assert [f.name for f in facets_for(SearchQuery(year=2015, month=3))][-2:] == ["month", "day"]


def test_facet_titles_name_the_period_they_are_within():
    query = SearchQuery(year=2015, month=3)

    assert [f.title(query) for f in facets_for(query)] == [
        "Source",
        "Section",
        "Year",
        "Month of 2015",
        "Day of March",
    ]


def test_only_the_label_facets_take_several_values():
    assert [f.name for f in FACETS if f.multiple] == ["source", "section"]


# --- all facets of a search ------------------------------------------------------------------


def test_without_counts_only_the_selected_values_are_listed():
    query = SearchQuery(sources=("AFP",), year=2015)

    results = facet_results(query, {})

    assert list(results) == ["source", "section", "year", "month"]
    assert [(v.value, v.count, v.selected) for v in results["source"]] == [("AFP", 0, True)]
    assert results["section"] == []
    assert [(v.value, v.selected) for v in results["year"]] == [("2015", True)]
