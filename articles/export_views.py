"""The views behind a search's downloads: `/search/export.csv` and `/search/export.jsonl`, and
the JSON API's `format=csv|jsonl|atom`. Thin: parameters -> `exports` service -> streamed file.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.http import require_safe

from articles.exports import BadSearch, export_response, plan_export, query_from_params, wants_body
from articles.feeds import SearchFeed
from articles.search import SearchQuery

# What the API's `format=` accepts besides its own JSON, each answered as the page's twin is.
API_FORMATS = ("csv", "jsonl", "atom")


@require_safe
def search_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every article the search matches (up to the export cap), as a file to download.

    Takes the results page's parameters, plus `body=1` for the articles' text; paging is
    ignored. Bad parameters are a 400 with the reason, as plain text.
    """
    try:
        plan = plan_export(query_from_params(request.GET), fmt, wants_body(request.GET))
    except BadSearch as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    return export_response(request, plan)


def api_format_response(request: HttpRequest, query: SearchQuery, fmt: str) -> HttpResponse:
    """`/api/search?format=...` other than JSON: the same export or feed, errors as JSON."""
    if fmt not in API_FORMATS:
        choices = ", ".join(("json", *API_FORMATS))
        return JsonResponse({"error": f"format must be one of {choices}."}, status=400)
    if fmt == "atom":
        return SearchFeed()(request)
    return export_response(request, plan_export(query, fmt, wants_body(request.GET)))
