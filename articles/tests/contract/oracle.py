"""A brute-force search evaluator in plain Python: the contract suite's independent oracle.

It shares nothing with a backend's matching, ranking or counting. It splits each document into
words itself, asks the backend only what index term a single word becomes (``term_for``: the
analyser's stemming, accent folding and stop words are not worth re-implementing), and then
walks the parsed query tree over every document, one document at a time. Facet counts are
counted here too, each with its own selection left out (a date facet also without the finer
date parts its links drop), as the search page promises.

A backend under test must agree with it exactly: the same article ids, the same total, the
same facet values and counts.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from articles.models import label_key
from articles.search import SearchQuery
from articles.search import query as q

#: Words of a text as the archive's analyser splits them (Whoosh's default tokeniser pattern).
WORD = re.compile(r"[\w*]+(?:\.?[\w*]+)*")
TEXT_FIELDS = ("title", "body")
LABEL_FIELDS = ("source", "section")
DATE_FACETS = ("year", "month", "day")
#: Which selections a facet is counted without: its own, and for a date facet the finer date
#: parts too, because choosing another year drops the month and day (and another month the
#: day): a count equals the total its link lands on.
WIDER = {"source": {"source"}, "section": {"section"}, "year": {"year", "month", "day"},
         "month": {"month", "day"}, "day": {"day"}}  # fmt: skip


class Unsupported(Exception):
    """A query the oracle cannot judge (a fuzzy word it has no expected spelling for)."""


@dataclass(frozen=True)
class Doc:
    """One article as the oracle sees it: its own copy of what was written to the database."""

    id: int
    title: str
    body: str
    source: str | None
    section: str | None
    published: datetime | None


def fold(text: str) -> str:
    """Lower-cased, accents removed, word characters only: how a wildcard prefix is compared."""
    lowered = "".join(m.group() for m in WORD.finditer(text)).lower()
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class Oracle:
    """Which documents a query matches, and the facet counts of a search, by brute force."""

    def __init__(
        self,
        docs: Iterable[Doc],
        term_for: Callable[[str], str | None],
        local_date: Callable[[datetime], date],
        fuzzy_words: dict[str, str] | None = None,
    ) -> None:
        self.docs = list(docs)
        self.term_for = cache(term_for)
        self.fuzzy_words = fuzzy_words or {}
        self.terms = {
            doc.id: {"title": self.analyse(doc.title), "body": self.analyse(doc.body)}
            for doc in self.docs
        }
        self.day = {
            doc.id: local_date(doc.published) if doc.published is not None else None
            for doc in self.docs
        }

    def analyse(self, text: str) -> list[str]:
        """Index terms of a text in order; stop words leave no gap (the analyser renumbers)."""
        terms = (self.term_for(m.group().lower()) for m in WORD.finditer(text))
        return [t for t in terms if t]

    # --- matching ---------------------------------------------------------------------------

    def matches(self, node: q.Node | None) -> set[int]:
        """Ids of the documents the query tree matches (None: every document)."""
        return {doc.id for doc in self.docs if self.match(node, doc)}

    def match(self, node: q.Node | None, doc: Doc) -> bool:
        if node is None or isinstance(node, q.MatchAll):
            return True
        if isinstance(node, q.And):
            return all(self.match(child, doc) for child in node.children)
        if isinstance(node, q.Or):
            return any(self.match(child, doc) for child in node.children)
        if isinstance(node, q.Not):
            return not self.match(node.child, doc)
        if isinstance(node, q.DateRange):
            day = self.day[doc.id]
            return (
                day is not None
                and (node.start is None or node.start <= day)
                and (node.end is None or day <= node.end)
            )
        if node.field in LABEL_FIELDS:
            return self._label(node, doc)
        fields = (node.field,) if node.field else TEXT_FIELDS
        texts = [self.terms[doc.id][f] for f in fields]
        if isinstance(node, (q.Term, q.Phrase)):
            wanted = self.analyse(node.text)
            if not wanted:
                return True  # only stop words: they narrow nothing
            return any(_has_run(terms, wanted) for terms in texts)
        if isinstance(node, q.Prefix):
            start = fold(node.text)
            own = set(self.analyse(node.text))  # "presidents*" also finds the stem "presid"
            return any(t.startswith(start) or t in own for terms in texts for t in terms)
        if isinstance(node, q.Fuzzy):
            wanted_terms = self.fuzzy_terms(node)
            return any(t in wanted_terms for terms in texts for t in terms)
        raise Unsupported(f"unknown node {node!r}")

    def _label(self, node: q.Node, doc: Doc) -> bool:
        name = getattr(doc, node.field)
        if not name:
            return False
        if isinstance(node, q.Prefix):
            return label_key(name).startswith(label_key(node.text))
        return label_key(name) == label_key(node.text)

    def fuzzy_terms(self, node: q.Fuzzy) -> set[str]:
        """The one intended word of a known misspelling; anything else is not judged."""
        word = self.fuzzy_words.get(fold(node.text))
        if word is None:
            raise Unsupported(f"no expected spelling for {node.text!r}~")
        return set(self.analyse(word))

    # --- filters and facets -----------------------------------------------------------------

    def filters(self, query: SearchQuery) -> dict[str, Callable[[Doc], bool]]:
        """The reader's narrowing choices, one test per facet-like filter."""
        out: dict[str, Callable[[Doc], bool]] = {}
        for name, chosen in (("source", query.sources), ("section", query.sections)):
            keys = {label_key(v) for v in chosen if label_key(v)}
            if keys:
                out[name] = lambda d, name=name, keys=keys: bool(
                    getattr(d, name) and label_key(getattr(d, name)) in keys
                )
        day = self.day.__getitem__
        if query.year is not None:
            out["year"] = lambda d: day(d.id) is not None and day(d.id).year == query.year
        if query.month is not None:
            out["month"] = lambda d: day(d.id) is not None and day(d.id).month == query.month
        if query.day is not None:
            out["day"] = lambda d: day(d.id) is not None and day(d.id).day == query.day
        if query.date_from is not None or query.date_to is not None:
            low, high = query.date_from or date.min, query.date_to or date.max
            low, high = min(low, high), max(low, high)
            out["range"] = lambda d: day(d.id) is not None and low <= day(d.id) <= high
        return out

    def search(self, node: q.Node | None, query: SearchQuery) -> tuple[set[int], dict]:
        """(matching ids after every filter, {facet: {key: (count, selected)}}) as the page
        shows them: values with matches, plus selected values even without."""
        matched = [d for d in self.docs if self.match(node, d)]
        tests = self.filters(query)
        final = {d.id for d in matched if all(t(d) for t in tests.values())}
        facets = {}
        for name in self.facet_names(query):
            left_out = WIDER[name]
            pool = [d for d in matched if all(t(d) for f, t in tests.items() if f not in left_out)]
            counts = Counter(k for k in map(lambda d: self.facet_key(name, d), pool) if k)
            chosen = self.selected(name, query)
            facets[name] = {
                key: (counts.get(key, 0), key in chosen) for key in set(counts) | chosen
            }
        return final, facets

    @staticmethod
    def facet_names(query: SearchQuery) -> list[str]:
        names = ["source", "section", "year"]
        if query.year is not None:
            names.append("month")
            if query.month is not None:
                names.append("day")
        return names

    def facet_key(self, name: str, doc: Doc) -> str | None:
        if name in LABEL_FIELDS:
            value = getattr(doc, name)
            return label_key(value) if value else None
        day = self.day[doc.id]
        return str(getattr(day, name)) if day is not None else None

    @staticmethod
    def selected(name: str, query: SearchQuery) -> set[str]:
        if name == "source":
            return {label_key(v) for v in query.sources if label_key(v)}
        if name == "section":
            return {label_key(v) for v in query.sections if label_key(v)}
        value = getattr(query, name)
        return {str(value)} if value else set()


def _has_run(terms: list[str], wanted: list[str]) -> bool:
    """Do the wanted terms appear in ``terms`` next to each other, in order?"""
    n = len(wanted)
    first = wanted[0]
    return any(terms[i] == first and terms[i : i + n] == wanted for i in range(len(terms) - n + 1))


def reported_facets(results) -> dict[str, dict[str, tuple[int, bool]]]:
    """A search's facets in the oracle's shape: {facet: {key: (count, selected)}}."""
    out = {}
    for name, values in results.facets.items():
        keyed = {}
        for v in values:
            key = label_key(v.value) if name in LABEL_FIELDS else v.value
            assert key not in keyed, f"{name} lists {key!r} twice"
            keyed[key] = (v.count, v.selected)
        out[name] = keyed
    return out
