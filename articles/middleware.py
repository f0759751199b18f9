"""Middleware of the archive's own."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from articles.search import SearchUnavailable
from articles.views import search_unavailable


class SearchOutageMiddleware:
    """A search that cannot reach its index is an outage, answered 503 wherever it is met:
    the results page, the JSON API, a feed, an export. One place, so no view can forget it
    and no outage can pass for "no results" or a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, SearchUnavailable):
            return search_unavailable(request)
        return None
