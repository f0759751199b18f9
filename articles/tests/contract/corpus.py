"""Small random archives and random queries for the oracle tests.

A corpus is a few hundred articles drawn from a small vocabulary (so that queries hit), with
sources and sections whose names hold HTML and ampersands, names that differ only in case and
spacing (one label), undated articles and publication times either side of midnight in the
archive's time zone. Corpora come from a fixed list of seeds, so each is built once per test;
Hypothesis then draws many queries against it: trees of words, phrases taken from the corpus,
prefixes, misspellings, field and date-range queries, and the reader's facet selections.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from hypothesis import strategies as st

from articles.search import SearchQuery
from articles.search import query as q

#: (word, weight): a few common words, many rare ones; shared stems (rate/rates/rating),
#: shared beginnings (har-, ba-, mar-), accented spellings and two stop words.
VOCABULARY: tuple[tuple[str, int], ...] = (
    ("market", 30),
    ("rates", 20),
    ("rate", 8),
    ("rating", 4),
    ("bank", 18),
    ("bakery", 3),
    ("harvest", 12),
    ("harbour", 6),
    ("cocoa", 10),
    ("oil", 10),
    ("pipeline", 5),
    ("strike", 7),
    ("strikes", 5),
    ("election", 6),
    ("minister", 9),
    ("budget", 6),
    ("export", 5),
    ("exports", 4),
    ("ghana", 4),
    ("Médecins", 2),
    ("medecins", 2),
    ("café", 2),
    ("drought", 3),
    ("tariff", 3),
    ("railway", 3),
    ("vaccine", 2),
    ("glacier", 2),
    ("orchestra", 2),
    ("tobacco", 2),
    ("uranium", 1),
    ("the", 6),
    ("of", 5),
)
WORDS = tuple(dict.fromkeys(w.lower() for w, _ in VOCABULARY))
#: One-edit misspellings, each near exactly one word of the vocabulary.
MISSPELLINGS = {
    "harvset": "harvest",
    "pipeine": "pipeline",
    "uranim": "uranium",
    "glaicer": "glacier",
    "orchesta": "orchestra",
    "tobaco": "tobacco",
    "drougt": "drought",
}
SOURCES = ("AFP", "Reuters", "<b>Wire</b>", "Smith & Co", "afp ", None)
SECTIONS = ("Business", "Mid-East", "Sport & Leisure", "<i>Arts</i>", "BUSINESS", None)
#: Publication days: several per month and year, so every date facet has a choice.
DAYS = tuple(
    dt.date(y, m, d)
    for y, m, d in [
        (2014, 3, 5),
        (2014, 3, 6),
        (2014, 11, 30),
        (2015, 1, 1),
        (2015, 6, 15),
        (2015, 6, 16),
        (2015, 6, 30),
        (2015, 12, 31),
        (2016, 2, 29),
        (2016, 7, 4),
    ]
)
#: Hours in UTC; with the archive in New York, 00:30 and 03:00 are still the previous day.
HOURS = (0, 3, 12, 23)
TIME_ZONE = "America/New_York"


@dataclass(frozen=True)
class Spec:
    """An article to create: what the oracle is told, before the database gives it an id."""

    title: str
    body: str
    source: str | None
    section: str | None
    published: dt.datetime | None


def make_corpus(seed: int, size: int = 180) -> list[Spec]:
    """A reproducible random archive; every publication time is distinct (sorts have no ties)."""
    rng = random.Random(seed)
    words = [w for w, _ in VOCABULARY]
    weights = [n for _, n in VOCABULARY]

    def text(low: int, high: int) -> str:
        return " ".join(rng.choices(words, weights, k=rng.randint(low, high)))

    specs = []
    for i in range(size):
        published = None
        if rng.random() > 0.1:
            day = rng.choice(DAYS)
            published = dt.datetime(
                day.year, day.month, day.day, rng.choice(HOURS), tzinfo=dt.UTC
            ) + dt.timedelta(minutes=i)
        specs.append(
            Spec(
                title=text(1, 4).capitalize(),
                body=text(3, 18),
                source=rng.choice(SOURCES),
                section=rng.choice(SECTIONS),
                published=published,
            )
        )
    return specs


# --- queries -----------------------------------------------------------------------------------


def leaves(specs: list[Spec]) -> st.SearchStrategy[q.Node]:
    """Single clauses that hit this corpus often (and sometimes miss on purpose)."""
    bodies = [s.body.split() for s in specs]
    windows = sorted(
        {" ".join(b[i : i + n]) for b in bodies for n in (2, 3) for i in range(len(b) - n + 1)}
    )
    prefixes = sorted({w[:n] for w in WORDS if len(w) > 3 for n in (2, 3, 4)})
    days = sorted({s.published.date() for s in specs if s.published})
    text_field = st.sampled_from([None, None, "title", "body"])
    label_names = [n for n in SOURCES + SECTIONS if n] + ["Nobody"]
    return st.one_of(
        st.builds(q.Term, st.sampled_from([*WORDS, "zebra"]), text_field),
        st.builds(q.Phrase, st.sampled_from(windows), text_field),
        st.builds(q.Prefix, st.sampled_from(prefixes), st.sampled_from([None, "title"])),
        st.builds(q.Fuzzy, st.sampled_from(sorted(MISSPELLINGS))),
        st.builds(
            q.Term,
            st.sampled_from(label_names).map(lambda n: n if len(n) % 2 else n.lower()),
            st.sampled_from(["source", "section"]),
        ),
        date_ranges(days),
    )


def date_ranges(days: list[dt.date]) -> st.SearchStrategy[q.DateRange]:
    """Closed ranges, and ranges open at one end."""
    pair = st.tuples(st.sampled_from(days), st.sampled_from(days)).map(sorted)
    return st.builds(
        lambda ends, open_end: q.DateRange(
            None if open_end == "start" else ends[0], None if open_end == "end" else ends[1]
        ),
        pair,
        st.sampled_from(["", "start", "end"]),
    )


def query_trees(specs: list[Spec]) -> st.SearchStrategy[q.Node]:
    """Trees of AND, OR and NOT over ``leaves``, small enough for the parser's bounds."""
    return st.recursive(
        leaves(specs),
        lambda children: st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda c: q.And(tuple(c))),
            st.lists(children, min_size=2, max_size=3).map(lambda c: q.Or(tuple(c))),
            children.map(q.Not),
        ),
        max_leaves=5,
    ).filter(lambda node: _expansions(node) <= q.MAX_EXPANSIONS)


