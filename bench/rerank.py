"""`python -m bench relevance --rerank`: second-stage re-rankers over the first 100, measured.

Each trial re-orders the first ``DEPTH`` matches of every judged query (in the search service's
own order) by ``BM25F / the query's best BM25F + weight * feature`` and is scored as the
relevance run scores (P@10, MRR and nDCG@10 of the first page) at every point of its grid,
with the leave-one-query-out figure (``relevance.leave_one_out``: the point chosen on the other
queries, scored on the one left out), which is what a trial is worth on a query it was not
tuned on. None of them is in the search service, because none raised both the dev set's figure
and its leave-one-out figure (the table is in ``bench/README.md``); they stay here so that the
next idea is measured the same way, on any judged set.

Features use only what every archive has: the query's index terms, each candidate's title and
body through the index's own analyzer, and document frequencies. No rule names a word.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.relevance import (
    CUTOFF,
    Judge,
    Judgment,
    SweepPoint,
    leave_one_out,
    ndcg_at,
    precision_at,
    reciprocal_rank,
)

#: How many of a query's first matches a trial re-orders.
DEPTH = 100
#: Words of a body's beginning that count as its lead.
LEAD_TERMS = 50
#: A body shorter than this many words is "short" to the short-body prior.
SHORT_BODY = 60
#: Expansion terms are taken only among terms held by at most this share of the archive.
COMMON_SHARE = 0.1
#: The mixing weights every trial is tried at.
WEIGHTS = (0.02, 0.05, 0.1, 0.2, 0.3)

_DIGIT = re.compile(r"\d")


@dataclass
class Candidate:
    """One match of a judged query, with what the features read."""

    article_id: int
    score: float
    relevant: bool
    title: list[str]  # index terms, in order
    body: list[str]
    title_words: list[str]  # lower-cased, accent-folded words, not stemmed
    body_words: list[str]

    @property
    def numeric_share(self) -> float:
        """Share of the body's words holding a digit: tables and price lists score high."""
        return sum(1 for w in self.body_words if _DIGIT.search(w)) / max(len(self.body_words), 1)


@dataclass
class Pool:
    """A judged query's first matches in the service's order, and the archive's statistics."""

    query: str
    terms: list[str]  # the query's index terms
    words: list[str]  # the query's folded words that give an index term
    total_relevant: int
    candidates: list[Candidate]
    documents: int  # live documents in the archive
    df: dict[str, int] = field(repr=False)  # documents holding each term (title or body)


Feature = Callable[[Pool], list[float]]


# --- features ------------------------------------------------------------------------------


def term_vector(candidate: Candidate, pool: Pool) -> dict[str, float]:
    """Log-tf x idf weights of a candidate's terms (a title occurrence counts twice), unit
    length; terms held by a single document are left out (they say nothing shared)."""
    counts = Counter(candidate.body)
    for term in candidate.title:
        counts[term] += 2
    weights = {}
    for term, tf in counts.items():
        df = pool.df.get(term, 1)
        if df > 1:
            weights[term] = (1 + math.log(tf)) * math.log(pool.documents / df)
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {t: w / norm for t, w in weights.items()}


def centroid_similarity(top: int) -> Feature:
    """Cosine of each candidate to the centroid of the first ``top``: a re-rank by agreement
    with the consensus of the best matches (pseudo-relevance feedback without expansion)."""

    def feature(pool: Pool) -> list[float]:
        vectors = [term_vector(c, pool) for c in pool.candidates]
        centroid: Counter[str] = Counter()
        for vector in vectors[:top]:
            centroid.update(vector)
        norm = math.sqrt(sum(w * w for w in centroid.values())) or 1.0
        return [sum(w * centroid[t] for t, w in v.items()) / norm for v in vectors]

    return feature


def expansion(top: int, terms: int) -> Feature:
    """RM3-style: the ``terms`` heaviest words of the first ``top`` (each document's term
    distribution weighted by exp(its score - the best)), the query's own and common words
    left out; a candidate scores their weighted, saturated counts, over the pool's best."""

    def feature(pool: Pool) -> list[float]:
        best = pool.candidates[0].score if pool.candidates else 0.0
        model: Counter[str] = Counter()
        for c in pool.candidates[:top]:
            bag = Counter(c.body) + Counter(c.title)
            size = sum(bag.values()) or 1
            weight = math.exp(c.score - best)
            for term, tf in bag.items():
                if (
                    term not in pool.terms
                    and 1 < pool.df.get(term, 1) <= COMMON_SHARE * pool.documents
                ):
                    model[term] += weight * tf / size
        chosen = dict(model.most_common(terms))
        values = []
        for c in pool.candidates:
            bag = Counter(c.body) + Counter(c.title)
            values.append(
                sum(
                    w * math.log(pool.documents / pool.df[t]) * bag[t] / (bag[t] + 1.2)
                    for t, w in chosen.items()
                    if bag[t]
                )
            )
        most = max(values, default=0.0) or 1.0
        return [v / most for v in values]

    return feature


