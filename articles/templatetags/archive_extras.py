"""Template filters and tags of the archive's pages: marking searched words (and phrases) in
an article, the page numbers of a paged list, and a month as a calendar.

Highlighting escapes every piece of the text itself and adds only its own `<mark>` tags, so no
text from a seed file ever reaches the page unescaped, whatever it contains.
"""

from __future__ import annotations

import calendar
import re
from functools import lru_cache

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from articles.paging import page_numbers

register = template.Library()

MAX_TERMS = 20
OPERATORS = {"AND", "OR", "NOT", "TO"}
# Parts of the query language that name no word to mark: field ranges, exclusions, fuzziness.
_RANGES = re.compile(r"\w+:[\[{][^\]}]*[\]}]")
_EXCLUDED = re.compile(r"(?:(?<=\s)|^)-\"[^\"]*\"|(?:(?<=\s)|^)-\S+|\bNOT\s+(?:\"[^\"]*\"|\S+)")
_FIELD = re.compile(r"\b\w+:")
_FUZZ = re.compile(r"~\d*(?:\.\d+)?|\^\d+(?:\.\d+)?")
_TOKEN = re.compile(r"[\w*?]+")
_PHRASE = re.compile(r'"([^"]+)"')


def highlight_phrases(words: str) -> list[list[str]]:
    """The quoted phrases of a search (two words or more), each as its words: a phrase is
    marked where its words stand together, never word by word."""
    words = _EXCLUDED.sub(" ", _RANGES.sub(" ", words))
    phrases = []
    for phrase in _PHRASE.findall(words):
        tokens = [t.lower() for t in _TOKEN.findall(phrase)]
        if len(tokens) > 1 and tokens not in phrases:
            phrases.append(tokens)
    return phrases[:MAX_TERMS]


def highlight_terms(words: str) -> list[str]:
    """The single words of a search worth marking: no operators, field names, excluded words
    or words of phrases (see ``highlight_phrases``)."""
    words = _EXCLUDED.sub(" ", _RANGES.sub(" ", words))
    words = _FUZZ.sub(
        " ", _PHRASE.sub(lambda m: " " if len(m.group(1).split()) > 1 else m.group(1), words)
    )
    words = _FIELD.sub(" ", words)
    terms = []
    for token in _TOKEN.findall(words):
        if token in OPERATORS or len(token.strip("*?")) < 2:
            continue
        if token.lower() not in terms:
            terms.append(token.lower())
    return terms[:MAX_TERMS]


def _word_pattern(term: str) -> str:
    body = re.escape(term).replace(r"\*", r"\w*").replace(r"\?", r"\w")
    # A few common endings, since the index matches stems: "strike" marks "strikes".
    return body if term.endswith("*") else body + r"(?:s|es|ed|ing)?"


@lru_cache(maxsize=64)
def _pattern(words: str) -> re.Pattern[str] | None:
    alternatives = [
        r"\W+".join(_word_pattern(t) for t in phrase) for phrase in highlight_phrases(words)
    ]
    alternatives += [_word_pattern(term) for term in highlight_terms(words)]
    if not alternatives:
        return None
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


@register.filter
def highlight(text: object, words: str) -> SafeString:
    """`text` escaped, with the words of the search `words` wrapped in `<mark>`."""
    text = str(text)
    pattern = _pattern(words or "")
    if pattern is None:
        return escape(text)
    pieces, position = [], 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[position : match.start()]))
        pieces.append(f"<mark>{escape(match.group())}</mark>")
        position = match.end()
    pieces.append(escape(text[position:]))
    return mark_safe("".join(pieces))  # every piece above is escaped


@register.simple_tag
def page_numbers_of(page_obj) -> list[int | None]:
    """The page numbers a paged list links to (None is a gap); see ``articles.paging``."""
    return page_numbers(page_obj.number, page_obj.paginator.num_pages)


@register.simple_tag
def month_calendar(month, date_list) -> list[list[tuple[int, int]]]:
    """A month as weeks of (day, article count) from Monday, 0 for the days of other months."""
    counts = {period.date.day: period.count for period in date_list}
    weeks = calendar.Calendar().monthdayscalendar(month.year, month.month)
    return [[(day, counts.get(day, 0)) for day in week] for week in weeks]
