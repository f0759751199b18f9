"""The search help's examples, drawn from the archive actually loaded.

Examples tuned to one seed article find one article (or none) in any other archive; these are
built from the words, sources, sections and years the archive holds, and each is kept only if
the search service finds it more than once (else the fixed example of that kind stands in).
They are worked out once per state of the archive (its article count and newest change). The
zero-results page suggests a few of the same examples (``tips``), so both pages teach with
queries that find something here.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Max

from articles.forms import search_url
from articles.models import Article, Section, Source
from articles.search import SearchQuery, SearchUnavailable, date_counts, matching_ids

#: Titles read for frequent words and phrases: the newest ones, enough to find common words.
TITLES_READ = 500
#: Words too common (or too small) to teach anything.
# fmt: off
STOPWORDS = frozenset({
    "about", "after", "again", "against", "also", "amid", "among", "before", "being", "between",
    "could", "during", "every", "first", "from", "have", "into", "more", "most", "news", "other",
    "over", "said", "says", "than", "that", "their", "there", "these", "they", "this", "those",
    "through", "under", "until", "were", "what", "when", "where", "which", "while", "will",
    "with", "would", "year", "years",
})
# fmt: on


@dataclass(frozen=True)
class Example:
    """One line of the search help: a query to click and what it finds."""

    query: str
    meaning: str
    #: What the example shows, for pages that pick one ("fuzzy", "either", "prefix").
    kind: str = ""

    @property
    def url(self) -> str:
        return search_url(SearchQuery(q=self.query))


@dataclass(frozen=True)
class Vocabulary:
    """What the examples are made of; the fixed examples' words by default."""

    word: str = "aleppo"
    other_word: str = "russian"
    phrase: str = "air strikes"
    alternatives: tuple[str, str] = ("oil", "gas")
    source: str = "AFP"
    section: str = "Mid-East"
    year: int = 2015
    #: The half of ``year`` the date example spans (month-day of its first and last day).
    half: tuple[str, str] = ("01-01", "06-30")


def sections(v: Vocabulary) -> list[tuple[str, list[Example]]]:
    """The help page's sections, in order, built from a vocabulary."""
    first, second = v.alternatives
    prefix, misspelt = _prefix(v.word), _misspelt(v.word)
    return [
        (
            "Words and phrases",
            [
                Example(v.word, "Articles containing the word (in any form: strike, strikes)."),
                Example(f"{v.word} {v.other_word}", "Articles containing all of these words."),
                Example(f'"{v.phrase}"', "The exact phrase, words side by side."),
            ],
        ),
        (
            "Either, or and not",
            [
                Example(f"{first} OR {second}", "Either word (OR must be in capitals).", "either"),
                Example(f"{v.word} NOT {v.other_word}", "The first word but never the second."),
                Example(f"{v.word} -{v.other_word}", "The same, written with a minus sign."),
                Example(f"({first} OR {second}) {v.word}", "Brackets group alternatives."),
            ],
        ),
        (
            "Fields",
            [
                Example(f"title:{v.word}", "The word in the title only."),
                Example(f"source:{_quoted(v.source)}", "Articles from one source."),
                Example(f"section:{_quoted(v.section)}", "Articles filed in one section."),
                Example(
                    f'source:{_quoted(v.source)} "{v.phrase}"',
                    "Fields combine with everything else.",
                ),
            ],
        ),
        (
            "Word endings and spelling",
            [
                Example(
                    f"{prefix}*", f"Any word starting {prefix}: {v.word} among them.", "prefix"
                ),
                Example(f"{misspelt}~", f"Words spelt nearly like it: {v.word}.", "fuzzy"),
            ],
        ),
        (
            "Dates",
            [
                Example(
                    f"published:[{v.year}-{v.half[0]} to {v.year}-{v.half[1]}]",
                    "Published within a range of dates.",
                ),
            ],
        ),
    ]


