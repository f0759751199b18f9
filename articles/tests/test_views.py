"""The archive's HTML pages: what each shows, every link that changes a search, bad input,
escaping of text from files, and how many queries each page costs."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import RequestFactory
from django.urls import reverse
from pytest_django.asserts import assertContains, assertInHTML, assertNotContains

from articles import search_page, views
from articles.help_examples import Example
from articles.search import SearchQuery
from articles.templatetags.archive_extras import highlight, highlight_phrases, highlight_terms

pytestmark = pytest.mark.django_db

SCRIPT_TITLE = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;"


def search(client, **params):
    return client.get(reverse("articles:search"), params)


def params_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def group(response, key: str):
    return next(g for g in response.context["facet_groups"] if g.key == key)


def result_titles(response) -> list[str]:
    return [hit.title for hit in response.context["results"].hits]


@pytest.fixture
def script_article(add_article):
    return add_article(
        SCRIPT_TITLE,
        body="An alert was raised.",
        source="AFP",
        section="Mid-East",
        published=dt.datetime(2015, 10, 10, 9, 30, tzinfo=dt.UTC),
    )


# --- layout shared by every page -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/", "/search/?q=aleppo", "/search/help/", "/sources/", "/sections/", "/archive/"],
)
def test_every_page_has_landmarks_skip_link_and_opensearch_link(client, small_archive, url):
    response = client.get(url)

    content = response.content.decode()
    assert response.status_code == 200
    for landmark in ("<header", "<nav", '<main id="main"', "<footer"):
        assert landmark in content
    assert '<a class="skip-link" href="#main">' in content
    assert 'rel="search" type="application/opensearchdescription+xml"' in content


# --- home ------------------------------------------------------------------------------------


def test_home_has_the_search_box_labelled_search_the_archive(client):
    response = client.get(reverse("articles:home"))

    assertInHTML(
        '<label class="search-box__label" for="q">Search the archive</label>',
        response.content.decode(),
    )
    assertContains(response, 'id="q" name="q"')


def test_home_shows_the_archive_size(client, small_archive):
    response = client.get(reverse("articles:home"))

    assertContains(response, "<strong>5</strong> articles")


def test_home_lists_latest_articles_newest_first_with_undated_last(client, small_archive):
    response = client.get(reverse("articles:home"))

    assert [a.title for a in response.context["latest"]] == [
        "Aleppo ceasefire talks begin",
        "Russian air strikes hit Syria",
        "Rebels advance on Aleppo",
        "Oil prices climb",
        "Cocoa harvest falls short",
    ]


def test_home_lists_sources_and_sections_with_counts(client, small_archive):
    response = client.get(reverse("articles:home"))

    assert [(s.name, s.article_count) for s in response.context["sources"]] == [
        ("AFP", 3),
        ("Reuters", 2),
    ]
    assert [(s.name, s.article_count) for s in response.context["sections"]] == [
        ("Mid-East", 3),
        ("Business", 2),
    ]
    assertContains(response, 'href="/sources/afp/"')


def test_home_lists_years_to_browse_newest_first(client, small_archive):
    response = client.get(reverse("articles:home"))

    assert [(p.date.year, p.count) for p in response.context["years"]] == [
        (2016, 1),
        (2015, 2),
        (2014, 1),
    ]
    assertContains(response, 'href="/archive/2015/"')


def test_home_escapes_a_script_title(client, script_article):
    response = client.get(reverse("articles:home"))

    assertContains(response, ESCAPED_SCRIPT)
    assertNotContains(response, SCRIPT_TITLE)


def test_home_costs_a_fixed_number_of_queries(client, small_archive, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        client.get(reverse("articles:home"))


# --- search page: results ---------------------------------------------------------------------


def test_search_box_keeps_the_query(client, small_archive):
    response = search(client, q="aleppo")

    assertContains(response, 'id="q" name="q" value="aleppo"')


def test_search_shows_the_result_count(client, small_archive):
    response = search(client, q="aleppo")

    assert response.context["results"].total == 3
    assertInHTML(
        '<p id="result-count" class="result-count">3 results</p>', response.content.decode()
    )


def test_search_results_are_a_list_of_results(client, small_archive):
    response = search(client, q="aleppo")

    content = response.content.decode()
    assert '<ol id="results"' in content
    assert content.count('<li class="result">') == 3


def test_search_result_title_and_snippet_are_highlighted(client, small_archive):
    response = search(client, q="ceasefire")

    content = response.content.decode()
    title = re.search(r'<h3 class="result__title">(.*?)</h3>', content, re.S).group(1)
    snippet = re.search(r'<p class="result__snippet">(.*?)</p>', content, re.S).group(1)
    assert "<mark>ceasefire</mark>" in title
    assert "<mark>Geneva</mark>" in search(client, q="geneva").content.decode()
    assert snippet.startswith("Diplomats met in Geneva")


def test_search_result_shows_source_section_and_date(client, small_archive):
    response = search(client, q="ceasefire")

    assertContains(response, '<span class="result__source">Reuters</span>')
    assertContains(response, '<span class="result__section">Mid-East</span>')
    assertContains(response, "20 February 2016")


def test_search_result_links_carry_the_search_and_the_result_position(client, small_archive):
    response = search(client, q="ceasefire")

    url = small_archive["ceasefire"].get_absolute_url()
    assertContains(response, f'href="{url}?q=ceasefire&amp;n=1"')


def test_search_escapes_a_script_title(client, script_article):
    response = search(client, q="alert")

    assert response.context["results"].total == 1
    assertContains(response, ESCAPED_SCRIPT)
    assertNotContains(response, "<script>alert")


def test_search_escapes_the_query_text(client, small_archive):
    response = search(client, q='<img src=x onerror="boom">')

    assertNotContains(response, "<img src=x")
    assertContains(response, "&lt;img src=x")


def test_search_page_costs_no_more_than_two_queries(
    client, small_archive, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        search(client, q="aleppo", source="AFP", year="2015")


# --- search page: facets, chips, chart ---------------------------------------------------------


def test_source_facet_is_a_checkbox_labelled_with_its_count(client, small_archive):
    response = search(client, q="aleppo")

    assertContains(response, '<fieldset class="facet" id="facet-source">')
    item = next(i for i in group(response, "source").items if i.value == "Reuters")
    assertInHTML(
        f'<label for="{item.input_id}">Reuters <span class="count">(2)</span></label>',
        response.content.decode(),
    )


def test_facet_checkboxes_submit_with_the_search_form(client, small_archive):
    response = search(client, q="aleppo")

    assertContains(
        response,
        '<input type="checkbox" form="search-form" name="section" value="Mid-East"',
    )


def test_chosen_source_checkbox_is_checked(client, small_archive):
    response = search(client, q="aleppo", source="AFP")

    item = next(i for i in group(response, "source").items if i.value == "AFP")
    assert item.selected
    assertContains(response, f'id="{item.input_id}" checked')


def test_chosen_source_without_matches_stays_listed_so_the_form_keeps_it(client, small_archive):
    response = search(client, q="aleppo", source="Nobody")

    item = next(i for i in group(response, "source").items if i.value == "Nobody")
    assert (item.selected, item.count) == (True, 0)


def test_source_facet_link_adds_the_source_and_keeps_the_query(client, small_archive):
    response = search(client, q="aleppo")

    item = next(i for i in group(response, "source").items if i.value == "AFP")
    assert params_of(item.url) == [("q", "aleppo"), ("source", "AFP")]


def test_chosen_section_facet_link_removes_it(client, small_archive):
    response = search(client, q="aleppo", section="Mid-East")

    item = next(i for i in group(response, "section").items if i.value == "Mid-East")
    assert params_of(item.url) == [("q", "aleppo")]


def test_year_facet_links_narrow_to_a_year(client, small_archive):
    response = search(client, q="aleppo")

    links = {i.label: i.url for i in group(response, "year").items}
    assert params_of(links["2015"]) == [("q", "aleppo"), ("year", "2015")]
    assertContains(response, 'id="facet-year"')


def test_month_facet_appears_once_a_year_is_chosen(client, small_archive):
    response = search(client, q="aleppo", year="2015")

    months = {i.label: (i.count, i.url) for i in group(response, "month").items}
    assert months["October"][0] == 2
    assert params_of(months["October"][1]) == [("q", "aleppo"), ("year", "2015"), ("month", "10")]


def test_day_facet_appears_once_a_month_is_chosen(client, small_archive):
    response = search(client, q="aleppo", year="2015", month="10")

    days = {i.label: i.count for i in group(response, "day").items}
    assert days == {"10": 1, "11": 1}


def test_each_filter_shows_as_a_chip_with_an_accessible_label(client, small_archive):
    response = search(client, q="aleppo", source="AFP", section="Mid-East", year="2015")

    assert [c.aria_label for c in response.context["chips"]] == [
        "Remove filter: Source AFP",
        "Remove filter: Section Mid-East",
        "Remove filter: Year 2015",
    ]
    assertContains(response, 'class="chip" href=', count=3)


def test_chip_link_removes_only_its_own_filter(client, small_archive):
    response = search(client, q="aleppo", source=["AFP", "Reuters"], year="2015")

    chips = {c.aria_label: c.url for c in response.context["chips"]}
    assert params_of(chips["Remove filter: Source AFP"]) == [
        ("q", "aleppo"),
        ("source", "Reuters"),
        ("year", "2015"),
    ]


def test_removing_the_year_chip_drops_its_month_too(client, small_archive):
    response = search(client, q="aleppo", year="2015", month="10")

    chips = {c.aria_label: c.url for c in response.context["chips"]}
    assert params_of(chips["Remove filter: Year 2015"]) == [("q", "aleppo")]
    assert params_of(chips["Remove filter: Month October 2015"]) == [
        ("q", "aleppo"),
        ("year", "2015"),
    ]


def test_date_range_filters_show_as_chips(client, small_archive):
    response = search(client, q="aleppo", date_from="2015-01-01", date_to="2015-12-31")

    chips = {c.aria_label: c.url for c in response.context["chips"]}
    assert params_of(chips["Remove filter: From 2015-01-01"]) == [
        ("q", "aleppo"),
        ("date_to", "2015-12-31"),
    ]
    assert result_titles(response) != []
    assert response.context["results"].total == 2


def test_clear_all_filters_link_keeps_only_the_query(client, small_archive):
    response = search(client, q="aleppo", source="AFP", year="2015")

    assert response.context["clear_filters_url"] == "/search/?q=aleppo"
    assertContains(response, 'id="clear-filters" href="/search/?q=aleppo"')


def test_coverage_chart_has_a_linked_bar_with_a_title_per_year(client, small_archive):
    response = search(client, q="aleppo")

    bars = {bar.label: bar for bar in response.context["chart"].bars}
    assert [(label, bars[label].count) for label in ("2015", "2016")] == [("2015", 2), ("2016", 1)]
    assert params_of(bars["2015"].url) == [("q", "aleppo"), ("year", "2015")]
    assertContains(response, "<title>2015: 2 matching articles</title>")
    assertContains(response, "<svg")


def test_coverage_chart_zooms_to_the_days_of_the_one_month_that_matches(client, small_archive):
    response = search(client, q="aleppo", year="2015")

    chart = response.context["chart"]
    assert chart.caption == "Matches per day in October 2015"
    assert [bar.label for bar in chart.bars][:3] == ["1", "2", "3"]
    tenth = chart.bars[9]
    assert (tenth.count, params_of(tenth.url)) == (
        1,
        [("q", "aleppo"), ("year", "2015"), ("month", "10"), ("day", "10")],
    )
    assert chart.bars[0].url is None  # no link to an empty day


# --- search page: sort, pagination, suggestion, no results, bad input -----------------------


def test_sort_newest_puts_the_latest_article_first(client, small_archive):
    response = search(client, q="aleppo", sort="newest")

    assert result_titles(response) == [
        "Aleppo ceasefire talks begin",
        "Russian air strikes hit Syria",
        "Rebels advance on Aleppo",
    ]


def test_sort_oldest_puts_the_earliest_article_first(client, small_archive):
    response = search(client, q="aleppo", sort="oldest")

    assert result_titles(response)[0] == "Rebels advance on Aleppo"


def test_sort_menu_shows_the_current_sort(client, small_archive):
    response = search(client, q="aleppo", sort="oldest")

    assertContains(response, '<select id="sort" name="sort" form="search-form"')
    assertContains(response, '<option value="oldest" selected>Oldest first</option>')


def test_pagination_links_next_and_previous_pages(client, small_archive):
    response = search(client, q="aleppo", per_page="1", page="2")

    assert response.context["previous_url"] == "/search/?q=aleppo&per_page=1"
    assert response.context["next_url"] == "/search/?q=aleppo&per_page=1&page=3"
    assertContains(response, '<nav class="pagination" aria-label="Pagination">')
    assertContains(response, 'rel="prev"')
    assertContains(response, 'rel="next"')
    assertContains(response, 'aria-label="Page 2" aria-current="page"')


def test_second_page_shows_the_next_results(client, small_archive):
    first = search(client, q="aleppo", per_page="2", sort="newest")
    second = search(client, q="aleppo", per_page="2", sort="newest", page="2")

    assert result_titles(first) == ["Aleppo ceasefire talks begin", "Russian air strikes hit Syria"]
    assert result_titles(second) == ["Rebels advance on Aleppo"]
    assertContains(second, '<ol id="results" class="results" start="3">')


def test_page_past_the_end_offers_the_last_page(client, small_archive):
    response = search(client, q="aleppo", per_page="2", page="9")

    assert response.status_code == 200
    assert response.context["results"].total == 3
    assertContains(response, 'id="past-the-end"')
    assertContains(response, 'href="/search/?q=aleppo&amp;per_page=2&amp;page=2"')


def test_misspelt_query_offers_a_did_you_mean_link(client, small_archive, add_article):
    # The service suggests only words common enough in the archive to be a likely intent.
    for n in range(3):
        add_article(f"Report {n}", body="News from Aleppo.")

    response = search(client, q="alepo", source="AFP")

    suggestion = response.context["results"].suggestion
    assert suggestion == "aleppo"
    assert params_of(response.context["suggestion_url"]) == [("q", "aleppo"), ("source", "AFP")]
    assertContains(response, 'id="suggestion"')


def test_no_results_page_suggests_what_to_try(client, small_archive):
    response = search(client, q="zanzibar")

    assertContains(response, 'id="no-results"')
    assertContains(response, "No articles match “zanzibar”")
    assertContains(response, "Check the spelling")
    assertContains(response, 'href="/search/help/"')


def test_no_results_page_suggests_the_help_pages_examples_drawn_from_the_archive(
    client, add_article
):
    for n in range(3):
        add_article(f"Harbour pilots strike again {n}", body=f"Dockers joined pilots. {n}",
                    source="Lloyd's List", section="Shipping")  # fmt: skip
    for n in range(2):
        add_article(f"Cargo rates tumble {n}", body="Freight markets fell.")

    response = search(client, q="zanzibar")

    help_page = client.get(reverse("articles:search_help")).context["help_sections"]
    examples = {e.query: e for _, group in help_page for e in group}
    html = re.search(r'<section class="no-results" id="no-results".*?</section>',
                     response.content.decode(), re.S).group()  # fmt: skip
    for tip, ends_with in (("tip-fuzzy", "~"), ("tip-either", None), ("tip-prefix", "*")):
        found = re.search(rf'<a href="([^"]*)" id="{tip}">([^<]*)</a>', html)
        assert found, tip
        href, query = (unescape(part) for part in found.groups())
        assert query in examples, (tip, query)
        assert href == examples[query].url
        assert ends_with is None or query.endswith(ends_with)
        assert search(client, q=query).context["results"].total >= 2, query
    for fixed in ("presdent~", "oil OR gas", "econom*"):
        assert fixed not in html


def test_no_results_with_filters_links_to_the_search_without_them(client, small_archive):
    response = search(client, q="oil", section="Mid-East")

    assertContains(response, 'href="/search/?q=oil" id="search-without-filters"')


def test_bad_parameter_is_explained_and_the_page_still_renders(client, small_archive):
    response = search(client, q="aleppo", page="0", date_from="2015-02-30")

    assert response.status_code == 400
    assertContains(response, 'id="form-error"', status_code=400)
    assertContains(response, "The page must be a whole number", status_code=400)
    assertContains(response, "The start date must be a real date", status_code=400)
    assert response.context["results"].total == 3


def test_bad_date_stays_in_its_field_marked_invalid(client, small_archive):
    response = search(client, q="aleppo", date_from="2015-02-30")

    assertContains(
        response,
        'id="date-from" name="date_from" form="search-form" value="2015-02-30" aria-invalid="true"',
        status_code=400,
    )


def test_search_form_keeps_the_chosen_period_when_the_query_changes(client, small_archive):
    response = search(client, q="aleppo", year="2015", month="10", per_page="5")

    content = response.content.decode()
    for name, value in (("year", "2015"), ("month", "10"), ("per_page", "5")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in content


def test_impossible_day_is_explained(client, small_archive):
    response = search(client, q="aleppo", year="2015", month="2", day="30")

    assertContains(response, "2015-02-30 is not a real date.", status_code=400)


def test_malformed_query_is_explained_politely_and_still_searched(client, small_archive):
    response = search(client, q='"ceasefire talks')

    assert response.status_code == 200
    assertContains(response, 'id="query-error"')
    assertContains(response, "A quotation mark was not closed")
    assert result_titles(response) == ["Aleppo ceasefire talks begin"]


def test_empty_search_invites_a_query(client):
    response = search(client)

    assert response.status_code == 200
    assertContains(response, 'id="search-intro"')


# --- article page -----------------------------------------------------------------------------


def test_article_url_is_its_date_and_slug(small_archive):
    article = small_archive["aleppo"]

    assert article.get_absolute_url() == f"/articles/2015/10/10/{article.slug}/"


def test_undated_article_url_has_no_date(small_archive):
    article = small_archive["cocoa"]

    assert article.get_absolute_url() == f"/articles/undated/{article.slug}/"


def test_article_page_shows_title_source_section_date_and_paragraphs(client, small_archive):
    article = small_archive["aleppo"]

    response = client.get(article.get_absolute_url())

    assertContains(response, '<h1 id="article-title">Rebels advance on Aleppo</h1>')
    assertContains(response, 'href="/sources/afp/" id="article-source">AFP</a>')
    assertContains(response, 'href="/sections/mid-east/" id="article-section">Mid-East</a>')
    assertContains(response, 'href="/archive/2015/10/10/" id="article-date"')
    assertContains(response, "<p>Fighters advanced on Aleppo on Friday.</p>")
    assertContains(response, "<p>The offensive continued overnight.</p>")


def test_undated_article_page_renders(client, small_archive):
    response = client.get(small_archive["cocoa"].get_absolute_url())

    assertContains(response, '<span id="article-date">Undated</span>')


def test_article_at_a_wrong_date_redirects_permanently_to_its_url(client, small_archive):
    article = small_archive["aleppo"]

    response = client.get(f"/articles/2001/1/1/{article.slug}/?highlight=aleppo")

    assert response.status_code == 301
    assert response["Location"] == f"{article.get_absolute_url()}?highlight=aleppo"


def test_article_by_id_redirects_to_its_url(client, small_archive):
    article = small_archive["aleppo"]

    response = client.get(reverse("articles:article_by_id", args=[article.pk]))

    assert response.status_code == 302
    assert response["Location"] == article.get_absolute_url()


def test_article_by_id_keeps_the_words_to_highlight(client, small_archive):
    article = small_archive["aleppo"]

    response = client.get(f"/articles/{article.pk}/?highlight=aleppo")

    assert response["Location"] == f"{article.get_absolute_url()}?highlight=aleppo"


def test_unknown_article_is_a_404(client, small_archive):
    response = client.get("/articles/2015/10/10/no-such-article/")

    assert response.status_code == 404


def test_article_marks_the_searched_words(client, small_archive):
    article = small_archive["aleppo"]

    response = client.get(article.get_absolute_url(), {"highlight": "offensive"})

    assertContains(response, "<p>The <mark>offensive</mark> continued overnight.</p>")
    assertContains(response, 'id="highlight-note"')


def test_article_takes_words_to_mark_from_the_search_it_came_from(client, small_archive):
    article = small_archive["aleppo"]

    response = client.get(
        article.get_absolute_url(), HTTP_REFERER="http://testserver/search/?q=overnight"
    )

    assertContains(response, "<mark>overnight</mark>")


def test_article_ignores_a_referer_from_another_site(client, small_archive):
    article = small_archive["aleppo"]

    response = client.get(
        article.get_absolute_url(), HTTP_REFERER="http://elsewhere.example/search/?q=overnight"
    )

    assertNotContains(response, "<mark>")


def test_article_escapes_a_script_title_even_when_highlighting(client, script_article):
    response = client.get(script_article.get_absolute_url(), {"highlight": "script alert"})

    assertContains(response, "&lt;<mark>script</mark>&gt;<mark>alert</mark>(1)")
    assertNotContains(response, SCRIPT_TITLE)


def test_article_lists_related_articles(client, small_archive):
    response = client.get(small_archive["aleppo"].get_absolute_url())

    related = response.context["related"]
    assert small_archive["aleppo"] not in related
    assert related and all(a.pk for a in related)
    assertContains(response, 'id="related"')


def test_article_page_costs_a_fixed_number_of_queries(
    client, small_archive, django_assert_max_num_queries
):
    # The article, the related articles' rows, and the search service's own read of the article.
    with django_assert_max_num_queries(3):
        response = client.get(small_archive["aleppo"].get_absolute_url())

    assert response.status_code == 200


# --- highlighting ------------------------------------------------------------------------------


def test_highlight_terms_skip_operators_fields_excluded_words_and_phrases():
    query = 'title:oil OR "gas prices" NOT coal -tar econom* presdent~2'
    assert highlight_terms(query) == ["oil", "econom*", "presdent"]
    assert highlight_phrases(query) == [["gas", "prices"]]


def test_highlight_terms_skip_date_ranges():
    assert highlight_terms("published:[2015-01-01 to 2015-06-30] aleppo") == ["aleppo"]


def test_highlight_marks_word_forms_and_wildcards():
    assert highlight("Economic strikes", "econom* strike") == (
        "<mark>Economic</mark> <mark>strikes</mark>"
    )


def test_highlight_never_marks_inside_escaped_entities():
    assert highlight("Tom & Jerry", "amp") == "Tom &amp; Jerry"


# --- browsing by source and section -------------------------------------------------------------


def test_sources_page_lists_sources_with_counts(client, small_archive):
    response = client.get(reverse("articles:sources"))

    assert [(s.name, s.article_count) for s in response.context["object_list"]] == [
        ("AFP", 3),
        ("Reuters", 2),
    ]
    assertContains(response, 'href="/sources/reuters/"')


def test_source_page_lists_its_articles_newest_first(client, small_archive):
    response = client.get(reverse("articles:source", args=["afp"]))

    assert [a.title for a in response.context["object_list"]] == [
        "Rebels advance on Aleppo",
        "Oil prices climb",
        "Cocoa harvest falls short",
    ]
    assertContains(response, "<h1>AFP</h1>")
    assertContains(response, 'href="/search/?source=AFP"')


def test_source_page_is_paginated(client, add_article):
    for n in range(25):
        add_article(
            f"Story {n}", source="AFP", published=dt.datetime(2015, 1, n + 1, tzinfo=dt.UTC)
        )

    first = client.get(reverse("articles:source", args=["afp"]))
    second = client.get(reverse("articles:source", args=["afp"]), {"page": 2})

    assert len(first.context["object_list"]) == 20
    assertContains(first, 'href="?page=2" rel="next"')
    assert [a.title for a in second.context["object_list"]][0] == "Story 4"


def test_unknown_source_is_a_404(client, small_archive):
    assert client.get(reverse("articles:source", args=["nobody"])).status_code == 404


def test_sections_page_and_section_page(client, small_archive):
    listing = client.get(reverse("articles:sections"))
    page = client.get(reverse("articles:section", args=["business"]))

    assertContains(listing, 'href="/sections/business/"')
    assert [a.title for a in page.context["object_list"]] == [
        "Oil prices climb",
        "Cocoa harvest falls short",
    ]


def test_source_and_section_pages_escape_a_script_title(client, script_article):
    for url in (
        reverse("articles:source", args=["afp"]),
        reverse("articles:section", args=["mid-east"]),
    ):
        response = client.get(url)
        assertContains(response, ESCAPED_SCRIPT)
        assertNotContains(response, SCRIPT_TITLE)


def test_source_page_costs_a_fixed_number_of_queries(
    client, small_archive, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        client.get(reverse("articles:source", args=["afp"]))


# --- browsing by date ----------------------------------------------------------------------------


def test_archive_lists_years_with_counts(client, small_archive):
    response = client.get(reverse("articles:archive"))

    assert [(p.date.year, p.count) for p in response.context["date_list"]] == [
        (2016, 1),
        (2015, 2),
        (2014, 1),
    ]
    assertContains(response, "1 article has no date")


def test_archive_year_lists_its_months(client, small_archive):
    response = client.get(reverse("articles:archive_year", args=[2015]))

    assert [(p.date.month, p.count) for p in response.context["date_list"]] == [(10, 2)]
    assertContains(response, 'href="/archive/2015/10/">October</a>')
    assertContains(response, 'rel="prev" href="/archive/2014/"')
    assertContains(response, 'rel="next" href="/archive/2016/"')


def test_archive_month_lists_its_days_and_articles(client, small_archive):
    response = client.get(reverse("articles:archive_month", args=[2015, 10]))

    assert [(p.date.day, p.count) for p in response.context["date_list"]] == [(10, 1), (11, 1)]
    assert [a.title for a in response.context["object_list"]] == [  # oldest first, like a diary
        "Rebels advance on Aleppo",
        "Russian air strikes hit Syria",
    ]
    # The days as a calendar: 1 October 2015 was a Thursday, the 10th a Saturday.
    assertInHTML(
        '<td><a href="/archive/2015/10/10/" aria-label="10 October: 1 article">'
        '<span>10</span> <span class="calendar__count">1</span></a></td>',
        response.content.decode(),
    )
    first_week = re.search(r"<tbody>\s*<tr>(.*?)</tr>", response.content.decode(), re.S).group(1)
    assert first_week.count('class="is-empty"') == 3


def test_a_source_page_lists_its_sections_and_years_linked_to_searches(client, small_archive):
    response = client.get(reverse("articles:source", args=["afp"]))

    breakdowns = dict(response.context["breakdowns"])
    assert [(label, n) for label, n, _ in breakdowns["Sections"]] == [
        ("Business", 2),
        ("Mid-East", 1),
    ]
    assert [(label, n) for label, n, _ in breakdowns["Years"]] == [("2015", 1), ("2014", 1)]
    for label, count, url in breakdowns["Sections"] + breakdowns["Years"]:
        assert client.get(url).context["results"].total == count, label


def test_long_lists_have_numbered_pages_up_to_the_last(client, add_article):
    for n in range(45):
        add_article(f"Story {n}", source="AFP", published=dt.datetime(2015, 1, 1, tzinfo=dt.UTC))

    html = client.get(reverse("articles:source", args=["afp"]), {"page": 2}).content.decode()

    assert 'aria-label="Page 3"' in html and 'aria-current="page">2</a>' in html
    assert "Page 2 of 3" in html


def test_archive_day_lists_its_articles(client, small_archive):
    response = client.get(reverse("articles:archive_day", args=[2015, 10, 11]))

    assert [a.title for a in response.context["object_list"]] == ["Russian air strikes hit Syria"]
    assertContains(response, 'rel="prev" href="/archive/2015/10/10/"')
    assertContains(response, 'href="/search/?year=2015&amp;month=10&amp;day=11"')


def test_archive_day_escapes_a_script_title(client, script_article):
    response = client.get(reverse("articles:archive_day", args=[2015, 10, 10]))

    assertContains(response, ESCAPED_SCRIPT)
    assertNotContains(response, SCRIPT_TITLE)


@pytest.mark.parametrize(
    "url",
    ["/archive/2013/", "/archive/2015/9/", "/archive/2015/13/", "/archive/99999/", "/archive/0/"],
)
def test_archive_period_without_articles_or_impossible_is_a_404(client, small_archive, url):
    assert client.get(url).status_code == 404


def test_empty_archive_index_still_renders(client):
    response = client.get(reverse("articles:archive"))

    assertContains(response, "No dated articles yet.")


@pytest.mark.parametrize(
    ("name", "args", "limit"),
    [
        ("articles:archive", [], 5),
        ("articles:archive_year", [2015], 5),
        ("articles:archive_month", [2015, 10], 6),
        ("articles:archive_day", [2015, 10, 10], 7),
    ],
)
def test_archive_pages_cost_a_fixed_number_of_queries(
    client, small_archive, django_assert_max_num_queries, name, args, limit
):
    with django_assert_max_num_queries(limit):
        assert client.get(reverse(name, args=args)).status_code == 200


# --- help, OpenSearch, errors ---------------------------------------------------------------------


def test_search_help_examples_are_links_that_run_them(client):
    response = client.get(reverse("articles:search_help"))

    for example in ('"air strikes"', "oil OR gas", "title:aleppo"):  # an empty archive's
        url = Example(example, "").url
        assertContains(response, f'href="{url.replace("&", "&amp;")}"')
    assertContains(response, "published:[2015-01-01 to 2015-06-30]")


def test_search_help_examples_are_drawn_from_the_archive_and_find_something(client, add_article):
    for n in range(3):
        add_article(f"Harbour pilots strike again {n}", body=f"Dockers joined pilots. {n}",
                    source="Lloyd's List", section="Shipping",
                    published=dt.datetime(2009, 9, 1 + n, tzinfo=dt.UTC))  # fmt: skip
    for n in range(2):
        add_article(f"Cargo rates tumble {n}", body="Freight markets fell.",
                    source="Lloyd's List", section="Markets",
                    published=dt.datetime(2009, 10, 1, tzinfo=dt.UTC))  # fmt: skip

    sections = client.get(reverse("articles:search_help")).context["help_sections"]

    examples = {e.query: e for _, group in sections for e in group}
    assert '"harbour pilots"' in examples
    assert 'source:"Lloyd\'s List"' in examples and "section:Shipping" in examples
    assert "published:[2009-07-01 to 2009-12-31]" in examples
    queries = [e.query for _, group in sections for e in group]
    assert "pilots~" not in queries  # every word comes from the titles, none from the seeds
    for query in queries:
        if " NOT " in query or " -" in query:
            continue  # an exclusion may rightly exclude everything in so small an archive
        assert search(client, q=query).context["results"].total >= 2, query


def test_opensearch_description_points_at_the_search_page(client):
    response = client.get(reverse("articles:opensearch"))

    assert response["Content-Type"].startswith("application/opensearchdescription+xml")
    assertContains(response, "<ShortName>newsarchive</ShortName>")
    assertContains(response, 'template="http://testserver/search/?q={searchTerms}"')


def test_404_page_uses_the_site_template(client):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assertContains(response, '<h1 id="error-title">Page not found</h1>', status_code=404)
    assertContains(response, '<a class="skip-link"', status_code=404)


def test_404_handler_view_renders_the_site_page():
    request = RequestFactory().get("/missing/")

    response = views.page_not_found(request, Exception("missing"))

    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_500_page_renders_without_database_or_request(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = views.server_error(RequestFactory().get("/boom/"))

    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"/static/css/site.css" in response.content


def test_search_form_view_helpers_never_need_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        search_page.active_filters(SearchQuery(sources=("AFP",), year=2015, month=3, day=5))
