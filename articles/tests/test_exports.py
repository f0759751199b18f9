"""Exports of a search as CSV and JSON Lines, read back with the `csv` and `json` modules and
checked against the database and the search results: every match, in the page's order, up to
the cap (and saying so when cut), escaping included; and the links a results page offers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.urls import reverse

from articles import exports
from articles.models import Article
from articles.search import SearchQuery, search

pytestmark = pytest.mark.django_db

TRICKY_TITLE = '<script>alert("x")</script>, "quoted", a & b\nsecond line'
SOURCES = ("AFP", "Reuters", "BBC")
SECTIONS = ("World", "Business")


@pytest.fixture
def corpus(make_article, django_capture_on_commit_callbacks) -> list[Article]:
    """24 articles mentioning "harbour": source i % 3, section i % 2, year 2014 + i % 4, and one
    with a title full of things to escape."""
    made = []
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(24):
            made.append(
                make_article(
                    TRICKY_TITLE if i == 7 else f"Harbour report {i}",
                    body=f'Ships in the harbour, day {i}.\n\nA second paragraph, with "quotes".',
                    source=SOURCES[i % 3],
                    section=SECTIONS[i % 2],
                    published=dt.datetime(2014 + i % 4, 1 + i % 12, 1 + i, 8, 0, tzinfo=dt.UTC),
                )
            )
    return made


def download(client, url: str, params: dict | None = None):
    response = client.get(url, params or {})
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    assert response.streaming
    return response, b"".join(response.streaming_content).decode("utf-8")


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def jsonl_rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def export_url(fmt: str) -> str:
    return reverse("articles:search_export", kwargs={"fmt": fmt})


def expected_row(article: Article) -> dict:
    return {
        "id": article.pk,
        "url": f"http://testserver{article.get_absolute_url()}",
        "title": article.title,
        "source": article.source.name if article.source else None,
        "section": article.section.name if article.section else None,
        "published": article.published.isoformat() if article.published else None,
    }


def all_search_ids(**params) -> list[int]:
    """Every id the results pages list for a search, page by page (the export's oracle)."""
    ids, page = [], 1
    while True:
        results = search(SearchQuery(page=page, per_page=5, **params))
        ids += [hit.id for hit in results.hits]
        if page >= results.pages:
            return ids
        page += 1


# --- contents ----------------------------------------------------------------------------------


def test_csv_export_of_a_filtered_search_has_exactly_its_matches(client, corpus, monkeypatch):
    monkeypatch.setattr(exports, "BATCH_SIZE", 3)  # several batches, order kept across them
    params = {"q": "harbour", "source": ["AFP", "BBC"], "section": "World", "sort": "oldest"}

    response, text = download(client, export_url("csv"), params)

    rows = csv_rows(text)
    query = {"q": "harbour", "sources": ("AFP", "BBC"), "sections": ("World",), "sort": "oldest"}
    total = search(SearchQuery(**query)).total
    in_database = Article.objects.filter(source__name__in=["AFP", "BBC"], section__name="World")
    assert len(rows) == total == in_database.count() == 8
    assert [int(r["id"]) for r in rows] == all_search_ids(**query)
    by_id = {a.pk: a for a in in_database.select_related("source", "section")}
    for row in rows:
        expected = {
            k: "" if v is None else str(v) for k, v in expected_row(by_id[int(row["id"])]).items()
        }
        assert row == expected
    assert response["X-Export-Total"] == response["X-Export-Rows"] == "8"
    assert response["X-Export-Truncated"] == "false"
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_jsonl_export_with_text_matches_the_database(client, corpus):
    params = {"q": "harbour", "year": "2015", "body": "1"}

    _, text = download(client, export_url("jsonl"), params)

    rows = jsonl_rows(text)
    assert [r["id"] for r in rows] == all_search_ids(q="harbour", year=2015)
    assert len(rows) == Article.objects.filter(published__year=2015).count() == 6
    for row in rows:
        article = Article.objects.select_related("source", "section").get(pk=row["id"])
        assert row == {**expected_row(article), "body": article.body}


def test_exports_without_words_hold_the_whole_archive_newest_first(client, corpus):
    _, text = download(client, export_url("jsonl"))

    ids = [row["id"] for row in jsonl_rows(text)]
    assert ids == list(Article.objects.order_by("-published").values_list("id", flat=True))


def test_paging_parameters_are_ignored(client, corpus):
    _, text = download(client, export_url("csv"), {"q": "harbour", "page": "3", "per_page": "2"})
    assert len(csv_rows(text)) == 24


def test_an_empty_search_gives_a_header_only_csv_and_an_empty_jsonl(client, corpus):
    _, csv_text = download(client, export_url("csv"), {"q": "zeppelin"})
    _, jsonl_text = download(client, export_url("jsonl"), {"q": "zeppelin"})
    assert csv_text.splitlines() == ["id,url,title,source,section,published"]
    assert jsonl_text == ""


def test_escaping_survives_both_formats(client, corpus):
    tricky = corpus[7]
    params = {"q": "harbour", "body": "yes"}

    _, csv_text = download(client, export_url("csv"), params)
    _, jsonl_text = download(client, export_url("jsonl"), params)

    csv_row = next(r for r in csv_rows(csv_text) if int(r["id"]) == tricky.pk)
    jsonl_row = next(r for r in jsonl_rows(jsonl_text) if r["id"] == tricky.pk)
    assert csv_row["title"] == jsonl_row["title"] == TRICKY_TITLE
    assert csv_row["body"] == jsonl_row["body"] == tricky.body
    assert len(jsonl_text.splitlines()) == 24  # the title's line break stayed inside its line


# --- the cap -----------------------------------------------------------------------------------


def test_the_cap_cuts_an_export_and_says_so(client, corpus, settings):
    settings.NEWSARCHIVE_EXPORT_MAX_ROWS = 5

    response, text = download(client, export_url("csv"), {"q": "harbour", "source": "AFP"})

    rows = csv_rows(text)
    assert [int(r["id"]) for r in rows] == all_search_ids(q="harbour", sources=("AFP",))[:5]
    assert response["X-Export-Total"] == "8"
    assert response["X-Export-Rows"] == "5"
    assert response["X-Export-Truncated"] == "true"
    assert response["X-Export-Max-Rows"] == "5"
    assert "-first-5-" in response["Content-Disposition"]


def test_filenames_say_what_the_file_holds(client, corpus):
    params = {"q": "harbour", "source": "AFP", "year": "2015", "body": "1"}
    response, _ = download(client, export_url("jsonl"), params)

    today = dt.date.today().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="newsarchive-harbour-source-afp-year-2015-with-text-{today}.jsonl"'
    )
    response, _ = download(client, export_url("csv"))
    assert response["Content-Disposition"] == f'attachment; filename="newsarchive-all-{today}.csv"'


