"""The Whoosh backend: an index in one folder and a shared searcher snapshot that refreshes
itself when another process writes.

``WhooshBackend`` is what ``articles.search`` talks to. Searching goes through a ``Snapshot``
(one index generation as arrays, see ``snapshot``); the writing half is ``IndexWriting``
(``writing``). Importing this module makes Whoosh read segment files in place (``buffers``).
"""

from __future__ import annotations

import heapq
import math
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index

from ... import query as q
from ...cache import LRU
from ...rules import RELATED_COUNT
from .. import BackendResults, Filters, SearchBackend
from . import buffers
from .schema import analyze, build_schema, updated_from_micros
from .segments import POSTINGS_CACHE_ENTRIES, Segment
from .snapshot import Snapshot
from .spelling import suggest
from .writing import IndexWriting

buffers.install()
# NumPy imports numpy.dtypes on the first ``unique()`` of a process (20 ms here), which phrase
# checks call: pay it when a worker starts, not on some reader's first phrase search.
np.unique(np.zeros(1))


class WhooshBackend(IndexWriting, SearchBackend):
    """A Whoosh index in one folder, with a shared, self-refreshing searcher snapshot."""

    def __init__(self, index_dir: str | Path | None = None) -> None:
        from django.conf import settings
        from django.utils import timezone

        self.index_dir = Path(index_dir or settings.NEWSARCHIVE_INDEX_DIR)
        self.tz = timezone.get_default_timezone()
        self._ix: Any = None
        self._snapshot: Snapshot | None = None
        self._retired: list[Snapshot] = []
        self._segments: dict[str, Segment] = {}
        self._postings_cache = LRU(POSTINGS_CACHE_ENTRIES)
        self._lock = threading.RLock()

    # ---- opening ---------------------------------------------------------------------------

    def _index(self) -> Any:
        """The index, created on first use (an empty index is a valid, empty archive)."""
        if self._ix is None:
            with self._lock:
                if self._ix is None:
                    self.index_dir.mkdir(parents=True, exist_ok=True)
                    if index.exists_in(str(self.index_dir)):
                        self._ix = index.open_dir(str(self.index_dir))
                    else:
                        self._ix = index.create_in(str(self.index_dir), build_schema())
        return self._ix

    def index_exists(self) -> bool:
        """Once opened, Whoosh itself raises when the files go; before, look for them."""
        return self._ix is not None or index.exists_in(str(self.index_dir))

    def location(self) -> str:
        return str(self.index_dir)

    def snapshot(self) -> Snapshot:
        """The current snapshot, reopened only when another writer changed the index."""
        snap = self._snapshot
        if snap is not None and snap.up_to_date():
            return snap
        with self._lock:
            snap = self._snapshot
            if snap is not None and snap.up_to_date():
                return snap
            new = Snapshot(self._index(), self._segments, self._postings_cache)
            self._snapshot = new
            if snap is not None:
                # A request may still be using the old snapshot: close it a refresh later.
                self._retired.append(snap)
                while len(self._retired) > 2:
                    self._retired.pop(0).close()
            return new

    def clear_caches(self) -> int:
        with self._lock:
            snapshots = [s for s in (*self._retired, self._snapshot) if s is not None]
            return self._postings_cache.clear() + sum(s.clear_caches() for s in snapshots)

    def close(self) -> None:
        with self._lock:
            for snap in [*self._retired, self._snapshot]:
                if snap is not None:
                    snap.close()
            self._snapshot = None
            self._retired.clear()
            self._segments.clear()
            self._ix = None

    # ---- reading ---------------------------------------------------------------------------

    def search(
        self,
        parsed: q.ParsedQuery,
        filters: Filters,
        sort: str,
        offset: int,
        limit: int,
        facet_names: Iterable[str],
    ) -> BackendResults:
        snap = self.snapshot()
        results = snap.search(parsed, filters, sort, offset, limit, facet_names)
        if parsed.node is not None:
            results.suggestion = suggest(snap, parsed, results.total)
        return results

    def more_like_this(self, article_id: int, limit: int = RELATED_COUNT) -> list[int]:
        from articles.models import Article

        article = Article.objects.filter(pk=article_id).only("title", "body").first()
        if article is None:
            return []
        snap = self.snapshot()
        counts: dict[str, int] = {}
        for token in analyze(f"{article.title}\n{article.title}\n{article.body}"):
            counts[token] = counts.get(token, 0) + 1
        n = max(snap.live_count, 1)
        weights = {}
        for token, tf in counts.items():
            df = snap.doc_frequency("body", token) + snap.doc_frequency("title", token)
            if df < 2 or df > n * 0.5:
                continue  # unique to this article, or too common to say anything
            weights[token] = tf * math.log(n / df)
        top = dict(heapq.nlargest(12, weights.items(), key=lambda kv: kv[1]))
        return snap.top_for_terms(top, limit, snap.docnum_for(article_id))

    def indexed_ids(self) -> set[int]:
        snap = self.snapshot()
        return set(snap.ids[snap.live].tolist())

    def indexed_id_counts(self) -> dict[int, int]:
        snap = self.snapshot()
        ids, counts = np.unique(snap.ids[snap.live], return_counts=True)
        return dict(zip(ids.tolist(), counts.tolist(), strict=True))

    def indexed_versions(self) -> dict[int, datetime | None]:
        snap = self.snapshot()
        live = snap.live
        out: dict[int, datetime | None] = {}
        for aid, micros in zip(snap.ids[live].tolist(), snap.updated[live].tolist(), strict=True):
            out[aid] = updated_from_micros(micros)
        return out

    def term_for(self, word: str) -> str | None:
        tokens = analyze(word)
        return tokens[0] if tokens else None
