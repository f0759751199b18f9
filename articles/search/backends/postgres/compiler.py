"""The query tree (``articles.search.query``) as SQL over ``articles_article`` (alias ``a``).

Text leaves become ``tsquery`` text built from PostgreSQL's own analysis of the reader's words
(``phraseto_tsquery`` in the ``newsarchive`` configuration), so the lexemes are exactly the
indexed ones. Neighbouring text leaves under one AND or OR are joined into a single ``tsquery``
so the GIN index answers them in one search; labels and dates become plain conditions.

Stop words leave no gap in the stored positions (as in Whoosh), so the gap
``phraseto_tsquery`` leaves for one is closed before a query gets here. Where PostgreSQL
still differs from the Whoosh backend (stemmer, stop list), the README says how.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from ... import query as q
from .analysis import lexeme

#: The text search configuration the migration creates (unaccent, then English stemming).
CONFIG = "newsarchive"
#: Weights of D, C, B (body) and A (title) for ts_rank_cd: a title match counts 2.5 times a
#: body match, as TITLE_WEIGHT does in the Whoosh backend.
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
_FIELD_WEIGHT = {"title": "A", "body": "B"}
_LEXEME_RE = re.compile(r"'((?:[^']|'')*)'(:\*)?")


@dataclass
class Analysed:
    """PostgreSQL's reading of a piece of query text."""

    tsquery: str  # '' when only stop words
    folded: str  # lower-cased, accents removed, unstemmed (for prefixes)


@dataclass
class Expr:
    """A compiled node: a tsquery (``text``), an SQL condition (``sql``), or all / nothing."""

    text: str | None = None
    sql: str | None = None
    params: list[Any] = field(default_factory=list)
    everything: bool = False
    nothing: bool = False

    def as_sql(self) -> tuple[str, list[Any]]:
        if self.everything:
            return "TRUE", []
        if self.nothing:
            return "FALSE", []
        if self.text is not None:
            return "a.search_vector @@ %s::tsquery", [self.text]
        return f"({self.sql})", list(self.params)


EVERYTHING = Expr(everything=True)
NOTHING = Expr(nothing=True)


@dataclass
class Compiled:
    where: str
    params: list[Any]
    rank: str | None  # tsquery text of the positive text leaves, for ranking
    terms: set[str]  # lexemes to highlight


def lexemes(tsquery: str) -> list[str]:
    """The lexemes of a tsquery text, unquoted."""
    return [m.group(1).replace("''", "'") for m in _LEXEME_RE.finditer(tsquery)]


_PHRASE_RE = re.compile(r"'(?:[^']|'')*'(?: <-> '(?:[^']|'')*')+")