# --- bad input ---------------------------------------------------------------------------------


def test_bad_parameters_are_refused_with_the_reason(client, corpus):
    response = client.get(export_url("csv"), {"q": "harbour", "month": "13", "year": "2015"})
    assert response.status_code == 400
    assert "month must be a number from 1 to 12" in response.content.decode()


def test_an_unknown_export_format_is_not_a_page(client):
    assert client.get("/search/export.xlsx").status_code == 404


# --- the JSON API ------------------------------------------------------------------------------


def test_api_format_gives_the_same_exports(client, corpus):
    params = {"q": "harbour", "section": "Business"}
    for fmt in ("csv", "jsonl"):
        _, from_api = download(client, reverse("articles:api_search"), {**params, "format": fmt})
        _, from_page = download(client, export_url(fmt), params)
        assert from_api == from_page


def test_api_refuses_unknown_formats_and_bad_parameters_as_json(client, corpus):
    api = reverse("articles:api_search")
    unknown = client.get(api, {"q": "harbour", "format": "xml"})
    assert unknown.status_code == 400
    assert "format must be one of json, csv, jsonl, atom" in unknown.json()["error"]
    bad = client.get(api, {"q": "harbour", "year": "soon", "format": "csv"})
    assert bad.status_code == 400
    assert "year" in bad.json()["error"]


# --- links on the results page -----------------------------------------------------------------


def links_by_id(html: str) -> dict[str, str]:
    """Every link of a page that has an id, as {id: href} (entities decoded)."""
    found = re.findall(r'<a href="([^"]+)" id="([\w-]+)"', html)
    return {link_id: href.replace("&amp;", "&") for href, link_id in found}


def test_results_page_links_its_feed_exports_and_api_url(client, corpus):
    params = {"q": "harbour", "source": "AFP", "sort": "oldest", "page": "2", "per_page": "5"}
    response = client.get(reverse("articles:search"), params)
    html = response.content.decode()
    links = links_by_id(html)

    search_params = [("q", "harbour"), ("source", "AFP")]
    assert urlsplit(links["search-feed"]).path == reverse("articles:search_feed")
    assert parse_qsl(urlsplit(links["search-feed"]).query) == search_params
    assert re.search(
        r'<link rel="alternate" type="application/atom\+xml" title="This search \(Atom feed\)" '
        rf'href="{re.escape(links["search-feed"].replace("&", "&amp;"))}">',
        html,
    )
    assert parse_qsl(urlsplit(links["export-csv"]).query) == [*search_params, ("sort", "oldest")]
    assert parse_qsl(urlsplit(links["export-jsonl-text"]).query)[-1] == ("body", "1")
    # "This search as JSON" (in the box and the footer) is the page's own search, page included.
    assert links["search-json"] == links["footer-search-json"]
    api = client.get(links["search-json"]).json()
    page_results = response.context["results"]
    assert api["total"] == page_results.total
    assert [r["id"] for r in api["results"]] == [hit.id for hit in page_results.hits] != []

    _, text = download(client, links["export-csv"])
    assert len(csv_rows(text)) == page_results.total == 8


def test_footer_offers_the_whole_api_off_the_results_page(client, corpus):
    html = client.get(reverse("articles:home")).content.decode()
    assert f'<a href="{reverse("articles:api_search")}?q=">JSON API</a>' in html
