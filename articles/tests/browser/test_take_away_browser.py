"""Keeping a search, in a real browser: from a narrowed results page a reader follows its feed,
downloads its matches as CSV and JSON Lines, and opens it as JSON; each is read back and
compared with what the page says. And an article's citation can be copied.

The archive is the `archive` fixture: 30 articles mentioning "harbour", 12 of them from AFP.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from urllib.parse import urlencode

import feedparser
import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AFP_COUNT = 12


def open_results(page: Page) -> None:
    query = urlencode({"q": "harbour", "source": "AFP", "sort": "oldest"})
    page.goto(f"{reverse('articles:search')}?{query}")
    expect(page.locator("#result-count")).to_contain_text(f"{AFP_COUNT} results")


def download_text(page: Page, link_name: str) -> tuple[str, str]:
    """Clicks a download link in the "Keep this search" box; the file's name and text."""
    box = page.get_by_role("region", name="Keep this search")
    with page.expect_download() as info:
        box.get_by_role("link", name=link_name, exact=True).first.click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_text(encoding="utf-8")


def test_reader_follows_the_feed_and_export_links_of_a_results_page(page: Page, archive):
    open_results(page)
    afp = sorted((a for a in archive.articles if a.source.name == "AFP"), key=lambda a: a.published)

    name, text = download_text(page, "CSV")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert name.startswith("newsarchive-harbour-source-afp-sort-oldest-") and name.endswith(".csv")
    assert [int(row["id"]) for row in rows] == [a.pk for a in afp]
    assert [row["title"] for row in rows] == [a.title for a in afp]

    name, text = download_text(page, "JSON Lines")
    assert name.endswith(".jsonl")
    assert [json.loads(line)["id"] for line in text.splitlines()] == [a.pk for a in afp]

    # The feed: the visible link is the one the page announces to feed readers; Chromium shows
    # the Atom document as text when it is followed.
    feed_link = page.get_by_role("link", name="Follow in a feed reader (Atom)")
    announced = page.locator('link[rel="alternate"][type="application/atom+xml"]')
    assert feed_link.get_attribute("href") == announced.get_attribute("href")
    with page.expect_response(lambda response: "/search/feed/" in response.url) as followed:
        feed_link.click()
    assert followed.value.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(followed.value.text())  # the document itself, not its rendering
    assert not feed.bozo, feed.bozo_exception
    newest_first = sorted(afp, key=lambda a: a.published, reverse=True)
    assert [entry.title for entry in feed.entries] == [a.title for a in newest_first]

    # "This search as JSON" opens the API with the same search.
    page.go_back()
    page.get_by_role("link", name="This search as JSON").first.click()
    page.wait_for_url("**/api/search?**")
    data = json.loads(page.locator("body").inner_text())
    assert data["total"] == AFP_COUNT
    assert [r["id"] for r in data["results"]] == [a.pk for a in afp]


def test_citation_copy_button_copies_the_reference(new_page, archive):
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    article = archive.articles[0]
    page.goto(article.get_absolute_url())

    citation = page.get_by_role("region", name="Cite this article")
    apa = citation.locator("#cite-apa")
    expect(apa).to_contain_text(f"{article.title}. (")
    citation.get_by_role("button", name="Copy APA").click()
    expect(citation.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == apa.inner_text()
