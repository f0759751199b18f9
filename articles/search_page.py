"""The search page's parts, built from a ``SearchResults`` as plain data for its template.

The facet sidebar (each value with the URL that toggles it), the removable filter chips, the
coverage chart's bars and the page links are computed here, so the template never builds a
URL by hand and the tests can check every link. Facet values arrive already shaped by
``articles.search.facets`` (labels, selection, order, toggles); this module only turns their
toggles into URLs and lays them out. ``articles.views.search_page`` is the view.

The other end of a result link lives here too: ``result_link`` puts the search and the result's
place into an article's URL, and ``results_navigation`` turns them back into "‹ 3 of 720 ›" and
"Back to results" on the article page.
"""

from __future__ import annotations

import calendar
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.http import urlencode

from articles.forms import SearchForm, search_params, search_url, toggled
from articles.models import Article
from articles.paging import page_numbers
from articles.search import (
    SearchQuery,
    SearchResults,
    SearchUnavailable,
    date_counts,
    matching_ids,
)
from articles.search.facets import FacetValue, facets_for, month_name
from articles.search.rules import MAX_PAGE, MAX_PER_PAGE, SORTS
from articles.trends import TrendsQuery
from articles.trends_form import trends_url

#: The parameters a new query typed into the search box keeps: the period and the page size
#: (filters by source and section are kept by their checkboxes, which belong to the form).
BOX_PARAMS = ("year", "month", "day", "per_page", "collapse")
#: Values a facet lists before "Show more"; the rest open below it (a <details>, no script).
FACET_SHOWN = 8
#: The chart's plot height and the room above it (counts) and below it (labels), in CSS pixels;
#: horizontal positions are percentages of the chart's width, so text keeps its pixel size.
CHART_PLOT, CHART_TOP, CHART_LABELS = 130, 18, 24
#: Per cent of the width kept free at each end, so the first and last labels are not cut.
CHART_PAD = 2.5
#: A year axis spanning more years than this would be mostly empty bars; then only the years
#: with matches show.
MAX_FILLED_YEARS = 20
#: The smallest bar drawn for a period with matches, so one huge year does not hide the rest.
MIN_BAR = 3
#: The parameter of an article link that says which result (1-based) the article was.
POSITION_PARAM = "n"


@dataclass
class FacetItem:
    """One facet value as the sidebar shows it: a checkbox or link that toggles this value."""

    value: str
    label: str
    count: int
    selected: bool
    url: str
    input_id: str = ""


@dataclass
class FacetGroup:
    key: str
    title: str
    # Multi-select groups are checkboxes in the search form; the others are links.
    multiple: bool
    items: list[FacetItem] = field(default_factory=list)
    param: str = ""

    @property
    def shown(self) -> list[FacetItem]:
        return self.items[:FACET_SHOWN]

    @property
    def more(self) -> list[FacetItem]:
        """The values behind "Show more"."""
        return self.items[FACET_SHOWN:]

    @property
    def more_open(self) -> bool:
        """A selected value is never hidden behind "Show more"."""
        return any(item.selected for item in self.more)


@dataclass
class Chip:
    """An active filter, shown with a link that removes just that filter."""

    kind: str
    label: str
    url: str

    @property
    def aria_label(self) -> str:
        return f"Remove filter: {self.kind} {self.label}"


@dataclass
class Bar:
    label: str
    title: str
    count: int
    url: str | None
    selected: bool
    # Geometry: x and width in per cent of the chart's width, y and height in pixels.
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    height: float = 0.0
    slot_x: float = 0.0
    slot_width: float = 0.0
    label_x: float = 0.0
    show_label: bool = True

    @property
    def count_y(self) -> float:
        return round(self.y - 4, 2)

    @property
    def count_label(self) -> str:
        """The count drawn above the bar, short enough to fit over it."""
        if self.count >= 10_000:
            return f"{self.count // 1000}k"
        if self.count >= 1000:
            return f"{self.count / 1000:.1f}k".replace(".0k", "k")
        return str(self.count)


