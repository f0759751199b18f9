"""The trends page (``/trends/``), its CSV download and its JSON twin (``/api/trends``).

Thin: ``TrendsForm`` -> ``trends.compute_trends`` -> the chart (``linechart``), the table, a CSV
or JSON. Every point, cell and line links to its search, built by ``forms.search_url`` from
``trends.period_search``, so a point's count is the total its link lands on. An index outage
is the middleware's 503, as everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from articles.exports import FORMATS, csv_lines
from articles.forms import search_url
from articles.linechart import ChartPoint, Line, line_chart
from articles.search import SearchQuery, facet_counts
from articles.search.rules import label_key
from articles.trends import (
    MAX_QUERIES,
    MONTH,
    Period,
    Series,
    Trends,
    TrendsQuery,
    compute_trends,
    period_search,
)
from articles.trends_form import TrendsForm, trends_params, trends_url

#: The CSV download's columns, one row per period and query.
CSV_FIELDS = ("period", "query", "count", "per_1000")
#: Longest part of a download's file name taken from the searches.
FILENAME_MAX_CHARS = 80


@dataclass
class Cell:
    count: int
    per_1000: float | None
    url: str


@dataclass
class Row:
    period: Period
    articles: int
    cells: list[Cell]


@dataclass
class FilterOption:
    value: str
    count: int
    selected: bool


@require_safe
def trends_page(request: HttpRequest) -> HttpResponse:
    """The chart, its table, and a form to change the searches and filters.

    Without any search it shows the form only. Bad parameters are named in a notice and the
    rest still charted (a 400, as on the search page); a search the query language had to
    repair is charted as repaired, with the search page's note beside it.
    """
    form = TrendsForm(request.GET)
    valid = form.is_valid()
    fresh = not request.GET  # the first visit: the form, no complaint
    wanted = form.to_query()
    trends = compute_trends(wanted) if wanted.queries else None
    context = {
        "form_error": "" if valid or fresh else form.error_message(),
        "wanted": wanted,
        "trends": trends,
        "query_inputs": _query_inputs(wanted.queries),
        "max_queries": MAX_QUERIES,
        "filter_groups": _filter_groups(wanted),
    }
    if trends is not None:
        context.update(_chart_context(trends))
    return render(request, "articles/trends.html", context, status=200 if valid or fresh else 400)


@require_safe
def trends_export(request: HttpRequest) -> HttpResponse:
    """``/trends/export.csv``: the chart's figures, one row per period and search."""
    form = TrendsForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            form.error_message(), status=400, content_type="text/plain; charset=utf-8"
        )
    return _csv_response(compute_trends(form.to_query()))


@require_safe
def trends_api(request: HttpRequest) -> HttpResponse:
    """``GET /api/trends``: the chart's series as JSON (``format=csv`` for the download).

    A bad parameter is a 400 with ``{"error": ...}``; a query the language had to repair is
    charted as repaired, its note in its series' ``error``.
    """
    form = TrendsForm(request.GET)
    if not form.is_valid():
        errors = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
        return JsonResponse({"error": form.error_message(), "errors": errors}, status=400)
    fmt = request.GET.get("format") or "json"
    if fmt not in ("json", "csv"):
        return JsonResponse({"error": "format must be json or csv."}, status=400)
    trends = compute_trends(form.to_query())
    if fmt == "csv":
        return _csv_response(trends)
    return JsonResponse(trends_json(trends))


def trends_json(trends: Trends) -> dict[str, Any]:
    wanted = trends.request
    return {
        "queries": list(wanted.queries),
        "filters": {"source": list(wanted.sources), "section": list(wanted.sections)},
        "by": trends.by,
        "per_1000": wanted.per_1000,
        "note": trends.note or None,
        "periods": [p.key for p in trends.periods],
        "articles": trends.articles,
        "series": [
            {
                "query": line.query,
                "total": line.total,
                "url": search_url(period_search(wanted, line.query)),
                "error": line.error,
                "suggestion": line.suggestion,
                "points": [
                    {
                        "period": point.period.key,
                        "count": point.count,
                        "per_1000": point.per_1000,
                        "url": _point_url(wanted, line, point.period),
                    }
                    for point in line.points
                ],
            }
            for line in trends.series
        ],
    }


def _csv_response(trends: Trends) -> HttpResponse:
    rows = [
        {
            "period": period.key,
            "query": line.query,
            "count": line.points[n].count,
            "per_1000": line.points[n].per_1000,
        }
        for n, period in enumerate(trends.periods)
        for line in trends.series
    ]
    response = HttpResponse("".join(csv_lines(rows, CSV_FIELDS)), content_type=FORMATS["csv"])
    response["Content-Disposition"] = f'attachment; filename="{trends_filename(trends)}"'
    return response


