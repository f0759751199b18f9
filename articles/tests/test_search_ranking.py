"""Best-match order: BM25F as ``ranking`` describes it, checked against the formula worked out
here from the articles' words (an independent oracle), and the parameters' effect on order."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from articles.search import SearchQuery, get_backend, search
from articles.search import query as q
from articles.search.backends.whoosh.ranking import RANKING
from articles.search.backends.whoosh.schema import analyze

pytestmark = pytest.mark.django_db

ARTICLES = [
    ("Cocoa harvest ends early", "Growers said the harvest was small. Prices rose."),
    ("Port report", "Cocoa and coffee shipments left the port. Cocoa stocks fell."),
    ("Weather", "Rain fell on the farms for a week; cocoa trees need it."),
    ("Markets close", "Shares, bonds and currencies were quiet all day long."),
    ("Cocoa prices", "Cocoa prices rose as cocoa stocks fell."),
]


def bm25f(query_word: str, title: str, body: str, ranking=RANKING) -> float:
    """BM25F of one word for one article, from the definition."""
    term = analyze(query_word)[0]
    titles = [analyze(t) for t, _ in ARTICLES]
    bodies = [analyze(b) for _, b in ARTICLES]
    avg_title = sum(map(len, titles)) / len(titles)
    avg_body = sum(map(len, bodies)) / len(bodies)
    t, b = analyze(title), analyze(body)
    tf = ranking.title_weight * t.count(term) / (
        1 - ranking.title_b + ranking.title_b * len(t) / avg_title
    ) + b.count(term) / (1 - ranking.body_b + ranking.body_b * len(b) / avg_body)
    df = sum(1 for ti, bi in zip(titles, bodies, strict=True) if term in ti or term in bi)
    idf = math.log(1 + (len(ARTICLES) - df + 0.5) / (df + 0.5))
    return idf * tf * (ranking.k1 + 1) / (tf + ranking.k1)


@pytest.fixture
def archive(add_article):
    return [add_article(title, body=body) for title, body in ARTICLES]


def scores(word: str) -> dict[int, float]:
    snap = get_backend().snapshot()
    match = snap.evaluate(q.parse(word).node, set())
    docs = [d for d in range(snap.n) if match.mask[d]]
    return {int(snap.ids[d]): float(match.score[d]) for d in docs}


def test_scores_are_bm25f(archive) -> None:
    got = scores("cocoa")
    expected = {
        a.pk: bm25f("cocoa", a.title, a.body) for a in archive if "ocoa" in a.title + a.body
    }
    assert set(got) == set(expected)
    for pk, value in expected.items():
        assert got[pk] == pytest.approx(value, rel=1e-4)


def test_title_weight_decides_title_against_body(archive) -> None:
    """One title mention against two body mentions: the title weight decides, and a changed
    ranking is used at once (the result cache does not keep the old order)."""
    title_story, body_story = archive[0].pk, archive[1].pk

    def order() -> list[int]:
        ids = [hit.id for hit in search(SearchQuery(q="cocoa")).hits]
        return [i for i in ids if i in (title_story, body_story)]

    snap = get_backend().snapshot()
    try:
        snap.set_ranking(replace(RANKING, title_weight=8.0))
        assert order() == [title_story, body_story]
        snap.set_ranking(replace(RANKING, title_weight=0.5))
        assert order() == [body_story, title_story]
    finally:
        snap.set_ranking(RANKING)


def test_a_word_in_both_fields_is_saturated_once(archive) -> None:
    """BM25F sums the fields' counts before saturating: the article naming the word in its
    title and twice in its body scores below idf * (k1 + 1), a bound that adding a title
    score and a body score (each close to it) would pass."""
    both = archive[4].pk
    df = 4
    bound = math.log(1 + (len(ARTICLES) - df + 0.5) / (df + 0.5)) * (RANKING.k1 + 1)
    got = scores("cocoa")
    assert max(got, key=got.__getitem__) == both
    assert got[both] < bound
