"""Take a search away: every matching article as CSV or JSON Lines, streamed.

A search's export holds exactly what its results page counts, in the page's order, up to
``settings.NEWSARCHIVE_EXPORT_MAX_ROWS`` rows. Rows are read from the database a batch at a
time and written as they are read, so memory stays flat however many rows go out: only the
ids of the matches are held (a few bytes each, at most the cap). When the cap cuts an export,
the response says so in its headers (``X-Export-Truncated: true``, with ``X-Export-Total`` and
``X-Export-Rows``) and in its file name (``...-first-100000.csv``).

The links a results page offers for its search (feed, exports, the JSON API) are built here
too, from the same canonical parameters as the page's own URL.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import slugify

from articles.forms import SearchForm, search_params
from articles.models import Article
from articles.search import SearchQuery, matching_ids

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
}
FIELDS = ("id", "url", "title", "source", "section", "published")
BODY_FIELD = "body"
# Rows read from the database per query: big enough to be quick, small enough to stay flat.
BATCH_SIZE = 500
DEFAULT_MAX_ROWS = 100_000
# Parameters of a results page that mean nothing to its feed or export (they are every match).
PAGING_PARAMS = ("page", "per_page")
#: How the page shows story threads (folded or not): an export has every article either way.
DISPLAY_PARAMS = (*PAGING_PARAMS, "collapse")
TRUE_VALUES = ("1", "true", "yes", "on")
FILENAME_MAX_CHARS = 120


class BadSearch(ValueError):
    """The parameters of a feed or export that cannot be used; the message says why."""


def query_from_params(params: Any) -> SearchQuery:
    """The search a feed or export URL asks for, read by the results page's own form.

    Unlike the page, which runs what it can and explains the rest, a feed or a file for a
    different question than the one asked is worse than a clear refusal.
    """
    form = SearchForm(params)
    if not form.is_valid():
        raise BadSearch(form.error_message())
    return dataclasses.replace(form.to_query(), page=1, collapse=False)


def wants_body(params: Any) -> bool:
    """`body=1` adds each article's full text to an export."""
    return str(params.get(BODY_FIELD, "")).strip().lower() in TRUE_VALUES


