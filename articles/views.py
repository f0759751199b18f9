"""The archive's HTML pages: home, search, article, browsing by source, section and date.

Views stay thin: the search page runs `SearchForm -> search() -> template` (its sidebar, chips,
chart and page links are built in `articles.search_page`), the rest are ORM queries with
`select_related` so a page costs a fixed number of queries however long its lists.
"""

from __future__ import annotations

import calendar
import datetime
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.db.models import Count, DateField, QuerySet
from django.db.models.functions import Trunc
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe
from django.views.generic import (
    ArchiveIndexView,
    DayArchiveView,
    ListView,
    MonthArchiveView,
    TemplateView,
    YearArchiveView,
)

from articles import threads
from articles.forms import SearchForm, search_url
from articles.help_examples import help_sections, tips
from articles.models import NEWEST_FIRST, Article, Section, Source
from articles.search import (
    SearchQuery,
    SearchUnavailable,
    facet_counts,
    more_like_this,
    search,
)
from articles.search.rules import MAX_PER_PAGE, MAX_QUERY_CHARS, SORT_NAMES
from articles.search_page import page_context, results_navigation

logger = logging.getLogger(__name__)

LATEST_ON_HOME = 10
LABELS_ON_HOME = 12


def article_list(queryset: QuerySet[Article] | None = None) -> QuerySet[Article]:
    """Articles for a list: source and section joined in, so a list costs one query, and
    without the texts (body, original file), which lists never show and which are most of
    a row's size."""
    queryset = Article.objects.all() if queryset is None else queryset
    return queryset.select_related("source", "section").defer("body", "original_text")


def article_page() -> QuerySet[Article]:
    """Articles for their own page: everything but the original file text."""
    return Article.objects.select_related("source", "section").defer("original_text")


@dataclass(frozen=True)
class PeriodCount:
    """One year, month or day of the archive and how many articles it holds."""

    date: datetime.date
    count: int


def period_counts(kind: str, ordering: str = "ASC", **period: int) -> list[PeriodCount]:
    """Articles per year, month or day within a period, from the search service's date facets.

    The index already holds every article's date in the archive's time zone and counts them in
    NumPy; the SQL equivalent runs a Python time-zone function on every row (seconds at
    100,000 articles on SQLite). While search is down, the database answers instead.
    """
    try:
        facets = search(SearchQuery(per_page=1, collapse=False, **period)).facets.get(kind, [])
    except SearchUnavailable:
        return period_counts_from_database(kind, ordering, **period)
    year, month = period.get("year"), period.get("month")
    dates = {
        "year": lambda value: datetime.date(int(value), 1, 1),
        "month": lambda value: datetime.date(year, int(value), 1),
        "day": lambda value: datetime.date(year, month, int(value)),
    }[kind]
    counts = [PeriodCount(dates(f.value), f.count) for f in facets if f.count]
    return sorted(counts, key=lambda p: p.date, reverse=ordering == "DESC")


def period_counts_from_database(
    kind: str, ordering: str = "ASC", **period: int
) -> list[PeriodCount]:
    """`period_counts` by SQL (slower at scale), so browsing by date survives a search outage."""
    lookups = {f"published__{name}": value for name, value in period.items()}
    rows = (
        Article.objects.filter(published__isnull=False, **lookups)
        .annotate(period=Trunc("published", kind, output_field=DateField()))
        .values("period")
        .annotate(count=Count("id"))
        .order_by("period" if ordering == "ASC" else "-period")
    )
    return [PeriodCount(row["period"], row["count"]) for row in rows]


# --- home, help, OpenSearch ---------------------------------------------------------------


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """The front door: a search box, and enough of the archive's shape to start browsing."""
    context = {
        "article_count": Article.objects.count(),
        "latest": article_list().order_by(*NEWEST_FIRST)[:LATEST_ON_HOME],
        "sources": Source.objects.with_counts().filter(article_count__gt=0)[:LABELS_ON_HOME],
        "sections": Section.objects.with_counts().filter(article_count__gt=0)[:LABELS_ON_HOME],
        "years": period_counts("year", ordering="DESC"),
    }
    return render(request, "articles/home.html", context)


