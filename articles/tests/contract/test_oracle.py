"""The backend agrees exactly with a brute-force oracle on random archives and random queries.

Each test builds one random archive (``corpus.py``, a fixed seed) and indexes it once; then
Hypothesis draws queries against it. For each, the matching ids, the total and every facet's
values and counts (each counted without its own selection) must equal what ``oracle.py`` finds
by walking every document in plain Python; pages must slice the oracle's order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from articles import search as search_service
from articles import signals
from articles.models import Article, Section, Source
from articles.search import SearchQuery, search
from articles.search import query as query_language

from . import corpus
from .oracle import Doc, Oracle, Unsupported, reported_facets

pytestmark = pytest.mark.django_db

ORACLE_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Archive:
    oracle: Oracle
    specs: list[corpus.Spec]
    published: dict[int, object]


def build_archive(seed: int, backend, settings) -> Archive:
    """Write a random corpus to the database and index it through the search API, once."""
    settings.TIME_ZONE = corpus.TIME_ZONE
    search_service.reset_backend()  # the backend reads the archive's time zone when it opens
    specs = corpus.make_corpus(seed)
    with signals.suspended():
        rows = Article.objects.bulk_create(
            Article(
                title=spec.title,
                body=spec.body,
                source=Source.for_name(spec.source) if spec.source else None,
                section=Section.for_name(spec.section) if spec.section else None,
                published=spec.published,
                slug=f"article-{n}",
                fingerprint=f"{n:064x}",
            )
            for n, spec in enumerate(specs)
        )
    search_service.index_articles([row.pk for row in rows])
    docs = [
        Doc(row.pk, spec.title, spec.body, spec.source, spec.section, spec.published)
        for row, spec in zip(rows, specs, strict=True)
    ]
    oracle = Oracle(
        docs,
        search_service.get_backend().term_for,
        lambda stamp: timezone.localtime(stamp).date(),
        fuzzy_words=corpus.MISSPELLINGS,
    )
    return Archive(oracle, specs, {d.id: d.published for d in docs})


@pytest.fixture(params=[11, 23], ids=lambda seed: f"corpus{seed}")
def archive(request, backend, settings) -> Archive:
    """A random archive; tests that need no second one pick a seed with ``one_archive``."""
    return build_archive(request.param, backend, settings)


def one_archive(seed: int):
    return pytest.mark.parametrize("archive", [seed], indirect=True, ids=[f"corpus{seed}"])


def all_ids(query: SearchQuery) -> tuple[list[int], object]:
    """Every matching id in the search's order, page by page, and the first page's results."""
    first = search(replace(query, page=1, per_page=100))
    ids = [hit.id for hit in first.hits]
    for page in range(2, first.pages + 1):
        ids += [hit.id for hit in search(replace(query, page=page, per_page=100)).hits]
    return ids, first


def assert_agrees(archive: Archive, node, query: SearchQuery) -> None:
    expected_ids, expected_facets = archive.oracle.search(node, query)
    ids, first = all_ids(query)
    assert first.error is None, first.error
    assert first.total == len(expected_ids)
    assert len(ids) == len(set(ids)) == first.total, "pages overlap or miss articles"
    assert set(ids) == expected_ids
    assert reported_facets(first) == expected_facets


def _size(ids: set[int]) -> str:
    """A label for Hypothesis' statistics: are the queries hitting?"""
    n = len(ids)
    return "no match" if not n else "1-9 matches" if n < 10 else "10+ matches"


def newest_first(archive: Archive, ids: list[int]) -> list:
    stamps = [archive.published[i] for i in ids]
    dated = [s for s in stamps if s is not None]
    return sorted(dated, reverse=True) + [None] * (len(stamps) - len(dated))


# --- matches and facets ------------------------------------------------------------------------


@settings(ORACLE_SETTINGS, max_examples=70)
@given(data=st.data())
def test_matches_and_facet_counts_agree_with_the_oracle(archive, data):
    node = data.draw(corpus.query_trees(archive.specs), label="query tree")
    text = data.draw(corpus.render(node), label="query text")
    query = data.draw(corpus.selections(archive.specs, q=text, sort="newest"), label="query")
    event(_size(archive.oracle.search(node, query)[0]))
    assert_agrees(archive, node, query)


@one_archive(23)
@settings(ORACLE_SETTINGS, max_examples=30)
@given(data=st.data())
def test_browsing_without_words_agrees_with_the_oracle(archive, data):
    query = data.draw(corpus.selections(archive.specs, sort="newest"), label="query")
    assert_agrees(archive, None, query)


