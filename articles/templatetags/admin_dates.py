"""The article list's date drill-down, without reading every row for its years.

Django's ``date_hierarchy`` lists the years by truncating the date of every row of the list
(on SQLite, a Python function call per row: about two seconds at 300,000 articles). The years
here come from the newest and oldest dates and one indexed ``exists()`` per year in between;
the month and day levels, already bounded by a year, are Django's own.
"""

from __future__ import annotations

import datetime

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.contrib.admin.views.main import ChangeList
from django.db.models import Max, Min
from django.utils import timezone

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def article_date_hierarchy(cl: ChangeList) -> dict:
    field = cl.date_hierarchy
    if any(name.startswith(f"{field}__") for name in cl.params):
        return date_hierarchy(cl)
    # Two queries, not one: SQLite answers a lone MIN or MAX from the index, both at once by
    # reading the whole table.
    bounds = {**cl.queryset.aggregate(first=Min(field)), **cl.queryset.aggregate(last=Max(field))}
    if bounds["first"] is None:
        return {"show": False}
    first, last = (timezone.localtime(bounds[k]) for k in ("first", "last"))
    if first.year == last.year:
        return date_hierarchy(cl)  # Django starts with that year's months
    if cl.query:  # search results: at most a thousand rows, read their dates at once
        dates = cl.queryset.order_by().values_list(field, flat=True)
        years = sorted({timezone.localtime(d).year for d in dates if d is not None})
    else:
        years = [year for year in range(first.year, last.year + 1) if _has(cl, field, year)]
    return {
        "show": True,
        "choices": [
            {"link": cl.get_query_string({f"{field}__year": year}, [f"{field}__"]), "title": year}
            for year in years
        ],
    }


def _has(cl: ChangeList, field: str, year: int) -> bool:
    zone = timezone.get_current_timezone()
    start = datetime.datetime(year, 1, 1, tzinfo=zone)
    end = datetime.datetime(year + 1, 1, 1, tzinfo=zone)
    return cl.queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end}).exists()