class SearchHelpView(TemplateView):
    """The query language, taught by examples that run when clicked."""

    template_name = "articles/search_help.html"
    extra_context = {"sort_names": SORT_NAMES, "max_per_page": MAX_PER_PAGE}

    def get_context_data(self, **kwargs) -> dict:
        """Examples drawn from the archive loaded, so each one finds something here."""
        sections = help_sections()
        example = sections[0][1][0]
        return super().get_context_data(help_sections=sections, api_example=example, **kwargs)


@require_safe
def opensearch(request: HttpRequest) -> HttpResponse:
    """The OpenSearch description, so browsers can offer the archive as a search engine."""
    return render(
        request,
        "articles/opensearch.xml",
        {
            "search_url": request.build_absolute_uri(reverse("articles:search")),
            "api_url": request.build_absolute_uri(reverse("articles:api_search")),
            "self_url": request.build_absolute_uri(reverse("articles:opensearch")),
            "home_url": request.build_absolute_uri(reverse("articles:home")),
        },
        content_type="application/opensearchdescription+xml; charset=utf-8",
    )


# --- search page ---------------------------------------------------------------------------


@require_safe
def search_page(request: HttpRequest) -> HttpResponse:
    """The search results page; the URL holds its whole state.

    A bad parameter never breaks the page: it is named in a notice, left out of the search, and
    the response is a 400 so crawlers and scripts can tell. A malformed query string is not a
    bad parameter: the search service explains it in `results.error` and the page is a 200.
    """
    form = SearchForm(request.GET)
    valid = form.is_valid()
    query = form.to_query()
    results = search(query)  # an outage: SearchOutageMiddleware's 503
    context = {
        "form": form,
        "form_error": "" if valid else form.error_message(),
        # Nothing found: examples of what to try, the help page's, so they find something.
        "tips": tips() if not results.total else {},
        **page_context(query, results),
    }
    return render(request, "articles/search.html", context, status=200 if valid else 400)


# --- article page --------------------------------------------------------------------------


def highlight_words(request: HttpRequest) -> str:
    """The words to mark in an article: `?highlight=`, or the `q` of the search a result link
    carries, else the search the reader came from (Referer)."""
    words = request.GET.get("highlight", "") or request.GET.get("q", "")
    if words:
        return words[:MAX_QUERY_CHARS]
    referer = request.headers.get("referer", "")
    if not referer:
        return ""
    try:
        parts = urlsplit(referer)
    except ValueError:  # a malformed header (e.g. "http://[::1") is no search to follow
        return ""
    if parts.netloc and parts.netloc != request.get_host():
        return ""
    if parts.path != reverse("articles:search"):
        return ""
    return parse_qs(parts.query).get("q", [""])[-1][:MAX_QUERY_CHARS]


def related_articles(article: Article) -> list[Article]:
    """Articles like this one, in the order the search service ranks them, in one query.

    (`more_like_this` answers [] rather than raising, so a broken index never breaks the page.)
    """
    ids = more_like_this(article.pk)
    if not ids:
        return []
    found = article_list().in_bulk([i for i in ids if i != article.pk])
    return [found[i] for i in ids if i in found]


def with_query_string(url: str, request: HttpRequest) -> str:
    """`url` with the request's query string, so a redirect keeps `?highlight=` and the like."""
    query = request.META.get("QUERY_STRING", "")
    return f"{url}?{query}" if query else url


def _show_article(request: HttpRequest, article: Article) -> HttpResponse:
    """The article page, or a permanent redirect when the URL is not the article's own (its
    date was edited, or it gained one), keeping `?highlight=` so the words stay marked."""
    canonical = article.get_absolute_url()
    if request.path != canonical:
        return HttpResponsePermanentRedirect(with_query_string(canonical, request))
    context = {
        "article": article,
        "canonical_url": request.build_absolute_uri(canonical),
        "highlight": highlight_words(request),
        "related": related_articles(article),
        "versions": threads.compare(article),
        "results_nav": results_navigation(request.GET, article.pk),
        "local_published": timezone.localtime(article.published) if article.published else None,
    }
    return render(request, "articles/article.html", context)


