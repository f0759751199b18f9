"""The trends form: checks the GET parameters of a trends chart and turns them into a
``TrendsQuery``; and the way back, a ``TrendsQuery`` as its canonical URL.

One form for the page, the CSV download and the JSON API, so the three accept and refuse the
same input: ``q`` repeated once per search (blank ones are dropped, repeats kept once, at most
``trends.MAX_QUERIES``), ``source`` and ``section`` as on the search page, ``by=month|year``
and ``per1000=1``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.http import urlencode

from articles.forms import ValueListField
from articles.search.rules import MAX_QUERY_CHARS
from articles.trends import GRANULARITIES, MAX_QUERIES, TrendsQuery


class QueryListField(ValueListField):
    """The searches to compare: each at most as long as the search box allows."""

    def validate(self, value: tuple[str, ...]) -> None:
        if not value:
            raise forms.ValidationError(
                "Type at least one search to chart, for example oil, then add more to compare.",
                code="required",
            )
        if len(value) > MAX_QUERIES:
            raise forms.ValidationError(
                f"Compare at most {MAX_QUERIES} searches at once (this asked for {len(value)}).",
                code="too_many",
            )
        if any(len(v) > MAX_QUERY_CHARS for v in value):
            raise forms.ValidationError(
                f"A search can be at most {MAX_QUERY_CHARS} characters long.", code="too_long"
            )


class TrendsForm(forms.Form):
    q = QueryListField(required=False, label_name="search")
    source = ValueListField(required=False, label_name="source")
    section = ValueListField(required=False, label_name="section")
    by = forms.ChoiceField(
        required=False,
        choices=[("", "Automatic"), *((g, f"{g.capitalize()}s") for g in GRANULARITIES)],
        error_messages={"invalid_choice": "by must be month or year (or left out)."},
    )
    per1000 = forms.BooleanField(required=False)

    def error_message(self) -> str:
        """Every problem as one sentence list, for the API's ``error`` and the page's notice."""
        return " ".join(str(message) for errors in self.errors.values() for message in errors)

    def to_query(self) -> TrendsQuery:
        """The chart the valid parameters ask for; too many searches keep the first few, so
        the page can show the chart beside the notice."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        data = self.cleaned_data
        queries = data.get("q")
        if queries is None:  # invalid: read again, without the checks that refused it
            raw = self.data.getlist("q") if hasattr(self.data, "getlist") else self.data.get("q")
            queries = self.fields["q"].to_python(raw)
        return TrendsQuery(
            queries=tuple(q for q in queries if len(q) <= MAX_QUERY_CHARS)[:MAX_QUERIES],
            sources=tuple(data.get("source") or ()),
            sections=tuple(data.get("section") or ()),
            by=data.get("by") or "",
            per_1000=bool(data.get("per1000")),
        )


def trends_params(request: TrendsQuery) -> list[tuple[str, str]]:
    """The canonical GET parameters of a trends chart, in a fixed order, without defaults."""
    params = [("q", q) for q in request.queries]
    params += [("source", value) for value in request.sources]
    params += [("section", value) for value in request.sections]
    if request.by:
        params.append(("by", request.by))
    if request.per_1000:
        params.append(("per1000", "1"))
    return params


def trends_url(request: TrendsQuery, name: str = "articles:trends", **changes: Any) -> str:
    """The URL of the trends page (or of its download, by ``name``) for ``request``."""
    if changes:
        request = dataclasses.replace(request, **changes)
    params = trends_params(request)
    base = reverse(name)
    return f"{base}?{urlencode(params)}" if params else base
