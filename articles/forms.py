"""The search form: checks the GET parameters of a search and turns them into a `SearchQuery`.

One form serves the HTML search page and the JSON API, so both accept and refuse exactly the same
input. The reverse direction lives here too (`search_params`, `search_url`): a search's whole state
is its URL, and every link that changes one filter is built from the query by one set of rules.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.http import urlencode

from articles.search import SearchQuery
from articles.search.facets import DATE_PARTS
from articles.search.rules import (
    DEFAULT_PER_PAGE,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_CHARS,
    SORT_NAMES,
    SORTS,
)

MAX_FILTER_VALUES = 50
MIN_YEAR, MAX_YEAR = 1, 9999


def _one_of(names: tuple[str, ...]) -> str:
    """Names as a reader lists them: `a, b or c`."""
    return f"{', '.join(names[:-1])} or {names[-1]}"


def _messages(text: str) -> dict[str, str]:
    """The same plain-language message for every way a number can be wrong."""
    return {"invalid": text, "min_value": text, "max_value": text, "required": text}


class ValueListField(forms.Field):
    """A repeatable parameter (`?source=AFP&source=Reuters`) as a tuple of distinct values.

    Unknown names are not errors: they simply match nothing, as in any search box.
    """

    widget = forms.MultipleHiddenInput

    def __init__(self, *, label_name: str, **kwargs: Any) -> None:
        self.label_name = label_name
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> tuple[str, ...]:
        if not value:
            return ()
        if isinstance(value, str):
            value = [value]
        cleaned = (" ".join(str(v).split()) for v in value)
        return tuple(dict.fromkeys(v for v in cleaned if v))

    def validate(self, value: tuple[str, ...]) -> None:
        if len(value) > MAX_FILTER_VALUES:
            raise forms.ValidationError(
                f"Choose at most {MAX_FILTER_VALUES} {self.label_name} values.", code="too_many"
            )
        if any(len(v) > 200 for v in value):
            raise forms.ValidationError(
                f"A {self.label_name} name can be at most 200 characters long.", code="too_long"
            )


class SearchForm(forms.Form):
    """The GET parameters of a search, checked one by one so a single bad value is reported
    precisely while the rest of the search still works on the HTML page."""

    q = forms.CharField(
        required=False,
        max_length=MAX_QUERY_CHARS,
        error_messages={
            "max_length": f"The search can be at most {MAX_QUERY_CHARS} characters long."
        },
    )
    source = ValueListField(required=False, label_name="source")
    section = ValueListField(required=False, label_name="section")
    year = forms.IntegerField(
        required=False,
        min_value=MIN_YEAR,
        max_value=MAX_YEAR,
        error_messages=_messages("The year must be a number such as 1987."),
    )
    month = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=12,
        error_messages=_messages("The month must be a number from 1 to 12."),
    )
    day = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=31,
        error_messages=_messages("The day must be a number from 1 to 31."),
    )
    date_from = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "The start date must be a real date written YYYY-MM-DD."},
    )
    date_to = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "The end date must be a real date written YYYY-MM-DD."},
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[("", "Default"), *SORTS],
        error_messages={"invalid_choice": f"Sort must be one of {_one_of(SORT_NAMES)}."},
    )
    page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PAGE,
        error_messages=_messages(f"The page must be a whole number from 1 to {MAX_PAGE}."),
    )
    collapse = forms.ChoiceField(
        required=False,
        choices=[("", "Default"), ("1", "Fold versions"), ("0", "Every version")],
        error_messages={"invalid_choice": "Collapse must be 1 (fold versions) or 0."},
    )
    per_page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PER_PAGE,
        error_messages=_messages(
            f"Results per page must be a whole number from 1 to {MAX_PER_PAGE}."
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        year, month, day = data.get("year"), data.get("month"), data.get("day")
        if month is not None and year is None and "year" not in self.errors:
            self.add_error("month", "Choose a year before choosing a month.")
        if day is not None and month is None and "month" not in self.errors:
            self.add_error("day", "Choose a month before choosing a day.")
        elif None not in (year, month, day):
            try:
                datetime.date(year, month, day)
            except ValueError:
                self.add_error("day", f"{year:04d}-{month:02d}-{day:02d} is not a real date.")
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def error_message(self) -> str:
        """Every problem as one sentence list, for the API's `error` and the page's notice."""
        return " ".join(str(message) for errors in self.errors.values() for message in errors)

    def to_query(self) -> SearchQuery:
        """The search the parameters ask for, built from the valid ones only.

        A bad value is dropped rather than failing the whole search, so the HTML page can show
        both the problem and the results of everything else; the API refuses before calling this.
        """
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        data = self.cleaned_data
        return SearchQuery(
            q=data.get("q") or "",
            sources=tuple(data.get("source") or ()),
            sections=tuple(data.get("section") or ()),
            year=data.get("year"),
            month=data.get("month") if data.get("year") is not None else None,
            day=data.get("day") if data.get("month") is not None else None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            sort=data.get("sort") or "",
            page=data.get("page") or 1,
            per_page=data.get("per_page") or DEFAULT_PER_PAGE,
            collapse=data.get("collapse") != "0",
        )


def search_params(query: SearchQuery) -> list[tuple[str, str]]:
    """The canonical GET parameters of a query, in a fixed order and without defaults.

    The inverse of `SearchForm(...).to_query()`; one order means one URL per search, which
    keeps links comparable in tests and cacheable in browsers.
    """
    params: list[tuple[str, str]] = []
    if query.q:
        params.append(("q", query.q))
    params += [("source", value) for value in query.sources]
    params += [("section", value) for value in query.sections]
    for name in ("year", "month", "day"):
        value = getattr(query, name)
        if value is not None:
            params.append((name, str(value)))
    for name in ("date_from", "date_to"):
        value = getattr(query, name)
        if value:
            params.append((name, value.isoformat() if hasattr(value, "isoformat") else value))
    if query.sort:
        params.append(("sort", query.sort))
    if query.per_page != DEFAULT_PER_PAGE:
        params.append(("per_page", str(query.per_page)))
    if not query.collapse:
        params.append(("collapse", "0"))
    if query.page != 1:
        params.append(("page", str(query.page)))
    return params


def search_url(query: SearchQuery, **changes: Any) -> str:
    """The search page URL of `query` with `changes` applied.

    Any change other than the page itself starts again from page 1, because page 7 of the old
    filters means nothing under the new ones. Changing the year drops the month and day chosen
    within it, and changing the month drops the day.
    """
    if changes and "page" not in changes:
        changes["page"] = 1
    for coarser, finer in zip(DATE_PARTS, DATE_PARTS[1:], strict=False):
        if changes.get(coarser, getattr(query, coarser)) != getattr(query, coarser):
            changes.setdefault(finer, None)
    if changes:
        query = dataclasses.replace(query, **changes)
    params = search_params(query)
    base = reverse("articles:search")
    return f"{base}?{urlencode(params)}" if params else base


def toggled(values: Iterable[str], value: str) -> tuple[str, ...]:
    """`values` with `value` added, or removed when already there (a facet checkbox's click)."""
    values = tuple(values)
    if value in values:
        return tuple(v for v in values if v != value)
    return (*values, value)
