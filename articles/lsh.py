"""The story threads' LSH tables in compact NumPy storage: which stored keys share a band hash.

``similarity.NearDuplicates`` cuts signatures into bands and hashes each band; this module keeps
those band hashes for every article of the archive, in every process that threads articles.
Python dictionaries of Python ints took about 1.2 KB a key (a 36-byte object per 64-bit band
hash, dictionary slots, a tuple per key): 1.2 GB for an archive of 1,000,000 articles. Here each
band is a sorted NumPy array of hashes with a parallel array of rows, about 200 bytes a key in
all, and a whole batch is looked up at once, a few NumPy calls per band.

Layout (log-structured, two levels): each key added gets a new row (``_key_of_row`` holds its
key); each band's (hash, row) entries are kept sorted in a large base and a small recent part.
A batch is sorted and merged into the recent part, and the recent part into the base when it
grows past the square root of the base's size times ``_RECENT_BALANCE``. The base has a bucket
directory (``_Level.index``), so a lookup there reads two places, not a binary search's twenty.
A discarded or replaced key's row is only marked dead, so its entries are never returned; they
are dropped, and the rows renumbered, once a fifth of the rows are dead.
"""

from __future__ import annotations

from bisect import bisect_left
from math import isqrt

import numpy as np

#: Rows of band positions in the LSH index: int32 (4 bytes, where ids take 8) suffices, as
#: rows are renumbered when many are dead, so they stay below about twice the keys held.
_ROW = np.int32
_NO_ROW = -1
#: When the index's recent part is merged into its base: past this many keys, or the square
#: root of ``_RECENT_BALANCE`` times the base's, if more. Each batch is merged into the recent
#: part (a copy of it) and each merge into the base copies the base, so the recent part grows
#: with the base's square root: for batches of about 500 this keeps both costs near their
#: minimum (at 1,000,000 keys, 22,600 recent keys, a merge into the base every 45 batches).
_RECENT_MIN = 4096
_RECENT_BALANCE = 512
#: A bucket of the base's directory holds this many hashes or up to twice as many, on average.
_BUCKET = 4
#: Keys from 0 to twice the count of keys plus this index the key -> row array (``_KeyRows``).
_DENSE_SPARE = 1 << 16


def _bucket_starts(hashes: np.ndarray, bits: int) -> np.ndarray:
    """How many of these hashes fall in the buckets (top ``bits`` bits) before each bucket,
    and in all of them."""
    counts = np.bincount((hashes >> np.uint64(64 - bits)).astype(np.intp), minlength=1 << bits)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)


