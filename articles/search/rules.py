"""The search contract's rules, each written once: sorts, page sizes, lengths, the day encoding.

The search form, the JSON API, the HTML pages, the search service and every backend import
these names instead of repeating the numbers, so a change here (a longer snippet, a bigger
page) reaches every surface at once and no two of them can disagree. The module is plain
Python without Django: index sub-writers import the search package before Django is set up.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TypeVar

# --- sorting ---------------------------------------------------------------------------------

RELEVANCE = "relevance"
NEWEST = "newest"
OLDEST = "oldest"

#: Every sort a reader may ask for, with its label, in the order the sort menu lists them.
SORTS: tuple[tuple[str, str], ...] = (
    (RELEVANCE, "Best match"),
    (NEWEST, "Newest first"),
    (OLDEST, "Oldest first"),
)
SORT_NAMES: tuple[str, ...] = tuple(name for name, _ in SORTS)


def effective_sort(requested: str, has_words: bool) -> str:
    """The order results come in: the one asked for, else best match when the query has
    something to match (its parsed tree is not empty) and newest first when it has not.

    Decided on the parsed query, never on the raw text: a query the parser reduces to nothing
    (``-``, ``***``) lists the archive newest first, and the page shows that it did.
    """
    if requested:
        return requested
    return RELEVANCE if has_words else NEWEST


# --- sizes and limits ------------------------------------------------------------------------

#: Results per page when the reader does not say (the page and the API alike).
DEFAULT_PER_PAGE = 20
#: The most results one page may ask for.
MAX_PER_PAGE = 100
#: The highest page number accepted; deeper pages are never useful and cost ordering work.
MAX_PAGE = 10_000
#: Query text beyond this is refused by the form and cut by the parser (a URL can hold more).
MAX_QUERY_CHARS = 500
#: About how many characters of an article a result's snippet shows.
SNIPPET_CHARS = 240
#: How many related articles an article page and the article API list.
RELATED_COUNT = 5


# --- the day encoding ------------------------------------------------------------------------

#: The day number of an article without a publication date; it matches no date filter.
UNDATED_DAY = 0

Days = TypeVar("Days")  # an int, or a NumPy array of them: the arithmetic is the same


def day_number(day: date) -> int:
    """A publication day as the integer yyyymmdd (2015-10-09 is 20151009), in the archive's
    time zone: ordered like the dates, so date filters are integer comparisons."""
    return day.year * 10000 + day.month * 100 + day.day


def day_parts(number: Days) -> tuple[Days, Days, Days]:
    """(year, month, day of month) of a day number, or of an array of them."""
    return number // 10000, number // 100 % 100, number % 100  # type: ignore[operator]


# --- source and section names ----------------------------------------------------------------


def display_name(name: str) -> str:
    """A source or section name as stored and shown: runs of whitespace made one space."""
    return re.sub(r"\s+", " ", name).strip()


def label_key(name: str) -> str:
    """The identity of a source or section name: `AFP`, ` afp` and `Afp ` are one source.

    Filters, facets and ``source:`` queries match names by this key, and the database keeps
    it unique, so the search and the rows agree on which names are one.
    """
    return display_name(name).casefold()
