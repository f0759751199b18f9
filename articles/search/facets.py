"""Facet definitions: which facets a search shows and how their counts read.

Shaped like Datasette's facets: a small class per kind of facet, and results as plain data
(``value``, ``label``, ``count``, ``selected``). A backend only counts: it returns
``(value, label, count)`` triples per facet, counted as if that facet's own selection were absent
(so a reader can widen a choice as easily as narrow it). This module decides which facets apply
(month only once a year is chosen, day only once a month is), marks what is selected and orders
the values.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import SearchQuery

#: What a backend returns for one facet: (value, label, count) triples, any order.
FacetCounts = list[tuple[str, str, int]]


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@lru_cache(maxsize=4096)
def _label_key(value: str) -> str:
    # Imported here: the search package must import without Django's app registry (index
    # sub-writers started with spawn import it to unpickle the codec; see whoosh/codec.py).
    from articles.models import label_key

    return label_key(value)


class Facet:
    """One facet: its name, when it applies, what is selected and how values are ordered."""

    name: str = ""

    def applies(self, query: SearchQuery) -> bool:
        return True

    def selected(self, query: SearchQuery) -> set[str]:
        """The selected values, in the form the backend reports them (compared by ``key``)."""
        return set()

    def key(self, value: str) -> str:
        return value

    def sort_key(self, item: FacetValue) -> tuple:
        return (-item.count, item.label.casefold())

    def results(self, counts: FacetCounts, query: SearchQuery) -> list[FacetValue]:
        chosen = {self.key(v) for v in self.selected(query)}
        out: dict[str, FacetValue] = {}
        for value, label, count in counts:
            if count <= 0 and self.key(value) not in chosen:
                continue
            out[self.key(value)] = FacetValue(
                value=value,
                label=self.label(value, label),
                count=int(count),
                selected=self.key(value) in chosen,
            )
        for value in self.selected(query):
            # A selected value stays listed (with a zero count) so it can be un-selected.
            if self.key(value) not in out:
                out[self.key(value)] = FacetValue(
                    value=value, label=self.label(value, value), count=0, selected=True
                )
        return sorted(out.values(), key=self.sort_key)

    def label(self, value: str, reported: str) -> str:
        """The label shown for a value; ``reported`` is what the backend said."""
        return reported


class LabelFacet(Facet):
    """Source or section: values are display names, matched case-insensitively."""

    def __init__(self, name: str, attr: str) -> None:
        self.name = name
        self.attr = attr

    def selected(self, query: SearchQuery) -> set[str]:
        return {v for v in getattr(query, self.attr) if _label_key(v)}

    def key(self, value: str) -> str:
        return _label_key(value)


class YearFacet(Facet):
    name = "year"

    def selected(self, query: SearchQuery) -> set[str]:
        return {str(query.year)} if query.year else set()

    def sort_key(self, item: FacetValue) -> tuple:
        return (int(item.value),)


class MonthFacet(Facet):
    name = "month"

    def applies(self, query: SearchQuery) -> bool:
        return query.year is not None

    def selected(self, query: SearchQuery) -> set[str]:
        return {str(query.month)} if query.month else set()

    def label(self, value: str, reported: str) -> str:
        if value.isdigit() and 1 <= int(value) <= 12:
            return calendar.month_name[int(value)]
        return reported

    def sort_key(self, item: FacetValue) -> tuple:
        return (int(item.value),)


class DayFacet(Facet):
    name = "day"

    def applies(self, query: SearchQuery) -> bool:
        return query.year is not None and query.month is not None

    def selected(self, query: SearchQuery) -> set[str]:
        return {str(query.day)} if query.day else set()

    def sort_key(self, item: FacetValue) -> tuple:
        return (int(item.value),)


FACETS: tuple[Facet, ...] = (
    LabelFacet("source", "sources"),
    LabelFacet("section", "sections"),
    YearFacet(),
    MonthFacet(),
    DayFacet(),
)


def facets_for(query: SearchQuery) -> list[Facet]:
    """The facets this query shows, in display order."""
    return [facet for facet in FACETS if facet.applies(query)]


def facet_results(
    query: SearchQuery, counts: dict[str, FacetCounts]
) -> dict[str, list[FacetValue]]:
    return {
        facet.name: facet.results(counts.get(facet.name, []), query) for facet in facets_for(query)
    }
