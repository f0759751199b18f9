"""The trends page, its CSV download and /api/trends: shape, links and bad input.

The numbers themselves are checked against an oracle in ``test_trends.py``; here the small
archive of ``conftest.small_archive`` (2014-2016, so months by default) is enough.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from django.urls import reverse

from articles.trends import MAX_QUERIES

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def chart_of(response) -> ET.Element:
    html = response.content.decode()
    svg = re.search(
        r"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"line-chart\".*?</svg>", html, re.S
    )
    assert svg, "no line chart on the page"
    return ET.fromstring(svg.group(0))


def test_the_page_charts_one_line_per_search_with_a_linked_point_per_month(client, small_archive):
    response = client.get(reverse("articles:trends"), {"q": ["aleppo", "oil"]})

    assert response.status_code == 200
    svg = chart_of(response)
    assert len(svg.findall(f".//{SVG}polyline")) == 2
    links = svg.findall(f".//{SVG}a")
    assert len(links) == 2 * 36  # 2014-01 to 2016-12, zeros included
    oct_2015 = [a for a in links if a.get("href") == "/search/?q=aleppo&year=2015&month=10"]
    assert len(oct_2015) == 1
    assert oct_2015[0].find(f"{SVG}title").text == "aleppo, October 2015: 2 articles"
    assert svg.find(f"{SVG}title").text == "Matching articles per month"


def test_every_table_cell_links_to_the_search_of_its_period(client, small_archive):
    response = client.get(reverse("articles:trends"), {"q": ["aleppo", "oil"], "by": "year"})

    html = response.content.decode()
    table = html[html.index('id="trends-table"') :]
    cells = re.findall(r'<td><a href="([^"]+)">(\d+)</a>', table)
    assert len(cells) == 2 * 3
    for url, count in cells:
        api = unescape(url).replace("/search/?", "/api/search?", 1)
        assert client.get(api).json()["total"] == int(count), url


def test_the_search_page_offers_compare_with_its_query_and_filters(client, small_archive):
    response = client.get(reverse("articles:search"), {"q": "aleppo", "source": "Reuters"})

    href = re.search(r'id="compare-with" href="([^"]+)"', response.content.decode()).group(1)
    assert unescape(href) == "/trends/?q=aleppo&source=Reuters"
    page = client.get(unescape(href)).content.decode()
    assert 'value="aleppo"' in page
    # one empty box to add another search
    assert len(re.findall(r'<input type="search" id="trends-q-\d+" name="q" value=""', page)) == 1


def test_the_csv_has_a_row_per_period_and_search(client, small_archive):
    response = client.get(
        reverse("articles:trends_export"), {"q": ["aleppo", "oil"], "by": "year", "per1000": "1"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert re.match(
        r'attachment; filename="newsarchive-trends-aleppo-oil-by-year-\d{4}-\d\d-\d\d\.csv"',
        response["Content-Disposition"],
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["period"], r["query"], r["count"], r["per_1000"]) for r in rows] == [
        ("2014", "aleppo", "0", "0.0"),
        ("2014", "oil", "1", "1000.0"),
        ("2015", "aleppo", "2", "1000.0"),
        ("2015", "oil", "0", "0.0"),
        ("2016", "aleppo", "1", "1000.0"),
        ("2016", "oil", "0", "0.0"),
    ]


def test_the_api_gives_the_series_as_json_and_as_csv(client, small_archive):
    response = client.get("/api/trends", {"q": ["aleppo", "oil"], "section": "Mid-East"})

    assert response.status_code == 200
    data = response.json()
    assert data["queries"] == ["aleppo", "oil"]
    assert data["filters"] == {"source": [], "section": ["Mid-East"]}
    assert data["by"] == "month" and data["per_1000"] is False
    # the span is that of the filtered archive: Mid-East articles are from 2015-2016
    assert len(data["periods"]) == 24 and data["periods"][0] == "2015-01"
    aleppo, oil = data["series"]
    assert aleppo["total"] == 3 and oil["total"] == 0
    assert sum(p["count"] for p in aleppo["points"]) == 3
    point = aleppo["points"][data["periods"].index("2015-10")]
    assert point == {
        "period": "2015-10",
        "count": 2,
        "per_1000": 1000.0,
        "url": "/search/?q=aleppo&section=Mid-East&year=2015&month=10",
    }
    as_csv = client.get("/api/trends", {"q": "aleppo", "format": "csv"})
    assert as_csv["Content-Type"].startswith("text/csv")
    assert as_csv.content.decode().splitlines()[0] == "period,query,count,per_1000"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "at least one search"),
        ({"q": ["", "  "]}, "at least one search"),
        ({"q": [f"w{n}" for n in range(MAX_QUERIES + 1)]}, f"at most {MAX_QUERIES} searches"),
        ({"q": "oil", "by": "week"}, "month or year"),
        ({"q": "x" * 501}, "at most 500 characters"),
    ],
)
def test_bad_parameters_are_a_400_with_the_reason(client, small_archive, params, message):
    api = client.get("/api/trends", params)
    page = client.get(reverse("articles:trends"), params or {"q": ""})
    export = client.get(reverse("articles:trends_export"), params)

    assert api.status_code == 400 and message in api.json()["error"]
    assert page.status_code == 400 and message in page.content.decode()
    assert export.status_code == 400 and message in export.content.decode()


def test_too_many_searches_still_chart_the_first_ones(client, small_archive):
    queries = [f"w{n}" for n in range(MAX_QUERIES + 2)]

    response = client.get(reverse("articles:trends"), {"q": queries})

    assert response.status_code == 400
    assert len(chart_of(response).findall(f".//{SVG}polyline")) == MAX_QUERIES


def test_the_first_visit_shows_the_form_without_complaint(client, small_archive):
    response = client.get(reverse("articles:trends"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="trends-form"' in html and 'id="form-error"' not in html
    assert "line-chart" not in html


def test_a_bad_query_is_explained_as_on_the_search_page(client, small_archive):
    response = client.get(reverse("articles:trends"), {"q": ["title:(", "aleppo"]})

    assert response.status_code == 200
    search_note = client.get(reverse("articles:search"), {"q": "title:("}).context["results"].error
    assert search_note and search_note in unescape(response.content.decode())


def test_labels_are_escaped_in_the_chart_the_table_and_the_form(client, small_archive):
    nasty = '<script>alert("x")</script> & oil'

    response = client.get(reverse("articles:trends"), {"q": [nasty, "aleppo"]})

    html = response.content.decode()
    assert "<script>alert" not in html
    svg = chart_of(response)  # still well-formed XML
    legend = [t.text for t in svg.iter(f"{SVG}text")]
    assert nasty in legend


def test_filters_are_offered_as_checkboxes_and_kept(client, small_archive):
    response = client.get(reverse("articles:trends"), {"q": "aleppo", "source": "AFP"})

    html = response.content.decode()
    assert re.search(r'name="source" value="AFP" checked', html)
    assert re.search(r'name="source" value="Reuters">', html)
    assert re.search(r'name="section" value="Mid-East">', html)
    svg = chart_of(response)
    assert all("source=AFP" in a.get("href") for a in svg.iter(f"{SVG}a"))


def test_per_1000_and_the_other_granularity_are_one_click_away(client, small_archive):
    response = client.get(reverse("articles:trends"), {"q": "aleppo"})

    context = response.context
    assert unescape(context["other_granularity"]) == "/trends/?q=aleppo&by=year"
    assert unescape(context["toggle_normalise_url"]) == "/trends/?q=aleppo&per1000=1"
    normalised = client.get(context["toggle_normalise_url"])
    assert chart_of(normalised).find(f"{SVG}title").text == "Per 1,000 articles per month"
