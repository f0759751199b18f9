"""Search backends: one interface, chosen by settings.NEWSARCHIVE_SEARCH_BACKEND.

The rest of the project only talks to ``articles.search``; a backend turns a parsed query and
the reader's filters into article ids, counts and facet counts. Building hits (titles, URLs,
snippets) from the database is shared by every backend and lives in ``articles.search``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ..facets import FacetCounts
from ..query import ParsedQuery


@dataclass
class Filters:
    """The reader's narrowing choices, already normalised (label keys, inclusive day numbers)."""

    sources: frozenset[str] = frozenset()
    sections: frozenset[str] = frozenset()
    year: int | None = None
    month: int | None = None
    day: int | None = None
    day_from: int | None = None  # yyyymmdd, inclusive
    day_to: int | None = None

    def key(self) -> tuple:
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
    """What a backend found: the page's article ids in order, the total and facet counts."""

    total: int
    ids: list[int]
    facets: dict[str, FacetCounts]
    terms: frozenset[str] = frozenset()  # index terms to highlight
    suggestion: str | None = None
    messages: list[str] = field(default_factory=list)


class BulkIndexer:
    """Indexes a long import batch by batch. This default commits each batch on its own;
    a backend with a costlier commit keeps one writer across batches instead."""

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend

    def add(self, ids: Iterable[int], *, new: bool = False) -> None:
        """Index these committed rows; ``new`` says none of them can be in the index yet."""
        self.backend.index_articles(ids)

    def close(self) -> None:
        """Make everything added so far searchable."""


class SearchBackend(ABC):
    """The operations every backend offers; see ``articles.search`` for their meaning."""

    def bulk_indexer(self) -> BulkIndexer:
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
    ) -> BackendResults: ...

    @abstractmethod
    def index_articles(self, ids: Iterable[int]) -> None: ...

    @abstractmethod
    def unindex_articles(self, ids: Iterable[int]) -> None: ...

    @abstractmethod
    def more_like_this(self, article_id: int, limit: int = 5) -> list[int]: ...

    @abstractmethod
    def indexed_ids(self) -> set[int]: ...

    @abstractmethod
    def indexed_versions(self) -> dict[int, datetime | None]:
        """Each indexed article id with the ``updated`` stamp it was indexed from."""

    @abstractmethod
    def rebuild(self, progress: Callable[[int], None] | None = None) -> int: ...

    def optimize(self) -> int:
        """Merge the index's parts for faster searches; return how many there were (0 when
        the backend has nothing to merge)."""
        return 0

    @abstractmethod
    def clear(self) -> None: ...

    @abstractmethod
    def term_for(self, word: str) -> str | None:
        """The index term a word of text becomes (for highlighting), None for a stop word."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for most backends
        """Release files and caches (tests switch index folders between tests)."""