def title_coverage(pool: Pool) -> list[float]:
    """Share of the query's terms found in the title."""
    wanted = set(pool.terms)
    return [len(wanted & set(c.title)) / max(len(wanted), 1) for c in pool.candidates]


def exact_form(pool: Pool) -> list[float]:
    """Body occurrences of the query's words as typed over those of their stems: "game"
    typed, an article saying "games" throughout scores lower than one saying "game"."""
    values = []
    for c in pool.candidates:
        stemmed = sum(c.body.count(t) for t in set(pool.terms)) or 1
        values.append(sum(c.body_words.count(w) for w in set(pool.words)) / stemmed)
    return values


def in_lead(pool: Pool) -> list[float]:
    """Share of the query's terms among the body's first ``LEAD_TERMS`` terms."""
    wanted = set(pool.terms)
    return [len(wanted & set(c.body[:LEAD_TERMS])) / max(len(wanted), 1) for c in pool.candidates]


def adjacent_pairs(pool: Pool) -> list[float]:
    """Share of the query's neighbouring term pairs found side by side in the title or lead
    (0 for one-word queries): proximity for multi-word queries."""
    pairs = set(zip(pool.terms, pool.terms[1:], strict=False))
    if not pairs:
        return [0.0] * len(pool.candidates)
    values = []
    for c in pool.candidates:
        seen = set(zip(c.title, c.title[1:], strict=False))
        lead = c.body[: LEAD_TERMS + 10]
        seen |= set(zip(lead, lead[1:], strict=False))
        values.append(len(pairs & seen) / len(pairs))
    return values


def numeric_prior(pool: Pool) -> list[float]:
    """Minus the share of numbers in the body: market tables and price lists go down."""
    return [-c.numeric_share for c in pool.candidates]


def short_prior(pool: Pool) -> list[float]:
    """-1 for a body under ``SHORT_BODY`` words: brief notes go down."""
    return [-1.0 if len(c.body_words) < SHORT_BODY else 0.0 for c in pool.candidates]


def length_prior(pool: Pool) -> list[float]:
    """log(1 + body words): longer reports go up."""
    return [math.log1p(len(c.body_words)) for c in pool.candidates]


#: The trials: a name, and its features by grid point (the mixing weight is a further axis).
TRIALS: dict[str, dict[tuple, Feature]] = {
    "centroid of the first k": {(k,): centroid_similarity(k) for k in (5, 10, 20, 30)},
    "RM3 expansion (first k, m words)": {
        (k, m): expansion(k, m) for k in (5, 10) for m in (5, 10, 20)
    },
    "query terms in the title": {(): title_coverage},
    "words as typed, not only their stems": {(): exact_form},
    "query terms in the lead": {(): in_lead},
    "adjacent query words in title or lead": {(): adjacent_pairs},
    "prior: share of numbers": {(): numeric_prior},
    "prior: short body": {(): short_prior},
    "prior: body length": {(): length_prior},
}


# --- scoring ---------------------------------------------------------------------------------


def reorder(pool: Pool, values: Sequence[float], weight: float) -> list[Candidate]:
    """The pool by BM25F over the pool's best plus ``weight`` x the feature; ties keep the
    service's order."""
    best = max((c.score for c in pool.candidates), default=1.0) or 1.0
    mixed = [c.score / best + weight * v for c, v in zip(pool.candidates, values, strict=True)]
    order = sorted(range(len(mixed)), key=lambda i: -mixed[i])
    return [pool.candidates[i] for i in order]


def page_figures(pool: Pool, ranked: Sequence[Candidate]) -> tuple[float, float, float]:
    """P@10, reciprocal rank and nDCG@10 of the first page, as the relevance run counts them."""
    relevant = [c.relevant for c in ranked[:CUTOFF]]
    return (
        precision_at(relevant),
        reciprocal_rank(relevant),
        ndcg_at(relevant, pool.total_relevant),
    )


@dataclass
class TrialResult:
    name: str
    points: int
    best: tuple
    figures: tuple[float, float, float]  # mean P@10, MRR, nDCG@10 at the best point
    held_out: float  # leave-one-query-out mean P@10


