"""The re-rank trials of the relevance bench on tiny hand-made pools, and on a real index.

Expected orders and figures are worked out by hand from the definitions in bench/rerank.py
(mix = BM25F / the pool's best + weight x feature), and the centroid's cosine is recomputed
here over a fixed vocabulary with NumPy, not by calling the code under test."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from bench.relevance import Judgment
from bench.rerank import (
    Candidate,
    Pool,
    adjacent_pairs,
    baseline,
    centroid_similarity,
    collect_pools,
    exact_form,
    in_lead,
    render_trials,
    reorder,
    run_trial,
    short_prior,
    title_coverage,
)


def candidate(aid: int, score: float, relevant: bool, title: str, body: str, words: str = ""):
    """Index terms are given already analysed; ``words`` are the body's words as written
    (default: the terms themselves)."""
    return Candidate(
        aid,
        score,
        relevant,
        title.split(),
        body.split(),
        title.split(),
        (words or body).split(),
    )


def pool(query: str, candidates: list[Candidate], df: dict[str, int] | None = None, words=None):
    return Pool(
        query,
        query.split(),
        (words or query).split(),
        sum(c.relevant for c in candidates),
        candidates,
        100,
        df or {},
    )


def test_words_as_typed_reorder_a_hand_made_pool() -> None:
    # "game" typed: A (higher BM25F) says only "games", B says "game".
    a = candidate(1, 10.0, False, "news", "game game", words="games games")
    b = candidate(2, 9.5, True, "news", "game", words="game")
    p = pool("game", [a, b])
    assert exact_form(p) == [0.0, 1.0]
    assert [c.article_id for c in reorder(p, exact_form(p), 0.0)] == [1, 2]
    # 0.95 + 0.1 x 1 = 1.05 beats 1.0 + 0.
    assert [c.article_id for c in reorder(p, exact_form(p), 0.1)] == [2, 1]
    # 0.95 + 0.04 = 0.99 does not.
    assert [c.article_id for c in reorder(p, exact_form(p), 0.04)] == [1, 2]


def test_title_lead_pairs_and_short_body_features() -> None:
    lead_gap = " ".join(["filler"] * 60)
    p = pool(
        "interest rate",
        [
            candidate(1, 3.0, True, "interest rate rise", "bank"),
            candidate(2, 2.0, False, "bank rate", f"{lead_gap} interest rate"),
            candidate(3, 1.0, False, "other", "rate interest " + " ".join(["w"] * 70)),
        ],
    )
    assert title_coverage(p) == [1.0, 0.5, 0.0]
    # The lead is the first 50 terms: candidate 2 names the query after 60.
    assert in_lead(p) == [0.0, 0.0, 1.0]
    # The pair side by side in the title or lead, in the query's order.
    assert adjacent_pairs(p) == [1.0, 0.0, 0.0]
    assert adjacent_pairs(pool("rate", p.candidates)) == [0.0, 0.0, 0.0]
    # Bodies under 60 words are short.
    assert short_prior(p) == [-1.0, 0.0, 0.0]


def test_centroid_similarity_matches_a_recomputation() -> None:
    df = {"oil": 10, "price": 40, "gas": 5, "crop": 20, "lone": 1}
    cands = [
        candidate(1, 5.0, True, "oil", "oil price price"),
        candidate(2, 4.0, True, "gas", "oil gas"),
        candidate(3, 3.0, False, "crop", "crop price lone"),
    ]
    p = pool("oil", cands, df)
    got = centroid_similarity(2)(p)

    vocabulary = ["oil", "price", "gas", "crop"]  # "lone" (df 1) says nothing shared

    def vector(title: str, body: str) -> np.ndarray:
        counts = {t: body.split().count(t) + 2 * title.split().count(t) for t in vocabulary}
        v = np.array(
            [(1 + math.log(n)) * math.log(100 / df[t]) if n else 0.0 for t, n in counts.items()]
        )
        return v / np.linalg.norm(v)

    vectors = [
        vector("oil", "oil price price"),
        vector("gas", "oil gas"),
        vector("crop", "crop price lone"),
    ]
    centroid = vectors[0] + vectors[1]
    expected = [float(v @ centroid / np.linalg.norm(centroid)) for v in vectors]
    assert got == pytest.approx(expected)
    assert got[2] < got[1] < got[0]


def test_run_trial_best_point_and_leave_one_out_by_hand() -> None:
    # Query x: the feature helps (the relevant B moves up at weight 0.3, not at 0.02).
    x = pool(
        "x",
        [candidate(1, 10.0, False, "t", "x"), candidate(2, 8.0, True, "t", "x")],
    )
    # Query y: the feature hurts (the relevant A falls behind B at weight 0.3).
    y = pool(
        "y",
        [candidate(3, 10.0, True, "t", "y"), candidate(4, 9.0, False, "t", "y")],
    )

    def feature(p: Pool) -> list[float]:
        return [0.0, 1.0]

    result = run_trial("toy", {(): feature}, [x, y], (0.02, 0.3))
    # Weight 0.02: P@10 x 0.1, y 0.1 (both relevant hits are on the page; P@10 = 1/10).
    # Every candidate stays on the first page, so P@10 never moves: both points tie, and
    # the first one wins.
    assert result.points == 2
    assert result.best == (0.02,)
    assert result.figures[0] == pytest.approx(0.1)
    # MRR at weight 0.02: x 1/2, y 1; at 0.3 it would be x 1, y 1/2.
    assert result.figures[1] == pytest.approx(0.75)
    assert result.held_out == pytest.approx(0.1)
    assert baseline([x, y]) == pytest.approx((0.1, 0.75, (1 / math.log2(3) + 1) / 2))
    table = render_trials(baseline([x, y]), [result])
    assert "| none (BM25F as served) | 1 | | 0.100 | 0.750 |" in table
    assert "| toy | 2 | 0.02 | 0.100 | 0.750 |" in table


def test_leave_one_out_is_worth_less_than_the_best_point() -> None:
    # Eleven candidates with scores 20, 19, ..., 11 and 9.5; the feature lifts the 11th.
    def query(name: str, relevant: int) -> Pool:
        cands = [candidate(i, 20.0 - i, i == relevant, "t", name) for i in range(10)]
        cands.append(candidate(10, 9.5, relevant == 10, "t", name))
        return pool(name, cands)

    # a and b: the relevant 11th; c: the relevant 10th, pushed off the page by the 11th.
    a, b, c = query("a", 10), query("b", 10), query("c", 9)

    def feature(p: Pool) -> list[float]:
        return [0.0] * 10 + [1.0]

    # Weight 0.3: 9.5/20 + 0.3 = 0.775 passes 15/20 and below (sixth place).
    result = run_trial("lift", {(): feature}, [a, b, c], (0.0, 0.3))
    assert result.best == (0.3,)  # mean P@10 0.2/3 against 0.1/3 at weight 0
    assert result.figures[0] == pytest.approx(0.2 / 3)
    # Left out a: b and c tie (0.1 each way), the first point (0) is chosen, a scores 0; the
    # same for b; left out c: 0.3 wins on a and b, and c scores 0 there.
    assert result.held_out == 0.0


# --- on a real index ---------------------------------------------------------------------------


@pytest.fixture
def archive(settings, tmp_path: Path, db, django_capture_on_commit_callbacks):
    from articles.models import Article, Section, Source
    from articles.search import reset_backend

    settings.NEWSARCHIVE_INDEX_DIR = tmp_path / "index"
    reset_backend()
    rows = [
        ("Cocoa Prices Rise", "Cocoa prices rose on cocoa demand.", "Cocoa", 1),
        ("Cocoa Talks", "Delegates discussed cocoa.", "Cocoa", 2),
        ("Market Report", "Coffee, sugar and cocoa were quiet today.", "General", 3),
        ("Sugar Output", "Sugar output rose.", "Sugar", 4),
    ]
    ids = {}
    with django_capture_on_commit_callbacks(execute=True):
        for n, (title, body, section, day) in enumerate(rows, 1):
            article = Article.objects.create(
                title=title,
                body=body,
                source=Source.for_name("Wire"),
                section=Section.for_name(section),
                published=dt.datetime(1987, 3, day, tzinfo=dt.UTC),
                slug=f"a-{n}",
                fingerprint=f"{n:064x}",
            )
            ids[title] = article.pk
    yield ids
    reset_backend()


def test_collect_pools_follows_the_service_order(archive) -> None:
    from articles.models import Article
    from articles.search import SearchQuery, search

    section_of = dict(Article.objects.values_list("id", "section__name"))
    judged = [Judgment("cocoa", section="Cocoa"), Judgment("cocoa prices", section="Cocoa")]

    def judge(judgment: Judgment, article_id: int) -> bool:
        return judgment.relevant(article_id, section_of[article_id])

    pools = collect_pools(judged, judge, lambda j: 2)
    for judgment, p in zip(judged, pools, strict=True):
        served = [hit.id for hit in search(SearchQuery(q=judgment.query, per_page=10)).hits]
        assert [c.article_id for c in p.candidates] == served
        assert [c.relevant for c in p.candidates] == [section_of[i] == "Cocoa" for i in served]
    one = pools[0]
    assert one.terms == ["cocoa"] and one.words == ["cocoa"] and one.documents == 4
    assert {c.article_id for c in one.candidates} == {
        archive["Cocoa Prices Rise"],
        archive["Cocoa Talks"],
        archive["Market Report"],
    }
    first = one.candidates[0]
    assert first.article_id == archive["Cocoa Prices Rise"]
    assert first.title == ["cocoa", "price", "rise"]
    assert first.body_words[:2] == ["cocoa", "prices"]
    assert one.df["cocoa"] == 3 and one.df["sugar"] == 2
    assert pools[1].terms == ["cocoa", "price"]
    assert [c.article_id for c in pools[1].candidates] == [archive["Cocoa Prices Rise"]]