def _expansions(node: q.Node) -> int:
    if isinstance(node, (q.And, q.Or)):
        return sum(_expansions(c) for c in node.children)
    if isinstance(node, q.Not):
        return _expansions(node.child)
    return int(isinstance(node, (q.Prefix, q.Fuzzy)))


@st.composite
def render(draw, node: q.Node) -> str:
    """Query text a reader could type for the tree (the parser turns it back into one)."""
    if isinstance(node, q.And):
        joiner = draw(st.sampled_from([" ", " AND "]))
        return "(" + joiner.join(draw(render(c)) for c in node.children) + ")"
    if isinstance(node, q.Or):
        return "(" + " OR ".join(draw(render(c)) for c in node.children) + ")"
    if isinstance(node, q.Not):
        child = node.child
        if isinstance(child, q.Term) and child.field is None and draw(st.booleans()):
            return f"-{child.text}"
        return "NOT " + draw(render(child))
    if isinstance(node, q.DateRange):
        start = node.start.isoformat() if node.start else "*"
        end = node.end.isoformat() if node.end else "*"
        return f"published:[{start} to {end}]"
    field = f"{node.field}:" if node.field else ""
    if isinstance(node, q.Phrase) or (isinstance(node, q.Term) and node.field in q.LABEL_FIELDS):
        return f'{field}"{node.text}"'
    if isinstance(node, q.Prefix):
        return f"{field}{node.text}*"
    if isinstance(node, q.Fuzzy):
        return f"{field}{node.text}~"
    return f"{field}{node.text}"


@st.composite
def selections(draw, specs: list[Spec], **fixed) -> SearchQuery:
    """The reader's facet choices: several sources and sections (in any case), a year, month
    and day, or a date range; some choose values no article has."""
    names = [n for n in SOURCES if n] + ["Nobody"]
    sections = [n for n in SECTIONS if n] + ["Nowhere"]
    years = sorted({d.year for d in DAYS}) + [1999]
    chosen: dict = {
        "sources": tuple(draw(st.lists(st.sampled_from(names), max_size=2, unique=True))),
        "sections": tuple(draw(st.lists(st.sampled_from(sections), max_size=2, unique=True))),
    }
    period = draw(st.sampled_from(["none", "none", "year", "month", "day", "range"]))
    if period in ("year", "month", "day"):
        chosen["year"] = draw(st.sampled_from(years))
    if period in ("month", "day"):
        chosen["month"] = draw(st.integers(1, 12))
    if period == "day":
        chosen["day"] = draw(st.integers(1, 31))
    if period == "range":
        ends = st.one_of(st.none(), st.sampled_from(DAYS))
        chosen["date_from"], chosen["date_to"] = sorted(
            [draw(ends), draw(ends)], key=lambda d: (d is None, d)
        )
    return SearchQuery(**{**chosen, **fixed})