def _spread(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranges ``[start, start + count)`` written out: for each element, which range it is in
    and its position."""
    ends = np.cumsum(counts)
    owner = np.repeat(np.arange(len(counts)), counts)
    total = int(ends[-1]) if len(ends) else 0
    return owner, np.arange(total) - np.repeat(ends - counts - starts, counts)


class _Level:
    """A sorted part of the LSH index: per band, its band hashes in order (uint64) and the row
    of each (one row per stored key). Sorted arrays take 12 bytes an entry, where a
    dictionary of Python ints took about 100.

    The base level also has a directory per band (``index``): where each bucket of hashes
    (their top ``bits`` bits) starts, 4 to 8 hashes a bucket, under a byte an entry. Band
    hashes are uniform, so a hash is found by reading its bucket's start and then the bucket,
    two cache misses, where a binary search in 8 MB takes about ten. The directory is brought
    up to date at each merge, and rebuilt when the level has doubled (a few times in all).
    """

    __slots__ = ("hashes", "rows", "bits", "starts", "_views")

    def __init__(self, hashes: list[np.ndarray], rows: list[np.ndarray]) -> None:
        self.hashes = hashes
        self.rows = rows
        self.bits = 0
        self.starts: list[np.ndarray] | None = None
        self._views: list[list[memoryview] | None] | None = None  # for ``match_one``

    def changed(self) -> None:
        """Its arrays were replaced or written: ``match_one`` reads them anew."""
        self._views = None

    @classmethod
    def empty(cls, bands: int) -> _Level:
        return cls([np.empty(0, np.uint64)] * bands, [np.empty(0, _ROW)] * bands)

    @classmethod
    def of(cls, band_hashes: np.ndarray, rows: np.ndarray) -> _Level:
        """A level of these keys' band hashes (a row of ``band_hashes`` per key)."""
        order = np.argsort(band_hashes.T, axis=1)
        return cls(list(np.take_along_axis(band_hashes.T, order, axis=1)), list(rows[order]))

    def shared_bands(self) -> list[int]:
        """The bands in which some hash is held more than once."""
        hashes = np.stack(self.hashes)
        return np.flatnonzero((hashes[:, 1:] == hashes[:, :-1]).any(axis=1)).tolist()

    def __len__(self) -> int:
        return len(self.hashes[0])

    def matches(self, band: int, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each entry of the band equal to a wanted hash: (the index in ``wanted``, its row)."""
        hashes = self.hashes[band]
        if self.starts is not None:
            return self._bucket_matches(band, wanted)
        start = np.searchsorted(hashes, wanted)
        hit = np.flatnonzero(hashes[np.minimum(start, len(hashes) - 1)] == wanted)
        if not len(hit):
            return hit, hit
        stop = np.searchsorted(hashes, wanted[hit], side="right")
        owner, position = _spread(start[hit], stop - start[hit])
        return hit[owner], self.rows[band][position]

    def match_one(self, values: list[int]) -> list[int]:
        """The rows of the entries equal to one key's band hashes (``values``, one a band):
        in Python over memory views, a few hundred nanoseconds a band where each NumPy call
        costs a microsecond."""
        if self._views is None:
            self._views = [
                [memoryview(array) for array in arrays] if arrays is not None else None
                for arrays in (self.hashes, self.rows, self.starts)
            ]
        hashes, rows, starts = self._views
        found = []
        for band, value in enumerate(values):
            held = hashes[band]
            if starts is not None:
                bucket = value >> (64 - self.bits)
                position, end = starts[band][bucket], starts[band][bucket + 1]
            else:
                position, end = bisect_left(held, value), len(held)
            while position < end and held[position] <= value:
                if held[position] == value:
                    found.append(rows[band][position])
                position += 1
        return found

    def _bucket_matches(self, band: int, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``matches`` through the directory: every wanted hash's bucket read at once."""
        hashes, starts = self.hashes[band], self.starts[band]
        bucket = (wanted >> np.uint64(64 - self.bits)).astype(np.intp)
        low, high = starts[bucket], starts[bucket + 1]
        position = low[:, None] + np.arange(int((high - low).max(initial=0)))
        inside = position < high[:, None]
        read = hashes[np.minimum(position, len(hashes) - 1)]
        index, column = np.nonzero((read == wanted[:, None]) & inside)
        return index, self.rows[band][position[index, column]]

    def index(self, added: _Level | None = None) -> None:
        """Build the directory, or bring it up to date after merging ``added`` in (a bucket's
        start moves by how many added hashes fall in the buckets before it); it is rebuilt
        when the level has doubled or halved since."""
        bits = max(1, (len(self) // _BUCKET).bit_length() - 1)
        self.changed()
        if added is not None and self.starts is not None and bits == self.bits:
            for band, hashes in enumerate(added.hashes):
                self.starts[band] += _bucket_starts(hashes, bits)
        else:
            self.bits = bits
            self.starts = [_bucket_starts(hashes, bits) for hashes in self.hashes]

    def pairs(self, band: int) -> tuple[np.ndarray, np.ndarray]:
        """Every ordered pair of distinct rows that share a hash in the band."""
        hashes = self.hashes[band]
        first = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
        sizes = np.diff(np.r_[first, len(hashes)])
        shared = sizes > 1
        first, sizes = first[shared], sizes[shared]
        group, member = _spread(first, sizes)
        mate, partner = _spread(first[group], sizes[group])
        keep = partner != member[mate]
        return self.rows[band][member[mate][keep]], self.rows[band][partner[keep]]


def _merge(older: _Level, newer: _Level, live: np.ndarray | None = None) -> _Level:
    """Both levels in one (``older``, reused), without the entries of rows no longer ``live``
    (None: keep them all). Band by band, each old band let go once merged: merging into a
    base of 1,000,000 keys holds one band twice, not the whole index."""
    if not len(older) and live is None:
        return newer
    for band in range(len(older.hashes)):
        old_hashes, old_rows = older.hashes[band], older.rows[band]
        new_hashes, new_rows = newer.hashes[band], newer.rows[band]
        if live is not None:
            kept, fresh = live[old_rows], live[new_rows]
            old_hashes, old_rows = old_hashes[kept], old_rows[kept]
            new_hashes, new_rows = new_hashes[fresh], new_rows[fresh]
        at = np.searchsorted(old_hashes, new_hashes, side="right")
        older.hashes[band] = np.insert(old_hashes, at, new_hashes)
        older.rows[band] = np.insert(old_rows, at, new_rows)
    older.changed()
    return older


class _KeyRows:
    """Each stored key's current row. Keys are Django's auto ids, dense from 1, so they index
    an array (4 bytes an id, where a dictionary takes about 100 bytes a key); a key far above
    the count of keys, or a negative one, goes in a dictionary instead."""

    def __init__(self) -> None:
        self._dense = np.empty(0, _ROW)
        self._sparse: dict[int, int] = {}

    def row(self, key: int) -> int:
        if 0 <= key < len(self._dense):
            return int(self._dense[key])
        return self._sparse.get(key, _NO_ROW)

    def get(self, keys: np.ndarray) -> np.ndarray:
        dense = (keys >= 0) & (keys < len(self._dense))
        rows = np.full(len(keys), _NO_ROW, _ROW)
        rows[dense] = self._dense[keys[dense]]
        if self._sparse:
            for index in np.flatnonzero(~dense).tolist():
                rows[index] = self._sparse.get(int(keys[index]), _NO_ROW)
        return rows

    def set(self, keys: np.ndarray, rows: np.ndarray, count: int) -> None:
        near = keys[(keys >= len(self._dense)) & (keys < 2 * count + _DENSE_SPARE)]
        if len(near):
            self._grow(max(int(near.max()) + 1, len(self._dense) * 3 // 2))
        dense = (keys >= 0) & (keys < len(self._dense))
        self._dense[keys[dense]] = rows[dense]
        self._sparse.update(zip(keys[~dense].tolist(), rows[~dense].tolist(), strict=True))

    def drop(self, keys: np.ndarray) -> None:
        dense = (keys >= 0) & (keys < len(self._dense))
        self._dense[keys[dense]] = _NO_ROW
        for key in keys[~dense].tolist():
            self._sparse.pop(key, None)

    def _grow(self, size: int) -> None:
        grown = np.full(size, _NO_ROW, _ROW)
        grown[: len(self._dense)] = self._dense
        self._dense = grown
        for key in [key for key in self._sparse if 0 <= key < size]:
            grown[key] = self._sparse.pop(key)


class BandIndex:
    """Keys and their band hashes (one uint64 per band): which keys share a band with a given
    one. Keys are int64 (Django ids); a key added again replaces its old band hashes."""

    def __init__(self, bands: int) -> None:
        self.bands = bands
        self._base = _Level.empty(bands)
        self._recent = _Level.empty(bands)
        self._key_of_row = np.empty(0, np.int64)
        self._live = np.empty(0, dtype=bool)
        self._used = 0  # rows given out, live or dead
        self._count = 0  # keys held (live rows)
        self._row_of = _KeyRows()

    def __contains__(self, key: int) -> bool:
        return self._row_of.row(key) != _NO_ROW

    def __len__(self) -> int:
        return self._count

    def add_many(self, keys: list[int], band_hashes: np.ndarray) -> list[set[int]]:
        """Add (or replace) these distinct keys, a row of ``band_hashes`` each; returns each
        one's candidates (the keys sharing a band with it, the others just added included and
        itself left out).

        The old entries of replaced keys are marked dead first, so none of them is anyone's
        candidate; then the whole batch is looked up at once, and its pairs among itself
        come from its own sorted bands.
        """
        if not keys:
            return []
        ids = np.asarray(keys, dtype=np.int64)
        if len(np.unique(ids)) < len(ids):
            raise ValueError("add_many takes distinct keys")
        self._forget(ids)
        rows = self._new_rows(ids)
        batch = _Level.of(band_hashes, rows)
        asking, held = self._matches(batch)
        asking, held = [asking], [held]
        for band in batch.shared_bands():
            mine, theirs = batch.pairs(band)
            asking.append(mine)
            held.append(theirs)
        found: list[set[int]] = [set() for _ in keys]
        others = self._key_of_row[np.concatenate(held)].tolist()
        mine = (np.concatenate(asking) - rows[0]).tolist()
        for index, other in zip(mine, others, strict=True):
            found[index].add(other)
        self._insert(batch)
        return found

    def discard(self, key: int) -> None:
        self._forget(np.asarray([key], dtype=np.int64))
        if self._used - self._count > max(self._count, _RECENT_MIN):
            self._merge_recent()  # mostly dead rows: reclaim them

    def candidates(self, band_hashes: np.ndarray) -> set[int]:
        """The keys sharing a band with any row of ``band_hashes``."""
        if len(band_hashes) == 1:
            held = self._matches_one(band_hashes[0])
        else:
            _, held = self._matches(_Level.of(band_hashes, np.arange(len(band_hashes))))
        return set(self._key_of_row[held].tolist())

    def _matches(self, wanted: _Level) -> tuple[np.ndarray, np.ndarray]:
        """Each live stored entry sharing a band with a row of ``wanted``: (that row, the
        entry's row). ``wanted`` is sorted: the recent part's binary searches then start near
        the last one's memory, twice as fast as in the batch's own order."""
        asking, held = [np.empty(0, _ROW)], [np.empty(0, _ROW)]
        for level in (self._base, self._recent):
            if len(level):
                for band, hashes in enumerate(wanted.hashes):
                    index, row = level.matches(band, hashes)
                    asking.append(wanted.rows[band][index])
                    held.append(row)
        index, row = np.concatenate(asking), np.concatenate(held)
        live = self._live[row]
        return index[live], row[live]

    def _matches_one(self, values: np.ndarray) -> np.ndarray:
        """``_matches`` for one row of band hashes (an edit's query)."""
        values = values.tolist()
        rows = np.asarray(self._base.match_one(values) + self._recent.match_one(values), _ROW)
        return rows[self._live[rows]]

    def _forget(self, keys: np.ndarray) -> None:
        """Mark these keys' rows dead (their entries stay in the levels until ``_renumber``)."""
        rows = self._row_of.get(keys)
        held = rows != _NO_ROW
        self._live[rows[held]] = False
        self._row_of.drop(keys[held])
        self._count -= int(held.sum())

    def _new_rows(self, keys: np.ndarray) -> np.ndarray:
        start, end = self._used, self._used + len(keys)
        if end > len(self._key_of_row):
            size = max(end, len(self._key_of_row) * 3 // 2)
            self._key_of_row = np.resize(self._key_of_row, size)
            self._live = np.resize(self._live, size)
        self._key_of_row[start:end] = keys
        self._live[start:end] = True
        self._used, self._count = end, self._count + len(keys)
        rows = np.arange(start, end, dtype=_ROW)
        self._row_of.set(keys, rows, self._count)
        return rows

    def _insert(self, batch: _Level) -> None:
        self._recent = _merge(self._recent, batch)
        if len(self._recent) > max(_RECENT_MIN, isqrt(_RECENT_BALANCE * len(self._base))):
            self._merge_recent()

    def _merge_recent(self) -> None:
        """The recent part into the base. Dead rows' entries stay (never returned: each match
        is checked against ``_live``) until a fifth of the rows are dead: then they are left
        out, and the rows renumbered. Leaving them out of every merge cost as much again."""
        recent, self._recent = self._recent, _Level.empty(self.bands)
        if self._used and (self._used - self._count) * 5 >= self._used:
            self._base = _merge(self._base, recent, self._live)
            self._base.index()
            self._renumber()
        else:
            self._base = _merge(self._base, recent)
            self._base.index(recent)

    def _renumber(self) -> None:
        """Only live rows, numbered from 0 (every entry is in the base, none of them dead)."""
        live = self._live[: self._used]
        number = (np.cumsum(live) - 1).astype(_ROW)
        for band, rows in enumerate(self._base.rows):
            self._base.rows[band] = number[rows]
        self._base.changed()
        keys = self._key_of_row[: self._used][live]
        self._key_of_row, self._live = keys, np.ones(len(keys), dtype=bool)
        self._used = self._count = len(keys)
        self._row_of = _KeyRows()
        self._row_of.set(keys, np.arange(len(keys), dtype=_ROW), self._count)
