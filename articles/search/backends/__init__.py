"""Search backends: the contract every backend meets, chosen by NEWSARCHIVE_SEARCH_BACKEND.

The rest of the project only talks to ``articles.search``; a backend turns a parsed query and
the reader's filters into article ids, a total and facet counts, and keeps its index in step
with the database. Everything around that is shared by every backend and lives above it:
parsing (``query``), the rules and limits (``rules``), facet shaping (``facets``), hits,
snippets and highlighting (``articles.search``, ``highlight``).

To add a backend: subclass ``SearchBackend``, implement every abstract method as documented
below, and point ``NEWSARCHIVE_SEARCH_BACKEND`` at the class. One instance is made per index
location and shared by the threads of a process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..facets import FacetCounts
from ..query import ParsedQuery
from ..rules import RELATED_COUNT


@dataclass
class Filters:
    """The reader's narrowing choices, already normalised.

    ``sources`` and ``sections`` are label keys (``rules.label_key``): an article matches when
    the key of its source (section) name is among them. ``year``, ``month`` and ``day`` are
    the parts of the publication day in the archive's time zone, each compared on its own
    (``month`` is only set together with ``year`` or by itself, never ``day`` without
    ``month``). ``day_from``/``day_to`` bound the publication day as day numbers
    (``rules.day_number``), inclusive. An undated article matches no date filter.
    """

    sources: frozenset[str] = frozenset()
    sections: frozenset[str] = frozenset()
    year: int | None = None
    month: int | None = None
    day: int | None = None
    day_from: int | None = None
    day_to: int | None = None

    def key(self) -> tuple:
        """A hashable form, for caching results per filter set."""
        return (
            tuple(sorted(self.sources)),
            tuple(sorted(self.sections)),
            self.year,
            self.month,
            self.day,
            self.day_from,
            self.day_to,
        )


@dataclass
class BackendResults:
    """What a backend found for one search.

    ``total`` counts every match after all filters; ``ids`` is the requested page of them, in
    order. ``facets`` maps each requested facet name to its counts (see
    ``SearchBackend.search``). ``terms`` are the index terms the query matched on (as
    ``SearchBackend.term_for`` makes them), for highlighting; ``suggestion`` is the whole query
    text with misspelt words corrected, or None. ``data_version`` names the state of the data
    the answer was computed from: equal values (from one backend instance) mean equal answers
    to equal searches, so the service may keep what it derives from them (folded story
    threads); None when it must not (a backend without versions, or an answer read inside a
    transaction that has written).
    """

    total: int
    ids: list[int]
    facets: dict[str, FacetCounts]
    terms: frozenset[str] = frozenset()
    suggestion: str | None = None
    data_version: Hashable | None = None


class BulkIndexer:
    """Indexes a long import batch by batch. This default commits each batch on its own;
    a backend with a costlier commit keeps one writer across batches instead."""

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend

    def add(self, ids: Iterable[int], *, new: bool = False) -> None:
        """Index these committed rows; ``new`` says none of them can be in the index yet."""
        self.backend.index_articles(ids)

    def add_articles(self, articles: Sequence[Any], *, new: bool = False) -> None:
        """Index these committed rows from the objects in memory, as saved (their source and
        section loaded with them): the importer has just written them, and reading them back
        costs more than indexing needs. This default indexes them by id."""
        self.add([article.pk for article in articles], new=new)

    def close(self) -> None:
        """Make everything added so far searchable (also after an error: the rows are
        committed, so indexing them is right)."""


class SearchBackend(ABC):
    """The operations every backend offers, and what each promises.

    **What is indexed.** Per article: its title and body as text (the title counts more in
    ranking), its source and section display names as whole labels, its publication day as a
    day number in the archive's time zone (``rules.day_number``; ``rules.UNDATED_DAY`` when it
    has no date), its publication instant for ordering, and its ``updated`` stamp. Text is
    analysed for English: words lower-cased, accents folded (Médecins finds medecins), stop
    words dropped, stemmed (strikes finds strike).

    **What the query tree means** (``articles.search.query``): ``Term`` is one word, in the
    title or the body unless it names a field; a stop word alone narrows nothing. ``Phrase``
    is its words side by side in that order within one field, stop words between them
    ignored. ``Prefix`` and ``Fuzzy`` are the OR of a bounded set of index terms that start
    with (or are within ``maxdist`` edits of) the text. On ``source``/``section`` a Term is
    the whole name compared by ``rules.label_key``. ``DateRange`` bounds the publication day,
    inclusive. ``And``/``Or``/``Not``/``MatchAll`` are the usual set operations over live
    articles; a tree of None matches every article.

    Backends never raise for anything a reader can type: ``articles.search.query`` has
    already bounded the query, and what a backend cannot evaluate matches nothing.
    """

    #: Whether the search text is kept apart from the rows (an index that can lag, drift, be
    #: cleared or repaired), as Whoosh's is; False where the database keeps it in each row
    #: (PostgreSQL), so that unindexing, clearing and drift have nothing to act on.
    separate_index: bool = True

    def bulk_indexer(self) -> BulkIndexer:
        """An indexer for a long import; see ``BulkIndexer``."""
        return BulkIndexer(self)

    @abstractmethod
    def search(
        self,
        parsed: ParsedQuery,
        filters: Filters,
        sort: str,
        offset: int,
        limit: int,
        facet_names: Iterable[str],
    ) -> BackendResults:
        """Match ``parsed`` within ``filters``; return the total, one page of ids and facets.

        ``sort`` is one of ``rules.SORT_NAMES``, already resolved by ``rules.effective_sort``.
        Orders: ``relevance`` best score first, equal scores newest first; ``newest`` and
        ``oldest`` by publication instant, undated articles last in both. Any remaining tie is
        broken in a fixed order, so the same search gives the same order on every page.
        ``ids`` are the matches ``offset`` to ``offset + limit`` in that order (empty past the
        end, while ``total`` stays right).

        Facet counts are disjunctive: each facet in ``facet_names`` ("source", "section",
        "year", "month", "day") is counted over the matches of the query and every filter
        except those ``facets.counted_without`` names: the facet's own, so its other values
        show what choosing them too would add, and for the year (month) also the month and
        day (the day), which choosing another year (month) drops.
        Within a facet the chosen values combine with OR, across facets with AND; the day
        range (``day_from``/``day_to``) is no facet and always applies. Each facet's counts
        are ``(value, label, count)`` triples in any order, values with a count of zero
        may be left out: for source and section the value and label are the display name, for
        dates the number as a string ("1987", "3"). Undated articles count in no date facet.
        """

    @abstractmethod
    def index_articles(self, ids: Iterable[int]) -> None:
        """Bring these article ids in step with the database in one commit: rows that exist
        are (re)indexed from their current state, ids whose row is gone are removed. Waits
        for a writer held elsewhere (an import) rather than failing at once."""

    @abstractmethod
    def unindex_articles(self, ids: Iterable[int]) -> None:
        """Remove these article ids from the index in one commit (unknown ids are ignored)."""

    @abstractmethod
    def more_like_this(self, article_id: int, limit: int = RELATED_COUNT) -> list[int]:
        """Up to ``limit`` ids of the articles most like this one (by its distinctive words),
        best first, never the article itself; [] when it is unknown."""

    @abstractmethod
    def indexed_ids(self) -> set[int]:
        """Every article id the index holds (compared with the database by index health)."""

    def indexed_id_counts(self) -> dict[int, int]:
        """How many index documents each indexed article id has (more than one is a fault).

        ``indexed_ids`` is a set, so it cannot show an article indexed twice. This default
        suits a backend whose index cannot hold two entries for one id (a primary key);
        a backend that can, like Whoosh, counts them.
        """
        return dict.fromkeys(self.indexed_ids(), 1)

    @abstractmethod
    def indexed_versions(self) -> dict[int, datetime | None]:
        """Each indexed article id with the ``updated`` stamp it was indexed from (exact to
        the microsecond, so ``update_index`` can tell which rows changed since)."""

    @abstractmethod
    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Index every article afresh and return how many; ``progress(n)`` is called as
        articles are added. Searches see the old index until the new one is complete."""

    def optimize(self) -> int:
        """Merge the index's parts for faster searches; return how many there were (0 when
        the backend has nothing to merge)."""
        return 0

    @abstractmethod
    def clear(self) -> None:
        """Empty the index."""

    @abstractmethod
    def term_for(self, word: str) -> str | None:
        """The index term a word of text becomes (for highlighting), None for a stop word.
        Must agree with how titles and bodies are analysed when indexed."""

    def index_exists(self) -> bool:
        """False while the index has never been written (or was removed before this process
        opened it). The service tells a fresh install's empty archive from an outage by it."""
        return True

    def location(self) -> str:
        """Where the index lives, for messages about it."""
        return ""

    def clear_caches(self) -> int:
        """Forget every answer this process keeps (results, facet counts, postings, analysed
        query words); returns how many entries went. The next search is computed from the
        index: the bench's cold searches start here, so that none of them is a cache hit."""
        return 0

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for most backends
        """Release files and caches (tests switch index folders between tests)."""
