"""What a hit carries on every backend: the article's fields, snippets and highlighted titles
(escaped, only ``<mark>`` added), "did you mean" and related articles (more like this)."""

from __future__ import annotations

import re

import pytest

from articles.search import SearchQuery, more_like_this, search

from .support import day

pytestmark = pytest.mark.django_db


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
    results = search(SearchQuery(q="president"))
    assert (results.total, results.suggestion) == (1, None)


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
