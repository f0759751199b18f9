"""Date facets and date selections as comparisons of ``published`` with instants.

The archive's calendar (its time zone, daylight saving included) is applied in Python: the
first instant of each year, month or day is computed with ``zoneinfo``, and PostgreSQL only
compares timestamps. A row's year is then ``width_bucket(published, <year starts>)``, a binary
search, and a chosen year is a range that the ``published`` index can answer. Converting every
match with ``AT TIME ZONE`` and ``date_part`` cost about a fifth of a broad search's time at
100,000 articles. Where the instants would be too many to list (a month facet without a chosen
year, a day facet without a chosen month) the part is computed per row, as before.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .. import Filters
from .compiler import local_midnight

#: The date facets and selections, coarse to fine.
PARTS = ("year", "month", "day")


@dataclass(frozen=True)
class Buckets:
    """The first instant of each of a run of years, months or days, and the instant after the
    last: ``width_bucket(published, starts)`` is then 1 for the first period, and so on."""

    starts: tuple[datetime, ...]
    first_value: int

    def sql(self) -> str:
        literal = ",".join(f'"{s.isoformat(sep=" ")}"' for s in self.starts)
        return f"width_bucket(a.published, '{{{literal}}}'::timestamptz[])"

    def value(self, bucket: int) -> int | None:
        """The year, month or day of bucket number ``bucket`` (None outside the run)."""
        if 1 <= bucket < len(self.starts):
            return self.first_value + bucket - 1
        return None


def buckets(name: str, filters: Filters, years: tuple[int, int] | None, tz: Any) -> Buckets | None:
    """The periods facet ``name`` counts in, when its rows are confined to a known span: the
    data's years for the year facet, the chosen year's months, the chosen month's days. None
    when they are not (the part is then computed per row)."""
    if name == "year":
        if years is None:
            return None
        first, last = years
        starts = [local_midnight(date(y, 1, 1), tz) for y in range(first, last + 2)]
        return Buckets(tuple(starts), first)
    if name == "month" and filters.year is not None:
        starts = [local_midnight(date(filters.year, m, 1), tz) for m in range(1, 13)]
        starts.append(local_midnight(date(filters.year + 1, 1, 1), tz))
        return Buckets(tuple(starts), 1)
    if name == "day" and filters.year is not None and filters.month is not None:
        year, month = filters.year, filters.month
        days = calendar.monthrange(year, month)[1]
        starts = [local_midnight(date(year, month, d), tz) for d in range(1, days + 1)]
        starts.append(local_midnight(_next_month(year, month), tz))
        return Buckets(tuple(starts), 1)
    return None


def facet_key(name: str, bucketed: Buckets | None, tz: Any) -> str:
    """The SQL for a row's value of date facet ``name`` (a bucket number when bucketed)."""
    if bucketed is not None:
        return bucketed.sql()
    return f"date_part('{name}', {_local('a.published', tz)})::int"


def selections(filters: Filters, tz: Any) -> dict[str, str]:
    """Per chosen date part, an SQL test of a row that is never NULL. A year, the month of a
    chosen year and the day of a chosen month are ranges of ``published``."""
    out: dict[str, str] = {}
    chosen = {part: getattr(filters, part) for part in PARTS}
    for index, part in enumerate(PARTS):
        value = chosen[part]
        if value is None:
            continue
        coarser = [chosen[p] for p in PARTS[:index]]
        if all(v is not None for v in coarser):
            try:
                first = date(*[*coarser, value], *[1] * (2 - index))
            except ValueError:  # no such day (or month): nothing was published on it
                out[part] = "FALSE"
                continue
            after = _after(first, part)
            test = (
                f"a.published >= '{local_midnight(first, tz).isoformat(sep=' ')}' "
                f"AND a.published < '{local_midnight(after, tz).isoformat(sep=' ')}'"
            )
        else:
            test = f"date_part('{part}', {_local('a.published', tz)}) = {int(value)}"
        out[part] = f"COALESCE({test}, FALSE)"
    return out


def _next_month(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def _after(first: date, part: str) -> date:
    """The first day after the year, month or day that begins on ``first``."""
    if part == "year":
        return date(first.year + 1, 1, 1)
    if part == "month":
        return _next_month(first.year, first.month)
    return date.fromordinal(first.toordinal() + 1)


def _local(column: str, tz: Any) -> str:
    zone = (getattr(tz, "key", None) or str(tz)).replace("'", "''")
    return f"({column} AT TIME ZONE '{zone}')"