@dataclass
class Chart:
    caption: str
    bars: list[Bar]
    height: int = CHART_TOP + CHART_PLOT + CHART_LABELS
    baseline: int = CHART_TOP + CHART_PLOT

    @property
    def label_y(self) -> int:
        return self.height - 6

    @property
    def density(self) -> str:
        """How crowded the chart is: dense charts get a minimum width (and scroll sideways
        on a phone) so every bar stays a 24-pixel tap target."""
        n = len(self.bars)
        return "" if n <= 12 else "dense" if n <= 16 else "denser" if n <= 24 else "densest"


@dataclass
class PageLink:
    number: int | None  # None is the gap between distant pages
    url: str = ""
    current: bool = False


def page_context(query: SearchQuery, results: SearchResults) -> dict[str, Any]:
    """Everything the search template shows besides the form."""
    chips = active_filters(query)
    first = (results.page - 1) * results.per_page + 1
    return {
        "query": query,
        "results": results,
        "heading_query": heading_query(query.q),
        "result_links": [
            (hit, result_link(hit.url, query, first + n)) for n, hit in enumerate(results.hits)
        ],
        "show_filters": results.total > 0,
        "box_params": [(name, value) for name, value in search_params(query) if name in BOX_PARAMS],
        "has_query": bool(query.q or chips),
        "first_number": first,
        "last_number": first + len(results.hits) - 1,
        "facet_groups": facet_groups(query, results),
        "chips": chips,
        "clear_filters_url": search_url(
            SearchQuery(q=query.q, sort=query.sort, per_page=query.per_page)
        ),
        "chart": coverage_chart(query, results),
        "compare_url": compare_url(query),
        "sorts": SORTS,
        "current_sort": results.sort,
        "page_links": page_links(query, results),
        "page_count": f"Page {results.page} of {results.pages}" if results.pages > 1 else "",
        "previous_url": search_url(query, page=results.page - 1) if results.page > 1 else "",
        "next_url": (
            search_url(query, page=results.page + 1) if results.page < results.pages else ""
        ),
        "suggestion_url": (search_url(query, q=results.suggestion) if results.suggestion else ""),
        "past_the_end": results.total > 0 and not results.hits,
        "collapse_url": search_url(query, collapse=not query.collapse),
        "last_page_url": search_url(query, page=max(results.pages, 1)),
    }


def compare_url(query: SearchQuery) -> str:
    """ "Compare with…": the trends page with this search and its source and section filters
    (its dates are left out: a trend is drawn over the whole archive)."""
    if not query.q.strip():
        return ""
    wanted = TrendsQuery(queries=(query.q,), sources=query.sources, sections=query.sections)
    return trends_url(wanted)


def heading_query(q: str) -> str:
    """The query as the heading quotes it: a phrase's own quotes stand in for the heading's."""
    q = q.strip()
    return q[1:-1] if len(q) > 2 and q[0] == q[-1] == '"' and q.count('"') == 2 else q


def result_link(url: str, query: SearchQuery, position: int) -> str:
    """An article link that carries the whole search and the result's place in it, so the
    article page can step to the previous and next result and lead back to this page."""
    params = [(name, value) for name, value in search_params(query) if name != "page"]
    return f"{url}?{urlencode([*params, (POSITION_PARAM, str(position))])}"


def facet_groups(query: SearchQuery, results: SearchResults) -> list[FacetGroup]:
    """The sidebar: every facet the query shows, in order, each value linked to its toggle.

    When the search could not be run there are no counts; the reader's own choices are still
    listed (at count 0), otherwise submitting the form would silently drop them.
    """
    groups = []
    for facet in facets_for(query):
        values = results.facets.get(facet.name)
        if values is None:
            values = facet.results([], query)
        items = [_item(query, facet.name, n, value) for n, value in enumerate(values)]
        if facet.name == "year":
            items.reverse()  # newest year first: the likeliest next click
        groups.append(
            FacetGroup(
                key=facet.name,
                title=facet.title(query),
                multiple=facet.multiple,
                items=items,
                param=facet.name,
            )
        )
    return groups


