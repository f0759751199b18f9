"""Atom feeds: the latest articles, one source's, one section's, and any search's.

Every feed is a search run through the search service, newest first, so a feed holds exactly
the newest articles its page would show, with the same snippets: a saved search becomes an
alert in any feed reader. Built on Django's syndication framework, which writes and escapes the
XML. Entries carry the title, the article's link, published and updated dates, the source and
section as categories (the source as author too) and the snippet; each entry's id is the
article's short URL (`/articles/<id>/`), which never changes even when its date is edited.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from articles.exports import BadSearch, query_from_params, take_away_params, with_params
from articles.forms import search_url
from articles.models import Article, Section, Source
from articles.search import SearchQuery, search

# Entries per feed: enough for a reader that polls daily, small enough to render quickly.
FEED_ITEMS = 50
FEED_SORT = "newest"
SITE_NAME = "newsarchive"


@dataclass
class Subject:
    """What a feed follows: its search, and how the feed describes and links itself."""

    query: SearchQuery
    title: str
    link: str
    self_link: str
    absolute: Callable[[str], str]  # request.build_absolute_uri


@dataclass
class Entry:
    id: int
    guid: str
    title: str
    link: str
    snippet: str
    published: datetime | None
    updated: datetime | None
    categories: list[str] = field(default_factory=list)
    author: str | None = None


def entries(subject: Subject) -> list[Entry]:
    """The feed's newest matches as entries, with each article's last update (one query)."""
    query = dataclasses.replace(
        subject.query, sort=FEED_SORT, page=1, per_page=FEED_ITEMS, collapse=False
    )  # every version is news to a feed reader
    hits = search(query).hits
    updated = dict(
        Article.objects.filter(pk__in=[hit.id for hit in hits]).values_list("id", "updated")
    )
    return [
        Entry(
            id=hit.id,
            guid=subject.absolute(reverse("articles:article_by_id", kwargs={"pk": hit.id})),
            title=hit.title,
            link=hit.url,
            snippet=str(hit.snippet),
            published=hit.published,
            updated=updated.get(hit.id) or hit.published,
            categories=[label for label in (hit.source, hit.section) if label],
            author=hit.source or None,
        )
        for hit in hits
    ]


class ArticleFeed(Feed):
    """The Atom shape shared by every feed; subclasses say what it follows (`get_object`)."""

    feed_type = Atom1Feed
    author_name = SITE_NAME

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return super().__call__(request, *args, **kwargs)
        except BadSearch as error:
            return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")

    def title(self, subject: Subject) -> str:
        return f"{SITE_NAME}: {subject.title}"

    def subtitle(self, subject: Subject) -> str:
        return f"The newest {FEED_ITEMS} articles: {subject.title}."

    def link(self, subject: Subject) -> str:
        return subject.link

    def feed_url(self, subject: Subject) -> str:
        return subject.self_link

    def items(self, subject: Subject) -> list[Entry]:
        return entries(subject)

    def item_title(self, entry: Entry) -> str:
        return entry.title

    def item_link(self, entry: Entry) -> str:
        return entry.link

    def item_guid(self, entry: Entry) -> str:
        return entry.guid

    def item_description(self, entry: Entry) -> str:
        return entry.snippet

    def item_pubdate(self, entry: Entry) -> datetime | None:
        return entry.published

    def item_updateddate(self, entry: Entry) -> datetime | None:
        return entry.updated

    def item_categories(self, entry: Entry) -> list[str]:
        return entry.categories

    def item_author_name(self, entry: Entry) -> str | None:
        return entry.author


class LatestFeed(ArticleFeed):
    """`/feed/`: the newest articles in the whole archive."""

    def get_object(self, request: HttpRequest) -> Subject:
        return Subject(
            SearchQuery(),
            "latest articles",
            reverse("articles:home"),
            reverse("articles:feed"),
            request.build_absolute_uri,
        )


class SourceFeed(ArticleFeed):
    """`/sources/<slug>/feed/`: one source's newest articles."""

    def get_object(self, request: HttpRequest, slug: str) -> Subject:
        source = get_object_or_404(Source, slug=slug)
        return Subject(
            SearchQuery(sources=(source.name,)),
            f"source {source.name}",
            source.get_absolute_url(),
            reverse("articles:source_feed", kwargs={"slug": slug}),
            request.build_absolute_uri,
        )


class SectionFeed(ArticleFeed):
    """`/sections/<slug>/feed/`: one section's newest articles."""

    def get_object(self, request: HttpRequest, slug: str) -> Subject:
        section = get_object_or_404(Section, slug=slug)
        return Subject(
            SearchQuery(sections=(section.name,)),
            f"section {section.name}",
            section.get_absolute_url(),
            reverse("articles:section_feed", kwargs={"slug": slug}),
            request.build_absolute_uri,
        )


class SearchFeed(ArticleFeed):
    """`/search/feed/?q=...&source=...`: any search with its filters, newest first.

    Takes the results page's parameters; paging and the order are ignored. Bad parameters are
    a 400 with the form's message, never a feed of some other search.
    """

    def get_object(self, request: HttpRequest) -> Subject:
        query = query_from_params(request.GET)
        self_link = with_params(
            reverse("articles:search_feed"), take_away_params(query, keep_sort=False)
        )
        return Subject(
            query,
            describe(query),
            search_url(dataclasses.replace(query, sort=FEED_SORT)),
            self_link,
            request.build_absolute_uri,
        )


def describe(query: SearchQuery) -> str:
    """A search in words, for a feed's title: `“cocoa”, source Reuters, 1987`."""
    parts = [f"“{query.q}”"] if query.q else []
    if query.sources:
        parts.append(f"source {' or '.join(query.sources)}")
    if query.sections:
        parts.append(f"section {' or '.join(query.sections)}")
    period = "-".join(
        f"{value:02d}" if name != "year" else str(value)
        for name in ("year", "month", "day")
        if (value := getattr(query, name)) is not None
    )
    if period:
        parts.append(period)
    if query.date_from or query.date_to:
        parts.append(f"from {query.date_from or 'the start'} to {query.date_to or 'today'}")
    return ", ".join(parts) or "all articles"
