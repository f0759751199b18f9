"""sitemap.xml (an index of sitemaps, each split into pages at the limit), robots.txt read by
the standard library's robot parser, and canonical links on article pages."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import pytest
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from articles.sitemaps import PROTOCOL_LIMIT, ArticleSitemap

pytestmark = pytest.mark.django_db

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
HOST = "http://testserver"


def xml(client, url: str) -> ET.Element:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    return ET.fromstring(response.content)


def sitemap_pages(client) -> list[str]:
    index = xml(client, reverse("articles:sitemap"))
    assert index.tag == f"{NS}sitemapindex"
    return [loc.text for loc in index.iter(f"{NS}loc")]


def urls_of(client, page_url: str) -> dict[str, str | None]:
    """{loc: lastmod} of one sitemap page."""
    root = xml(client, page_url.removeprefix(HOST))
    assert root.tag == f"{NS}urlset"
    return {url.findtext(f"{NS}loc"): url.findtext(f"{NS}lastmod") for url in root.iter(f"{NS}url")}


def test_sitemap_lists_every_article_at_its_canonical_url(client, small_archive):
    pages = sitemap_pages(client)
    assert pages == [
        f"{HOST}/sitemap-{kind}.xml" for kind in ("articles", "sources", "sections", "archive")
    ]
    listed = urls_of(client, pages[0])
    assert listed == {
        f"{HOST}{a.get_absolute_url()}": timezone.localdate(a.updated).isoformat()
        for a in Article.objects.all()
    }


def test_sitemaps_are_split_at_the_limit(client, small_archive, settings):
    settings.NEWSARCHIVE_SITEMAP_LIMIT = 2

    pages = [url for url in sitemap_pages(client) if "sitemap-articles" in url]

    assert [urlsplit(url).query for url in pages] == ["", "p=2", "p=3"]
    per_page = [urls_of(client, url) for url in pages]
    assert [len(urls) for urls in per_page] == [2, 2, 1]
    everything = {loc for urls in per_page for loc in urls}
    assert everything == {f"{HOST}{a.get_absolute_url()}" for a in Article.objects.all()}
    assert client.get("/sitemap-articles.xml?p=4").status_code == 404


def test_the_limit_never_exceeds_the_protocols(settings):
    settings.NEWSARCHIVE_SITEMAP_LIMIT = 80_000
    assert ArticleSitemap().limit == PROTOCOL_LIMIT == 50_000
    settings.NEWSARCHIVE_SITEMAP_LIMIT = 20_000
    assert ArticleSitemap().limit == 20_000


def test_sources_sections_and_archive_pages_are_listed(client, small_archive, add_article):
    add_article("Unfiled note", source=None, section=None, published=None)
    pages = sitemap_pages(client)

    assert set(urls_of(client, pages[1])) == {f"{HOST}/sources/afp/", f"{HOST}/sources/reuters/"}
    assert set(urls_of(client, pages[2])) == {
        f"{HOST}/sections/mid-east/",
        f"{HOST}/sections/business/",
    }
    dated = [a.published for a in Article.objects.exclude(published=None)]
    expected = {f"{HOST}/archive/"}
    for day in dated:
        expected |= {f"{HOST}/archive/{day.year}/", f"{HOST}/archive/{day.year}/{day.month}/"}
    archive = urls_of(client, pages[3])
    assert set(archive) == expected
    for url in archive:  # every listed archive page exists
        assert client.get(url.removeprefix(HOST)).status_code == 200


def test_robots_txt_points_at_the_sitemap_and_keeps_crawlers_off_endless_pages(
    client, small_archive
):
    response = client.get("/robots.txt")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    robots = RobotFileParser()
    robots.modified()  # as read() does: a parser never "read" refuses everything
    robots.parse(response.content.decode().splitlines())

    assert robots.site_maps() == [f"{HOST}/sitemap.xml"]
    allowed = [
        small_archive["aleppo"].get_absolute_url(),
        "/",
        "/sources/afp/",
        "/archive/2015/",
        "/search/help/",
        "/feed/",
    ]
    refused = [
        "/search/?q=aleppo",
        "/search/export.csv?q=aleppo",
        "/search/feed/?q=aleppo",
        "/api/search?q=aleppo",
        "/admin/",
    ]
    assert all(robots.can_fetch("*", f"{HOST}{path}") for path in allowed)
    assert not any(robots.can_fetch("*", f"{HOST}{path}") for path in refused)


def test_article_pages_name_their_canonical_url_whatever_the_address_used(client, small_archive):
    article = small_archive["oil"]
    canonical = f"{HOST}{article.get_absolute_url()}"
    for address in (article.get_absolute_url(), f"/articles/{article.pk}/?highlight=oil"):
        page = client.get(address, follow=True).content.decode()
        assert re.findall(r'<link rel="canonical" href="([^"]+)">', page) == [canonical]
    assert canonical in urls_of(client, f"{HOST}/sitemap-articles.xml")
