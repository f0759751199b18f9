"""Facets: which ones a search shows, and each of their values shaped once for every surface.

Shaped like Datasette's facets: a small class per kind of facet, and results as plain data
(``FacetValue``: value, label, count, selected, and ``toggle``, the change to the search that
selects or unselects the value). A backend only counts: it returns ``(value, label, count)``
triples per facet, each facet counted without the selections ``counted_without`` names: its
own (so a reader can widen a choice as easily as narrow it), and for the year and month the
finer date parts too, to match where their links lead (another year drops the month and day,
another month the day). This module does the rest, in one place for the search page, the JSON
API and the date archive: which facets apply (month only once a year is chosen, day only once
a month is), their titles, which values are selected (a selected value the counts no longer
mention stays listed at count 0, so it can be unselected), how values are labelled and in
what order they come.

To add a facet: a ``Facet`` subclass in ``FACETS`` here, its counts in each backend (named by
``Facet.name``), and the ``SearchQuery`` field and form parameter it narrows by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.dates import MONTHS

from .rules import label_key

if TYPE_CHECKING:
    from . import SearchQuery

#: What a backend returns for one facet: (value, label, count) triples, any order.
FacetCounts = list[tuple[str, str, int]]


@dataclass
class FacetValue:
    """One value of a facet as every surface shows it."""

    value: str
    label: str
    count: int
    selected: bool
    #: The ``SearchQuery`` fields to replace to select this value (or, when selected, to
    #: unselect it), e.g. ``{"sources": ("AFP", "Reuters")}`` or ``{"year": None}``.
    toggle: dict[str, Any] = field(default_factory=dict)


def month_name(month: int) -> str:
    """The name of a month (1-12) in the site's language; other numbers as digits."""
    return str(MONTHS.get(month, month))


#: The date facets, coarsest first. Choosing another value of one drops the finer parts chosen
#: within it (``forms.search_url``: another year drops the month and day), so its counts
#: leave them out too (``counted_without``).
DATE_PARTS = ("year", "month", "day")


def counted_without(name: str) -> frozenset[str]:
    """The selections facet ``name`` is counted without, so that each count equals the total
    its link lands on: its own selection, and for a date facet the finer date parts as well
    (the year counts ignore a chosen month and day, the month counts a chosen day).

    Every backend leaves these out when counting (``SearchBackend.search``).
    """
    if name in DATE_PARTS:
        return frozenset(DATE_PARTS[DATE_PARTS.index(name) :])
    return frozenset({name})


class Facet:
    """One facet: its name, when it applies, what is selected and how values are shown."""

    name: str = ""
    #: Several values at once (checkboxes, combined with OR) rather than one (links).
    multiple: bool = False

    def applies(self, query: SearchQuery) -> bool:
        return True

    def title(self, query: SearchQuery) -> str:
        return self.name.capitalize()

    def selected(self, query: SearchQuery) -> set[str]:
        """The selected values, as the query holds them (compared with counts by ``key``)."""
        return set()

    def key(self, value: str) -> str:
        return value

    def label(self, value: str, reported: str) -> str:
        """The label shown for a value; ``reported`` is what the backend said."""
        return reported

    def sort_key(self, item: FacetValue) -> tuple:
        return (-item.count, item.label.casefold())

    def toggle(self, query: SearchQuery, value: str, selected: bool) -> dict[str, Any]:
        """The query changes that select ``value``, or unselect it when ``selected``."""
        raise NotImplementedError

    def results(self, counts: FacetCounts, query: SearchQuery) -> list[FacetValue]:
        chosen = {self.key(v) for v in self.selected(query)}
        reported = {self.key(value): (value, label, int(count)) for value, label, count in counts}
        for value in self.selected(query):
            reported.setdefault(self.key(value), (value, value, 0))
        out = [
            self._value(query, value, label, count, key in chosen)
            for key, (value, label, count) in reported.items()
            if count > 0 or key in chosen
        ]
        return sorted(out, key=self.sort_key)

    def _value(
        self, query: SearchQuery, value: str, label: str, count: int, selected: bool
    ) -> FacetValue:
        return FacetValue(
            value=value,
            label=self.label(value, label),
            count=count,
            selected=selected,
            toggle=self.toggle(query, value, selected),
        )


class LabelFacet(Facet):
    """Source or section: values are display names, matched by their label key, any number
    selected at once."""

    multiple = True

    def __init__(self, name: str, attr: str) -> None:
        self.name = name
        self.attr = attr  # the SearchQuery field holding the selection

    def selected(self, query: SearchQuery) -> set[str]:
        return {v for v in getattr(query, self.attr) if label_key(v)}

    def key(self, value: str) -> str:
        return label_key(value)

    def toggle(self, query: SearchQuery, value: str, selected: bool) -> dict[str, Any]:
        chosen: tuple[str, ...] = getattr(query, self.attr)
        if selected:
            return {self.attr: tuple(v for v in chosen if label_key(v) != label_key(value))}
        return {self.attr: (*chosen, value)}


class DateFacet(Facet):
    """Year, month or day of publication: one value at a time, in calendar order."""

    def selected(self, query: SearchQuery) -> set[str]:
        chosen = getattr(query, self.name)
        return {str(chosen)} if chosen else set()

    def sort_key(self, item: FacetValue) -> tuple:
        return (int(item.value),)

    def toggle(self, query: SearchQuery, value: str, selected: bool) -> dict[str, Any]:
        return {self.name: None if selected else int(value)}


class YearFacet(DateFacet):
    name = "year"


class MonthFacet(DateFacet):
    name = "month"

    def applies(self, query: SearchQuery) -> bool:
        return query.year is not None

    def title(self, query: SearchQuery) -> str:
        return f"Month of {query.year}"

    def label(self, value: str, reported: str) -> str:
        return month_name(int(value)) if value.isdigit() else reported


class DayFacet(DateFacet):
    name = "day"

    def applies(self, query: SearchQuery) -> bool:
        return query.year is not None and query.month is not None

    def title(self, query: SearchQuery) -> str:
        return f"Day of {month_name(query.month or 0)}"


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
    """Every facet this query shows, in display order, shaped from the backend's counts (a
    facet the counts leave out lists only its selected values)."""
    return {
        facet.name: facet.results(counts.get(facet.name, []), query) for facet in facets_for(query)
    }
