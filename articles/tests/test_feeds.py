"""Atom feeds: the latest articles, one source's, one section's and any search's, read back with
feedparser and checked against the database and the search service (escaping included)."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import feedparser
import pytest
from django.db.models import F, Q
from django.urls import reverse

from articles.feeds import FEED_ITEMS
from articles.models import Article
from articles.search import SearchQuery, search

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
# A title that is markup, quotes, commas and a line break all at once.
TRICKY_TITLE = '<script>alert("x")</script>, "quoted", a & b\nsecond line'


def feed(client, url: str, params: dict | None = None):
    response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


def article_ids(parsed) -> list[int]:
    """Entry ids are the articles' short URLs (`/articles/<id>/`)."""
    return [int(entry.id.rstrip("/").rsplit("/", 1)[1]) for entry in parsed.entries]


def newest_first(queryset) -> list[int]:
    return list(
        queryset.order_by(F("published").desc(nulls_last=True), "-id").values_list("id", flat=True)
    )


def day(n: int) -> dt.datetime:
    return dt.datetime(2015, 1, 1, 9, 30, tzinfo=dt.UTC) + dt.timedelta(days=n)


@pytest.fixture
def tricky_article(add_article):
    return add_article(
        TRICKY_TITLE,
        body='He said "no", then <b>left</b> & came back.\n\nAleppo was quiet.',
        source="A&B <News>",
        section='Mid-"East"',
        published=dt.datetime(2017, 5, 1, 12, 0, tzinfo=dt.UTC),
    )


# --- the latest articles ---------------------------------------------------------------------


def test_latest_feed_lists_every_article_newest_first_with_its_fields(client, small_archive):
    parsed = feed(client, reverse("articles:feed"))

    assert parsed.version == "atom10"
    assert article_ids(parsed) == newest_first(Article.objects.all())
    by_id = {a.pk: a for a in Article.objects.select_related("source", "section")}
    for entry, article_id in zip(parsed.entries, article_ids(parsed), strict=True):
        article = by_id[article_id]
        assert entry.title == article.title
        assert entry.link == f"http://testserver{article.get_absolute_url()}"
        assert [tag.term for tag in entry.tags] == [article.source.name, article.section.name]
        assert entry.author == article.source.name
        assert dt.datetime(*entry.updated_parsed[:6], tzinfo=dt.UTC) == article.updated.replace(
            microsecond=0
        )
        if article.published:
            published = dt.datetime(*entry.published_parsed[:6], tzinfo=dt.UTC)
            assert published == article.published
        else:
            assert "published" not in entry
        assert article.body.split()[0] in entry.summary


def alternate_feeds(html: str) -> dict[str, str]:
    """The Atom feeds a page announces in its head, as {title: href}."""
    found = re.findall(
        r'<link rel="alternate" type="application/atom\+xml" title="([^"]+)" href="([^"]+)">', html
    )
    return {title: href.replace("&amp;", "&") for title, href in found}


def test_feeds_are_linked_from_the_pages_they_follow(client, small_archive):
    home = client.get(reverse("articles:home")).content.decode()
    assert alternate_feeds(home) == {"Latest articles (Atom feed)": reverse("articles:feed")}
    assert f'<a href="{reverse("articles:feed")}" id="latest-feed">' in home

    for kind, slug, name in (("source", "afp", "AFP"), ("section", "business", "Business")):
        page = client.get(reverse(f"articles:{kind}", kwargs={"slug": slug})).content.decode()
        feed_url = reverse(f"articles:{kind}_feed", kwargs={"slug": slug})
        assert alternate_feeds(page) == {f"{name} (Atom feed)": feed_url}
        assert f'href="{feed_url}" class="feed-link" id="label-feed"' in page


