"""Trends: how often several searches match, period by period, side by side (issue 20).

A service over the search package's public API only (``search``, ``date_counts``), so it gives
the same series on every backend: each query's matches per year come from its year facet, its
matches per month from the month facet of each year it occurs in, and the archive's own
articles per period (the empty query, under the same source and section filters) give the
denominator of "per 1,000 articles". The page, the CSV download and the JSON API all show what
``compute_trends`` returns; they differ only in layout.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from articles.search import SearchQuery, date_counts, query_note, search
from articles.search.facets import month_name

#: The most searches one trends chart compares (the form, the API and the chart's colours).
MAX_QUERIES = 6
#: ``by`` values a reader may choose; "" lets ``choose_granularity`` decide.
MONTH, YEAR = "month", "year"
GRANULARITIES = (MONTH, YEAR)
#: Automatic granularity: months while the archive (under the filters) spans at most this many
#: calendar years, which is at most 36 points; years beyond.
AUTO_MONTHS_UP_TO_YEARS = 3
#: Months are drawn for at most this many years (240 points); a longer span is shown by year.
MAX_MONTHLY_YEARS = 20
#: The denominator of the normalised figures.
PER = 1000


@dataclass(frozen=True)
class TrendsQuery:
    """What the reader asked for: the searches to compare and the filters shared by all."""

    queries: tuple[str, ...]
    sources: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    by: str = ""  # MONTH, YEAR, or "" for automatic
    per_1000: bool = False


@dataclass(frozen=True, order=True)
class Period:
    """A year, or a month of a year."""

    year: int
    month: int | None = None

    @property
    def key(self) -> str:
        """ "1987" or "1987-03": sortable, and what the CSV and JSON call the period."""
        return str(self.year) if self.month is None else f"{self.year}-{self.month:02d}"

    @property
    def label(self) -> str:
        """ "1987" or "March 1987", as a reader says it."""
        return str(self.year) if self.month is None else f"{month_name(self.month)} {self.year}"

    @property
    def short_label(self) -> str:
        """ "1987" or "Mar 1987": an axis label."""
        if self.month is None:
            return str(self.year)
        return f"{month_name(self.month)[:3]} {self.year}"


@dataclass
class Point:
    period: Period
    count: int
    #: Matches per 1,000 of the period's articles; None when the period holds no article.
    per_1000: float | None


@dataclass
class Series:
    """One query's matches over every period of the chart (zeros included)."""

    query: str
    #: Matches in the chart's periods: the dated ones (the archive's undated articles are on
    #: no time line, though the line's search lists them).
    total: int
    points: list[Point] = field(default_factory=list)
    #: The note the search page shows on a query it had to repair.
    error: str | None = None
    suggestion: str | None = None


@dataclass
class Trends:
    request: TrendsQuery
    by: str
    periods: list[Period]
    #: The articles of each period (under the filters): the per-1,000 denominators.
    articles: list[int]
    series: list[Series]
    #: Why the granularity asked for was not used, if it was not.
    note: str = ""

    def value(self, point: Point) -> float:
        """The figure the chart plots for a point: its count, or its rate when normalised."""
        if self.request.per_1000:
            return point.per_1000 or 0.0
        return float(point.count)


def per_1000(count: int, articles: int) -> float | None:
    """``count`` matches among ``articles`` as matches per 1,000 articles, to 3 decimals."""
    return round(count * PER / articles, 3) if articles else None


def period_search(request: TrendsQuery, query: str, period: Period | None = None) -> SearchQuery:
    """The search behind one point (or, without a period, behind a whole line): the query, the
    shared filters and the period's year and month. Its total is the point's count."""
    return SearchQuery(
        q=query,
        sources=request.sources,
        sections=request.sections,
        year=period.year if period else None,
        month=period.month if period else None,
    )


def choose_granularity(asked: str, first_year: int, last_year: int) -> tuple[str, str]:
    """The granularity to draw and, when it is not the one asked for, why."""
    years = last_year - first_year + 1
    if asked == YEAR:
        return YEAR, ""
    if asked == MONTH:
        if years <= MAX_MONTHLY_YEARS:
            return MONTH, ""
        return YEAR, (
            f"Months are drawn for at most {MAX_MONTHLY_YEARS} years; these articles span "
            f"{years} ({first_year}–{last_year}), so the chart shows years."
        )
    return (MONTH if years <= AUTO_MONTHS_UP_TO_YEARS else YEAR), ""


def compute_trends(request: TrendsQuery) -> Trends:
    """Every query's matches per period over the span of the archive's dated articles (under
    the filters), with the denominators; periods without matches count 0.

    Raises ``SearchUnavailable`` when the index cannot answer, like ``search``.
    """
    everything = period_search(request, "")
    archive_years = date_counts(everything, YEAR)
    found = [date_counts(period_search(request, q), YEAR) for q in request.queries]
    series = [
        Series(query=q, total=sum(years.values()), error=query_note(q))
        for q, years in zip(request.queries, found, strict=True)
    ]
    for line in series:
        if not line.total and not line.error:  # a misspelling? (no hits: no rows are read)
            line.suggestion = search(period_search(request, line.query)).suggestion
    if not archive_years:
        return Trends(request, request.by or YEAR, [], [], series)
    first, last = min(archive_years), max(archive_years)
    by, note = choose_granularity(request.by, first, last)
    years = range(first, last + 1)
    if by == YEAR:
        periods = [Period(y) for y in years]
        articles = [archive_years.get(y, 0) for y in years]
    else:
        periods = [Period(y, m) for y in years for m in range(1, 13)]
        articles = _month_values(_months(everything, archive_years), periods)
    for line, years_found in zip(series, found, strict=True):
        if by == YEAR:
            values = [years_found.get(y, 0) for y in years]
        else:
            months = _months(period_search(request, line.query), years_found)
            values = _month_values(months, periods)
        line.points = [
            Point(period, count, per_1000(count, n))
            for period, count, n in zip(periods, values, articles, strict=True)
        ]
    return Trends(request, by, periods, articles, series, note)


def _months(query: SearchQuery, years: dict[int, int]) -> dict[tuple[int, int], int]:
    """Matches per (year, month), asking only about the years that hold any."""
    out: dict[tuple[int, int], int] = {}
    for year, count in years.items():
        if count:
            for month, n in date_counts(dataclasses.replace(query, year=year), MONTH).items():
                out[(year, month)] = n
    return out


def _month_values(counts: dict[tuple[int, int], int], periods: list[Period]) -> list[int]:
    return [counts.get((p.year, p.month or 0), 0) for p in periods]
