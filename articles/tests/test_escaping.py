"""Text from seed files never becomes markup: titles, source and section names holding HTML,
quotes and ampersands are escaped on every page that shows them, and the two highlighters
(the search service's, whose output pages mark safe, and the article page's template filter,
the project's one ``mark_safe``) add nothing but ``<mark>`` pairs to escaped text."""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import quote

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from articles import search, signals
from articles.models import Article, Section, Source, display_name
from articles.search.backends.whoosh.schema import analyze
from articles.search.highlight import highlight as service_highlight
from articles.search.highlight import make_matcher, snippet
from articles.templatetags.archive_extras import highlight as template_highlight

INJECTIONS = (
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<b onmouseover='x'>bold</b>",
    "Tom & Jerry's",
    '"quoted" &amp; <i>',
)
MARKUP = st.text(alphabet="ab <>&\"'=/;", max_size=8)
NAMES = st.builds(
    lambda before, injected, after: f"{before}{injected}{after}",
    MARKUP,
    st.sampled_from(INJECTIONS),
    MARKUP,
).filter(lambda name: display_name(name) and any(c.isalpha() for c in name))
#: Texts mixing words the tests search for, HTML's special characters and anything else.
TEXT = st.lists(
    st.one_of(
        st.sampled_from(["<", ">", "&", '"', "'", " ", "\n", "&amp;", "<mark>", "rates", "Bank"]),
        st.sampled_from(["Médecins", "banking", "rate.", "x"]),
        st.text(max_size=5),
    ),
    max_size=60,
).map("".join)
WORDS = st.lists(
    st.one_of(st.sampled_from(["rate", "bank*", "médecins", "amp", "lt"]), st.text(max_size=6)),
    max_size=4,
)
TERMS = st.frozensets(st.sampled_from(["rate", "bank", "medecin", "amp", "x", "mark"]), max_size=4)


def term_for(word: str) -> str | None:
    """The archive's analyser, as a backend's ``term_for`` applies it."""
    terms = analyze(word)
    return terms[0] if terms else None


def unmarked(output: str) -> str:
    """The output without its ``<mark>`` pairs, which must be balanced and never nested."""
    depth = 0
    for tag in re.findall(r"</?mark>", output):
        depth += 1 if tag == "<mark>" else -1
        assert depth in (0, 1), output
    assert depth == 0, output
    return output.replace("<mark>", "").replace("</mark>", "")


def assert_escaped(output: str) -> str:
    """Nothing in the output but escaped text and ``<mark>``; returns the text it shows."""
    text = unmarked(output)
    assert not re.search(r"[<>\"']", text), output
    assert not re.search(r"&(?!(amp|lt|gt|quot|#x27|#39);)", text), output
    return html.unescape(text)


# --- the highlighters ------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(text=TEXT, words=WORDS)
def test_the_template_highlighter_only_adds_marks_to_escaped_text(text, words):
    output = template_highlight(text, " ".join(words))
    assert assert_escaped(output) == text


@settings(max_examples=300, deadline=None)
@given(text=TEXT, terms=TERMS)
def test_the_search_highlighter_only_adds_marks_to_escaped_text(text, terms):
    matches = make_matcher(terms, term_for)
    assert assert_escaped(service_highlight(text, matches)) == text
    shown = assert_escaped(snippet(text, matches))
    piece = shown.removeprefix("… ").removesuffix(" …")
    assert piece in " ".join(text[:6000].split())


# --- every page that shows a title, a source or a section --------------------------------------

PUBLISHED = dt.datetime(2015, 10, 10, 9, 30, tzinfo=dt.UTC)


@pytest.mark.django_db
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(title=NAMES, source=NAMES, section=NAMES)
@example(
    title="<script>alert(1)</script>",
    source="<script>alert(2)</script>",
    section="<script>alert(3)</script>",
)
def test_titles_and_labels_with_html_are_escaped_on_every_page(client, title, source, section):
    with transaction.atomic():
        search.clear_index()
        with signals.suspended():
            article = Article.objects.create(
                title=title,
                body="Qqzebra story.",
                source=Source.for_name(source),
                section=Section.for_name(section),
                published=PUBLISHED,
                slug="escaping",
                fingerprint="e" * 64,
            )
        search.index_articles([article.pk])
        title_html, source_html, section_html = (
            escape(title),
            escape(article.source.name),
            escape(article.section.name),
        )
        everything = [title_html, source_html, section_html]
        search_url = reverse("articles:search")
        shows = {
            reverse("articles:home"): everything,
            reverse("articles:sources"): [source_html],
            reverse("articles:sections"): [section_html],
            article.source.get_absolute_url(): everything,
            article.section.get_absolute_url(): everything,
            article.get_absolute_url(): everything,
            f"{article.get_absolute_url()}?highlight=qqzebra+alert": everything[1:],
            reverse("articles:archive_day", args=[2015, 10, 10]): everything,
            f"{search_url}?q=qqzebra": everything,
            f"{search_url}?q=qqzebra&source={quote(source)}&section={quote(section)}": everything,
        }
        for url, texts in shows.items():
            response = client.get(url)
            assert response.status_code == 200, url
            page = response.content.decode()
            for injected in INJECTIONS:
                if "<" in injected:
                    assert injected not in page, (url, injected)
            for shown in texts:
                assert shown in page, (url, shown)
        transaction.set_rollback(True)
