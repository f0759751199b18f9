"""The search service (articles.search.search) on a real Whoosh index in a temp folder.

Each test builds the few articles it needs with `add_article` (created through the ORM and
indexed by the signals when the capture of on_commit callbacks ends).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from articles.search import SearchQuery, more_like_this, search

pytestmark = pytest.mark.django_db


def day(year: int, month: int = 1, date: int = 1, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, date, hour, tzinfo=dt.UTC)


def titles(results) -> list[str]:
    return [hit.title for hit in results.hits]


def facet(results, name: str) -> dict[str, int]:
    return {v.label: v.count for v in results.facets[name]}


def selected(results, name: str) -> list[str]:
    return [v.label for v in results.facets[name] if v.selected]


# --- words, phrases, operators -----------------------------------------------------------------


def test_all_words_must_match(add_article):
    add_article("Cocoa exports rise", body="Ghana sold more cocoa abroad.")
    add_article("Cocoa prices", body="The market was quiet.")
    assert titles(search(SearchQuery(q="cocoa ghana"))) == ["Cocoa exports rise"]


def test_phrase_matches_only_adjacent_words(add_article):
    add_article("Rates", body="The bank raised interest rates again.")
    add_article("Rates apart", body="Rates of pay and interest in football.")
    assert titles(search(SearchQuery(q='"interest rates"'))) == ["Rates"]


def test_phrase_in_the_title(add_article):
    add_article("Prime minister resigns", body="A short story.")
    add_article("Minister prime", body="Another story.")
    assert titles(search(SearchQuery(q='"prime minister"'))) == ["Prime minister resigns"]


def test_or_matches_either_word(add_article):
    add_article("Oil", body="Crude oil rose.")
    add_article("Gas", body="Natural gas fell.")
    add_article("Coal", body="Coal was flat.")
    assert sorted(titles(search(SearchQuery(q="oil OR gas")))) == ["Gas", "Oil"]


def test_and_operator_is_the_same_as_two_words(add_article):
    add_article("Oil and gas", body="Oil and gas both rose.")
    add_article("Oil", body="Crude oil rose.")
    assert titles(search(SearchQuery(q="oil AND gas"))) == ["Oil and gas"]


def test_not_and_minus_exclude_a_word(add_article):
    add_article("Oil", body="Crude oil rose.")
    add_article("Oil and gas", body="Oil and gas both rose.")
    assert titles(search(SearchQuery(q="oil NOT gas"))) == ["Oil"]
    assert titles(search(SearchQuery(q="oil -gas"))) == ["Oil"]


def test_negative_only_query_returns_everything_else(add_article):
    add_article("Football", body="A match.")
    add_article("Cricket", body="A test.")
    assert titles(search(SearchQuery(q="-football"))) == ["Cricket"]


def test_title_field_query_ignores_the_body(add_article):
    add_article("Budget day", body="The chancellor spoke.")
    add_article("Chancellor speaks", body="About the budget.")
    assert titles(search(SearchQuery(q="title:budget"))) == ["Budget day"]


def test_source_and_section_field_queries(add_article):
    add_article("One", body="Text.", source="Press Association", section="Sport")
    add_article("Two", body="Text.", source="BBC", section="Sport")
    assert titles(search(SearchQuery(q='source:"press association"'))) == ["One"]
    assert sorted(titles(search(SearchQuery(q="section:SPORT")))) == ["One", "Two"]


def test_prefix_matches_word_beginnings(add_article):
    add_article("Economy", body="The economy grew.")
    add_article("Economists", body="Economists disagree.")
    add_article("Ecology", body="Trees.")
    assert sorted(titles(search(SearchQuery(q="econom*")))) == ["Economists", "Economy"]


def test_one_letter_prefix_is_refused_with_a_message(add_article):
    add_article("Apples", body="Apples.")
    results = search(SearchQuery(q="a*"))
    assert results.error and "at least 2 letters" in results.error


def test_fuzzy_finds_near_spellings(add_article):
    add_article("President visits", body="The president arrived.")
    add_article("Other", body="Nothing here.")
    assert titles(search(SearchQuery(q="presdent~"))) == ["President visits"]


def test_date_range_in_the_query(add_article):
    add_article("March", body="Text.", published=day(1987, 3, 15))
    add_article("April", body="Text.", published=day(1987, 4, 1))
    results = search(SearchQuery(q="published:[1987-03-01 to 1987-03-31]"))
    assert titles(results) == ["March"]


# --- analysis ------------------------------------------------------------------------------------


def test_accents_are_folded(add_article):
    add_article("Médecins Sans Frontières", body="Aid workers.")
    assert titles(search(SearchQuery(q="Medecins"))) == ["Médecins Sans Frontières"]
    assert titles(search(SearchQuery(q="médecins"))) == ["Médecins Sans Frontières"]


def test_words_are_stemmed(add_article):
    add_article("Rate rise", body="The bank raised the rate.")
    assert titles(search(SearchQuery(q="rates"))) == ["Rate rise"]
    assert titles(search(SearchQuery(q="raising"))) == ["Rate rise"]


def test_search_is_case_insensitive(add_article):
    add_article("Cocoa", body="Text.")
    assert titles(search(SearchQuery(q="COCOA"))) == ["Cocoa"]


def test_title_matches_rank_above_body_matches(add_article):
    add_article(
        "Weather report", body="Cocoa was mentioned once in passing here.", published=day(2015)
    )
    add_article("Cocoa harvest", body="Farmers reported on the crop.", published=day(2014))
    assert titles(search(SearchQuery(q="cocoa")))[0] == "Cocoa harvest"


def test_stop_words_alone_match_everything(add_article):
    add_article("One", body="Text.")
    assert search(SearchQuery(q="the")).total == 1


# --- facets --------------------------------------------------------------------------------------


@pytest.fixture
def faceted(add_article):
    """Six articles over two sources, two sections and two years."""
    rows = [
        ("BBC", "Sport", day(2004, 5, 1)),
        ("BBC", "Sport", day(2005, 6, 2)),
        ("BBC", "Business", day(2005, 6, 3)),
        ("Reuters", "Business", day(2005, 7, 4)),
        ("Reuters", "Cocoa", day(1987, 3, 5)),
        ("Reuters", "Cocoa", day(1987, 3, 6)),
    ]
    for i, (source, section, published) in enumerate(rows):
        add_article(
            f"Story {i}", body="Market news.", source=source, section=section, published=published
        )


def test_facets_count_the_matches(faceted):
    results = search(SearchQuery(q="market"))
    assert facet(results, "source") == {"Reuters": 3, "BBC": 3}
    assert facet(results, "section") == {"Business": 2, "Cocoa": 2, "Sport": 2}
    assert facet(results, "year") == {"1987": 2, "2004": 1, "2005": 3}


def test_facet_values_are_ordered_by_count_then_name(add_article):
    add_article("a", source="Zeta")
    add_article("b", source="Alpha")
    add_article("c", source="Zeta")
    assert [v.label for v in search(SearchQuery()).facets["source"]] == ["Zeta", "Alpha"]


def test_year_facet_is_chronological(faceted):
    assert [v.value for v in search(SearchQuery()).facets["year"]] == ["1987", "2004", "2005"]


def test_values_of_one_facet_are_ored(faceted):
    results = search(SearchQuery(sections=("Sport", "Cocoa")))
    assert results.total == 4


def test_different_facets_are_anded(faceted):
    results = search(SearchQuery(sources=("BBC",), sections=("Sport",)))
    assert results.total == 2


def test_selected_values_are_matched_case_insensitively(faceted):
    assert search(SearchQuery(sources=("bbc",))).total == 3


def test_a_facet_counts_as_if_its_own_selection_were_absent(faceted):
    results = search(SearchQuery(sources=("BBC",)))
    assert facet(results, "source") == {"BBC": 3, "Reuters": 3}
    assert selected(results, "source") == ["BBC"]
    # ... while the other facets are narrowed by it.
    assert facet(results, "section") == {"Sport": 2, "Business": 1}


def test_selected_value_without_matches_is_still_listed(faceted):
    results = search(SearchQuery(q="nothingmatchesthis", sources=("BBC",)))
    assert [(v.label, v.count, v.selected) for v in results.facets["source"]] == [("BBC", 0, True)]


def test_empty_query_browses_everything_with_facets(faceted):
    results = search(SearchQuery())
    assert results.total == 6
    assert sum(v.count for v in results.facets["year"]) == 6


def test_month_facet_appears_once_a_year_is_chosen(faceted):
    assert "month" not in search(SearchQuery()).facets
    results = search(SearchQuery(year=2005))
    assert [(v.value, v.label, v.count) for v in results.facets["month"]] == [
        ("6", "June", 2),
        ("7", "July", 1),
    ]
    assert "day" not in results.facets


def test_day_facet_appears_once_a_month_is_chosen(faceted):
    results = search(SearchQuery(year=2005, month=6))
    assert results.total == 2
    assert facet(results, "day") == {"2": 1, "3": 1}


def test_choosing_a_day_narrows_to_it(faceted):
    results = search(SearchQuery(year=2005, month=6, day=3))
    assert titles(results) == ["Story 2"]
    assert selected(results, "day") == ["3"]


def test_year_facet_keeps_other_years_when_one_is_chosen(faceted):
    results = search(SearchQuery(year=2005))
    assert facet(results, "year") == {"1987": 2, "2004": 1, "2005": 3}
    assert selected(results, "year") == ["2005"]


def test_undated_articles_are_in_no_year(add_article):
    add_article("Undated", published=None)
    add_article("Dated", published=day(2015))
    results = search(SearchQuery())
    assert results.total == 2
    assert facet(results, "year") == {"2015": 1}


def test_date_range_filter_is_inclusive(faceted):
    results = search(SearchQuery(date_from=dt.date(2005, 6, 2), date_to=dt.date(2005, 6, 3)))
    assert sorted(titles(results)) == ["Story 1", "Story 2"]


@pytest.mark.parametrize("tz", ["Europe/Paris"])
def test_date_range_uses_the_archive_time_zone(add_article, settings, tz):
    settings.TIME_ZONE = tz
    # 23:30 UTC on 31 March is already 1 April in Paris.
    add_article("Late", published=dt.datetime(2015, 3, 31, 23, 30, tzinfo=dt.UTC))
    results = search(SearchQuery(date_from=dt.date(2015, 4, 1), date_to=dt.date(2015, 4, 1)))
    assert titles(results) == ["Late"]


# --- sorting and paging --------------------------------------------------------------------------


@pytest.fixture
def dated(add_article):
    add_article("Middle", body="cocoa", published=day(2005))
    add_article("Newest", body="cocoa", published=day(2015))
    add_article("Undated", body="cocoa", published=None)
    add_article("Oldest", body="cocoa cocoa cocoa", published=day(1987))


def test_newest_first(dated):
    assert titles(search(SearchQuery(q="cocoa", sort="newest"))) == [
        "Newest",
        "Middle",
        "Oldest",
        "Undated",
    ]


def test_oldest_first_puts_undated_last(dated):
    assert titles(search(SearchQuery(q="cocoa", sort="oldest"))) == [
        "Oldest",
        "Middle",
        "Newest",
        "Undated",
    ]


def test_relevance_ranks_more_matches_first(dated):
    assert titles(search(SearchQuery(q="cocoa", sort="relevance")))[0] == "Oldest"


def test_default_sort_is_relevance_with_words_and_newest_without(dated):
    assert titles(search(SearchQuery(q="cocoa")))[0] == "Oldest"
    assert titles(search(SearchQuery()))[0] == "Newest"


def test_unknown_sort_falls_back_with_a_message(dated):
    results = search(SearchQuery(q="cocoa", sort="sideways"))
    assert results.total == 4 and "sort" in results.error


def test_pages_split_the_results(add_article):
    for i in range(5):
        add_article(f"Story {i}", published=day(2000 + i))
    first = search(SearchQuery(per_page=2))
    last = search(SearchQuery(per_page=2, page=3))
    assert (first.total, first.pages, titles(first)) == (5, 3, ["Story 4", "Story 3"])
    assert titles(last) == ["Story 0"]


def test_page_past_the_end_is_empty_with_the_right_total(add_article):
    add_article("Only")
    results = search(SearchQuery(page=99))
    assert (results.total, results.hits, results.page) == (1, [], 99)


# --- hits: snippets, highlighting, links ---------------------------------------------------------


def test_hit_carries_the_articles_fields(add_article):
    article = add_article(
        "Cocoa harvest", source="Reuters", section="Cocoa", published=day(1987, 3, 2)
    )
    hit = search(SearchQuery(q="cocoa")).hits[0]
    assert (hit.id, hit.url, hit.source, hit.section, hit.published) == (
        article.pk,
        article.get_absolute_url(),
        "Reuters",
        "Cocoa",
        article.published,
    )


def test_snippet_marks_matched_words(add_article):
    add_article("Rates", body="Long ago. The bank raised interest rates on Friday.")
    hit = search(SearchQuery(q="rate")).hits[0]
    assert "<mark>rates</mark>" in hit.snippet


def test_snippet_comes_from_where_the_words_are(add_article):
    body = "Filler words. " * 60 + "The cocoa harvest failed." + " More filler." * 60
    add_article("Story", body=body)
    assert "<mark>cocoa</mark> harvest" in search(SearchQuery(q="cocoa")).hits[0].snippet


def test_snippet_escapes_html_and_only_adds_mark(add_article):
    add_article("<b>Cocoa</b>", body='<script>alert("cocoa")</script> & cocoa <i>x</i>')
    hit = search(SearchQuery(q="cocoa")).hits[0]
    assert "<script>" not in hit.snippet and "&lt;script&gt;" in hit.snippet
    assert set(re.findall(r"</?([a-z]+)", hit.snippet)) == {"mark"}
    assert hit.title_html == "&lt;b&gt;<mark>Cocoa</mark>&lt;/b&gt;"


def test_title_is_highlighted_including_accented_forms(add_article):
    add_article("Médecins Sans Frontières", body="Aid.")
    hit = search(SearchQuery(q="medecins")).hits[0]
    assert hit.title_html == "<mark>Médecins</mark> Sans Frontières"


def test_excluded_words_are_not_highlighted(add_article):
    add_article("Oil news", body="Oil rose while coal fell.")
    add_article("Coal news", body="Coal and oil.")
    hit = search(SearchQuery(q="oil -gas")).hits[0]
    assert "<mark>gas</mark>" not in hit.snippet


# --- did you mean, more like this ----------------------------------------------------------------


def test_misspelt_word_gets_a_suggestion(add_article):
    for i in range(4):
        add_article(f"President {i}", body="The president spoke.")
    results = search(SearchQuery(q="presdent"))
    assert results.total == 0
    assert results.suggestion == "president"


def test_suggestion_keeps_the_rest_of_the_query(add_article):
    for i in range(4):
        add_article(f"President {i}", body="The president spoke about cocoa.")
    assert search(SearchQuery(q="cocoa presdent")).suggestion == "cocoa president"


def test_no_suggestion_for_words_that_match(add_article):
    add_article("President", body="The president spoke.")
    assert search(SearchQuery(q="president")).suggestion is None


def test_more_like_this_finds_articles_sharing_distinctive_words(add_article):
    cocoa = add_article("Cocoa harvest in Ghana", body="Cocoa farmers in Ghana harvest beans.")
    add_article("Ghana cocoa exports", body="Cocoa beans from Ghana sold abroad.")
    add_article("Football results", body="The match ended in a draw.")
    add_article("Bank rates", body="The bank raised interest rates.")
    similar = more_like_this(cocoa.pk, limit=5)
    assert similar and similar[0] != cocoa.pk
    assert cocoa.pk not in similar
    from articles.models import Article

    assert Article.objects.get(pk=similar[0]).title == "Ghana cocoa exports"


def test_more_like_this_of_an_unknown_article_is_empty(db):
    assert more_like_this(999) == []


# --- malformed input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '"interest rates',
        "(oil OR",
        "AND",
        "OR OR",
        "NOT",
        "published:[2015 to",
        "a*",
        "~",
        "*",
        "title:",
        "))))",
        '"',
        "x" * 2000,
        "%s" * 700,
        "\x00\x01",
        "source:",
        "-",
    ],
)
def test_malformed_queries_give_a_result_not_an_error(add_article, text):
    add_article("Oil", body="interest rates")
    results = search(SearchQuery(q=text))
    assert results.total >= 0


def test_repairs_are_explained_in_error(add_article):
    add_article("Oil", body="interest rates")
    results = search(SearchQuery(q='"interest rates'))
    assert results.total == 1
    assert "quotation mark" in results.error


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=200), page=st.integers(-5, 10**6), per_page=st.integers(-5, 1000))
def test_arbitrary_input_never_raises(add_article, text, page, per_page):
    results = search(SearchQuery(q=text, page=page, per_page=per_page))
    assert results.total >= 0 and len(results.hits) <= 100


def test_impossible_month_is_ignored_with_a_message(add_article):
    add_article("One", published=day(2015))
    results = search(SearchQuery(year=2015, month=13))
    assert results.total == 1 and results.error


# --- keeping up with writes ----------------------------------------------------------------------


def test_searcher_sees_new_articles_after_a_write(add_article):
    add_article("First", body="cocoa")
    assert search(SearchQuery(q="cocoa")).total == 1
    add_article("Second", body="cocoa")
    assert search(SearchQuery(q="cocoa")).total == 2


def test_searcher_forgets_deleted_articles(add_article, django_capture_on_commit_callbacks):
    article = add_article("Doomed", body="cocoa")
    assert search(SearchQuery(q="cocoa")).total == 1
    with django_capture_on_commit_callbacks(execute=True):
        article.delete()
    results = search(SearchQuery(q="cocoa"))
    assert results.total == 0
    assert facet(search(SearchQuery()), "source") == {}


def test_result_cache_is_not_served_after_a_change(add_article, django_capture_on_commit_callbacks):
    article = add_article("Cocoa", body="cocoa")
    assert titles(search(SearchQuery(q="cocoa"))) == ["Cocoa"]
    with django_capture_on_commit_callbacks(execute=True):
        article.title = "Cocoa renamed"
        article.save()
    assert titles(search(SearchQuery(q="cocoa"))) == ["Cocoa renamed"]
