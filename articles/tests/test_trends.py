"""The trends service on every search backend: its series against an independent count.

The oracle counts, in plain Python over the rows written for the test, the articles whose
words include the query word, by year or month of publication, under the filters. The
service reaches the index only through the search package's public API, so the same test runs
on Whoosh and, when the suite runs on PostgreSQL (``test_postgres.py``), on PostgreSQL's
full-text search too.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from articles.search import get_backend, reset_backend
from articles.tests.contract.conftest import BACKEND_FACTORIES
from articles.trends import (
    AUTO_MONTHS_UP_TO_YEARS,
    MAX_MONTHLY_YEARS,
    MONTH,
    YEAR,
    Period,
    TrendsQuery,
    choose_granularity,
    compute_trends,
    per_1000,
)

# Query words and fillers chosen so that no two share a stem on either backend.
WORDS = ("oil", "gold", "coffee", "copper", "sugar")
FILLERS = ("market", "report", "traders", "week", "harbour", "ship", "bank", "city")
SOURCES = ("AFP", "Reuters", "BBC")
SECTIONS = ("Business", "World")


@pytest.fixture(params=list(BACKEND_FACTORIES))
def backend(request, settings, tmp_path: Path, db):
    BACKEND_FACTORIES[request.param](tmp_path / f"{request.param}-index", settings)
    reset_backend()
    get_backend().clear()
    yield request.param
    reset_backend()


@pytest.fixture
def random_archive(backend, add_article) -> list[dict]:
    """About 80 articles over 2014-2016 (a few undated), each with a random handful of the
    query words; returned as plain dicts for the oracle."""
    rng = random.Random(20)
    rows = []
    for n in range(80):
        words = rng.sample(WORDS, rng.randint(0, 3))
        text = " ".join([*words, *rng.sample(FILLERS, 3)])
        undated = n % 17 == 0
        published = (
            None
            if undated
            else dt.datetime(2014, 1, 1, 12, tzinfo=dt.UTC)
            + dt.timedelta(days=rng.randrange(3 * 365))
        )
        row = {
            "words": set(re.findall(r"\w+", text)),
            "source": rng.choice(SOURCES),
            "section": rng.choice(SECTIONS),
            "published": published,
        }
        add_article(
            f"Report {n}",
            body=f"The {text} today.",
            source=row["source"],
            section=row["section"],
            published=published,
        )
        rows.append(row)
    return rows


def oracle(rows, word, by, sources=(), sections=()) -> Counter:
    """Matching articles per period key ("2015" or "2015-03"), counted row by row."""
    counts = Counter()
    for row in rows:
        if row["published"] is None or (word and word not in row["words"]):
            continue
        if (sources and row["source"] not in sources) or (
            sections and row["section"] not in sections
        ):
            continue
        day = row["published"]
        counts[str(day.year) if by == YEAR else f"{day.year}-{day.month:02d}"] += 1
    return counts


def series_counts(trends, query) -> dict[str, int]:
    line = next(s for s in trends.series if s.query == query)
    return {p.period.key: p.count for p in line.points}


def test_monthly_series_equal_the_count_of_matching_articles(random_archive):
    trends = compute_trends(TrendsQuery(queries=("oil", "gold", "coffee"), by=MONTH))

    assert trends.by == MONTH
    keys = [p.key for p in trends.periods]
    assert keys == [f"{y}-{m:02d}" for y in (2014, 2015, 2016) for m in range(1, 13)]
    for word in ("oil", "gold", "coffee"):
        expected = oracle(random_archive, word, MONTH)
        assert series_counts(trends, word) == {k: expected.get(k, 0) for k in keys}, word
    assert trends.articles == [oracle(random_archive, "", MONTH).get(k, 0) for k in keys]


def test_a_period_without_matches_is_drawn_as_zero_not_skipped(random_archive):
    trends = compute_trends(TrendsQuery(queries=("sugar",), by=MONTH))

    counts = [p.count for p in trends.series[0].points]
    assert len(counts) == 36
    assert 0 in counts and any(counts)


def test_yearly_series_and_totals_equal_the_oracle(random_archive):
    trends = compute_trends(TrendsQuery(queries=("copper", "sugar"), by=YEAR))

    assert [p.key for p in trends.periods] == ["2014", "2015", "2016"]
    for word in ("copper", "sugar"):
        expected = oracle(random_archive, word, YEAR)
        assert series_counts(trends, word) == {
            k: expected.get(k, 0) for k in ("2014", "2015", "2016")
        }
        # the line's total is what it charts: its dated matches
        assert next(s for s in trends.series if s.query == word).total == sum(
            1 for row in random_archive if word in row["words"] and row["published"]
        )


def test_per_1000_is_matches_per_thousand_articles_of_the_period(random_archive):
    trends = compute_trends(TrendsQuery(queries=("oil",), by=YEAR, per_1000=True))

    everything = oracle(random_archive, "", YEAR)
    matching = oracle(random_archive, "oil", YEAR)
    for point in trends.series[0].points:
        key = point.period.key
        assert point.per_1000 == round(matching.get(key, 0) * 1000 / everything[key], 3)
        assert trends.value(point) == point.per_1000


def test_source_and_section_filters_apply_to_every_line_and_to_the_denominator(random_archive):
    wanted = TrendsQuery(queries=("oil", "gold"), sources=("AFP", "BBC"), sections=("World",))

    trends = compute_trends(wanted)

    assert trends.by == MONTH  # three years: months by default
    keys = [p.key for p in trends.periods]
    for word in ("oil", "gold"):
        expected = oracle(random_archive, word, MONTH, ("AFP", "BBC"), ("World",))
        assert series_counts(trends, word) == {k: expected.get(k, 0) for k in keys}
    denominators = oracle(random_archive, "", MONTH, ("AFP", "BBC"), ("World",))
    assert trends.articles == [denominators.get(k, 0) for k in keys]


def test_a_query_the_language_repairs_is_charted_with_the_search_pages_note(random_archive):
    trends = compute_trends(TrendsQuery(queries=("title:(", "oil")))

    broken, oil = trends.series
    assert broken.error  # the same note the search page shows
    assert all(p.count == 0 for p in broken.points)
    assert oil.error is None and any(p.count for p in oil.points)


def test_an_archive_without_dated_articles_has_no_periods(backend, add_article):
    add_article("Oil report", body="oil", published=None)

    trends = compute_trends(TrendsQuery(queries=("oil",)))

    assert trends.periods == [] and trends.series[0].total == 0


def test_a_search_that_finds_nothing_offers_did_you_mean(random_archive):
    trends = compute_trends(TrendsQuery(queries=("coffe", "oil")))

    misspelt, oil = trends.series
    assert misspelt.total == 0 and misspelt.suggestion == "coffee"
    assert oil.suggestion is None


def test_point_links_land_on_searches_whose_totals_equal_the_points(random_archive, client):
    response = client.get("/api/trends", {"q": ["oil", "gold"], "source": "Reuters"})

    assert response.status_code == 200
    checked = 0
    for line in response.json()["series"]:
        for point in line["points"]:
            if point["count"] or checked % 7 == 0:  # every point with matches, some zeros
                api = point["url"].replace("/search/?", "/api/search?", 1)
                assert client.get(api).json()["total"] == point["count"], point
            checked += 1
    assert checked == 2 * 36


@pytest.mark.parametrize(
    ("asked", "first", "last", "expected"),
    [
        ("", 2014, 2014 + AUTO_MONTHS_UP_TO_YEARS - 1, MONTH),
        ("", 2014, 2014 + AUTO_MONTHS_UP_TO_YEARS, YEAR),
        ("year", 2014, 2014, YEAR),
        ("month", 1990, 1990 + MAX_MONTHLY_YEARS - 1, MONTH),
        ("month", 1990, 1990 + MAX_MONTHLY_YEARS, YEAR),
    ],
)
def test_granularity(asked, first, last, expected):
    by, note = choose_granularity(asked, first, last)

    assert by == expected
    assert bool(note) == (asked == MONTH and expected == YEAR)


def test_per_1000_of_an_empty_period_is_none_not_a_division_by_zero():
    assert per_1000(3, 0) is None
    assert per_1000(1, 3) == 333.333


def test_periods_are_named_as_readers_say_them():
    assert (Period(1987, 3).key, Period(1987, 3).label, Period(1987, 3).short_label) == (
        "1987-03",
        "March 1987",
        "Mar 1987",
    )
    assert (Period(1987).key, Period(1987).label) == ("1987", "1987")
