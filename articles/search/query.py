"""The archive's query language, parsed into a small backend-neutral tree.

Readers type things like ``cocoa exports``, ``"interest rates"``, ``oil OR gas``, ``-football``,
``title:budget``, ``source:"press association"``, ``econom*``, ``presdent~`` and
``published:[2015-01-01 to 2015-06-30]``. This module turns that text into a tree of plain
dataclasses that a backend (Whoosh today, PostgreSQL later) evaluates its own way.

It never raises for user input. Malformed text (unbalanced quotes or brackets, a lone operator,
a wildcard with nothing before it, pages of junk) is interpreted leniently and each repair is
described in ``ParsedQuery.messages`` so the page can say what it did. Costly constructs are
bounded here, before any index is touched: the text is cut at ``rules.MAX_QUERY_CHARS`` (the
same limit the search form enforces), at most ``MAX_CLAUSES`` terms are kept and at most
``MAX_EXPANSIONS`` wildcard or fuzzy terms. What each node means to a backend is written in
``backends.SearchBackend``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date

from .rules import MAX_QUERY_CHARS

MAX_CLAUSES = 24
MAX_EXPANSIONS = 4  # prefix and fuzzy terms per query; each expands to a bounded term list
MIN_PREFIX_CHARS = 2
MAX_FUZZY_DISTANCE = 2

#: Field names a reader may type, mapped to the field they search.
FIELDS = {
    "title": "title",
    "headline": "title",
    "body": "body",
    "text": "body",
    "source": "source",
    "section": "section",
    "published": "published",
    "date": "published",
}
TEXT_FIELDS = ("title", "body")
LABEL_FIELDS = ("source", "section")


# --- the tree ------------------------------------------------------------------------------


class Node:
    """Base class of query tree nodes."""


@dataclass(frozen=True)
class Term(Node):
    """A word; ``field`` None means the default text fields (title and body)."""

    text: str
    field: str | None = None


@dataclass(frozen=True)
class Phrase(Node):
    """Words that must appear next to each other, in order (or a whole source/section name)."""

    text: str
    field: str | None = None


@dataclass(frozen=True)
class Prefix(Node):
    text: str
    field: str | None = None


@dataclass(frozen=True)
class Fuzzy(Node):
    text: str
    field: str | None = None
    maxdist: int = 1


@dataclass(frozen=True)
class DateRange(Node):
    """Published between two days inclusive, in the archive's time zone; None is open."""

    start: date | None
    end: date | None


@dataclass(frozen=True)
class And(Node):
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    child: Node


@dataclass(frozen=True)
class MatchAll(Node):
    """Every article: what an empty query or a purely negative one starts from."""


@dataclass
class ParsedQuery:
    """The tree (None when the text holds nothing to search for) and what was repaired."""

    node: Node | None
    messages: list[str] = field(default_factory=list)
    text: str = ""


