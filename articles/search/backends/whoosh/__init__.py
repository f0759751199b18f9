"""The Whoosh backend: schema, writing with lock retry, and a NumPy fast path for searching.

Why not ``searcher.search(q, groupedby=[...])``? Whoosh walks posting lists one document at a
time in Python, and grouping walks the match set again: at 30,000 articles that measured
230 ms median and 420 ms p95 per query here, against 1 ms and 29 ms for this path.

Per open searcher (a ``Snapshot``) we keep NumPy arrays of each document's article id, source
and section ordinal, publication day, timestamps and field lengths, read once per segment
straight from Whoosh's column files. Posting lists are read block by block into arrays,
decoding only the ids and weights at the head of each block, and cached per segment (segments
never change, so caches survive refreshes after writes). A query tree is evaluated with dense
boolean masks, scored with BM25 in one vectorised pass, facets are counted with
``np.bincount`` (each without its own selection), filters are masks, the empty query is the
live mask, and ordering is a partial sort of the best ``ORDER_DEPTH``. Phrases are the AND of
their terms, verified with positions decoded in bulk for those candidates only.

This reads some of Whoosh's private structures (column files, the layout of posting blocks
and their pickles), so whoosh3 is pinned; ``test_search_backend.py`` checks
every fast reader against Whoosh's public readers, and the block decoders fall back to plain
unpickling whenever a block is not laid out as they expect.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index
from whoosh.index import LockError
from whoosh.writing import CLEAR

from ... import query as q
from ...facets import FacetCounts
from .. import BackendResults, BulkIndexer, Filters, SearchBackend
from . import buffers
from .codec import build_codec
from .phrases import phrase_docs
from .schema import ANALYZER, analyze, build_schema, document_for, fold, updated_from_micros
from .segments import LRU, POSTINGS_CACHE_ENTRIES, Segment
from .spelling import expand_fuzzy, suggest

buffers.install()
# NumPy imports numpy.dtypes on the first ``unique()`` of a process (20 ms here), which phrase
# checks call: pay it when a worker starts, not on some reader's first phrase search.
np.unique(np.zeros(1))

logger = logging.getLogger(__name__)

BM25_K1 = 1.2
BM25_B = 0.75
#: Bounds on costly expansions (per query word).
MAX_PREFIX_TERMS = 64
#: Seconds a writer waits for another writer (an import, a rebuild) to release the lock.
WRITE_LOCK_TIMEOUT = 60.0
#: Long imports keep one writer across batches, committing after this many documents or
#: seconds, whichever comes first, so a save waiting for the lock gets in well within its wait.
BULK_COMMIT_DOCS = 5_000
BULK_COMMIT_SECONDS = 15.0
#: A first batch at least this big gets parallel sub-writers (Whoosh's procs/multisegment):
#: they index while the importer parses and writes the next batch. Smaller imports (an admin
#: upload of a few files, tests) skip the cost of starting processes.
BULK_PARALLEL_MIN = 200
BULK_PROCS = 2
#: Each sub-writer's buffer: 2,500 documents (half a commit) fit without spilling runs to disk,
#: which the benchmark's sweep showed costs a third of the throughput; 2 x 256 MB plus the
#: importer keeps the whole import under 1 GB whatever the corpus size.
BULK_LIMITMB = 256
#: Segments under this many documents are merged at each commit, which is cheap. Bigger ones
#: are left alone: Whoosh's default policy decided, at 50,000 articles in the middle of an
#: import, to merge half the archive in pure Python (minutes, with the lock held), and would do
#: the same on a single admin save.
TINY_SEGMENT_DOCS = 1_000
RESULT_CACHE_SIZE = 64
#: Matches put in order per query (50 pages of 20); deeper pages re-run the query.
ORDER_DEPTH = 1000


# --- one open searcher, as arrays ----------------------------------------------------------


class _Match:
    """A dense (mask, score) pair over all document numbers of a snapshot."""

    __slots__ = ("mask", "score")

    def __init__(self, mask: np.ndarray, score: np.ndarray | None) -> None:
        self.mask = mask
        self.score = score


class Snapshot:
    """Everything needed to answer searches against one index generation.

    Built when the searcher is (re)opened; cheap after small writes because per-segment
    arrays are reused. Holds caches that are only valid for this generation (term document
    sets, phrase matches, whole-archive facet counts, recent result orderings).
    """

    def __init__(self, ix: Any, segments: dict[str, Segment], cache: LRU, tz: Any) -> None:
        self.searcher = ix.searcher()
        self.tz = tz
        reader = self.searcher.reader()
        self.generation = reader.generation()
        leaves = reader.leaf_readers()
        self.parts: list[tuple[Segment, int]] = []
        live_parts = []
        for leaf, offset in leaves:
            if leaf.segment() is None or not leaf.doc_count_all():
                continue  # an empty index has a placeholder reader and no segments
            segid = leaf.segment().segment_id()
            seg = segments.get(segid)
            if seg is None:
                seg = segments[segid] = Segment(leaf, cache)
            else:
                seg.attach(leaf)
            self.parts.append((seg, offset))
            live = np.ones(seg.doccount, dtype=bool)
            if leaf.has_deletions():
                live[seg.deleted(leaf)] = False
            live_parts.append(live)
        for segid in list(segments):
            if segid not in {seg.segid for seg, _ in self.parts}:
                del segments[segid]
        self.n = sum(seg.doccount for seg, _ in self.parts)

        def cat(name: str, dtype: Any) -> np.ndarray:
            if not self.parts:
                return np.empty(0, dtype=dtype)
            return np.concatenate([getattr(seg, name) for seg, _ in self.parts]).astype(dtype)

        self.biggest = sorted((seg for seg, _ in self.parts), key=lambda g: -g.doccount)[:2]
        self.live = np.concatenate(live_parts) if live_parts else np.empty(0, dtype=bool)
        self.ids = cat("ids", np.int64)
        self.published = cat("published", np.int64)
        self.updated = cat("updated", np.int64)
        self.day = cat("day", np.int32)
        self.year = (self.day // 10000).astype(np.int32)
        self.month = ((self.day // 100) % 100).astype(np.int32)
        self.dom = (self.day % 100).astype(np.int32)
        self.lengths = {
            f: np.concatenate([seg.lengths[f] for seg, _ in self.parts])
            if self.parts
            else np.empty(0, np.float32)
            for f in ("title", "body")
        }
        self.live_count = int(self.live.sum())
        self.avg_length = {
            f: float(arr[self.live].mean()) if self.live_count else 1.0
            for f, arr in self.lengths.items()
        }
        self.norm = {
            f: (BM25_K1 * (1 - BM25_B + BM25_B * arr / max(self.avg_length[f], 1.0))).astype(
                np.float32
            )
            for f, arr in self.lengths.items()
        }
        self.labels = {
            "source": self._labels("source_refs", "source_values"),
            "section": self._labels("section_refs", "section_values"),
        }
        self.lock = threading.RLock()
        self.terms = LRU(512)
        self.results = LRU(RESULT_CACHE_SIZE)
        self.facet_cache: dict[Any, dict[str, FacetCounts]] = {}
        self._docnum_by_id: dict[int, int] | None = None

    def _labels(self, refs_name: str, values_name: str) -> tuple[np.ndarray, list[str]]:
        """Global ordinals for a label column; ordinal 0 is "none"."""
        names: list[str] = [""]
        index_of: dict[str, int] = {"": 0}
        parts = []
        for seg, _ in self.parts:
            values = getattr(seg, values_name)
            mapping = np.zeros(max(len(values), 1), dtype=np.int32)
            for i, value in enumerate(values):
                if value not in index_of:
                    index_of[value] = len(names)
                    names.append(value)
                mapping[i] = index_of[value]
            refs = getattr(seg, refs_name)
            parts.append(mapping[refs] if len(values) else np.zeros(len(refs), np.int32))
        ords = np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)
        return ords, names

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing twice is harmless
            self.searcher.close()

    def up_to_date(self) -> bool:
        return self.searcher.up_to_date()

    # ---- terms -----------------------------------------------------------------------------

    def term(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Global (document numbers, weights) of an index term; cached for this generation."""
        key = (fieldname, text)
        hit = self.terms.get(key)
        if hit is not None:
            return hit
        tbytes = text.encode("utf-8")
        docs_parts, weight_parts = [], []
        for seg, offset in self.parts:
            docs, weights = seg.postings(fieldname, tbytes)
            if len(docs):
                docs_parts.append(docs + offset)
                weight_parts.append(weights)
        if docs_parts:
            result = (np.concatenate(docs_parts), np.concatenate(weight_parts))
        else:
            result = (np.empty(0, np.int32), np.empty(0, np.float32))
        self.terms.put(key, result)
        return result

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """Documents holding the term, from the term dictionary (no posting list is read)."""
        hit = self.terms.get((fieldname, text))
        if hit is not None:
            return len(hit[0])
        return self.searcher.reader().doc_frequency(fieldname, text)

    def probe_frequency(self, fieldname: str, text: str) -> int:
        """Roughly how common a term is, estimated from the two biggest segments.

        Spelling edits probe hundreds of candidate terms; asking every segment's dictionary
        costs ten times as much and ranking candidates needs no exact count.
        """
        tbytes = text.encode("utf-8")
        found = sum(seg.doc_frequency(fieldname, tbytes) for seg in self.biggest)
        probed = sum(seg.doccount for seg in self.biggest)
        if not found or probed >= self.n:
            return found
        return math.ceil(found * self.n / probed)  # scaled up to the whole index

    def _score_term(self, fieldname: str, text: str, out: _Match) -> None:
        docs, weights = self.term(fieldname, text)
        if not len(docs):
            return
        df = len(docs)
        idf = math.log(1 + (self.live_count - df + 0.5) / (df + 0.5))
        norm = self.norm[fieldname][docs]
        # Whoosh stored title weights already multiplied by the field boost.
        contribution = idf * weights * (BM25_K1 + 1) / (weights + norm)
        out.mask[docs] = True
        if out.score is not None:
            # Each document appears once in a posting list, so fancy-index += is exact.
            out.score[docs] += contribution.astype(np.float32)

    # ---- query evaluation ------------------------------------------------------------------

    def blank(self, scored: bool = True) -> _Match:
        return _Match(
            np.zeros(self.n, dtype=bool), np.zeros(self.n, dtype=np.float32) if scored else None
        )

    def evaluate(self, node: q.Node, terms: set[str]) -> _Match:
        """Dense mask and BM25 scores for a query tree; ``terms`` collects highlight terms."""
        if isinstance(node, q.MatchAll):
            return _Match(self.live.copy(), np.zeros(self.n, dtype=np.float32))
        if isinstance(node, q.And):
            children = [self.evaluate(c, terms) for c in node.children]
            mask = children[0].mask.copy()
            score = children[0].score.copy()
            for child in children[1:]:
                mask &= child.mask
                score += child.score
            return _Match(mask, score)
        if isinstance(node, q.Or):
            children = [self.evaluate(c, terms) for c in node.children]
            mask = children[0].mask.copy()
            score = children[0].score.copy()
            for child in children[1:]:
                mask |= child.mask
                score += child.score
            return _Match(mask, score)
        if isinstance(node, q.Not):
            child = self.evaluate(node.child, set())
            return _Match(~child.mask, np.zeros(self.n, dtype=np.float32))
        if isinstance(node, q.DateRange):
            return _Match(self.day_mask(node.start, node.end), np.zeros(self.n, dtype=np.float32))
        if node.field in q.LABEL_FIELDS:  # type: ignore[attr-defined]
            return self.label_match(node)
        fieldnames = (node.field,) if node.field else q.TEXT_FIELDS  # type: ignore[attr-defined]
        if isinstance(node, q.Term):
            return self.word(node.text, fieldnames, terms)
        if isinstance(node, q.Phrase):
            return self.phrase(node.text, fieldnames, terms)
        if isinstance(node, q.Prefix):
            return self.any_of(self.expand_prefix(node.text), fieldnames, terms)
        if isinstance(node, q.Fuzzy):
            return self.any_of(expand_fuzzy(self, node.text, node.maxdist), fieldnames, terms)
        return self.blank()

    def word(self, text: str, fieldnames: tuple[str, ...], terms: set[str]) -> _Match:
        tokens = analyze(text)
        if not tokens:
            # A stop word alone ("the"): it narrows nothing, so it matches everything.
            return _Match(self.live.copy(), np.zeros(self.n, dtype=np.float32))
        if len(tokens) > 1:  # "e-mail", "U.S.-led": read as a phrase
            return self.phrase(text, fieldnames, terms)
        terms.add(tokens[0])
        out = self.blank()
        for fieldname in fieldnames:
            self._score_term(fieldname, tokens[0], out)
        return out

    def any_of(self, words: list[str], fieldnames: tuple[str, ...], terms: set[str]) -> _Match:
        out = self.blank()
        for word in words:
            terms.add(word)
            for fieldname in fieldnames:
                self._score_term(fieldname, word, out)
        return out

    def phrase(self, text: str, fieldnames: tuple[str, ...], terms: set[str]) -> _Match:
        tokens = [(t.text, t.pos) for t in ANALYZER(text, positions=True)]
        if not tokens:
            return _Match(self.live.copy(), np.zeros(self.n, dtype=np.float32))
        terms.update(t for t, _ in tokens)
        out = self.blank()
        if len(tokens) == 1:
            for fieldname in fieldnames:
                self._score_term(fieldname, tokens[0][0], out)
            return out
        for fieldname in fieldnames:
            key = ("phrase", fieldname, tuple(tokens))
            docs = self.terms.get(key)
            if docs is None:
                docs = phrase_docs(self, fieldname, tokens)
                self.terms.put(key, docs)
            if not len(docs):
                continue
            field_match = self.blank()
            for token, _ in tokens:
                self._score_term(fieldname, token, field_match)
            out.mask[docs] = True
            out.score[docs] += field_match.score[docs]
        return out

    def expand_prefix(self, text: str) -> list[str]:
        """Index terms starting with the (folded, unstemmed) prefix: the most frequent few."""
        folded = fold(text)
        key = ("prefix", folded)
        hit = self.terms.get(key)
        if hit is not None:
            return hit
        seen: dict[str, int] = {}
        for fieldname in q.TEXT_FIELDS:
            for seg, _ in self.parts:
                for word, frequency in seg.prefixed(fieldname, folded):
                    seen[word] = seen.get(word, 0) + frequency
        for stem in analyze(text):  # "presidents*" should still find the stem "presid"
            seen.setdefault(stem, 1)
        words = heapq.nlargest(MAX_PREFIX_TERMS, seen, key=seen.__getitem__)
        self.terms.put(key, words)
        return words

    def label_match(self, node: q.Node) -> _Match:
        from articles.models import label_key

        fieldname = node.field  # type: ignore[attr-defined]
        ords, names = self.labels[fieldname]
        wanted = label_key(node.text)  # type: ignore[attr-defined]
        if isinstance(node, q.Prefix):
            hits = [i for i, n in enumerate(names) if i and label_key(n).startswith(wanted)]
        else:
            hits = [i for i, n in enumerate(names) if i and label_key(n) == wanted]
        mask = np.isin(ords, hits) if hits else np.zeros(self.n, dtype=bool)
        return _Match(mask, np.zeros(self.n, dtype=np.float32))

    def day_mask(self, start: Any, end: Any) -> np.ndarray:
        mask = self.day > 0
        if start is not None:
            mask &= self.day >= start.year * 10000 + start.month * 100 + start.day
        if end is not None:
            mask &= self.day <= end.year * 10000 + end.month * 100 + end.day
        return mask

    # ---- filters and facets ----------------------------------------------------------------

    def filter_masks(self, filters: Filters) -> dict[str, np.ndarray]:
        """One mask per facet-like filter, so facets can leave their own out."""
        from articles.models import label_key

        masks: dict[str, np.ndarray] = {}
        for name, chosen in (("source", filters.sources), ("section", filters.sections)):
            if chosen:
                ords, names = self.labels[name]
                hits = [i for i, n in enumerate(names) if i and label_key(n) in chosen]
                masks[name] = np.isin(ords, hits) if hits else np.zeros(self.n, dtype=bool)
        if filters.year is not None:
            masks["year"] = self.year == filters.year
        if filters.month is not None:
            masks["month"] = self.month == filters.month
        if filters.day is not None:
            masks["day"] = self.dom == filters.day
        if filters.day_from is not None or filters.day_to is not None:
            mask = self.day > 0
            if filters.day_from is not None:
                mask &= self.day >= filters.day_from
            if filters.day_to is not None:
                mask &= self.day <= filters.day_to
            masks["range"] = mask
        return masks

    def facet_counts(
        self, base: np.ndarray, masks: dict[str, np.ndarray], names: Iterable[str]
    ) -> dict[str, FacetCounts]:
        """Counts per facet over ``base`` and every filter except the facet's own."""
        out: dict[str, FacetCounts] = {}
        for name in names:
            mask = base
            for other, m in masks.items():
                if other != name:
                    mask = mask & m
            if name in ("source", "section"):
                ords, labels = self.labels[name]
                counts = np.bincount(ords[mask], minlength=len(labels))
                out[name] = [
                    (labels[i], labels[i], int(c)) for i, c in enumerate(counts) if i and c
                ]
            else:
                arr = {"year": self.year, "month": self.month, "day": self.dom}[name]
                values = arr[mask & (self.day > 0)]
                counts = np.bincount(values) if len(values) else np.empty(0, dtype=np.int64)
                out[name] = [(str(v), str(v), int(counts[v])) for v in np.flatnonzero(counts)]
        return out

    # ---- the search ------------------------------------------------------------------------

    def search(
        self,
        parsed: q.ParsedQuery,
        filters: Filters,
        sort: str,
        offset: int,
        limit: int,
        facet_names: Iterable[str],
    ) -> BackendResults:
        facet_names = tuple(facet_names)
        sort = sort or ("relevance" if parsed.node is not None else "newest")
        key = (repr(parsed.node), filters.key(), sort, facet_names)
        depth = offset + limit
        cached = self.results.get(key)
        if cached is None or (len(cached[0]) < min(depth, cached[1])):
            with self.lock:
                cached = self._run(parsed, filters, sort, facet_names, depth)
            self.results.put(key, cached)
        order, total, facets, terms = cached
        page = order[offset:depth] if offset < len(order) else order[:0]
        return BackendResults(
            total=total,
            ids=[int(i) for i in self.ids[page]],
            facets=facets,
            terms=frozenset(terms),
        )

    def _run(
        self,
        parsed: q.ParsedQuery,
        filters: Filters,
        sort: str,
        facet_names: tuple[str, ...],
        depth: int,
    ) -> tuple[np.ndarray, int, dict[str, FacetCounts], set[str]]:
        """Match, count facets and order the best ``depth`` (at least ORDER_DEPTH) matches."""
        terms: set[str] = set()
        masks = self.filter_masks(filters)
        if parsed.node is None:
            base = self.live
            scores = None
        else:
            match = self.evaluate(parsed.node, terms)
            base = match.mask & self.live
            scores = match.score
        if parsed.node is None and not masks:
            facets = self.facet_cache.get(facet_names)
            if facets is None:
                facets = self.facet_counts(base, masks, facet_names)
                self.facet_cache[facet_names] = facets
        else:
            facets = self.facet_counts(base, masks, facet_names)
        final = base
        for m in masks.values():
            final = final & m
        docs = np.flatnonzero(final)
        published = self.published[docs]
        if sort == "relevance" and scores is not None:
            # Highest score first; ties newest first.
            primary, secondary = -scores[docs].astype(np.float64), -published
        elif sort == "oldest":
            # Oldest first, undated last.
            primary, secondary = np.where(published == 0, np.iinfo(np.int64).max, published), docs
        else:  # newest first; undated (0) sorts last by itself
            primary, secondary = -published, -docs
        order = docs[_top(primary, secondary, max(depth, ORDER_DEPTH))]
        return order, len(docs), facets, terms

    def docnum_for(self, article_id: int) -> int | None:
        if self._docnum_by_id is None:
            live = np.flatnonzero(self.live)
            self._docnum_by_id = dict(zip(self.ids[live].tolist(), live.tolist(), strict=True))
        return self._docnum_by_id.get(article_id)

    def top_for_terms(
        self, weighted: dict[str, float], limit: int, exclude: int | None
    ) -> list[int]:
        """Best-scoring live documents for a bag of terms (for "more like this")."""
        out = self.blank()
        for term, boost in weighted.items():
            part = self.blank()
            for fieldname in q.TEXT_FIELDS:
                self._score_term(fieldname, term, part)
            out.mask |= part.mask
            out.score += part.score * boost
        mask = out.mask & self.live
        if exclude is not None:
            mask[exclude] = False
        docs = np.flatnonzero(mask)
        if not len(docs):
            return []
        k = min(limit, len(docs))
        top = docs[np.argpartition(-out.score[docs], k - 1)[:k]]
        top = top[np.lexsort((-self.published[top], -out.score[top]))]
        return [int(i) for i in self.ids[top]]


