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


WORDS = [
    "cocoa",
    "coffee",
    "harvest",
    "port",
    "price",
    "rise",
    "fall",
    "bank",
    "rate",
    "the",
    "of",
    "and",
    "growers",
    "shipment",
]


def test_bm25f_follows_from_whooshs_statistics(add_article) -> None:
    """Every index term's score per document, recomputed from Whoosh's public readers (each
    field's stored frequency, the title's index boost divided out; field lengths; the number
    of documents holding the term in either field), on a random archive with deletions and
    titles of stop words only."""
    import random

    from articles.search.backends.whoosh.schema import TITLE_WEIGHT

    rng = random.Random(3)
    made = [
        add_article(
            " ".join(rng.choices(WORDS, k=rng.randint(1, 4))),
            body=" ".join(rng.choices(WORDS, k=rng.choice([2, 8, 30, 120]))),
        )
        for _ in range(60)
    ]
    for doomed in made[::13]:
        doomed.delete()
    snap = get_backend().snapshot()
    reader = snap.searcher.reader()
    live = [d for d in range(snap.n) if snap.live[d]]
    n = len(live)
    fields = ("title", "body")
    length = {f: {d: reader.doc_field_length(d, f) or 0 for d in live} for f in fields}
    average = {f: max(sum(length[f].values()) / n, 1.0) for f in fields}
    weight = {"title": RANKING.title_weight, "body": 1.0}
    b = {"title": RANKING.title_b, "body": RANKING.body_b}
    terms = {t.decode() for f in fields for t in reader.lexicon(f)}
    assert len(terms) > 5
    for term in sorted(terms):
        tf: dict[int, float] = {}
        for f in fields:
            if (f, term) not in reader:
                continue
            matcher = reader.postings(f, term)
            while matcher.is_active():
                d, stored = matcher.id(), matcher.weight()
                count = stored / TITLE_WEIGHT if f == "title" else stored
                norm = 1 - b[f] + b[f] * length[f][d] / average[f]
                tf[d] = tf.get(d, 0.0) + weight[f] * count / norm
                matcher.next()
        tf = {d: v for d, v in tf.items() if snap.live[d]}
        # Whoosh's own counts include deleted documents until a merge, as the arrays do.
        df = len(
            {d for f in fields if (f, term) in reader for d in reader.postings(f, term).all_ids()}
        )
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        k1 = RANKING.k1
        expected = {d: idf * v * (k1 + 1) / (v + k1) for d, v in tf.items()}
        match = snap.blank()
        snap._score_word(term, q.TEXT_FIELDS, match)
        got = {d: float(match.score[d]) for d in live if match.mask[d]}
        assert set(got) == set(expected), term
        for d, value in expected.items():
            assert got[d] == pytest.approx(value, rel=1e-4), term
