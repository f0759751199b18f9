"""Snippets and highlighted titles: escaped HTML where only ``<mark>`` is left unescaped.

Matching is done on index terms, not on letters: a word of the text is marked when the backend's
analyzer turns it into one of the query's terms (``rates`` is marked for ``rate``, ``Médecins``
for ``medecins``). The text is escaped piece by piece, so nothing from an article can become
markup; the only tags in the output are the ``<mark>`` pairs added here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from html import escape

from .rules import SNIPPET_CHARS

#: What may stand between two words of a phrase: punctuation, and a short word or two that the
#: analyzer drops ("bank of england").
_PHRASE_GAP = re.compile(r"\W*(?:\w{1,3}\W+){0,2}")
_SCAN_CHARS = 6_000  # look for matches in the opening stretch only: it is where the best
# news snippet is, and scanning whole long bodies was half the cost of a results page


class _Matcher:
    """A word -> "is it a query term?" test, memoised; share one across the hits of a page.

    Stems keep their word's first letters (rates -> rate), so only words starting like a term,
    or holding a non-ASCII letter (médecins -> medecin), are run through the analyzer.
    """

    def __init__(
        self,
        terms: frozenset[str],
        term_for: Callable[[str], str | None],
        phrases: Iterable[Iterable[str]] = (),
        words: Iterable[str] = (),
    ) -> None:
        self.terms = terms
        self.term_for = term_for
        self.cache: dict[str, bool] = {}
        # Phrases as their terms; a term of a phrase that the query does not also ask for on
        # its own is marked only where the phrase stands whole ("interest rates", not "rate").
        self.phrases = [p for p in (self._terms_of(words) for words in phrases) if len(p) > 1]
        alone = set(terms) - {t for p in self.phrases for t in p} | set(self._terms_of(words))
        self.phrase_only = frozenset(t for p in self.phrases for t in p if t not in alone)
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

    def _terms_of(self, words: Iterable[str]) -> tuple[str, ...]:
        terms = (self.term_for(w.lower()) for w in words)
        return tuple(t for t in terms if t)

    def marked(self, text: str) -> list[re.Match[str]]:
        """The words of ``text`` to mark, in order."""
        found = [m for m in self.finditer(text) if self(m.group())]
        if not self.phrase_only:
            return found
        terms = [self.term_for(m.group().lower()) for m in found]
        keep = [t not in self.phrase_only for t in terms]
        for phrase in self.phrases:
            size = len(phrase)
            for i in range(len(found) - size + 1):
                if tuple(terms[i : i + size]) == phrase and all(
                    _PHRASE_GAP.fullmatch(text[found[j].end() : found[j + 1].start()])
                    for j in range(i, i + size - 1)
                ):
                    keep[i : i + size] = [True] * size
        return [m for m, k in zip(found, keep, strict=True) if k]

    def __call__(self, word: str) -> bool:
        lowered = word.lower()
        hit = self.cache.get(lowered)
        if hit is None:
            hit = self.cache[lowered] = self.term_for(lowered) in self.terms
        return hit

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """Match objects of the words that may be terms, in order."""
        return (self.ascii_re if text.isascii() else self.candidates_re).finditer(text)


def make_matcher(
    terms: frozenset[str],
    term_for: Callable[[str], str | None],
    phrases: Iterable[Iterable[str]] = (),
    words: Iterable[str] = (),
) -> _Matcher:
    """The matcher for a page of hits: ``terms`` from the backend; ``phrases`` (each as its
    words) and ``words`` (asked for on their own) from the query, so that a phrase's words are
    marked only where the phrase stands."""
    return _Matcher(terms, term_for, phrases, words)


def highlight(text: str, matches: _Matcher | None) -> str:
    """The whole text, escaped, with matching words in ``<mark>``."""
    if matches is None:
        return escape(text)
    out: list[str] = []
    last = 0
    for m in matches.marked(text):
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
    hits = [(m.start(), m.group().lower()) for m in matches.marked(text)]
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