def max_rows() -> int:
    return int(getattr(settings, "NEWSARCHIVE_EXPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


# --- the rows ------------------------------------------------------------------------------


def article_rows(
    ids: Iterable[int], absolute: Callable[[str], str], include_body: bool = False
) -> Iterator[dict[str, Any]]:
    """One plain dict per article, in the order of ``ids``, read ``BATCH_SIZE`` rows at a time.

    Articles deleted since the search ran are skipped.
    """
    columns = ["id", "slug", "title", "published", "source__name", "section__name"]
    if include_body:
        columns.append("body")
    rows = Article.objects.select_related("source", "section").only(*columns)
    batch: list[int] = []
    for article_id in ids:
        batch.append(article_id)
        if len(batch) == BATCH_SIZE:
            yield from _batch_rows(rows, batch, absolute, include_body)
            batch = []
    if batch:
        yield from _batch_rows(rows, batch, absolute, include_body)


def _batch_rows(rows, batch: list[int], absolute, include_body: bool) -> Iterator[dict[str, Any]]:
    found = rows.in_bulk(batch)
    for article_id in batch:
        article = found.get(article_id)
        if article is None:
            continue
        row = {
            "id": article.pk,
            "url": absolute(article.get_absolute_url()),
            "title": article.title,
            "source": article.source.name if article.source_id else None,
            "section": article.section.name if article.section_id else None,
            "published": article.published.isoformat() if article.published else None,
        }
        if include_body:
            row[BODY_FIELD] = article.body
        yield row


class _Line:
    """A file-like object whose write() hands back what it was given (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[dict[str, Any]], fields: tuple[str, ...]) -> Iterator[str]:
    """A header line, then one CSV record per row (quoted as the csv module quotes: commas,
    quotes and line breaks inside a title stay inside its field)."""
    writer = csv.writer(_Line())
    yield writer.writerow(fields)
    for row in rows:
        yield writer.writerow(["" if row[name] is None else row[name] for name in fields])


def jsonl_lines(rows: Iterable[dict[str, Any]], fields: tuple[str, ...]) -> Iterator[str]:
    """One JSON object per line (line breaks inside values are escaped by JSON itself)."""
    for row in rows:
        yield json.dumps({name: row[name] for name in fields}, ensure_ascii=False) + "\n"


WRITERS = {"csv": csv_lines, "jsonl": jsonl_lines}


# --- the response --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportPlan:
    """What an export will hold, known before its first byte goes out."""

    query: SearchQuery
    fmt: str
    include_body: bool
    total: int
    ids: list[int]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.ids)

    @property
    def fields(self) -> tuple[str, ...]:
        return (*FIELDS, BODY_FIELD) if self.include_body else FIELDS

    @property
    def filename(self) -> str:
        rows = len(self.ids) if self.truncated else None
        return export_filename(self.query, self.fmt, self.include_body, rows)


def plan_export(query: SearchQuery, fmt: str, include_body: bool = False) -> ExportPlan:
    if fmt not in FORMATS:
        raise BadSearch(f"Unknown export format “{fmt}”; use one of {', '.join(FORMATS)}.")
    total, ids = matching_ids(query, max_rows())
    return ExportPlan(query, fmt, include_body, total, ids)


def export_filename(
    query: SearchQuery, fmt: str, include_body: bool, cut_at: int | None = None
) -> str:
    """A name that says what the file holds: the search's words and filters, whether it has
    the texts, where the cap cut it (`cut_at` rows), and the day it was taken.

    ``newsarchive-cocoa-source-reuters-year-1987-with-text-2026-11-29.csv``
    """
    described = "-".join(
        slugify(f"{name} {value}") if name != "q" else slugify(value)
        for name, value in search_params(query)
        if name not in DISPLAY_PARAMS
    )
    described = described[:FILENAME_MAX_CHARS].strip("-") or "all"
    parts = ["newsarchive", described]
    if include_body:
        parts.append("with-text")
    if cut_at is not None:
        parts.append(f"first-{cut_at}")
    parts.append(timezone.localdate().isoformat())
    return f"{'-'.join(parts)}.{fmt}"


def export_response(request: HttpRequest, plan: ExportPlan) -> StreamingHttpResponse:
    """The export as a download, streamed; its headers say how many rows and whether it was cut."""
    rows = article_rows(plan.ids, request.build_absolute_uri, plan.include_body)
    response = StreamingHttpResponse(
        WRITERS[plan.fmt](rows, plan.fields), content_type=FORMATS[plan.fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="{plan.filename}"'
    response["X-Export-Total"] = str(plan.total)
    response["X-Export-Rows"] = str(len(plan.ids))
    response["X-Export-Truncated"] = "true" if plan.truncated else "false"
    response["X-Export-Max-Rows"] = str(max_rows())
    return response


# --- links for a results page --------------------------------------------------------------


def take_away_params(query: SearchQuery, *, keep_sort: bool = True) -> list[tuple[str, str]]:
    """The page's canonical parameters without paging (and without the order, for feeds,
    which are always newest first)."""
    dropped = DISPLAY_PARAMS if keep_sort else (*DISPLAY_PARAMS, "sort")
    return [(name, value) for name, value in search_params(query) if name not in dropped]


def with_params(path: str, params: list[tuple[str, str]]) -> str:
    """A path with a query string, or the bare path when there are no parameters."""
    return f"{path}?{urlencode(params)}" if params else path


def _url(name: str, params: list[tuple[str, str]], **kwargs: str) -> str:
    return with_params(reverse(name, kwargs=kwargs or None), params)


@dataclass(frozen=True)
class TakeAwayLinks:
    """Where a results page sends a reader who wants to keep or follow its search."""

    feed: str
    csv: str
    jsonl: str
    csv_with_text: str
    jsonl_with_text: str
    json: str


def take_away_links(query: SearchQuery) -> TakeAwayLinks:
    params = take_away_params(query)
    with_text = [*params, (BODY_FIELD, "1")]
    export = "articles:search_export"
    return TakeAwayLinks(
        feed=_url("articles:search_feed", take_away_params(query, keep_sort=False)),
        csv=_url(export, params, fmt="csv"),
        jsonl=_url(export, params, fmt="jsonl"),
        csv_with_text=_url(export, with_text, fmt="csv"),
        jsonl_with_text=_url(export, with_text, fmt="jsonl"),
        json=_url("articles:api_search", search_params(query) or [("q", "")]),
    )
