"""Facets on every backend: counts of the matches, values of one facet ORed and facets ANDed,
each facet counted without its own selection, date drill-down, and the order values are shown
in. ``test_oracle.py`` checks the same rules on random archives."""

from __future__ import annotations

import datetime as dt

import pytest

from articles.search import SearchQuery, facet_counts, reset_backend, search

from .support import day, facet, selected, titles

pytestmark = pytest.mark.django_db


# --- facets --------------------------------------------------------------------------------------


@pytest.fixture
def faceted(add_article):
    """Six articles over two sources, two sections and two years."""
    rows = [
        ("BBC", "Sport", day(2004, 5, 1)),
        ("BBC", "Sport", day(2005, 6, 2)),
        ("BBC", "Business", day(2005, 6, 3)),
        ("Reuters", "Business", day(2005, 7, 4)),
        ("Reuters", "Cocoa", day(1987, 3, 5)),
        ("Reuters", "Cocoa", day(1987, 3, 6)),
    ]
    for i, (source, section, published) in enumerate(rows):
        add_article(
            f"Story {i}", body="Market news.", source=source, section=section, published=published
        )


def test_facets_count_the_matches(faceted):
    results = search(SearchQuery(q="market"))
    assert facet(results, "source") == {"Reuters": 3, "BBC": 3}
    assert facet(results, "section") == {"Business": 2, "Cocoa": 2, "Sport": 2}
    assert facet(results, "year") == {"1987": 2, "2004": 1, "2005": 3}


def test_facet_values_are_ordered_by_count_then_name(add_article):
    add_article("a", source="Zeta")
    add_article("b", source="Alpha")
    add_article("c", source="Zeta")
    assert [v.label for v in search(SearchQuery()).facets["source"]] == ["Zeta", "Alpha"]


def test_year_facet_is_chronological(faceted):
    assert [v.value for v in search(SearchQuery()).facets["year"]] == ["1987", "2004", "2005"]


def test_values_of_one_facet_are_ored(faceted):
    results = search(SearchQuery(sections=("Sport", "Cocoa")))
    assert results.total == 4


def test_different_facets_are_anded(faceted):
    results = search(SearchQuery(sources=("BBC",), sections=("Sport",)))
    assert results.total == 2


def test_selected_values_are_matched_case_insensitively(faceted):
    assert search(SearchQuery(sources=("bbc",))).total == 3


def test_a_facet_counts_as_if_its_own_selection_were_absent(faceted):
    results = search(SearchQuery(sources=("BBC",)))
    assert facet(results, "source") == {"BBC": 3, "Reuters": 3}
    assert selected(results, "source") == ["BBC"]
    # ... while the other facets are narrowed by it.
    assert facet(results, "section") == {"Sport": 2, "Business": 1}


def test_selected_value_without_matches_is_still_listed(faceted):
    results = search(SearchQuery(q="nothingmatchesthis", sources=("BBC",)))
    assert [(v.label, v.count, v.selected) for v in results.facets["source"]] == [("BBC", 0, True)]


def test_empty_query_browses_everything_with_facets(faceted):
    results = search(SearchQuery())
    assert results.total == 6
    assert sum(v.count for v in results.facets["year"]) == 6


def test_month_facet_appears_once_a_year_is_chosen(faceted):
    assert "month" not in search(SearchQuery()).facets
    results = search(SearchQuery(year=2005))
    assert [(v.value, v.label, v.count) for v in results.facets["month"]] == [
        ("6", "June", 2),
        ("7", "July", 1),
    ]
    assert "day" not in results.facets


def test_day_facet_appears_once_a_month_is_chosen(faceted):
    results = search(SearchQuery(year=2005, month=6))
    assert results.total == 2
    assert facet(results, "day") == {"2": 1, "3": 1}


def test_choosing_a_day_narrows_to_it(faceted):
    results = search(SearchQuery(year=2005, month=6, day=3))
    assert titles(results) == ["Story 2"]
    assert selected(results, "day") == ["3"]


def test_year_facet_keeps_other_years_when_one_is_chosen(faceted):
    results = search(SearchQuery(year=2005))
    assert facet(results, "year") == {"1987": 2, "2004": 1, "2005": 3}
    assert selected(results, "year") == ["2005"]