def _item(query: SearchQuery, name: str, n: int, value: FacetValue) -> FacetItem:
    return FacetItem(
        value=value.value,
        label=value.label,
        count=value.count,
        selected=value.selected,
        url=search_url(query, **value.toggle),
        input_id=f"facet-{name}-{n}",
    )


def active_filters(query: SearchQuery) -> list[Chip]:
    """Every filter in force, each with the URL of the same search without it."""
    chips = [
        Chip("Source", value, search_url(query, sources=toggled(query.sources, value)))
        for value in query.sources
    ]
    chips += [
        Chip("Section", value, search_url(query, sections=toggled(query.sections, value)))
        for value in query.sections
    ]
    if query.year is not None:
        chips.append(Chip("Year", str(query.year), search_url(query, year=None)))
    if query.month is not None:
        chips.append(
            Chip("Month", f"{month_name(query.month)} {query.year}", search_url(query, month=None))
        )
    if query.day is not None:
        label = f"{query.day} {month_name(query.month or 0)} {query.year}"
        chips.append(Chip("Day", label, search_url(query, day=None)))
    if query.date_from:
        chips.append(Chip("From", str(query.date_from), search_url(query, date_from=None)))
    if query.date_to:
        chips.append(Chip("To", str(query.date_to), search_url(query, date_to=None)))
    return chips


def coverage_chart(query: SearchQuery, results: SearchResults) -> Chart | None:
    """Matches over time as bars that narrow the search, at the finest level that says
    something: years; the months of the one year that holds every match (or the chosen year);
    the days of the one month that does (or the chosen month).

    Geometry is computed here so the template only prints numbers into an inline SVG: the chart
    needs no JavaScript and no charting library.
    """
    if not results.total:
        return None
    year, month = query.year, query.month
    if year is None:
        years = _counts(results, "year")
        if len(years) != 1:
            return _chart("Matches per year", _year_bars(query, years)) if years else None
        (year,) = years
    if month is None:
        months = _counts(results, "month") if query.year else _zoom(query, "month", year=year)
        if len(months) != 1:
            bars = _month_bars(query, year, months)
            return _chart(f"Matches per month in {year}", bars)
        (month,) = months
    days = _counts(results, "day") if query.month else _zoom(query, "day", year=year, month=month)
    return _chart(
        f"Matches per day in {month_name(month)} {year}", _day_bars(query, year, month, days)
    )


def _zoom(query: SearchQuery, kind: str, **period: int) -> dict[int, int]:
    return date_counts(dataclasses.replace(query, **period), kind)


def _counts(results: SearchResults, name: str) -> dict[int, int]:
    return {int(v.value): v.count for v in results.facets.get(name, []) if v.count}


def _chart(caption: str, bars: list[Bar]) -> Chart | None:
    if not any(bar.count for bar in bars):
        return None
    _lay_out(bars)
    return Chart(caption, bars)


def _year_bars(query: SearchQuery, counts: dict[int, int]) -> list[Bar]:
    years = sorted(counts)
    if years[-1] - years[0] < MAX_FILLED_YEARS:
        years = list(range(years[0], years[-1] + 1))
    return [_bar(str(y), str(y), counts.get(y, 0), search_url(query, year=y), False) for y in years]


def _month_bars(query: SearchQuery, year: int, counts: dict[int, int]) -> list[Bar]:
    return [
        _bar(
            month_name(m)[:3],
            f"{month_name(m)} {year}",
            counts.get(m, 0),
            search_url(query, year=year, month=m),
            m == query.month,
        )
        for m in range(1, 13)
    ]


