"""Snippets and highlighted titles: escaped HTML where only ``<mark>`` is left unescaped.

Matching is done on index terms, not on letters: a word of the text is marked when the backend's
analyzer turns it into one of the query's terms (``rates`` is marked for ``rate``, ``Médecins``
for ``medecins``). The text is escaped piece by piece, so nothing from an article can become
markup; the only tags in the output are the ``<mark>`` pairs added here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import escape

from .rules import SNIPPET_CHARS

_SCAN_CHARS = 6_000  # look for matches in the opening stretch only: it is where the best
# news snippet is, and scanning whole long bodies was half the cost of a results page


class _Matcher:
    """A word -> "is it a query term?" test, memoised; share one across the hits of a page.

    Stems keep their word's first letters (rates -> rate), so only words starting like a term,
    or holding a non-ASCII letter (médecins -> medecin), are run through the analyzer.
    """

    def __init__(self, terms: frozenset[str], term_for: Callable[[str], str | None]) -> None:
        self.terms = terms
        self.term_for = term_for
        self.cache: dict[str, bool] = {}
        heads = sorted({t[:3] for t in terms if t}, key=len, reverse=True)
        pattern = "|".join(re.escape(h) for h in heads) or "(?!)"
        # Words starting like a term, and any word with a non-ASCII letter (it may fold to one).
        # The second kind is looked for only in text that has such letters: trying it at every
        # position of plain ASCII text was most of a snippet's cost.
        term_words = rf"\b(?:{pattern})\w*(?:\.?\w+)*"
        self.ascii_re = re.compile(term_words, re.IGNORECASE)
        self.candidates_re = re.compile(
            rf"{term_words}|\b\w*[^\W\x00-\x7f]\w*(?:\.?\w+)*", re.IGNORECASE
        )

    def __call__(self, word: str) -> bool:
        lowered = word.lower()
        hit = self.cache.get(lowered)
        if hit is None:
            hit = self.cache[lowered] = self.term_for(lowered) in self.terms
        return hit

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """Match objects of the words that may be terms, in order."""
        return (self.ascii_re if text.isascii() else self.candidates_re).finditer(text)


def make_matcher(terms: frozenset[str], term_for: Callable[[str], str | None]) -> _Matcher:
    """The matcher for a page of hits."""
    return _Matcher(terms, term_for)


def highlight(text: str, matches: _Matcher | None) -> str:
    """The whole text, escaped, with matching words in ``<mark>``."""
    if matches is None:
        return escape(text)
    out: list[str] = []
    last = 0
    for m in matches.finditer(text):
        if matches(m.group()):
            out.append(escape(text[last : m.start()]))
            out.append(f"<mark>{escape(m.group())}</mark>")
            last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)


def snippet(text: str, matches: _Matcher | None, length: int = SNIPPET_CHARS) -> str:
    """The stretch of ``text`` (about ``length`` characters) with the most distinct matches."""
    text = " ".join(text[:_SCAN_CHARS].split())
    if not text:
        return ""
    if matches is None:
        return escape(_clip(text, 0, length))
    hits = [(m.start(), m.group().lower()) for m in matches.finditer(text) if matches(m.group())]
    if not hits:
        return escape(_clip(text, 0, length))
    hits = hits[:200]
    best_start, best_score = hits[0][0], -1
    for i, (start, _) in enumerate(hits):
        window = {word for pos, word in hits[i:] if pos < start + length}
        score = len(window) * 100 + sum(1 for pos, _ in hits[i:] if pos < start + length)
        if score > best_score:
            best_start, best_score = start, score
    begin = max(0, best_start - length // 4)
    if begin:
        space = text.rfind(" ", 0, begin)
        begin = space + 1 if space >= 0 else begin
    piece = _clip(text, begin, length)
    return highlight(piece, matches)


def _clip(text: str, begin: int, length: int) -> str:
    end = begin + length
    if end < len(text):
        space = text.rfind(" ", begin, end)
        end = space if space > begin else end
    piece = text[begin:end]
    return ("… " if begin else "") + piece + (" …" if end < len(text) else "")