def test_date_facets_are_counted_without_the_finer_parts_their_links_drop(faceted):
    # Another year drops the month and day, another month the day: each count is the total
    # its link lands on. The source selection still narrows every date facet.
    results = search(SearchQuery(sources=("BBC",), year=2005, month=6, day=3))
    assert titles(results) == ["Story 2"]
    assert facet(results, "year") == {"2004": 1, "2005": 2}
    assert facet(results, "month") == {"June": 2}
    assert facet(results, "day") == {"2": 1, "3": 1}
    assert facet(results, "source") == {"BBC": 1}


def test_facet_counts_alone_widen_the_date_facets_as_the_page_does(faceted):
    counts = facet_counts(SearchQuery(year=2005, month=6, day=3), ["year", "month", "day"])
    assert sorted(counts["year"]) == [("1987", "1987", 2), ("2004", "2004", 1), ("2005", "2005", 3)]
    assert sorted(counts["month"]) == [("6", "6", 2), ("7", "7", 1)]
    assert sorted(counts["day"]) == [("2", "2", 1), ("3", "3", 1)]


def test_undated_articles_are_in_no_year(add_article):
    add_article("Undated", published=None)
    add_article("Dated", published=day(2015))
    results = search(SearchQuery())
    assert results.total == 2
    assert facet(results, "year") == {"2015": 1}


def test_date_range_filter_is_inclusive(faceted):
    results = search(SearchQuery(date_from=dt.date(2005, 6, 2), date_to=dt.date(2005, 6, 3)))
    assert sorted(titles(results)) == ["Story 1", "Story 2"]


def test_date_range_uses_the_archive_time_zone(add_article, settings):
    settings.TIME_ZONE = "Europe/Paris"
    reset_backend()  # a backend reads the archive's time zone when it opens
    # 23:30 UTC on 31 March is already 1 April in Paris.
    add_article("Late", published=dt.datetime(2015, 3, 31, 23, 30, tzinfo=dt.UTC))
    results = search(SearchQuery(date_from=dt.date(2015, 4, 1), date_to=dt.date(2015, 4, 1)))
    assert titles(results) == ["Late"]


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
def test_date_facets_and_choices_follow_the_archive_calendar(add_article, settings, zone):
    """Around New Year and the daylight-saving switches (Lord Howe moves by half an hour,
    Kolkata never does), each article counts in its local year, month and day, and choosing
    one of them finds exactly the articles published on it there."""
    from collections import Counter
    from zoneinfo import ZoneInfo

    settings.TIME_ZONE = zone
    reset_backend()
    tz = ZoneInfo(zone)
    utc = [
        dt.datetime(2015, 12, 31, 12, 0),
        dt.datetime(2015, 12, 31, 13, 15),
        dt.datetime(2015, 12, 31, 18, 45),
        dt.datetime(2016, 1, 1, 4, 59),
        dt.datetime(2016, 1, 1, 5, 0),
        dt.datetime(2016, 3, 13, 6, 30),
        dt.datetime(2016, 3, 13, 7, 30),
        dt.datetime(2016, 4, 2, 14, 45),
        dt.datetime(2016, 4, 2, 15, 15),
        dt.datetime(2016, 10, 1, 15, 30),
        dt.datetime(2016, 11, 6, 4, 30),
        dt.datetime(2016, 11, 6, 5, 30),
    ]
    local = {}
    for i, moment in enumerate(utc):
        published = moment.replace(tzinfo=dt.UTC)
        add_article(f"At {i}", body="Calendar news.", published=published)
        local[f"At {i}"] = published.astimezone(tz).date()

    assert facet(search(SearchQuery(q="calendar")), "year") == {
        str(y): n for y, n in Counter(d.year for d in local.values()).items()
    }
    for year in {d.year for d in local.values()}:
        months = Counter(d.month for d in local.values() if d.year == year)
        got = search(SearchQuery(q="calendar", year=year)).facets["month"]
        assert {int(v.value): v.count for v in got} == months
        for month in months:
            days = Counter(d.day for d in local.values() if (d.year, d.month) == (year, month))
            results = search(SearchQuery(q="calendar", year=year, month=month))
            assert facet(results, "day") == {str(d): n for d, n in days.items()}
            for chosen in days:
                on_day = search(SearchQuery(q="calendar", year=year, month=month, day=chosen))
                wanted = {t for t, d in local.items() if d == dt.date(year, month, chosen)}
                assert set(titles(on_day)) == wanted
