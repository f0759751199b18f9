"""Folding story threads in ranked results: each thread shows once, as its best hit.

Shared by every backend: it works on the ranked ids a backend returns and on the thread of each
article (``Article.thread``, kept by ``articles.threads``). The models are imported inside the
functions that read them, and NumPy inside the functions that use it: the search package must
import without Django's app registry or NumPy (index sub-writers started with spawn import it).

What the numbers mean when results are collapsed: a *story* is one thread (or an article
without other versions); the total and the pages count stories, while facet counts and the
date chart still count articles (every version), since each version has its own source,
section and date.

What it costs: exact totals and pages need the thread of every match, so a folded search
reads every ranked id of its matches and the threads of the articles that have versions. Both
are kept per data version: the article-to-thread map for the threads' state token
(``articles.threads.state_token``, changed in the transaction of every thread write), the
folded results for that token and the backend's data version of the results
(``BackendResults.data_version``). A repeated folded search then costs what an unfolded one
does, plus the one-row read of the token.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

from .cache import LRU

if TYPE_CHECKING:
    import numpy as np

    from . import Hit
    from .backends import BackendResults, Filters, SearchBackend
    from .query import ParsedQuery

#: How many ranked ids the folded results kept in memory may hold in all (8 bytes each).
FOLDED_CACHE_IDS = 2_000_000


@dataclass
class Story:
    """The best-ranked matching version of a thread, and the other matching versions in rank
    order (``folded``; empty for an article without versions among the matches)."""

    best: int
    thread: int | None = None
    folded: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ThreadMap:
    """Article id -> thread id for every article that has other versions, as two arrays
    sorted by article id (looked up for a whole ranked list at once)."""

    ids: np.ndarray
    threads: np.ndarray

    @classmethod
    def from_dict(cls, thread_of: dict[int, int]) -> ThreadMap:
        import numpy as np

        ids = np.fromiter(thread_of.keys(), dtype=np.int64, count=len(thread_of))
        threads = np.fromiter(thread_of.values(), dtype=np.int64, count=len(thread_of))
        order = np.argsort(ids)
        return cls(ids[order], threads[order])

    def __len__(self) -> int:
        return len(self.ids)


class Folded(Sequence[Story]):
    """Ranked ids folded into stories: ``len`` counts stories, a slice gives them in order.

    Kept compact (one array of best ids, the threads only for the stories that have
    versions among the matches), since folded results are cached and a broad search folds
    the whole archive.
    """

    def __init__(self, best: np.ndarray, versions: dict[int, tuple[int, list[int]]]) -> None:
        self.best = best
        self.versions = versions  # best id -> (thread, the other matching versions in order)

    def __len__(self) -> int:
        return len(self.best)

    @overload
    def __getitem__(self, index: int) -> Story: ...
    @overload
    def __getitem__(self, index: slice) -> list[Story]: ...
    def __getitem__(self, index: int | slice) -> Story | list[Story]:
        if isinstance(index, slice):
            return [self._story(pk) for pk in self.best[index].tolist()]
        return self._story(int(self.best[index]))

    def _story(self, pk: int) -> Story:
        thread, folded = self.versions.get(pk, (None, []))
        return Story(pk, thread, list(folded))

    def size(self) -> int:
        """How many ids it holds (what it weighs in the cache)."""
        return len(self.best) + sum(len(v[1]) for v in self.versions.values())


def collapse(ranked: Sequence[int] | np.ndarray, threads: ThreadMap) -> Folded:
    """``ranked`` with every thread's later versions folded into its first (best) one.

    Articles in no thread (most of them) stand alone: they are found with one sorted lookup
    of the whole list, so only the matches that have versions are grouped one by one.
    """
    import numpy as np

    ranked = np.asarray(ranked, dtype=np.int64)
    if not len(threads) or not len(ranked):
        return Folded(ranked, {})
    where = np.minimum(np.searchsorted(threads.ids, ranked), len(threads) - 1)
    in_thread = threads.ids[where] == ranked
    positions = np.flatnonzero(in_thread)
    by_thread: dict[int, list[int]] = {}
    keep = ~in_thread
    for position, thread in zip(
        positions.tolist(), threads.threads[where[positions]].tolist(), strict=True
    ):
        members = by_thread.get(thread)
        if members is None:
            by_thread[thread] = [int(ranked[position])]
            keep[position] = True
        else:
            members.append(int(ranked[position]))
    versions = {members[0]: (thread, members[1:]) for thread, members in by_thread.items()}
    return Folded(ranked[keep], versions)


class FoldingCache:
    """The thread map per threads' state token, and folded results per token and data
    version of the backend's results, for this process."""

    def __init__(self, capacity: int = FOLDED_CACHE_IDS) -> None:
        self._lock = threading.Lock()
        self._map: tuple[int, ThreadMap] | None = None
        self._folded = LRU(capacity)

    def thread_map(self) -> tuple[int, ThreadMap]:
        """The state token and every article with versions and its thread: the map kept, if
        its token is still the database's (one one-row read), else both read afresh."""
        from articles import threads

        cached = self._map
        if cached is not None and threads.state_token() == cached[0]:
            return cached
        token, thread_of = threads.thread_map()
        found = (token, ThreadMap.from_dict(thread_of))
        with self._lock:
            self._map = found
        return found

    def folded(self, key: Hashable | None) -> Folded | None:
        return self._folded.get(key) if key is not None else None

    def keep(self, key: Hashable | None, folded: Folded) -> None:
        if key is not None:
            self._folded.put(key, folded, max(folded.size(), 1))

    def clear(self) -> int:
        with self._lock:
            dropped = int(self._map is not None)
            self._map = None
        return dropped + self._folded.clear()


#: This process's cache (the search service clears it with its other caches).
cache = FoldingCache()


def fold_matches(
    backend: SearchBackend,
    parsed: ParsedQuery,
    filters: Filters,
    sort: str,
    found: BackendResults,
) -> Folded | None:
    """Every match folded into stories, or None when no matching article can have another
    version (no threads in the archive, or no matches): then the plain results are exact.

    Exact totals and pages need the thread of every match, so the backend is asked for every
    ranked id (no facets, no snippets) and the threads of the articles that have versions are
    read; both are kept per data version (``collapse``), so a repeated search reads neither.
    """
    if not found.total:
        return None
    token, threads = cache.thread_map()
    if not len(threads):
        return None
    key = None
    if found.data_version is not None:
        key = (id(backend), found.data_version, token, repr(parsed.node), filters.key(), sort)
    folded = cache.folded(key)
    if folded is None:
        ranked = backend.search(parsed, filters, sort, 0, found.total, ())
        if ranked.data_version != found.data_version:
            key = None  # the data changed in between: fold, but keep nothing
        folded = collapse(ranked.ids, threads)
        cache.keep(key, folded)
    return folded


def add_versions(hits: list[Hit], stories: list[Story]) -> None:
    """Each hit's folded versions, read in one query (title, source, date and link)."""
    from . import Version

    by_best = {story.best: story for story in stories}
    folded = [pk for story in stories for pk in story.folded]
    if not folded:
        return
    from articles.models import Article

    rows = Article.objects.filter(pk__in=folded).select_related("source")
    found = {a.pk: a for a in rows.only("id", "title", "slug", "published", "source__name")}
    for hit in hits:
        story = by_best.get(hit.id)
        for pk in story.folded if story else ():
            article = found.get(pk)
            if article is not None:
                hit.versions.append(
                    Version(
                        id=pk,
                        title=article.title,
                        url=article.get_absolute_url(),
                        source=article.source.name if article.source_id else "",
                        published=article.published,
                    )
                )