# --- lexing --------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<quote>"[^"]*"?)
  | (?P<range>[\[{][^\]}\[{]*[\]}]?)
  | (?P<field>[A-Za-z_]+:(?=[^\s]))
  | (?P<word>[^\s()"\[\]{}]+)
  | (?P<junk>[\]}])
    """,
    re.VERBOSE,
)
_OPERATORS = {"AND", "OR", "NOT", "&&", "||"}


@dataclass
class _Tok:
    kind: str
    text: str


def _lex(text: str) -> list[_Tok]:
    return [
        _Tok(m.lastgroup or "junk", m.group())
        for m in _TOKEN_RE.finditer(text)
        if m.lastgroup != "space"
    ]


# --- parsing -------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the tokens; every rule recovers instead of failing.

    Grammar (case-sensitive operators, implicit AND):
        query  := or_expr
        or_expr  := and_expr ("OR" and_expr)*
        and_expr := unary (["AND"] unary)*
        unary  := ("NOT" | "-") unary | atom
        atom   := "(" or_expr ")" | FIELD atom | PHRASE | RANGE | WORD
    """

    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.i = 0
        self.messages: list[str] = []
        self.clauses = 0
        self.expansions = 0
        self.depth = 0
        #: Inside ``published:( … )``: its values are dates, read as such (as words they
        #: would be terms of a field that holds none, and match nothing).
        self.in_date_group = False

    def note(self, message: str) -> None:
        if message not in self.messages:
            self.messages.append(message)

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_op(self, tok: _Tok | None, *names: str) -> bool:
        if tok is None or tok.kind != "word":
            return False
        name = {"&&": "AND", "||": "OR"}.get(tok.text, tok.text)
        return name in names

    # query := or_expr, plus recovery from stray closing parentheses
    def parse(self) -> Node | None:
        parts: list[Node] = []
        while self.peek() is not None:
            node = self.or_expr()
            if node is not None:
                parts.append(node)
            tok = self.peek()
            if tok is not None and tok.kind in ("rparen", "junk"):
                self.take()
                self.note("An unmatched closing bracket was ignored.")
        return _and(parts)

    def or_expr(self) -> Node | None:
        parts: list[Node] = []
        left = self.and_expr()
        if left is not None:
            parts.append(left)
        while self.is_op(self.peek(), "OR"):
            self.take()
            right = self.and_expr()
            if right is None or not parts:
                self.note("“OR” needs words on both sides; it was ignored.")
            if right is not None:
                parts.append(right)
        if len(parts) > 1:
            return Or(tuple(parts))
        return parts[0] if parts else None

    def and_expr(self) -> Node | None:
        parts: list[Node] = []
        while True:
            tok = self.peek()
            if tok is None or tok.kind in ("rparen", "junk") or self.is_op(tok, "OR"):
                break
            if self.is_op(tok, "AND"):
                self.take()
                nxt = self.peek()
                if (
                    not parts
                    or nxt is None
                    or nxt.kind in ("rparen", "junk")
                    or self.is_op(nxt, "OR", "AND")
                ):
                    self.note("“AND” needs words on both sides; it was ignored.")
                continue
            node = self.unary()
            if node is not None:
                parts.append(node)
        return _and(parts)

    def unary(self) -> Node | None:
        tok = self.peek()
        if self.is_op(tok, "NOT"):
            self.take()
            nxt = self.peek()
            if nxt is None or nxt.kind in ("rparen", "junk") or self.is_op(nxt, "OR", "AND"):
                self.note("“NOT” needs a word after it; it was ignored.")
                return None
            child = self.unary()
            return Not(child) if child is not None else None
        if tok is not None and tok.kind == "word" and tok.text.startswith("-"):
            stripped = tok.text.lstrip("-")
            if not stripped:
                self.take()
                return None
            tok.text = stripped
            child = self.atom(None)
            return Not(child) if child is not None else None
        return self.atom(None)

    def atom(self, fieldname: str | None) -> Node | None:
        tok = self.peek()
        if tok is None:
            return None
        if fieldname is None and self.in_date_group:
            fieldname = "published"
        if tok.kind == "lparen":
            self.take()
            if self.depth >= 8:
                self.note("Brackets were nested too deeply; the inner ones were ignored.")
            self.depth += 1
            outer, self.in_date_group = self.in_date_group, fieldname == "published"
            node = self.or_expr()
            self.in_date_group = outer
            self.depth -= 1
            closed = self.peek() is not None and self.peek().kind == "rparen"
            if closed:
                self.take()
            if node is None:
                self.note("A pair of brackets held nothing to search for; it was ignored.")
            elif not closed:
                self.note("An unclosed bracket was closed at the end of the query.")
            if node is not None and fieldname is not None:
                node = _with_field(node, fieldname)
            return node
        if tok.kind == "field":
            self.take()
            name = FIELDS.get(tok.text[:-1].lower())
            if name is None:
                # Not a field we know: read "foo:bar" as the words foo and bar.
                word = tok.text[:-1]
                return self.word(word, fieldname)
            nxt = self.peek()
            if nxt is None or nxt.kind in ("rparen", "junk"):
                return None
            return self.atom(name)
        self.take()
        if tok.kind == "quote":
            text = tok.text[1:]
            if text.endswith('"'):
                text = text[:-1]
            else:
                self.note("A quotation mark was not closed, so the phrase runs to the end.")
            return self.phrase(text, fieldname)
        if tok.kind == "range":
            return self.range(tok.text, fieldname)
        if tok.kind == "rparen":
            return None
        return self.word(tok.text, fieldname)

    def count_clause(self) -> bool:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            self.note(f"Only the first {MAX_CLAUSES} words of the query were used.")
            return False
        return True

    def phrase(self, text: str, fieldname: str | None) -> Node | None:
        text = " ".join(text.split())
        if not text:
            return None
        if fieldname == "published":
            return self.date_value(text)
        if not _has_word(text):
            # Punctuation alone ("!!!") analyses to nothing, and a phrase of nothing would
            # match every article: the reader typed something, so say it was dropped.
            self.note(f"The quoted “{text}” held no words to search for; it was ignored.")
            return None
        if not self.count_clause():
            return None
        if fieldname in LABEL_FIELDS:
            return Term(text, fieldname)
        if len(text.split()) == 1:
            return self.word(text, fieldname, counted=True)
        return Phrase(text, fieldname)

    def range(self, text: str, fieldname: str | None) -> Node | None:
        closed = text[-1:] in ("]", "}")
        inner = text[1:-1] if closed else text[1:]
        if not closed:
            self.note("A date range was not closed with “]”; it was read to the end.")
        if fieldname != "published":
            self.note("Ranges work on dates only, as in published:[2015-01-01 to 2015-06-30].")
            words = [w for w in re.split(r"\s+|\bto\b", inner, flags=re.I) if w.strip()]
            return _and([n for n in (self.word(w, fieldname) for w in words) if n is not None])
        parts = re.split(r"\s+to\s+|\s*\.\.\s*|\s+TO\s+", inner.strip(), maxsplit=1, flags=re.I)
        if len(parts) == 1:
            parts = [parts[0], parts[0]] if parts[0].strip() else ["", ""]
        start = _parse_day(parts[0], end=False)
        end = _parse_day(parts[1], end=True)
        bad = [p for p, d in zip(parts, (start, end), strict=True) if d is None and _open(p)]
        if bad:
            self.note(
                f"“{bad[0].strip()}” is not a date (use YYYY, YYYY-MM or YYYY-MM-DD); "
                "that end of the range was left open."
            )
        if start and end and start > end:
            start, end = _parse_day(parts[1], end=False), _parse_day(parts[0], end=True)
        if start is None and end is None:
            return None
        return DateRange(start, end)

    def date_value(self, text: str) -> Node | None:
        start = _parse_day(text, end=False)
        end = _parse_day(text, end=True)
        if start is None or end is None:
            self.note(f"“{text}” is not a date (use YYYY, YYYY-MM or YYYY-MM-DD); it was ignored.")
            return None
        return DateRange(start, end)

    def word(self, text: str, fieldname: str | None, counted: bool = False) -> Node | None:
        text = text.strip("+")
        if fieldname == "published":
            return self.date_value(text)
        if fieldname in LABEL_FIELDS:
            if not text or not self.count_clause():
                return None
            return Term(text, fieldname)
        fuzzy = re.fullmatch(r"(.+?)~(\d*)", text)
        if fuzzy:
            base = fuzzy.group(1).strip("~*?")
            dist = min(max(int(fuzzy.group(2) or 1), 1), MAX_FUZZY_DISTANCE)
            if not _has_word(base):
                return None
            if not self.count_clause():
                return None
            if not self.allow_expansion(base + "~"):
                return Term(base, fieldname)
            return Fuzzy(base, fieldname, dist)
        if text.endswith("*"):
            base = text.rstrip("*?")
            if "*" in base or "?" in base:
                base = re.split(r"[*?]", base)[0]
            if not _has_word(base):
                self.note("A wildcard needs letters before the “*”; it was ignored.")
                return None
            if len(_fold_for_length(base)) < MIN_PREFIX_CHARS:
                self.note(
                    f"“{text}” is too short for a wildcard: type at least "
                    f"{MIN_PREFIX_CHARS} letters before the “*”. It was ignored."
                )
                return None
            if not counted and not self.count_clause():
                return None
            if not self.allow_expansion(text):
                return Term(base, fieldname)
            return Prefix(base, fieldname)
        text = text.replace("*", " ").replace("?", " ").replace("~", " ").replace("^", " ")
        if not _has_word(text):
            return None
        if not counted and not self.count_clause():
            return None
        return Term(text.strip(), fieldname)

    def allow_expansion(self, text: str) -> bool:
        self.expansions += 1
        if self.expansions > MAX_EXPANSIONS:
            self.note(
                f"Only {MAX_EXPANSIONS} wildcard or fuzzy words are allowed per query; "
                f"“{text}” was searched as a plain word."
            )
            return False
        return True


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _fold_for_length(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def _open(part: str) -> bool:
    return part.strip() not in ("", "*")


def _parse_day(text: str, end: bool) -> date | None:
    """``2015``, ``2015-03`` or ``2015-03-09`` as the first (or last) day it covers."""
    text = text.strip().strip("'\"")
    m = re.fullmatch(r"(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?", text)
    if not m:
        return None
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else None
    day = int(m.group(3)) if m.group(3) else None
    try:
        if year < 1:
            return None
        if month is None:
            return date(year, 12, 31) if end else date(year, 1, 1)
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return date(year, month, last) if end else date(year, month, 1)
        return date(year, month, day)
    except ValueError:
        return None


def _and(parts: list[Node]) -> Node | None:
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return And(tuple(parts))


def _with_field(node: Node, fieldname: str) -> Node:
    """``title:(a OR b)`` puts every word in the group into the title field."""
    if isinstance(node, And):
        return And(tuple(_with_field(c, fieldname) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(_with_field(c, fieldname) for c in node.children))
    if isinstance(node, Not):
        return Not(_with_field(node.child, fieldname))
    if isinstance(node, (Term, Phrase, Prefix)) and node.field is None:
        return type(node)(node.text, fieldname)
    if isinstance(node, Fuzzy) and node.field is None:
        return Fuzzy(node.text, fieldname, node.maxdist)
    return node


def parse(text: str) -> ParsedQuery:
    """Parse the reader's query text; never raises. ``node`` None means "everything"."""
    text = text or ""
    messages: list[str] = []
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    if len(text) > MAX_QUERY_CHARS:
        cut = text[:MAX_QUERY_CHARS]
        if " " in cut[-40:]:
            cut = cut[: cut.rindex(" ")]
        text = cut
        messages.append(
            f"The query was too long, so only its first {len(cut)} characters were used."
        )
    parser = _Parser(_lex(text))
    try:
        node = parser.parse()
    except RecursionError:  # pragma: no cover - depth is bounded, this is belt and braces
        node = None
        parser.note("The query was too deeply nested to read.")
    messages.extend(parser.messages)
    return ParsedQuery(node=_anchor(_simplify(node)), messages=messages, text=text)


def _simplify(node: Node | None) -> Node | None:
    """Flatten nested And/Or and cancel double negations."""
    if node is None:
        return None
    if isinstance(node, (And, Or)):
        kind = type(node)
        children: list[Node] = []
        for child in node.children:
            child = _simplify(child)
            if child is None:
                continue
            if isinstance(child, kind):
                children.extend(child.children)
            else:
                children.append(child)
        if not children:
            return None
        node = children[0] if len(children) == 1 else kind(tuple(children))
    elif isinstance(node, Not):
        child = _simplify(node.child)
        if child is None:
            return None
        if isinstance(child, Not):
            return child.child
        node = Not(child)
    return node


def _anchor(node: Node | None) -> Node | None:
    """A purely negative query means "everything except", so give it something to subtract from."""
    if isinstance(node, Not):
        return And((MatchAll(), node))
    if isinstance(node, And) and all(isinstance(c, Not) for c in node.children):
        return And((MatchAll(), *node.children))
    return node


def positive_words(node: Node | None) -> list[str]:
    """The plain words a reader asked for (not negated): candidates for "did you mean"."""
    out: list[str] = []

    def walk(n: Node | None, negated: bool) -> None:
        if n is None:
            return
        if isinstance(n, (And, Or)):
            for c in n.children:
                walk(c, negated)
        elif isinstance(n, Not):
            walk(n.child, not negated)
        elif isinstance(n, (Term, Phrase)) and not negated and n.field not in LABEL_FIELDS:
            out.extend(re.findall(r"\w+", n.text))

    walk(node, False)
    return out
