"""The search page's parts, built from a ``SearchResults`` as plain data for its template.

The facet sidebar (each value with the URL that toggles it), the removable filter chips, the
coverage chart's bars and the page links are computed here, so the template never builds a
URL by hand and the tests can check every link. Facet values arrive already shaped by
``articles.search.facets`` (labels, selection, order, toggles); this module only turns their
toggles into URLs and lays them out. ``articles.views.search_page`` is the view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from articles.forms import search_params, search_url, toggled
from articles.search import SearchQuery, SearchResults
from articles.search.facets import FacetValue, facets_for, month_name
from articles.search.rules import SORTS

#: The parameters a new query typed into the search box keeps: the period and the page size
#: (filters by source and section are kept by their checkboxes, which belong to the form).
BOX_PARAMS = ("year", "month", "day", "per_page")
#: Pages shown either side of the current one in the pagination bar.
PAGE_WINDOW = 2
CHART_WIDTH, CHART_HEIGHT, CHART_LABELS = 640, 150, 22
#: A year axis longer than this would be mostly empty bars; then only the years with matches
#: show.
MAX_FILLED_YEARS = 60


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
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    height: float = 0.0
    label_x: float = 0.0
    show_label: bool = True
    minor_label: bool = False  # hidden on narrow screens, where labels would collide


@dataclass
class Chart:
    caption: str
    bars: list[Bar]
    width: int
    height: int
    baseline: int

    @property
    def label_y(self) -> int:
        return self.height - 6


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
        "sorts": SORTS,
        "current_sort": results.sort,
        "page_links": page_links(query, results),
        "previous_url": search_url(query, page=results.page - 1) if results.page > 1 else "",
        "next_url": (
            search_url(query, page=results.page + 1) if results.page < results.pages else ""
        ),
        "suggestion_url": (search_url(query, q=results.suggestion) if results.suggestion else ""),
        "past_the_end": results.total > 0 and not results.hits,
        "last_page_url": search_url(query, page=max(results.pages, 1)),
    }


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
    """Matches per year (per month once a year is chosen), as bars that narrow the search.

    Geometry is computed here so the template only prints numbers into an inline SVG: the chart
    needs no JavaScript and no charting library.
    """
    bars = _year_bars(query, results) if query.year is None else _month_bars(query, results)
    if bars is None:
        return None
    caption = "Matches per year" if query.year is None else f"Matches per month in {query.year}"
    _lay_out(bars)
    return Chart(caption, bars, CHART_WIDTH, CHART_HEIGHT + CHART_LABELS, CHART_HEIGHT)


def _counts(results: SearchResults, name: str) -> dict[int, int]:
    return {int(value.value): value.count for value in results.facets.get(name, [])}


def _year_bars(query: SearchQuery, results: SearchResults) -> list[Bar] | None:
    counts = _counts(results, "year")
    if not counts:
        return None
    years = sorted(counts)
    if years[-1] - years[0] < MAX_FILLED_YEARS:
        years = list(range(years[0], years[-1] + 1))
    return [
        Bar(
            label=str(year),
            title=f"{year}: {_matches(counts.get(year, 0))}",
            count=counts.get(year, 0),
            url=search_url(query, year=year) if counts.get(year) else None,
            selected=False,
        )
        for year in years
    ]


def _month_bars(query: SearchQuery, results: SearchResults) -> list[Bar] | None:
    counts = _counts(results, "month")
    if not any(counts.values()):
        return None
    return [
        Bar(
            label=month_name(month)[:3],
            title=f"{month_name(month)} {query.year}: {_matches(counts.get(month, 0))}",
            count=counts.get(month, 0),
            url=search_url(query, month=month) if counts.get(month) else None,
            selected=month == query.month,
        )
        for month in range(1, 13)
    ]


def _lay_out(bars: list[Bar]) -> None:
    """Bar positions and heights in the chart's coordinates, and which axis labels show."""
    peak = max(bar.count for bar in bars) or 1
    slot = CHART_WIDTH / len(bars)
    every = max(1, round(len(bars) / 12))  # at most about a dozen axis labels
    shown = 0
    for n, bar in enumerate(bars):
        bar.width = round(max(slot * 0.8, 1), 2)
        bar.x = round(n * slot + (slot - bar.width) / 2, 2)
        bar.height = round(CHART_HEIGHT * bar.count / peak, 2) if bar.count else 0
        bar.y = round(CHART_HEIGHT - bar.height, 2)
        bar.label_x = round(n * slot + slot / 2, 2)
        bar.show_label = n % every == 0
        if bar.show_label:
            bar.minor_label = len(bars) > 6 and shown % 2 == 1
            shown += 1


def _matches(count: int) -> str:
    return f"{count} matching article{'' if count == 1 else 's'}"


def page_links(query: SearchQuery, results: SearchResults) -> list[PageLink]:
    """Page numbers around the current page, with the first and last always reachable."""
    if results.pages <= 1:
        return []
    current, last = results.page, results.pages
    wanted = {1, last, *range(current - PAGE_WINDOW, current + PAGE_WINDOW + 1)}
    links: list[PageLink] = []
    previous = 0
    for number in sorted(n for n in wanted if 1 <= n <= last):
        if number - previous > 1:
            links.append(PageLink(None))
        links.append(PageLink(number, search_url(query, page=number), number == current))
        previous = number
    return links
