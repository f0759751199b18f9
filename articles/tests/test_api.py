"""The JSON API: the search as data, its refusal of bad parameters, and single articles."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import RequestFactory
from django.urls import reverse

from articles import views

pytestmark = pytest.mark.django_db

RESULT_FIELDS = {
    "id", "title", "url", "source", "section", "published", "snippet",
    "thread", "versions", "other_versions",
}  # fmt: skip


def api_search(client, **params):
    return client.get(reverse("articles:api_search"), params)


def test_search_returns_the_documented_fields(client, small_archive):
    data = api_search(client, q="ceasefire").json()

    assert {
        "query",
        "total",
        "page",
        "pages",
        "per_page",
        "results",
        "facets",
        "suggestion",
    } <= set(data)
    assert (data["query"], data["total"], data["page"], data["pages"], data["per_page"]) == (
        "ceasefire",
        1,
        1,
        1,
        20,
    )
    (result,) = data["results"]
    assert set(result) == RESULT_FIELDS
    article = small_archive["ceasefire"]
    assert (result["id"], result["title"], result["url"]) == (
        article.pk,
        "Aleppo ceasefire talks begin",
        article.get_absolute_url(),
    )
    assert (result["source"], result["section"]) == ("Reuters", "Mid-East")


def test_search_dates_are_iso_8601(client, small_archive):
    (result,) = api_search(client, q="ceasefire").json()["results"]

    assert dt.datetime.fromisoformat(result["published"]) == dt.datetime(
        2016, 2, 20, 9, 30, tzinfo=dt.UTC
    )


def test_search_snippet_marks_the_words(client, small_archive):
    (result,) = api_search(client, q="geneva").json()["results"]

    assert "<mark>" in result["snippet"].lower()


def test_facets_are_display_names_with_counts(client, small_archive):
    facets = api_search(client, q="aleppo").json()["facets"]

    assert {f["value"]: f["count"] for f in facets["source"]} == {"AFP": 1, "Reuters": 2}
    assert {f["value"]: f["count"] for f in facets["section"]} == {"Mid-East": 3}
    assert {f["value"]: f["count"] for f in facets["year"]} == {"2015": 2, "2016": 1}
    assert set(facets["source"][0]) == {"value", "count", "selected"}


def test_chosen_facet_value_is_marked_selected(client, small_archive):
    facets = api_search(client, q="aleppo", source="AFP").json()["facets"]

    assert {f["value"]: f["selected"] for f in facets["source"]}["AFP"] is True


def test_month_facet_is_given_once_a_year_is_chosen(client, small_archive):
    data = api_search(client, q="aleppo", year="2015").json()

    assert data["total"] == 2
    assert sum(f["count"] for f in data["facets"]["month"]) == 2


def test_repeated_source_matches_either(client, small_archive):
    data = api_search(client, q="aleppo", source=["AFP", "Reuters"]).json()

    assert data["total"] == 3
    assert data["filters"]["source"] == ["AFP", "Reuters"]


def test_date_range_narrows_the_results(client, small_archive):
    data = api_search(client, date_from="2015-10-11", date_to="2016-12-31").json()

    assert {r["title"] for r in data["results"]} == {
        "Russian air strikes hit Syria",
        "Aleppo ceasefire talks begin",
    }


def test_per_page_and_page_split_the_results(client, small_archive):
    data = api_search(client, q="aleppo", per_page="2", page="2", sort="newest").json()

    assert (data["total"], data["pages"], data["page"], data["per_page"]) == (3, 2, 2, 2)
    assert [r["title"] for r in data["results"]] == ["Rebels advance on Aleppo"]


def test_page_past_the_end_is_empty_with_the_right_total(client, small_archive):
    response = api_search(client, q="aleppo", page="50")

    assert response.status_code == 200
    data = response.json()
    assert (data["results"], data["total"], data["page"]) == ([], 3, 50)


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2015-02-30"},
        {"date_to": "tomorrow"},
        {"year": "2015", "month": "2", "day": "30"},
        {"page": "0"},
        {"page": "x"},
        {"per_page": "101"},
        {"per_page": "0"},
        {"sort": "random"},
        {"month": "3"},
    ],
)
def test_bad_parameters_are_a_400_with_an_error_message(client, small_archive, params):
    response = api_search(client, q="aleppo", **params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]


def test_bad_parameter_error_names_the_field(client):
    data = api_search(client, page="0").json()

    assert data == {
        "error": "The page must be a whole number from 1 to 10000.",
        "errors": {"page": ["The page must be a whole number from 1 to 10000."]},
    }


def test_search_refuses_post(client):
    assert client.post(reverse("articles:api_search")).status_code == 405


def test_titles_come_back_as_plain_text_in_json(client, add_article):
    add_article("<script>alert(1)</script>", body="An alert was raised.")

    response = api_search(client, q="alert")

    assert response["Content-Type"] == "application/json"
    assert response.json()["results"][0]["title"] == "<script>alert(1)</script>"
    assert b"<script>" not in response.json()["results"][0]["snippet"].encode()


def test_article_returns_result_fields_body_and_related(client, small_archive):
    article = small_archive["aleppo"]

    data = client.get(reverse("articles:api_article", args=[article.pk])).json()

    assert RESULT_FIELDS | {"body", "related"} == set(data)
    assert (data["id"], data["title"], data["source"], data["section"]) == (
        article.pk,
        "Rebels advance on Aleppo",
        "AFP",
        "Mid-East",
    )
    assert data["body"] == article.body
    assert data["published"] == "2015-10-10T09:30:00+00:00"
    assert article.pk not in data["related"]
    assert all(isinstance(i, int) for i in data["related"])


def test_undated_article_has_null_published(client, small_archive):
    data = client.get(reverse("articles:api_article", args=[small_archive["cocoa"].pk])).json()

    assert data["published"] is None
    assert data["url"] == small_archive["cocoa"].get_absolute_url()


def test_unknown_article_is_a_json_404(client, small_archive):
    response = client.get(reverse("articles:api_article", args=[999999]))

    assert response.status_code == 404
    assert response.json() == {"error": "No article with id 999999."}


def test_not_found_handler_answers_json_under_the_api():
    response = views.page_not_found(RequestFactory().get("/api/nothing-here"), Exception())

    assert response.status_code == 404
    assert json.loads(response.content) == {"error": "Not found."}
