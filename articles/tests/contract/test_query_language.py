"""The query language on every backend: words, phrases, operators, fields, prefixes, fuzzy words,
date ranges and the analysis of words (accents, stems, case, stop words), and what a reader's
malformed text finds once the parser has repaired it."""

from __future__ import annotations

import re

import pytest

from articles.search import SearchQuery, search

from .support import day, titles

pytestmark = pytest.mark.django_db


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


def test_a_word_only_titles_hold_is_found_by_fuzzy_and_prefix_queries(add_article):
    add_article("Harbour reopens", body="The port was closed for a week.")
    add_article("Other", body="Nothing here.")
    for text in ("habour~", "harbur~", "title:habour~", "harb*", "title:harb*"):
        assert titles(search(SearchQuery(q=text))) == ["Harbour reopens"], text


def test_date_range_in_the_query(add_article):
    add_article("March", body="Text.", published=day(1987, 3, 15))
    add_article("April", body="Text.", published=day(1987, 4, 1))
    results = search(SearchQuery(q="published:[1987-03-01 to 1987-03-31]"))
    assert titles(results) == ["March"]


def test_a_date_group_in_the_query_reads_its_dates(add_article):
    add_article("March", body="Text.", published=day(1987, 3, 15))
    add_article("April", body="Text.", published=day(1987, 4, 1))
    add_article("Later", body="Text.", published=day(2015, 6, 1))
    assert titles(search(SearchQuery(q="published:(2015)"))) == ["Later"]
    results = search(SearchQuery(q="published:(1987-03 OR 2015)", sort="oldest"))
    assert titles(results) == ["March", "Later"]


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


# --- malformed input ---------------------------------------------------------------------------
# Each repaired query finds exactly what its repair means (two articles: "everything" is 2), and
# the repair is explained; a search that crashed would show neither.


@pytest.fixture
def two_articles(add_article):
    add_article("Oil title source", body="interest rates")
    add_article("Gas", body="natural gas")


@pytest.mark.parametrize(
    ("text", "total", "note"),
    [
        ('"interest rates', 1, "quotation mark was not closed"),
        ("(oil OR", 1, "unclosed bracket"),
        ("AND", 0, "“AND” needs words"),
        ("OR OR", 0, "“OR” needs words"),
        ("NOT", 0, "“NOT” needs a word"),
        ("published:[2015 to", 0, "not a date"),
        ("a*", 0, "at least 2 letters"),
        ("~", 2, None),
        ("*", 0, "wildcard needs letters"),
        ("title:", 1, None),
        ("))))", 0, "unmatched closing bracket"),
        ('"', 0, "quotation mark was not closed"),
        ("x" * 2000, 0, "too long"),
        ("%s" * 700, 2, "too long"),
        ("\x00\x01", 2, None),
        ("source:", 1, None),
        ("-", 2, None),
        ('"!!!"', 0, "held no words"),
        ('"..."', 0, "held no words"),
        ('"!!! ???"', 0, "held no words"),
        ('title:"--"', 0, "held no words"),
        ('oil "!!!"', 1, "held no words"),
    ],
    ids=lambda value: value[:20] if isinstance(value, str) else None,
)
def test_malformed_queries_find_what_their_repair_means(two_articles, text, total, note):
    """A repair that leaves nothing to search for finds nothing (listing the whole archive
    would look like success); text dropped without a repair (``-``, ``~``) lists it all."""
    results = search(SearchQuery(q=text))
    assert results.total == total
    if note is None:
        assert results.error is None
    else:
        assert note in results.error


def test_impossible_month_is_ignored_with_a_message(add_article):
    add_article("One", published=day(2015))
    add_article("Two", published=day(2016))
    results = search(SearchQuery(year=2015, month=13))
    assert results.total == 1 and "month does not exist" in results.error


@pytest.mark.parametrize("text", ["¼", "½ the", "²", "zzyzx the"])
def test_a_word_no_article_holds_finds_nothing_and_a_dropped_one_narrows_nothing(
    backend, two_articles, text
):
    """What counts as a word is the backend's analysis (``term_for``): Whoosh drops ``¼``,
    PostgreSQL keeps it. A kept word no article holds finds nothing; text whose every word is
    dropped (stop words) narrows nothing. An engine must not drop a word it reports as kept."""
    kept = [word for word in re.findall(r"\w+", text) if backend.term_for(word)]
    assert search(SearchQuery(q=text)).total == (0 if kept else 2)