@one_archive(11)
def test_the_oracle_tests_see_a_busy_archive(archive):
    """The random archives are what the tests above need: every kind of facet value, labels
    that differ only in case and spacing, days shifted by the archive's time zone."""
    _, facets = archive.oracle.search(None, SearchQuery(year=2015, month=6))
    assert len(facets["source"]) == 4 and len(facets["section"]) == 4
    assert {"15", "16", "30"} <= set(facets["day"])
    assert any(s.source == "afp " for s in archive.specs)
    assert any(
        d.published and archive.oracle.day[d.id] != d.published.date() for d in archive.oracle.docs
    ), "some articles fall on another day in the archive's time zone"
    assert_agrees(archive, None, SearchQuery(year=2015, month=6, sort="newest"))


# --- sorting and paging --------------------------------------------------------------------------


@one_archive(11)
@settings(ORACLE_SETTINGS, max_examples=40)
@given(data=st.data())
def test_pages_slice_the_oracles_order(archive, data):
    node = data.draw(st.one_of(st.none(), corpus.query_trees(archive.specs)), label="tree")
    text = data.draw(corpus.render(node), label="text") if node is not None else ""
    sort = data.draw(st.sampled_from(["newest", "oldest"]))
    per_page = data.draw(st.integers(1, 40), label="per_page")
    query = data.draw(corpus.selections(archive.specs, q=text, sort=sort, per_page=per_page))
    expected, _ = archive.oracle.search(node, query)
    order = newest_first(archive, list(expected))
    if sort == "oldest":
        order = sorted(s for s in order if s) + [None] * order.count(None)
    pages = math.ceil(len(expected) / per_page)
    page = data.draw(st.integers(1, pages + 1), label="page")

    results = search(replace(query, page=page))

    assert (results.total, results.pages) == (len(expected), pages)
    start = (page - 1) * per_page
    assert [hit.published for hit in results.hits] == order[start : start + per_page]
    assert {hit.id for hit in results.hits} <= expected


@one_archive(23)
@settings(ORACLE_SETTINGS, max_examples=15)
@given(data=st.data())
def test_relevance_order_pages_through_exactly_the_matches(archive, data):
    node = data.draw(corpus.query_trees(archive.specs), label="tree")
    text = data.draw(corpus.render(node), label="text")
    query = SearchQuery(q=text, sort="relevance")
    expected, _ = archive.oracle.search(node, query)
    ids, first = all_ids(query)
    assert first.error is None
    assert len(ids) == first.total == len(expected) and set(ids) == expected


# --- anything a reader types ---------------------------------------------------------------------

TOKENS = [
    *corpus.WORDS[:12],
    "médecins",
    "zebra",
    "AND",
    "OR",
    "NOT",
    "-",
    "(",
    ")",
    '"',
    "*",
    "ra*",
    "title:",
    "body:",
    "source:",
    "section:afp",
    "published:",
    "[2015 to 2015-06]",
    "[",
    "]",
    "2015",
    " ",
    "the",
    "e-mail",
]


@one_archive(11)
@settings(ORACLE_SETTINGS, max_examples=60)
@given(
    text=st.one_of(
        st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join),
        st.lists(st.sampled_from(TOKENS), max_size=12).map("".join),
        st.text(max_size=60),
    ),
    page=st.integers(-5, 10**6),
    per_page=st.integers(-5, 1000),
)
def test_whatever_is_typed_matches_the_oracles_reading_of_it(archive, text, page, per_page):
    """Malformed text is repaired by the parser; the backend must then match exactly what the
    repaired query means, on a populated archive, and page numbers are clamped, not refused."""
    parsed = query_language.parse(text)
    node = parsed.node
    if node is None and parsed.messages and parsed.text.strip():
        # Repairs left nothing to search for: nothing is found (not the whole archive).
        results = search(SearchQuery(q=text, page=page, per_page=per_page))
        assert (results.total, results.hits) == (0, [])
        return
    try:
        expected, facets = archive.oracle.search(node, SearchQuery(q=text))
    except Unsupported:
        assume(False)
    event(_size(expected))
    results = search(SearchQuery(q=text, page=page, per_page=per_page))
    assert results.total == len(expected)
    assert reported_facets(results) == facets
    assert results.per_page == min(max(per_page, 1), 100)
    assert results.page == min(max(page, 1), 10_000)
    assert {hit.id for hit in results.hits} <= expected
    if results.page <= results.pages:
        last = results.total - (results.page - 1) * results.per_page
        assert len(results.hits) == min(results.per_page, last)
    else:
        assert results.hits == []
