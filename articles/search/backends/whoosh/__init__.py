"""The Whoosh backend, as a package of modules with one job each.

Searching reads Whoosh's files into NumPy arrays and answers from those: matching, BM25,
filters, facet counts and ordering are array operations, not Whoosh's per-document Python
loops (see ``snapshot`` for the measurements). The modules, from the bytes up:

- ``codec``: the codec new segments are written with (bigger posting blocks, protocol-3
  pickles); Django-free, because index sub-writer processes import it;
- ``buffers``: segment files read in place from the memory map, not copied;
- ``schema``: the text analysis, the schema and an article's document;
- ``formats``: readers of Whoosh's columns, posting blocks and positions (the whoosh3 version
  they were written for is stated there);
- ``segments``: one segment's arrays and the cache of its posting lists;
- ``phrases``: finding and verifying phrases from positions;
- ``spelling``: fuzzy terms and "Did you mean";
- ``snapshot``: one index generation as arrays, and searching it;
- ``writers``: writers that fail fast and clean up: sub-writer processes that die with their
  import, a lock that cannot outlive its owner, no stray files after a failure (Django-free,
  sub-writers started with spawn import it);
- ``lockfiles``: the files beside the write lock (its owner and sub-writers, waiting writers)
  and what a killed writer left, each process named by pid and start time (Django-free too);
- ``fastanalysis``: the analyzer chain as one loop with a per-word cache (same terms);
- ``bulkwrite``: a segment writer that keeps postings as arrays and writes them in bulk (the
  same segment files as Whoosh's own, byte for byte);
- ``writing``: indexing, unindexing and rebuilding through those writers; bulk imports,
  merging;
- ``rebuild``: ``rebuild_index`` and ``optimize_index``, built beside the live index and
  swapped in;
- ``backend``: ``WhooshBackend``, the ``SearchBackend`` that ties them together.

``WhooshBackend`` is imported on first use, so that sub-writer processes, which import this
package to reach ``codec``, load neither the search code nor NumPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import WhooshBackend

__all__ = ["WhooshBackend"]


def __getattr__(name: str) -> Any:
    if name == "WhooshBackend":
        from .backend import WhooshBackend

        return WhooshBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