def _day_bars(query: SearchQuery, year: int, month: int, counts: dict[int, int]) -> list[Bar]:
    last = calendar.monthrange(year, month)[1]
    return [
        _bar(
            str(d),
            f"{d} {month_name(month)} {year}",
            counts.get(d, 0),
            search_url(query, year=year, month=month, day=d),
            d == query.day,
        )
        for d in range(1, last + 1)
    ]


def _bar(label: str, period: str, count: int, url: str, selected: bool) -> Bar:
    return Bar(label, f"{period}: {_matches(count)}", count, url if count else None, selected)


def _lay_out(bars: list[Bar]) -> None:
    """Bar positions (per cent across, pixels up) and which axis labels show."""
    peak = max(bar.count for bar in bars) or 1
    slot = (100 - 2 * CHART_PAD) / len(bars)
    every = 1 if len(bars) <= 16 else 2 if len(bars) <= 31 else math.ceil(len(bars) / 16)
    for n, bar in enumerate(bars):
        bar.slot_x = round(CHART_PAD + n * slot, 3)
        bar.slot_width = round(slot, 3)
        bar.width = round(slot * 0.7, 3)
        bar.x = round(bar.slot_x + (slot - bar.width) / 2, 3)
        height = CHART_PLOT * bar.count / peak if bar.count else 0
        bar.height = round(max(height, MIN_BAR) if bar.count else 0, 2)
        bar.y = round(CHART_TOP + CHART_PLOT - bar.height, 2)
        bar.label_x = round(bar.slot_x + slot / 2, 3)
        bar.show_label = n % every == 0


def _matches(count: int) -> str:
    return f"{count:,} matching article{'' if count == 1 else 's'}"


def page_links(query: SearchQuery, results: SearchResults) -> list[PageLink]:
    """Page numbers around the current page, with the first and last always reachable."""
    return [
        PageLink(n, search_url(query, page=n), n == results.page) if n else PageLink(None)
        for n in page_numbers(results.page, results.pages)
    ]


# --- stepping through results from an article ----------------------------------------------


@dataclass
class ResultsNavigation:
    """ "‹ 3 of 720 ›" on an article opened from a search, and the way back to its page."""

    back_url: str
    position: int | None = None
    total: int = 0
    previous_url: str = ""
    next_url: str = ""


def results_navigation(params: QueryDict, article_id: int) -> ResultsNavigation | None:
    """Where this article stands in the search its link came from (``result_link``).

    The search runs again (ids only, no facets or snippets), so stepping follows the results
    as they are now; if the article has moved, its new place is used, and if it no longer
    matches, only the way back is offered. While search is down, only the way back too.
    """
    position = _position(params.get(POSITION_PARAM, ""))
    if position is None:
        return None
    form = SearchForm(params)
    form.is_valid()
    query = form.to_query()
    back = ResultsNavigation(back_url=search_url(query, page=(position - 1) // query.per_page + 1))
    try:
        found = matching_ids(query, position + 1)
    except SearchUnavailable:
        return back
    ids = found.ids
    if article_id not in ids:
        return back
    position = ids.index(article_id) + 1
    back.back_url = search_url(query, page=(position - 1) // query.per_page + 1)
    back.position, back.total = position, found.total
    neighbours = {
        "previous_url": ids[position - 2] if position > 1 else None,
        "next_url": ids[position] if position < len(ids) else None,
    }
    urls = _article_urls([i for i in neighbours.values() if i is not None])
    for name, neighbour in neighbours.items():
        if neighbour in urls:
            step = -1 if name == "previous_url" else 1
            setattr(back, name, result_link(urls[neighbour], query, position + step))
    return back


def _position(text: str) -> int | None:
    try:
        position = int(text)
    except ValueError:
        return None
    return position if 1 <= position <= MAX_PAGE * MAX_PER_PAGE else None


def _article_urls(ids: list[int]) -> dict[int, str]:
    rows = Article.objects.filter(pk__in=ids).only("id", "slug", "published")
    return {article.pk: article.get_absolute_url() for article in rows}
