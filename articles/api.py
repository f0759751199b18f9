"""The JSON API: the same search as the HTML page, as data for scripts and the page's own JS.

It shares `SearchForm` with the page, so both accept the same parameters; unlike the page it
refuses a bad parameter outright with a 400 and `{"error": ...}`, since a script is better served
by a clear failure than by results for a different question. An index outage is a 503 with
`{"error": ...}`, never an empty result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.text import Truncator
from django.views.decorators.http import require_safe

from articles import threads
from articles.export_views import api_format_response
from articles.forms import SearchForm, search_params
from articles.models import Article
from articles.search import more_like_this, search
from articles.search.rules import SNIPPET_CHARS

if TYPE_CHECKING:
    from articles.search import FacetValue, Hit, SearchResults


def iso(value: Any) -> str | None:
    """A date or datetime as ISO 8601 (None stays None), whatever type the index returns."""
    return value.isoformat() if value is not None else None


def facet_json(facet: FacetValue) -> dict[str, Any]:
    return {"value": str(facet.value), "count": facet.count, "selected": bool(facet.selected)}


def hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "id": hit.id,
        "title": hit.title,
        "url": hit.url,
        "source": hit.source,
        "section": hit.section,
        "published": iso(hit.published),
        "snippet": str(hit.snippet),
        # The story thread (None for an article without other versions) and how many of its
        # versions match; with collapse on, the others are listed here rather than as hits.
        "thread": hit.thread,
        "versions": hit.version_count,
        "other_versions": [
            {
                "id": version.id,
                "title": version.title,
                "url": version.url,
                "source": version.source,
                "published": iso(version.published),
            }
            for version in hit.versions
        ],
    }


def results_json(query_text: str, filters: dict, results: SearchResults) -> dict[str, Any]:
    """The search as JSON; facets in the order the search page lists them."""
    return {
        "query": query_text,
        "filters": filters,
        # With `collapsed`, `total` and `pages` count stories (a thread once) and `articles`
        # every matching version; facet counts always count articles.
        "total": results.total,
        "articles": results.articles,
        "collapsed": results.collapsed,
        "page": results.page,
        "pages": results.pages,
        "per_page": results.per_page,
        "results": [hit_json(hit) for hit in results.hits],
        "facets": {
            name: [facet_json(value) for value in values]
            for name, values in (results.facets or {}).items()
        },
        "suggestion": results.suggestion,
        # A query the parser could not read fully: still a 200 with whatever it did match.
        "query_error": results.error,
    }


@require_safe
def search_api(request: HttpRequest) -> HttpResponse:
    """`GET /api/search`: hits, facets and suggestion for the page's parameters.

    `format=csv|jsonl|atom` gives every match as a file, or the search's feed, instead.
    `query` echoes the query text; `filters` echoes every other parameter as understood, so a
    client can see how its request was read. A page past the end is an empty page, not an error.
    """
    form = SearchForm(request.GET)
    if not form.is_valid():
        errors = {
            name: [str(message) for message in messages] for name, messages in form.errors.items()
        }
        return JsonResponse({"error": form.error_message(), "errors": errors}, status=400)
    query = form.to_query()
    fmt = request.GET.get("format") or "json"
    if fmt != "json":  # the same search as a file or a feed (articles.export_views)
        return api_format_response(request, query, fmt)
    filters: dict[str, Any] = {}
    for name, value in search_params(query):
        if name in ("source", "section"):
            filters.setdefault(name, []).append(value)
        elif name != "q":
            filters[name] = value
    results = search(query)  # an outage: SearchOutageMiddleware's 503
    return JsonResponse(results_json(query.q, filters, results))


@require_safe
def article_api(request: HttpRequest, pk: int) -> JsonResponse:
    """`GET /api/articles/<id>`: the result fields plus the full body and related ids."""
    article = Article.objects.select_related("source", "section").filter(pk=pk).first()
    if article is None:
        return JsonResponse({"error": f"No article with id {pk}."}, status=404)
    related = [i for i in more_like_this(article.pk) if i != article.pk]
    versions = threads.versions(article)
    return JsonResponse(
        {
            "id": article.pk,
            "title": article.title,
            "url": article.get_absolute_url(),
            "source": article.source.name if article.source else None,
            "section": article.section.name if article.section else None,
            "published": iso(article.published),
            # No search words to mark here: the opening of the body, escaped like a result's.
            "snippet": escape(Truncator(" ".join(article.body.split())).chars(SNIPPET_CHARS)),
            "body": article.body,
            "related": related,
            "thread": article.thread,
            "versions": 1 + len(versions),
            "other_versions": [
                {
                    "id": version.pk,
                    "title": version.title,
                    "url": version.get_absolute_url(),
                    "source": version.source.name if version.source else "",
                    "published": iso(version.published),
                }
                for version in versions
            ],
        }
    )
