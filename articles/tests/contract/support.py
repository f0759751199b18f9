"""Small helpers the contract tests share: reading results the way a test states them."""

from __future__ import annotations

import datetime as dt


def day(year: int, month: int = 1, date: int = 1, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, date, hour, tzinfo=dt.UTC)


def titles(results) -> list[str]:
    return [hit.title for hit in results.hits]


def facet(results, name: str) -> dict[str, int]:
    return {v.label: v.count for v in results.facets[name]}


def selected(results, name: str) -> list[str]:
    return [v.label for v in results.facets[name] if v.selected]