def _prefix(word: str) -> str:
    return word[: max(3, len(word) - 3)]


def _misspelt(word: str) -> str:
    """The word with its third letter dropped: ``president`` -> ``presdent``."""
    return word[:2] + word[3:] if len(word) > 4 else word


def _quoted(name: str) -> str:
    return f'"{name}"' if " " in name else name


FIXED = sections(Vocabulary())


_cache: dict[tuple, list] = {}
_lock = threading.Lock()


def help_sections() -> list[tuple[str, list[Example]]]:
    """The examples for the archive as it is now (the fixed ones for an empty archive)."""
    state = Article.objects.aggregate(n=Count("id"), changed=Max("updated"))
    key = (state["n"], state["changed"])
    if not state["n"]:
        return FIXED
    with _lock:
        if key not in _cache:
            _cache.clear()
            try:
                _cache[key] = sections(vocabulary())
            except SearchUnavailable:
                return FIXED
        return _cache[key]


def tips() -> dict[str, Example]:
    """The help's examples by kind ("fuzzy", "either", "prefix"): what the
    zero-results page suggests trying, drawn from the archive as the help page's are."""
    return {e.kind: e for _, group in help_sections() for e in group if e.kind}


def vocabulary() -> Vocabulary:
    """Frequent title words and phrases, the biggest source, section and year; each one kept
    only when it finds more than one article."""
    fixed = Vocabulary()
    titles = list(Article.objects.order_by("-id").values_list("title", flat=True)[:TITLES_READ])
    words = [w for w, _ in _frequent_words(titles)]
    found = _finder()
    hits = [w for w in words if found(w)][:4]
    # The word is also spelt wrongly in an example: take one whose near spellings are found.
    word = next((w for w in hits if found(f"{_misspelt(w)}~")), hits[0] if hits else fixed.word)
    hits = [word, *(w for w in hits if w != word)]
    other = next((w for w in hits[1:] if found(f"{word} {w}")), hits[1] if len(hits) > 1 else "")
    pair = tuple(hits[2:4]) if len(hits) >= 4 else fixed.alternatives
    phrase = next((p for p, _ in _frequent_phrases(titles) if found(f'"{p}"')), fixed.phrase)
    source = _biggest(Source) or fixed.source
    section = _biggest(Section) or fixed.section
    years = date_counts(SearchQuery(), "year")
    year = max(years, key=years.get) if years else fixed.year
    months = date_counts(SearchQuery(year=year), "month")
    first_half = sum(n for m, n in months.items() if m <= 6)
    return Vocabulary(
        word=word,
        other_word=other or fixed.other_word,
        phrase=phrase,
        alternatives=pair,  # type: ignore[arg-type]
        source=source,
        section=section,
        year=year,
        half=fixed.half if first_half > 1 else ("07-01", "12-31"),
    )


def _finder() -> Callable[[str], bool]:
    def found(q: str) -> bool:
        return matching_ids(SearchQuery(q=q, collapse=False), 0).total > 1

    return found


def _tokens(title: str) -> list[str]:
    return re.findall(r"[a-z]+", title.lower())


def _frequent_words(titles: list[str]) -> list[tuple[str, int]]:
    counts = Counter(
        w for t in titles for w in set(_tokens(t)) if len(w) >= 5 and w not in STOPWORDS
    )
    return counts.most_common(12)


def _frequent_phrases(titles: list[str]) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for title in titles:
        tokens = _tokens(title)
        for a, b in zip(tokens, tokens[1:], strict=False):
            if len(a) >= 3 and len(b) >= 3 and a not in STOPWORDS and b not in STOPWORDS:
                counts[f"{a} {b}"] += 1
    return [(p, n) for p, n in counts.most_common(5) if n > 1]


def _biggest(model: type[Source] | type[Section]) -> str:
    top = model.objects.with_counts().filter(article_count__gt=0).first()
    return top.name if top else ""