def trends_filename(trends: Trends) -> str:
    """``newsarchive-trends-oil-gold-source-reuters-by-year-2026-11-30.csv``"""
    described = "-".join(
        slugify(value) if name == "q" else slugify(f"{name} {value}")
        for name, value in trends_params(trends.request)
        if name not in ("by", "per1000")
    )
    described = re.sub(r"-+", "-", described[:FILENAME_MAX_CHARS]).strip("-") or "all"
    day = timezone.localdate().isoformat()
    return f"newsarchive-trends-{described}-by-{trends.by}-{day}.csv"


def _point_url(wanted: TrendsQuery, line: Series, period: Period) -> str:
    return search_url(period_search(wanted, line.query, period))


def _describe(point_count: int, per_1000: float | None, normalised: bool) -> str:
    text = f"{point_count:,} article{'' if point_count == 1 else 's'}"
    if normalised:
        text += f" ({'no articles' if per_1000 is None else f'{per_1000:g} per 1,000'})"
    return text


def _chart_context(trends: Trends) -> dict[str, Any]:
    wanted = trends.request
    normalised = wanted.per_1000
    # Each point's search URL, built once for the chart and the table alike.
    urls = [[_point_url(wanted, line, p.period) for p in line.points] for line in trends.series]
    lines = [
        Line(
            line.query,
            [
                ChartPoint(
                    trends.value(point),
                    url,
                    f"{line.query}, {point.period.label}: "
                    f"{_describe(point.count, point.per_1000, normalised)}",
                )
                for point, url in zip(line.points, line_urls, strict=True)
            ],
        )
        for line, line_urls in zip(trends.series, urls, strict=True)
    ]
    unit = "per 1,000 articles" if normalised else "matching articles"
    caption = f"{unit.capitalize()} per {trends.by}"
    description = (
        f"A line chart of {unit} per {trends.by} for {', '.join(wanted.queries)}, "
        f"{trends.periods[0].label} to {trends.periods[-1].label}. "
        "The table below it lists the same figures."
        if trends.periods
        else "No dated articles to chart."
    )
    svg = line_chart(
        [p.short_label for p in trends.periods],
        lines,
        title=caption,
        description=description,
        chart_id="trends-chart",
    )
    rows = [
        Row(
            period,
            trends.articles[n],
            [
                Cell(line.points[n].count, line.points[n].per_1000, line_urls[n])
                for line, line_urls in zip(trends.series, urls, strict=True)
            ],
        )
        for n, period in enumerate(trends.periods)
    ]
    return {
        # linechart escapes every label and URL it writes.
        "chart_svg": mark_safe(svg) if trends.periods else "",
        "caption": caption,
        "rows": rows,
        "series_links": [
            (line, search_url(period_search(wanted, line.query)), _suggestion_url(wanted, line))
            for line in trends.series
        ],
        "csv_url": trends_url(wanted, "articles:trends_export"),
        "json_url": trends_url(wanted, "articles:api_trends"),
        "other_granularity": (trends_url(wanted, by="year" if trends.by == MONTH else "month")),
        "toggle_normalise_url": trends_url(wanted, per_1000=not normalised),
    }


def _suggestion_url(wanted: TrendsQuery, line: Series) -> str:
    """The same chart with this line's search spelt as "did you mean" suggests."""
    if not line.suggestion:
        return ""
    queries = tuple(line.suggestion if q == line.query else q for q in wanted.queries)
    return trends_url(wanted, queries=queries)


def _query_inputs(queries: tuple[str, ...]) -> list[str]:
    """The search boxes: one per search, and an empty one to add another while there is room."""
    boxes = list(queries)
    if len(boxes) < MAX_QUERIES:
        boxes.append("")
    if len(boxes) < 2:
        boxes.append("")
    return boxes


def _filter_groups(wanted: TrendsQuery) -> list[tuple[str, str, list[FilterOption]]]:
    """Source and section checkboxes, counted over the whole archive (each facet without its
    own selection, as on the search page), chosen ones first."""
    counts = facet_counts(
        SearchQuery(sources=wanted.sources, sections=wanted.sections), ["source", "section"]
    )
    groups = []
    for name, title, chosen in (
        ("source", "Sources", wanted.sources),
        ("section", "Sections", wanted.sections),
    ):
        keys = {label_key(c) for c in chosen}
        options = [
            FilterOption(value, count, label_key(value) in keys)
            for value, _, count in counts.get(name, [])
        ]
        listed = {label_key(o.value) for o in options}
        options += [FilterOption(c, 0, True) for c in chosen if label_key(c) not in listed]
        options.sort(key=lambda o: (not o.selected, -o.count, label_key(o.value)))
        groups.append((name, title, options))
    return groups