def test_the_feed_is_capped_and_keeps_the_newest(
    client, make_article, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(FEED_ITEMS + 5):
            make_article(f"Report number {n}", published=day(n))

    parsed = feed(client, reverse("articles:feed"))

    assert len(parsed.entries) == FEED_ITEMS
    assert [e.title for e in parsed.entries] == [
        f"Report number {n}" for n in range(FEED_ITEMS + 4, 4, -1)
    ]


# --- per source and per section --------------------------------------------------------------


def test_source_feed_holds_only_that_sources_articles(client, small_archive):
    parsed = feed(client, reverse("articles:source_feed", kwargs={"slug": "reuters"}))

    assert article_ids(parsed) == newest_first(Article.objects.filter(source__name="Reuters"))
    assert parsed.feed.title == "newsarchive: source Reuters"
    assert parsed.feed.link == "http://testserver/sources/reuters/"


def test_section_feed_holds_only_that_sections_articles(client, small_archive):
    parsed = feed(client, reverse("articles:section_feed", kwargs={"slug": "business"}))

    assert article_ids(parsed) == newest_first(Article.objects.filter(section__name="Business"))
    assert parsed.feed.title == "newsarchive: section Business"


def test_feed_of_an_unknown_source_is_404(client, small_archive):
    response = client.get(reverse("articles:source_feed", kwargs={"slug": "nobody"}))
    assert response.status_code == 404


# --- any search ------------------------------------------------------------------------------


def test_search_feed_holds_the_search_newest_first(client, small_archive):
    parsed = feed(client, reverse("articles:search_feed"), {"q": "aleppo", "sort": "relevance"})

    matching = Article.objects.filter(Q(title__icontains="aleppo") | Q(body__icontains="aleppo"))
    assert article_ids(parsed) == newest_first(matching)
    service = search(SearchQuery(q="aleppo", sort="newest", per_page=FEED_ITEMS))
    assert article_ids(parsed) == [hit.id for hit in service.hits]
    # The summaries are the results page's snippets, searched words marked (read from the XML:
    # feedparser's sanitiser drops <mark>, as some readers do).
    root = ET.fromstring(client.get(reverse("articles:search_feed"), {"q": "aleppo"}).content)
    summaries = [e.findtext(f"{ATOM}summary") for e in root.findall(f"{ATOM}entry")]
    assert summaries == [hit.snippet for hit in service.hits]
    assert "<mark>Aleppo</mark>" in summaries[0]
    assert parsed.feed.title == "newsarchive: “aleppo”"


def test_search_feed_keeps_every_filter(client, small_archive):
    params = {"q": "aleppo", "source": "Reuters", "section": "Mid-East", "year": "2015"}
    parsed = feed(client, reverse("articles:search_feed"), params)

    assert article_ids(parsed) == [small_archive["strikes"].pk]
    assert parsed.feed.title == "newsarchive: “aleppo”, source Reuters, section Mid-East, 2015"


def test_search_feed_refuses_bad_parameters(client, small_archive):
    response = client.get(reverse("articles:search_feed"), {"q": "aleppo", "year": "soon"})
    assert response.status_code == 400
    assert "year" in response.content.decode()


def test_api_offers_the_same_feed(client, small_archive):
    params = {"q": "aleppo", "source": "Reuters"}
    from_api = feed(client, reverse("articles:api_search"), {**params, "format": "atom"})
    from_page = feed(client, reverse("articles:search_feed"), params)
    assert article_ids(from_api) == article_ids(from_page) != []


# --- escaping --------------------------------------------------------------------------------


def test_text_from_files_is_escaped_in_the_xml(client, tricky_article):
    response = client.get(reverse("articles:feed"))
    root = ET.fromstring(response.content)  # well-formed: every <, & and quote was escaped
    entry = root.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == TRICKY_TITLE
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == [
        "A&B <News>",
        'Mid-"East"',
    ]
    summary = entry.find(f"{ATOM}summary")
    assert summary.get("type") == "html"
    # The summary is HTML whose text is escaped: a reader shows the tags, never runs them.
    assert "&lt;b&gt;left&lt;/b&gt;" in summary.text
    assert "<b>" not in summary.text

    parsed = feedparser.parse(response.content)
    assert parsed.entries[0].title == TRICKY_TITLE