@require_safe
def article_detail(
    request: HttpRequest, year: int, month: int, day: int, slug: str
) -> HttpResponse:
    """An article at its permanent URL; a stale date in the URL redirects to the right one."""
    return _show_article(request, get_object_or_404(article_page(), slug=slug))


@require_safe
def article_undated(request: HttpRequest, slug: str) -> HttpResponse:
    """An article without a date, at a URL that needs none; redirects once it gains a date."""
    return _show_article(request, get_object_or_404(article_page(), slug=slug))


@require_safe
def article_by_id(request: HttpRequest, pk: int) -> HttpResponse:
    """A short, stable alias (the API's ids) that forwards to the canonical URL.

    Temporary, because the canonical URL follows the article's date, which an edit can change.
    """
    article = get_object_or_404(Article.objects.only("id", "slug", "published"), pk=pk)
    return HttpResponseRedirect(with_query_string(article.get_absolute_url(), request))


# --- browsing by source and section ---------------------------------------------------------


class LabelListView(ListView):
    """All sources (or sections) with how many articles each holds, biggest first."""

    paginate_by = 100
    template_name = "articles/label_list.html"
    kind = ""

    def get_queryset(self) -> QuerySet:
        return self.model.objects.with_counts()

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(kind=self.kind, **kwargs)


class LabelDetailView(ListView):
    """One source's (or section's) articles, newest first, a page at a time."""

    paginate_by = 20
    template_name = "articles/label_detail.html"
    kind = ""
    search_field = ""  # the SearchQuery field this label filters: "sources" or "sections"

    def get_queryset(self) -> QuerySet[Article]:
        self.label = get_object_or_404(self.model, slug=self.kwargs["slug"])
        return article_list(self.label.articles.all()).order_by(*NEWEST_FIRST)

    #: What else the label's page breaks its articles down by: (facet, SearchQuery field, title).
    breakdowns: tuple[tuple[str, str, str], ...] = ()

    def get_context_data(self, **kwargs) -> dict:
        query = SearchQuery(**{self.search_field: (self.label.name,)})
        return super().get_context_data(
            label=self.label,
            kind=self.kind,
            search_link=search_url(query),
            breakdowns=self.label_breakdowns(query),
            **kwargs,
        )

    def label_breakdowns(self, query: SearchQuery) -> list[tuple[str, list[tuple[str, int, str]]]]:
        """The label's articles by the other label and by year, each linked to that search:
        (title, [(label, count, url)]). None while search is down: the list still shows."""
        names = [name for name, _, _ in [*self.breakdowns, ("year", "year", "Years")]]
        try:
            counts = facet_counts(query, names)
        except SearchUnavailable:
            return []
        out = []
        for name, field, title in [*self.breakdowns, ("year", "year", "Years")]:
            rows = [(label, count, value) for value, label, count in counts.get(name, []) if count]
            if name == "year":
                rows.sort(key=lambda row: row[2], reverse=True)
                links = [(label, n, search_url(query, year=int(v))) for label, n, v in rows]
            else:
                rows.sort(key=lambda row: (-row[1], row[0].casefold()))
                links = [(label, n, search_url(query, **{field: (label,)})) for label, n, _ in rows]
            if links:
                out.append((title, links))
        return out


class SourceListView(LabelListView):
    model = Source
    kind = "Sources"


class SectionListView(LabelListView):
    model = Section
    kind = "Sections"


class SourceDetailView(LabelDetailView):
    model = Source
    kind = "Source"
    search_field = "sources"
    breakdowns = (("section", "sections", "Sections"),)


class SectionDetailView(LabelDetailView):
    model = Section
    kind = "Section"
    search_field = "sections"
    breakdowns = (("source", "sources", "Sources"),)


# --- browsing by date -----------------------------------------------------------------------


