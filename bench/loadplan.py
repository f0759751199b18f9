"""What the load run asks for: a fixed, seeded list of requests drawn from the imported archive.

The requests are the ones people make: search pages with facets selected, API searches and
article pages. Every value comes from the archive itself, read straight from its SQLite
database after the import: query words are the words of its titles (the most common few
hundred most of the time, rarer ones otherwise), facet values are its real sources and
sections, dates are real articles' publication dates (so a drill-down to a day finds
something), and article ids exist (so a 404 is a bug, not a typo). Searches select one or two
sources (values of one facet combine with OR), a section, or drill down year -> month -> day,
sort by date, or go to page 2.

The plan is built once before the load and read round-robin by all connections; it is long
enough that a 30 s level at ~100 requests/s does not repeat a request.
"""

from __future__ import annotations

import contextlib
import random
import re
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.loadclient import Action

PLAN_LENGTH = 20_000
COMMON_WORDS = 300  # the title words most queries are drawn from
RARER_WORDS = 3_000
RARER_SHARE = 0.3
TITLE_WORD = re.compile(r"[^\W\d_]{4,}")
_STOP_WORDS_TEXT = (
    "about after again also been before being could from have into more most over said says "
    "than that their them then there these they this those under were what when where which "
    "while will with would your"
)
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
# Share of each kind of request in the plan.
KIND_WEIGHTS: dict[str, float] = {
    "search page": 0.45,
    "api search": 0.20,
    "article page": 0.30,  # /articles/<id>/, which redirects to the canonical URL
    "api article": 0.05,
}


@dataclass(frozen=True)
class ArchiveFacts:
    """What the plan draws from: the archive's article ids, labels, dates and title words."""

    ids: list[int]
    sources: list[str]
    sections: list[str]
    dates: list[tuple[int, int, int]]
    words: list[str]


def read_archive(db_path: Path) -> ArchiveFacts:
    """Read the facts from the database file (read-only, no Django needed)."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM articles_article ORDER BY id")]
        sources = _names(conn, "articles_source", "source_id")
        sections = _names(conn, "articles_section", "section_id")
        dates = [
            (int(stamp[:4]), int(stamp[5:7]), int(stamp[8:10]))
            for (stamp,) in conn.execute(
                "SELECT published FROM articles_article WHERE published IS NOT NULL"
            )
        ]
        words: Counter[str] = Counter()
        for (title,) in conn.execute("SELECT title FROM articles_article"):
            words.update(
                w for w in (m.lower() for m in TITLE_WORD.findall(title)) if w not in STOP_WORDS
            )
    return ArchiveFacts(
        ids=ids,
        sources=sources,
        sections=sections,
        dates=dates,
        words=[w for w, _ in words.most_common(RARER_WORDS)],
    )


def _names(conn: sqlite3.Connection, table: str, column: str) -> list[str]:
    """Labels that have articles, biggest first."""
    rows = conn.execute(
        f"SELECT l.name FROM {table} l JOIN articles_article a ON a.{column} = l.id "
        "GROUP BY l.id ORDER BY COUNT(*) DESC, l.name"
    )
    return [name for (name,) in rows]


class _Drawer:
    """Random search parameters made of the archive's facts."""

    def __init__(self, facts: ArchiveFacts, rnd: random.Random) -> None:
        self.facts, self.rnd = facts, rnd

    def word(self) -> str:
        words = self.facts.words
        if self.rnd.random() < RARER_SHARE and len(words) > COMMON_WORDS:
            return self.rnd.choice(words[COMMON_WORDS:])
        return self.rnd.choice(words[:COMMON_WORDS])

    def date(self) -> tuple[int, int, int]:
        return self.rnd.choice(self.facts.dates)

    def labels(self, names: list[str], count: int) -> list[str]:
        return self.rnd.sample(names, min(count, len(names)))

    # Each variant returns the GET parameters of one search.
    def words(self) -> list[tuple[str, str]]:
        return [("q", self.word())]

    def two_words(self) -> list[tuple[str, str]]:
        return [("q", f"{self.word()} {self.word()}")]

    def one_source(self) -> list[tuple[str, str]]:
        return [("q", self.word()), *(("source", s) for s in self.labels(self.facts.sources, 1))]

    def multi_select(self) -> list[tuple[str, str]]:
        return [
            ("q", self.word()),
            *(("source", s) for s in self.labels(self.facts.sources, 2)),
            *(("section", s) for s in self.labels(self.facts.sections, 1)),
        ]

    def year(self) -> list[tuple[str, str]]:
        year, _month, _day = self.date()
        return [("q", self.word()), ("year", str(year))]

    def year_month(self) -> list[tuple[str, str]]:
        year, month, _day = self.date()
        return [("q", self.word()), ("year", str(year)), ("month", str(month))]

    def day_browse(self) -> list[tuple[str, str]]:
        year, month, day = self.date()
        return [("year", str(year)), ("month", str(month)), ("day", str(day))]

    def newest_page_two(self) -> list[tuple[str, str]]:
        return [
            ("q", self.word()),
            *(("section", s) for s in self.labels(self.facts.sections, 1)),
            ("sort", "newest"),
            ("page", "2"),
        ]

    def variants(self) -> list[Callable[[], list[tuple[str, str]]]]:
        usable = [self.words, self.two_words]
        if self.facts.sources:
            usable += [self.one_source, self.multi_select]
        if self.facts.sections:
            usable.append(self.newest_page_two)
        if self.facts.dates:
            usable += [self.year, self.year_month, self.day_browse]
        return usable


def build_plan(facts: ArchiveFacts, seed: int = 1, length: int = PLAN_LENGTH) -> list[Action]:
    """`length` requests in the shares of KIND_WEIGHTS; the same facts and seed give the same
    plan."""
    if not facts.ids or not facts.words:
        raise ValueError("the archive has no articles to draw requests from")
    rnd = random.Random(seed)
    drawer = _Drawer(facts, rnd)
    variants = drawer.variants()
    kinds = list(KIND_WEIGHTS)
    weights = list(KIND_WEIGHTS.values())
    plan = []
    for kind in rnd.choices(kinds, weights, k=length):
        if kind == "search page":
            plan.append(Action(kind, f"/search/?{urlencode(rnd.choice(variants)())}"))
        elif kind == "api search":
            plan.append(Action(kind, f"/api/search?{urlencode(rnd.choice(variants)())}"))
        elif kind == "article page":
            plan.append(Action(kind, f"/articles/{rnd.choice(facts.ids)}/", follow_redirect=True))
        else:
            plan.append(Action(kind, f"/api/articles/{rnd.choice(facts.ids)}"))
    return plan


def describe(facts: ArchiveFacts, plan: list[Action]) -> dict[str, object]:
    """The plan's make-up, for the JSON results."""
    return {
        "length": len(plan),
        "kinds": dict(Counter(a.kind for a in plan).most_common()),
        "articles": len(facts.ids),
        "sources": len(facts.sources),
        "sections": len(facts.sections),
        "years": len({d[0] for d in facts.dates}),
        "query_words": len(facts.words),
        "examples": [a.path for a in plan[:8]],
    }
