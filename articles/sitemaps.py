"""What crawlers read: `sitemap.xml` (articles, sources, sections, archive pages) and `robots.txt`.

Built on Django's sitemaps framework: `/sitemap.xml` is an index of one sitemap per kind, and
each is split into pages (`?p=2`) of at most ``settings.NEWSARCHIVE_SITEMAP_LIMIT`` URLs, never
more than the 50,000 the sitemap protocol allows in one file. The default is 10,000: Django's
sitemap template renders about 2,000 URLs a second here, so a page of 50,000 would take half a
minute to serve. Search result pages are
left out (and kept from crawlers by robots.txt): they are endless, and every article they
lead to is listed here at its canonical URL.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Max, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from articles.models import Article, Section, Source
from articles.views import period_counts

# The sitemap protocol's limit of URLs per file.
PROTOCOL_LIMIT = 50_000
DEFAULT_LIMIT = 10_000


class LimitedSitemap(Sitemap):
    """A sitemap whose page size is the setting, never above the protocol's limit."""

    @property
    def limit(self) -> int:  # type: ignore[override]
        return min(getattr(settings, "NEWSARCHIVE_SITEMAP_LIMIT", DEFAULT_LIMIT), PROTOCOL_LIMIT)


class ArticleSitemap(LimitedSitemap):
    """Every article at its canonical URL, last modified when it was last saved."""

    changefreq = "yearly"

    def items(self) -> QuerySet[Article]:
        return Article.objects.only("id", "slug", "published", "updated").order_by("pk")

    def lastmod(self, article: Article) -> datetime.datetime:
        return article.updated

    def get_latest_lastmod(self) -> datetime.datetime | None:
        """One aggregate instead of Django's default, which reads every row to find it."""
        return Article.objects.aggregate(latest=Max("updated"))["latest"]


class LabelSitemap(LimitedSitemap):
    """Sources (or sections) that hold at least one article."""

    changefreq = "daily"
    model: type[Source] | type[Section] = Source

    def items(self) -> QuerySet:
        return self.model.objects.filter(articles__isnull=False).distinct().order_by("pk")


class SourceSitemap(LabelSitemap):
    model = Source


class SectionSitemap(LabelSitemap):
    model = Section


class ArchiveSitemap(LimitedSitemap):
    """The date archive: its index, and every year and month that holds articles.

    The periods come from the search index's date facets, as on the archive pages themselves,
    so a listed page is never empty: one search per year. Day pages are left to the month
    pages, which list them: finding them here took a search per month (2.6 s for 25 years),
    and every article they lead to is in the articles' sitemap anyway.
    """

    changefreq = "monthly"

    def items(self) -> list[str]:
        urls = [reverse("articles:archive")]
        for year in period_counts("year"):
            y = year.date.year
            urls.append(reverse("articles:archive_year", args=[y]))
            for month in period_counts("month", year=y):
                m = month.date.month
                urls.append(reverse("articles:archive_month", args=[y, m]))
        return urls

    def location(self, url: str) -> str:
        return url


SITEMAPS = {
    "articles": ArticleSitemap,
    "sources": SourceSitemap,
    "sections": SectionSitemap,
    "archive": ArchiveSitemap,
}

# What crawlers should leave alone: the admin, the API, and search results, feeds and exports
# (endless, and every article they reach is in the sitemap), except the search help. Allow
# comes first, so crawlers that take the first matching rule and those that take the longest
# agree.
ROBOTS_RULES = (
    ("Allow", "/search/help/"),
    ("Disallow", "/search/"),
    ("Disallow", "/api/"),
    ("Disallow", "/admin/"),
)


@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    """`/robots.txt`: what to skip, and where the sitemap is."""
    lines = ["User-agent: *", *(f"{rule}: {path}" for rule, path in ROBOTS_RULES)]
    lines.append(f"Sitemap: {request.build_absolute_uri(reverse('articles:sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