class ArchiveMixin:
    """Shared settings of the date archive.

    `allow_future` because an archive has no embargo; `allow_empty = False` below the index so
    previous/next links jump to the nearest period that has articles instead of empty ones.
    """

    model = Article
    date_field = "published"
    month_format = "%m"
    allow_future = True
    allow_empty = False
    paginate_by = 50
    # Periods outside these years cannot be turned into dates (and their neighbours) safely.
    min_year, max_year = 2, 9998

    queryset = article_list()
    ordering = NEWEST_FIRST

    def get_year(self) -> int | str:
        year = super().get_year()
        if not self.min_year <= int(year) <= self.max_year:
            raise Http404("No articles from that year.")
        return year

    def get_context_data(self, **kwargs) -> dict:
        """Adds a link to the search page narrowed to the same period."""
        period = {
            name: int(self.kwargs[name]) for name in ("year", "month", "day") if name in self.kwargs
        }
        link = search_url(SearchQuery(**period)) if period else ""
        return super().get_context_data(search_link=link, **kwargs)

    def get_dated_queryset(self, **lookup) -> QuerySet[Article]:
        """Django loads a whole unpaginated period to learn whether it is empty; ask instead."""
        queryset = self.get_queryset().filter(**lookup)
        if not self.get_allow_empty() and not queryset.exists():
            raise Http404("No articles in this period.")
        return queryset

    def get_date_list(self, queryset, date_type=None, ordering="ASC") -> list[PeriodCount]:
        """Periods with their article counts in one query, instead of dates alone."""
        period = {name: int(self.kwargs[name]) for name in ("year", "month") if name in self.kwargs}
        date_list = period_counts(date_type or self.get_date_list_period(), ordering, **period)
        if not date_list and not self.get_allow_empty():
            raise Http404("No articles in this period.")
        return date_list


class ArchiveIndex(ArchiveMixin, ArchiveIndexView):
    allow_empty = True
    paginate_by = 20
    template_name = "articles/archive_index.html"

    def get_context_data(self, **kwargs) -> dict:
        undated = Article.objects.filter(published__isnull=True).count()
        return super().get_context_data(undated_count=undated, **kwargs)


class ArchiveYear(ArchiveMixin, YearArchiveView):
    """A year's months with their counts; the articles themselves are a click further down."""

    paginate_by = None  # no object list to paginate (make_object_list is False)
    template_name = "articles/archive_year.html"


#: A month or a day reads like a diary, in the order things happened.
OLDEST_FIRST = ("published", "id")


class ArchiveMonth(ArchiveMixin, MonthArchiveView):
    """A month's days as a calendar with their counts, and its articles oldest first."""

    template_name = "articles/archive_month.html"
    ordering = OLDEST_FIRST

    def get_context_data(self, **kwargs) -> dict:
        weekdays = [calendar.day_name[(calendar.firstweekday() + n) % 7] for n in range(7)]
        return super().get_context_data(weekdays=weekdays, **kwargs)


class ArchiveDay(ArchiveMixin, DayArchiveView):
    template_name = "articles/archive_day.html"
    ordering = OLDEST_FIRST


# --- error pages -----------------------------------------------------------------------------


def _wants_json(request: HttpRequest | None) -> bool:
    """True for API URLs. Never raises: a broken URLconf may be the very error being shown."""
    try:
        api_root = reverse("articles:api_search").rsplit("/", 1)[0] + "/"
    except Exception:
        return False
    return request is not None and request.path.startswith(api_root)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: the site's own page (JSON under /api/, where a client expects JSON)."""
    if _wants_json(request):
        return JsonResponse({"error": "Not found."}, status=404)
    return render(request, "404.html", {"request_path": request.path}, status=404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400 (a disallowed Host, a malformed upload): JSON under /api/, as promised there."""
    if _wants_json(request):
        return JsonResponse({"error": "Bad request."}, status=400)
    return HttpResponseBadRequest("<!doctype html><title>Bad request</title><h1>Bad request</h1>")


SEARCH_UNAVAILABLE = "Search is unavailable: the search index cannot be reached. Try again later."


def search_unavailable(request: HttpRequest) -> HttpResponse:
    """A search that cannot reach its index, wherever it was met (the results page, the API,
    a feed, an export): 503, as JSON under /api/; see articles.middleware."""
    if _wants_json(request):
        return JsonResponse({"error": SEARCH_UNAVAILABLE}, status=503)
    return render(request, "articles/search_unavailable.html", status=503)


def server_error(request: HttpRequest | None = None) -> HttpResponse:
    """handler500: rendered without the request or the database, which may be what failed."""
    if _wants_json(request):
        return JsonResponse({"error": "Server error."}, status=500)
    return HttpResponseServerError(loader.get_template("500.html").render())