def run_trial(
    name: str, features: dict[tuple, Feature], pools: list[Pool], weights: Iterable[float]
) -> TrialResult:
    """Every grid point x weight over every pool; the best point by mean P@10."""
    points: list[SweepPoint] = []
    figures: dict[tuple, list[tuple[float, float, float]]] = {}
    weights = tuple(weights)
    for params, feature in features.items():
        values = [feature(pool) for pool in pools]
        for weight in weights:
            key = (*params, weight)
            figures[key] = [
                page_figures(pool, reorder(pool, v, weight))
                for pool, v in zip(pools, values, strict=True)
            ]
            points.append(SweepPoint(key, [f[0] for f in figures[key]]))
    best = max(points, key=lambda p: p.mean)
    return TrialResult(
        name, len(points), best.values, _means(figures[best.values]), leave_one_out(points)
    )


def baseline(pools: list[Pool]) -> tuple[float, float, float]:
    """The figures of the service's own order."""
    return _means([page_figures(pool, pool.candidates) for pool in pools])


def _means(per_query: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    p, rr, ndcg = (statistics.fmean(f[i] for f in per_query) for i in range(3))
    return p, rr, ndcg


def render_trials(base: tuple[float, float, float], results: list[TrialResult]) -> str:
    lines = [
        f"Re-ranking the first {DEPTH} by BM25F / best + weight x feature (best point by "
        "mean P@10; leave-one-out = chosen on the other queries):",
        "",
        "| trial | points | best point (params, weight) | P@10 | MRR | nDCG@10 "
        "| leave-one-out P@10 |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
        f"| none (BM25F as served) | 1 | | {base[0]:.3f} | {base[1]:.3f} | {base[2]:.3f} | "
        f"{base[0]:.3f} |",
    ]
    for r in results:
        point = ", ".join(f"{v:g}" for v in r.best)
        p, rr, ndcg = r.figures
        lines.append(
            f"| {r.name} | {r.points} | {point} | {p:.3f} | {rr:.3f} | {ndcg:.3f} | "
            f"{r.held_out:.3f} |"
        )
    return "\n".join(lines)


# --- the candidates --------------------------------------------------------------------------


def collect_pools(
    judged: list[Judgment], is_relevant: Judge, total_relevant: Callable[[Judgment], int]
) -> list[Pool]:
    """Each judged query's first ``DEPTH`` matches, as the Whoosh backend orders them (score,
    then newest), with their texts read from the database."""
    import numpy as np

    from articles.models import Article
    from articles.search import get_backend
    from articles.search import query as q
    from articles.search.backends.whoosh.schema import analyze, fold

    snap = get_backend().snapshot()
    pools = []
    for judgment in judged:
        terms: set[str] = set()
        parsed = q.parse(judgment.query)
        match = snap.evaluate(parsed.node, terms) if parsed.node is not None else snap.blank()
        docs = np.flatnonzero(match.mask & snap.live)
        order = np.lexsort((-snap.published[docs], -match.score[docs].astype(np.float64)))
        docs = docs[order[:DEPTH]]
        ids = [int(i) for i in snap.ids[docs]]
        rows = Article.objects.in_bulk(ids)
        candidates = [
            Candidate(
                article_id=aid,
                score=float(match.score[doc]),
                relevant=is_relevant(judgment, aid),
                title=analyze(rows[aid].title or ""),
                body=analyze(rows[aid].body or ""),
                title_words=_words(rows[aid].title or "", fold),
                body_words=_words(rows[aid].body or "", fold),
            )
            for aid, doc in zip(ids, docs.tolist(), strict=True)
            if aid in rows
        ]
        words = [w for w in _words(judgment.query, fold) if analyze(w)]
        pools.append(
            Pool(
                judgment.query,
                analyze(judgment.query),
                words,
                total_relevant(judgment),
                candidates,
                snap.live_count,
                {},
            )
        )
    _document_frequencies(snap, pools)
    return pools


def _words(text: str, fold: Callable[[str], str]) -> list[str]:
    return [fold(w) for w in re.findall(r"\w+", text)]


def _document_frequencies(snap: Any, pools: list[Pool]) -> None:
    """Documents holding each candidate term in its title or body (one table for all pools)."""
    import numpy as np

    vocabulary = {t for pool in pools for c in pool.candidates for t in (*c.title, *c.body)}
    df = {}
    for term in vocabulary:
        df[term] = len(np.union1d(snap.term("title", term)[0], snap.term("body", term)[0]))
    for pool in pools:
        pool.df = df


def main(judged: list[Judgment], is_relevant: Judge, total: Callable[[Judgment], int]) -> str:
    """The trials table for a judged set on the archive Django is set up on."""
    pools = collect_pools(judged, is_relevant, total)
    results = [run_trial(name, f, pools, WEIGHTS) for name, f in TRIALS.items()]
    return render_trials(baseline(pools), results)
