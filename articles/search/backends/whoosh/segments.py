"""Segments: one immutable Whoosh segment's arrays, and the cache of its posting lists.

Whoosh never changes a segment once written (only its deletions), so whatever is read from
one stays valid across index refreshes: its columns are read once into arrays, and its posting
lists and verified phrases are cached in an LRU shared by all segments, keyed by segment id.
After a small write only the new segment is read. The bytes themselves are parsed in
``formats``.
"""

from __future__ import annotations

import logging
import threading
from itertools import islice
from typing import Any

import numpy as np

from ...cache import LRU
from .formats import (
    PositionsBuilder,
    block_head,
    block_values,
    field_lengths,
    numeric_column,
    posting_blocks,
    ref_column,
    weights_array,
)

logger = logging.getLogger(__name__)

#: How many of a prefix's terms each segment lists at most (per query word).
PREFIX_SCAN_LIMIT = 4096
#: Roughly how many posting entries the per-segment caches may hold (8 bytes each).
POSTINGS_CACHE_ENTRIES = 6_000_000


class Segment:
    """One immutable Whoosh segment's columns and cached posting arrays.

    Segments never change once written (only their deletions do), so this survives index
    refreshes: after a small write only the new segment is read.
    """

    def __init__(self, reader: Any, postings_cache: LRU) -> None:
        self.segid = reader.segment().segment_id()
        self.doccount = n = reader.doc_count_all()
        self._reader = reader
        self._terms = reader._terms
        self._cache = postings_cache
        self.ids = numeric_column(reader.column_reader("id", translate=False), n)
        self.published = numeric_column(reader.column_reader("published", translate=False), n)
        self.day = numeric_column(reader.column_reader("day", translate=False), n, np.int32)
        self.updated = numeric_column(reader.column_reader("updated", translate=False), n)
        self.source_refs, self.source_values = ref_column(
            reader.column_reader("source", translate=False), n
        )
        self.section_refs, self.section_values = ref_column(
            reader.column_reader("section", translate=False), n
        )
        self.lengths = {f: field_lengths(reader, f) for f in ("title", "body")}
        self.lock = threading.Lock()

    def attach(self, reader: Any) -> None:
        """Read through this reader from now on (a refresh opens new readers of old segments)."""
        self._reader, self._terms = reader, reader._terms

    def doc_frequency(self, fieldname: str, tbytes: bytes) -> int:
        try:
            return self._terms.doc_frequency(fieldname, tbytes)
        except KeyError:
            return 0

    def prefixed(self, fieldname: str, prefix: str) -> list[tuple[str, int]]:
        """(term, documents) for this segment's terms starting with ``prefix``, bounded.

        Asked of each segment rather than of Whoosh's multi-segment reader, which merges every
        segment's terms in Python and then looks each one up in every segment again."""
        with self.lock:
            found = islice(self._reader.iter_prefix(fieldname, prefix), PREFIX_SCAN_LIMIT)
            return [
                (t.decode("utf-8") if isinstance(t, bytes) else t, info.doc_frequency())
                for t, info in found
            ]

    def terms_within(self, fieldname: str, text: str, maxdist: int) -> list[str]:
        """Terms of this segment within ``maxdist`` edits of ``text`` (same first letter)."""
        with self.lock:
            try:
                near = islice(self._reader.terms_within(fieldname, text, maxdist, prefix=1), 64)
                return [t.decode("utf-8") if isinstance(t, bytes) else t for t in near]
            except Exception:  # the automaton is an optional extra; edits1 still applies
                logger.debug("terms_within failed for %r", text, exc_info=True)
                return []

    @staticmethod
    def deleted(reader: Any) -> np.ndarray:
        docs = reader.deleted_docs_set
        return np.fromiter(docs, dtype=np.int64, count=len(docs))

    def postings(self, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, weights) of a term in this segment, read block by block."""
        key = (self.segid, fieldname, tbytes)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        with self.lock:
            result = self._read_postings(fieldname, tbytes)
        self._cache.put(key, result, size=len(result[0]) + 1)
        return result

    def _term_info(self, fieldname: str, tbytes: bytes) -> Any:
        """Whoosh's record of a term in this segment, or None when the segment lacks it."""
        try:
            return self._terms.term_info(fieldname, tbytes)
        except Exception as exc:
            if isinstance(exc, KeyError) or type(exc).__name__ == "TermNotFound":
                return None
            raise

    def read_whole(self, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, list]:
        """(document numbers, position values) of every posting of a term, in one pass that
        also caches its postings: a phrase of common words needs nearly every block's values,
        so reading the heads first and the values again would read each block twice."""
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        values: list = []
        with self.lock:
            info = self._term_info(fieldname, tbytes)
            if info is None:
                return np.empty(0, np.int64), []
            if info.is_inlined():
                ids_t, weights_t, values_t = info.inlined_postings()
                ids.append(np.asarray(ids_t, dtype=np.int64))
                weights.append(np.asarray(weights_t, dtype=np.float32))
                values.extend(values_t)
            else:
                for block in posting_blocks(self._terms._postfile, info):
                    deltas, w, in_block = block_values(block)
                    ids.append(np.cumsum(np.asarray(deltas, dtype=np.int64)))
                    weights.append(weights_array(w, block.count))
                    values.extend(in_block)
        all_ids = np.concatenate(ids) if ids else np.empty(0, np.int64)
        all_weights = np.concatenate(weights) if weights else np.empty(0, np.float32)
        key = (self.segid, fieldname, tbytes)
        if self._cache.get(key) is None:
            self._cache.put(key, (all_ids.astype(np.int32), all_weights), size=len(all_ids) + 1)
        return all_ids, values

    def _phrase_key(self, fieldname: str, tokens: tuple[tuple[str, int], ...]) -> tuple:
        return (self.segid, "phrase", fieldname, tokens)

    def cached_phrase(
        self, fieldname: str, tokens: tuple[tuple[str, int], ...]
    ) -> np.ndarray | None:
        """This segment's documents holding a phrase, if they were verified before."""
        return self._cache.get(self._phrase_key(fieldname, tokens))

    def cache_phrase(
        self, fieldname: str, tokens: tuple[tuple[str, int], ...], docs: np.ndarray
    ) -> None:
        """Keep a phrase's verified documents in this segment: segments never change."""
        self._cache.put(self._phrase_key(fieldname, tokens), docs, size=len(docs) + 1)

    def add_positions(
        self,
        fieldname: str,
        tbytes: bytes,
        wanted: np.ndarray,
        offset: int,
        found: PositionsBuilder,
        prefetched: tuple[np.ndarray, list] | None = None,
    ) -> None:
        """Give ``found`` the position values of a term for the wanted documents (a bool mask),
        numbered from ``offset``; blocks holding none of them are skipped."""
        if prefetched is not None:
            ids, values = prefetched
            found.take(ids + offset, values, np.flatnonzero(wanted[ids]))
            return
        with self.lock:
            info = self._term_info(fieldname, tbytes)
            if info is None:
                return
            if info.is_inlined():
                ids_t, _, values_t = info.inlined_postings()
                ids = np.asarray(ids_t, dtype=np.int64)
                found.take(ids + offset, values_t, np.flatnonzero(wanted[ids]))
                return
            # Wanted documents up to each number, to skip blocks that hold none of them.
            upto = np.cumsum(wanted, dtype=np.int64)
            total, low = int(upto[-1]), 0
            for block in posting_blocks(self._terms._postfile, info):
                high = min(block.last_id, self.doccount - 1)
                before = int(upto[low - 1]) if low else 0
                if int(upto[high]) > before:
                    deltas, _, values = block_values(block)
                    ids = np.cumsum(np.asarray(deltas, dtype=np.int64))
                    found.take(ids + offset, values, np.flatnonzero(wanted[ids]))
                if int(upto[high]) == total:
                    break
                low = high + 1

    def _read_postings(self, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
        empty = (np.empty(0, np.int32), np.empty(0, np.float32))
        info = self._term_info(fieldname, tbytes)
        if info is None:
            return empty
        if info.is_inlined():
            ids_t, weights_t, _ = info.inlined_postings()
            return np.asarray(ids_t, dtype=np.int32), np.asarray(weights_t, dtype=np.float32)
        id_parts: list[np.ndarray] = []
        weight_parts: list[np.ndarray] = []
        for block in posting_blocks(self._terms._postfile, info):
            deltas, w = block_head(block)
            id_parts.append(np.cumsum(deltas).astype(np.int32))
            weight_parts.append(weights_array(w, block.count))
        if not id_parts:
            return empty
        return np.concatenate(id_parts), np.concatenate(weight_parts)