def _top(primary: np.ndarray, secondary: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest (primary, secondary) pairs, in order.

    A partial sort: ``argpartition`` finds the k-th primary value, every item up to it (ties at
    the boundary included, so pages stay consistent whatever k was) is then sorted.
    """
    n = len(primary)
    if k < n:
        kth = primary[np.argpartition(primary, k - 1)[k - 1]]
        idx = np.flatnonzero(primary <= kth)
    else:
        idx = np.arange(n)
    idx = idx[np.lexsort((secondary[idx], primary[idx]))]
    return idx[:k]


# --- the backend ---------------------------------------------------------------------------


def merge_tiny(writer: Any, segments: list[Any]) -> list[Any]:
    """Whoosh merge policy: fold the small segments of single saves into one, keep the rest."""
    from whoosh.reading import SegmentReader

    tiny = [s for s in segments if s.doc_count_all() < TINY_SEGMENT_DOCS]
    if len(tiny) < 2:
        return segments
    for segment in tiny:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s not in tiny]


class WhooshBulkIndexer(BulkIndexer):
    """One writer for many import batches: a commit per batch would cost a new segment and a
    merge each time, and parallel sub-writers need a long-lived writer to pay off."""

    backend: WhooshBackend

    def __init__(self, backend: WhooshBackend) -> None:
        super().__init__(backend)
        self._writer: Any = None
        self._pending = 0
        self._opened = 0.0

    def add(self, ids: Iterable[int], *, new: bool = False) -> None:
        ids = sorted({int(i) for i in ids})
        if not ids:
            return
        if self._writer is None:
            self._open(parallel=len(ids) >= BULK_PARALLEL_MIN)
        found: set[int] = set()
        for article in _articles(ids):
            found.add(article.pk)
            document = document_for(article, self.backend.tz)
            if new:
                self._writer.add_document(**document)
            else:
                self._writer.update_document(**document)
        for missing in set(ids) - found:
            self._writer.delete_by_term("id", missing)
        self._pending += len(ids)
        waited = time.monotonic() - self._opened
        if self._pending >= BULK_COMMIT_DOCS or waited >= BULK_COMMIT_SECONDS:
            self.close()

    def _open(self, parallel: bool) -> None:
        options = {}
        if parallel:
            options = {"procs": BULK_PROCS, "multisegment": True, "limitmb": BULK_LIMITMB}
        self._writer = self.backend._writer(**options)
        self._opened = time.monotonic()

    def close(self) -> None:
        writer, self._writer, self._pending = self._writer, None, 0
        if writer is not None:
            writer.commit(mergetype=merge_tiny)

    def cancel(self) -> None:
        """Drop what was added since the last commit (a failed one-off reindex)."""
        writer, self._writer, self._pending = self._writer, None, 0
        if writer is not None:
            writer.cancel()


class WhooshBackend(SearchBackend):
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

    def snapshot(self) -> Snapshot:
        """The current snapshot, reopened only when another writer changed the index."""
        snap = self._snapshot
        if snap is not None and snap.up_to_date():
            return snap
        with self._lock:
            snap = self._snapshot
            if snap is not None and snap.up_to_date():
                return snap
            new = Snapshot(self._index(), self._segments, self._postings_cache, self.tz)
            self._snapshot = new
            if snap is not None:
                # A request may still be using the old snapshot: close it a refresh later.
                self._retired.append(snap)
                while len(self._retired) > 2:
                    self._retired.pop(0).close()
            return new

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

    def more_like_this(self, article_id: int, limit: int = 5) -> list[int]:
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

    # ---- writing ---------------------------------------------------------------------------

    def _writer(self, **kwargs: Any) -> Any:
        """A writer, waiting for the lock while another process (an import) holds it."""
        try:
            return self._index().writer(
                timeout=WRITE_LOCK_TIMEOUT, delay=0.05, codec=build_codec(), **kwargs
            )
        except LockError as exc:
            raise IndexLockedError(
                f"The search index in {self.index_dir} stayed locked for {WRITE_LOCK_TIMEOUT:.0f}s"
            ) from exc

    def bulk_indexer(self) -> WhooshBulkIndexer:
        return WhooshBulkIndexer(self)

    def index_articles(self, ids: Iterable[int]) -> None:
        indexer = WhooshBulkIndexer(self)
        try:
            indexer.add(ids)
        except BaseException:
            indexer.cancel()
            raise
        indexer.close()

    def unindex_articles(self, ids: Iterable[int]) -> None:
        ids = sorted({int(i) for i in ids})
        if not ids:
            return
        writer = self._writer()
        try:
            for article_id in ids:
                writer.delete_by_term("id", article_id)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=merge_tiny)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Index every article into fresh segments that replace the old ones at commit.

        Searches keep seeing the old index until the commit, so a rebuild never shows an
        empty archive.
        """
        from articles.models import Article

        writer = self._writer(limitmb=256)
        count = 0
        try:
            pks = list(Article.objects.order_by("pk").values_list("pk", flat=True))
            for start in range(0, len(pks), 500):
                for article in _articles(pks[start : start + 500]):
                    writer.add_document(**document_for(article, self.tz))
                    count += 1
                    if progress is not None:
                        progress(1)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=CLEAR)
        return count

    def clear(self) -> None:
        with self._lock:
            self.close()
            if self.index_dir.exists():
                shutil.rmtree(self.index_dir)
            self.index_dir.mkdir(parents=True, exist_ok=True)
            self._ix = index.create_in(str(self.index_dir), build_schema())


class IndexLockedError(RuntimeError):
    """Another writer held the index lock for too long."""


def _articles(ids: list[int]) -> Iterator[Any]:
    from articles.models import Article

    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        yield from (
            Article.objects.filter(pk__in=chunk)
            .select_related("source", "section")
            .only(
                "id",
                "title",
                "body",
                "published",
                "updated",
                "source__name",
                "section__name",
            )
        )