def phrase_pairs(tsquery: str) -> list[str]:
    """The neighbouring lexeme pairs of a plain phrase (``'a' <-> 'b' <-> 'c'`` gives
    ``a b`` and ``b c``), as ``pair_vector`` holds them; empty for anything else."""
    if not _PHRASE_RE.fullmatch(tsquery):
        return []
    words = lexemes(tsquery)
    return [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def quote(lexeme: str) -> str:
    """A lexeme as a tsquery operand."""
    return "'" + lexeme.replace("'", "''").replace("\\", "\\\\") + "'"


def restrict(tsquery: str, fieldname: str | None) -> str:
    """The tsquery limited to one field's weight (``'rate':A`` for titles)."""
    weight = _FIELD_WEIGHT.get(fieldname or "")
    if not weight:
        return tsquery
    return _LEXEME_RE.sub(lambda m: f"{m.group(0)}{'' if m.group(2) else ':'}{weight}", tsquery)


class Compiler:
    """Compiles one parsed query; ``analysed`` and the expanders come from the backend."""

    def __init__(
        self,
        analysed: dict[str, Analysed],
        prefix_terms: Callable[[str], list[str]],
        fuzzy_terms: Callable[[str, int], list[str]],
        label_ids: Callable[[str, str], list[int]],
        tz: Any,
    ) -> None:
        self.analysed = analysed
        self.prefix_terms = prefix_terms
        self.fuzzy_terms = fuzzy_terms
        self.label_ids = label_ids
        self.tz = tz
        self.rank_parts: list[str] = []
        self.terms: set[str] = set()

    def compile(self, node: q.Node) -> Compiled:
        expr = self.node(node, positive=True)
        where, params = expr.as_sql()
        rank = " | ".join(f"( {p} )" for p in dict.fromkeys(self.rank_parts)) or None
        return Compiled(where, params, rank, self.terms)

    def node(self, node: q.Node, positive: bool) -> Expr:
        if isinstance(node, q.MatchAll):
            return EVERYTHING
        if isinstance(node, q.And):
            return self.combine([self.node(c, positive) for c in node.children], "&", "AND")
        if isinstance(node, q.Or):
            return self.combine([self.node(c, positive) for c in node.children], "|", "OR")
        if isinstance(node, q.Not):
            return self.negate(self.node(node.child, not positive))
        if isinstance(node, q.DateRange):
            return self.date_range(node.start, node.end)
        if node.field in q.LABEL_FIELDS:  # type: ignore[attr-defined]
            ids = self.label_ids(node.field, node.text)  # type: ignore[attr-defined]
            if not ids:
                return NOTHING
            # COALESCE: an article without a source is "not AFP", so NOT must keep it.
            column = f"a.{node.field}_id"  # type: ignore[attr-defined]
            return Expr(sql=f"COALESCE({column} = ANY(%s), FALSE)", params=[ids])
        fieldname = node.field  # type: ignore[attr-defined]
        if isinstance(node, (q.Term, q.Phrase)):
            tsquery = self.analysed[node.text].tsquery
            if only_stop_words(node.text):
                # Only stop words narrow nothing (as in Whoosh), also where unaccent leaves a
                # letter that folding makes one (``ª`` is ``a``, a stop word).
                return EVERYTHING
            if not tsquery:
                # A word PostgreSQL's parser drops (``¼``) is still a word the archive does
                # not hold.
                return NOTHING
            return self.leaf(tsquery, fieldname, lexemes(tsquery), positive)
        if isinstance(node, q.Prefix):
            analysed = self.analysed[node.text]
            folded = re.sub(r"[^\w]+", "", analysed.folded)
            parts = [f"{quote(folded)}:*"] if folded else []
            if analysed.tsquery and analysed.tsquery != quote(folded):
                parts.append(f"( {analysed.tsquery} )")
            if not parts:
                return NOTHING
            shown = self.prefix_terms(folded) + lexemes(analysed.tsquery)
            return self.leaf(" | ".join(parts), fieldname, shown, positive)
        if isinstance(node, q.Fuzzy):
            words = self.fuzzy_terms(node.text, node.maxdist)
            if not words:
                return NOTHING
            return self.leaf(" | ".join(quote(w) for w in words), fieldname, words, positive)
        return NOTHING

    def leaf(self, tsquery: str, fieldname: str | None, shown: list[str], positive: bool) -> Expr:
        """A text leaf. Plain words stay a tsquery (to be joined with their neighbours);
        phrases and field queries become conditions that spare PostgreSQL reading each
        candidate's out-of-line ``search_vector``: phrases go through ``pair_vector``, title
        queries through ``lead_vector`` alone (it holds the whole title, in the row, and has
        a GIN index of its own: migration 0005)."""
        restricted = restrict(tsquery, fieldname)
        if positive:
            self.rank_parts.append(restricted)
            self.terms.update(shown)
        if fieldname == "title":
            return Expr(sql="a.lead_vector @@ %s::tsquery", params=[restricted])
        pairs = phrase_pairs(tsquery)
        if fieldname is None and not pairs:
            return Expr(text=tsquery)
        conditions: list[str] = []
        params: list[Any] = []

        def condition(column: str, query: str) -> None:
            conditions.append(f"a.{column} @@ %s::tsquery")
            params.append(query)

        if pairs:
            condition("pair_vector", " & ".join(quote(p) for p in pairs))
        if not pairs or len(pairs) > 1:  # pairs alone are exact for two words only
            condition("search_vector", tsquery)
        if fieldname:
            condition("search_vector", restricted)
        return Expr(sql=" AND ".join(conditions), params=params)

    @staticmethod
    def combine(children: list[Expr], operator: str, keyword: str) -> Expr:
        if keyword == "AND":
            if any(c.nothing for c in children):
                return NOTHING
            children = [c for c in children if not c.everything]
            if not children:
                return EVERYTHING
        else:
            if any(c.everything for c in children):
                return EVERYTHING
            children = [c for c in children if not c.nothing]
            if not children:
                return NOTHING
        if len(children) == 1:
            return children[0]
        texts = [c.text for c in children if c.text is not None]
        others = [c for c in children if c.text is None]
        if keyword == "OR" and others:
            texts = []  # an OR mixing text and conditions needs each as a condition
            others = children
        parts: list[Expr] = []
        if texts:
            parts.append(Expr(text=f" {operator} ".join(f"( {t} )" for t in texts)))
        parts.extend(others)
        if len(parts) == 1:
            return parts[0]
        sqls, params = [], []
        for part in parts:
            sql, part_params = part.as_sql()
            sqls.append(sql)
            params.extend(part_params)
        return Expr(sql=f" {keyword} ".join(sqls), params=params)

    @staticmethod
    def negate(child: Expr) -> Expr:
        if child.everything:
            return NOTHING
        if child.nothing:
            return EVERYTHING
        if child.text is not None:
            return Expr(text=f"!( {child.text} )")
        return Expr(sql=f"NOT {child.as_sql()[0]}", params=child.params)

    def date_range(self, start: date | None, end: date | None) -> Expr:
        sql, params = day_bounds(start, end, self.tz)
        return Expr(sql=sql, params=params)


def local_midnight(day: date, tz: Any) -> datetime:
    """The first instant of a day in the archive's time zone."""
    return datetime.combine(day, time(0, 0)).replace(tzinfo=tz)


def day_bounds(start: date | None, end: date | None, tz: Any) -> tuple[str, list[Any]]:
    """Published on these days (inclusive) of the archive's time zone; undated never matches."""
    parts, params = ["a.published IS NOT NULL"], []
    if start is not None:
        parts.append("a.published >= %s")
        params.append(local_midnight(start, tz))
    if end is not None:
        parts.append("a.published < %s")
        params.append(local_midnight(end + timedelta(days=1), tz))
    return " AND ".join(parts), params


def texts_to_analyse(node: q.Node | None) -> set[str]:
    """Every piece of query text PostgreSQL has to analyse for this tree."""
    out: set[str] = set()

    def walk(n: q.Node | None) -> None:
        if isinstance(n, (q.And, q.Or)):
            for child in n.children:
                walk(child)
        elif isinstance(n, q.Not):
            walk(n.child)
        elif isinstance(n, (q.Term, q.Phrase, q.Prefix)) and n.field not in q.LABEL_FIELDS:
            out.add(n.text)

    walk(node)
    return out


def only_stop_words(text: str) -> bool:
    """Whether every word of ``text`` is a stop word (by the backend's own stop list)."""
    return all(lexeme(word) is None for word in re.findall(r"\w+", text))
