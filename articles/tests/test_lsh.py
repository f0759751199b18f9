"""The LSH index's compact storage (``articles/lsh.py`` behind ``similarity.NearDuplicates``)
against the plain dictionaries it replaced, kept here as the oracle: the same candidates for
any sequence of adds, re-adds, discards and queries, with band hashes that collide."""

from __future__ import annotations

import functools
import random
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from articles import lsh
from articles.similarity import NUM_PERM, NearDuplicates, bands_for

THRESHOLD = 0.7  # the archive's: 12 bands of 5 rows


class DictNearDuplicates:
    """The LSH index as it was before its compact storage: a dictionary per band mapping a
    band hash to a key or a tuple of keys, and each key's band hashes (the oracle)."""

    def __init__(self, threshold: float, num_perm: int = NUM_PERM) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = bands_for(threshold, num_perm)
        # A band's value is one key, or a tuple of keys when several share it; band lists are
        # tuples. Dictionaries of ints and tuples of ints are not tracked by Python's cyclic
        # garbage collector: sets and lists here (one per band and article) were, and every full
        # collection of an import walked them all.
        self._tables: list[dict[int, int | tuple[int, ...]]] = [{} for _ in range(self.bands)]
        self._keys: dict[int, tuple[int, ...]] = {}

    def __contains__(self, key: int) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def band_keys(self, signatures: np.ndarray) -> list[list[int]]:
        """For each signature (a row), one 64-bit hash per band of ``rows`` values: datasketch
        keys a band by its bytes; a hash collision here only adds a candidate, which the
        caller's check drops. One NumPy pass for a whole batch."""
        values = np.asarray(signatures, dtype=np.uint64).reshape(len(signatures), -1)
        bands = values[:, : self.bands * self.rows].reshape(len(values), self.bands, self.rows)
        key = np.zeros((len(values), self.bands), dtype=np.uint64)
        for column in range(self.rows):
            key = (key ^ bands[:, :, column]) * np.uint64(0x100000001B3)
        return (key ^ (key >> np.uint64(29))).tolist()

    def add(self, key: int, signature: np.ndarray) -> None:
        self.add_many([key], [signature])

    def add_many(self, keys: list[int], signatures: list[np.ndarray]) -> list[set[int]]:
        """Add (or replace) these distinct keys; returns each one's candidates, the others just
        added included and itself left out.

        The candidates are gathered while the keys go in (what a band already holds is a
        candidate of the newcomer, and the newcomer one of each batch key held there): one
        dictionary lookup per band and key, where looking every key up again after the
        inserts took as long as the inserts. The old entries of replaced keys go first, so
        none of them is anyone's candidate.
        """
        if not keys:
            return []
        bands = self.band_keys(np.stack(signatures))
        for key in keys:
            if key in self._keys:
                self.discard(key)
        found: dict[int, set[int]] = {key: set() for key in keys}
        for key, key_bands in zip(keys, bands, strict=True):
            self._keys[key] = tuple(key_bands)
            mine = found[key]
            for table, band in zip(self._tables, key_bands, strict=True):
                held = table.setdefault(band, key)
                if held == key:
                    continue  # the band was empty (keys are distinct and left first)
                if isinstance(held, tuple):
                    table[band] = (*held, key)
                    mine.update(held)
                else:
                    table[band] = (held, key)
                    mine.add(held)
                for other in held if isinstance(held, tuple) else (held,):
                    if other in found:
                        found[other].add(key)
        return [found[key] for key in keys]

    def discard(self, key: int) -> None:
        key_bands = self._keys.pop(key, None)
        for table, band in zip(self._tables, key_bands or (), strict=False):
            held = table.get(band)
            if held == key:
                del table[band]
            elif isinstance(held, tuple):
                rest = tuple(k for k in held if k != key)
                table[band] = rest if len(rest) > 1 else rest[0]

    def candidates(self, signature: np.ndarray) -> set[int]:
        return self._matching(self.band_keys(signature[None, :])[0])

    def _matching(self, key_bands: list[int]) -> set[int]:
        found: set[int] = set()
        for table, band in zip(self._tables, key_bands, strict=True):
            held = table.get(band)
            if held is None:
                continue
            if isinstance(held, tuple):
                found.update(held)
            else:
                found.add(held)
        return found


BANDS, ROWS = bands_for(THRESHOLD, NUM_PERM)


def banded(variants: tuple[int, ...]) -> np.ndarray:
    """A signature whose band ``b`` holds the values of variant ``variants[b]`` of that band:
    two such signatures share a band exactly where they name the same variant (the values
    past the last band count for nothing)."""
    values = [band_values(band, variant) for band, variant in enumerate(variants)]
    return np.concatenate([*values, np.zeros(NUM_PERM - BANDS * ROWS, dtype=np.uint32)])


@functools.cache
def band_values(band: int, variant: int) -> np.ndarray:
    return np.random.default_rng([band, variant]).integers(0, 2**32, ROWS, dtype=np.uint32)


def sharing_signatures(count: int, generator: np.random.Generator) -> np.ndarray:
    """Random signatures whose every band is, one time in ten, one of 200 values of that
    band: many pairs share a band or several."""
    values = generator.integers(0, 2**32, (count, BANDS, ROWS), dtype=np.uint32)
    common = generator.integers(0, 2**32, (200, BANDS, ROWS), dtype=np.uint32)
    shared = generator.random((count, BANDS)) < 0.1
    variant = generator.integers(0, 200, (count, BANDS))
    band = np.broadcast_to(np.arange(BANDS), (count, BANDS))
    values[shared] = common[variant[shared], band[shared]]
    tail = generator.integers(0, 2**32, (count, NUM_PERM - BANDS * ROWS), dtype=np.uint32)
    return np.concatenate([values.reshape(count, -1), tail], axis=1)


#: Dense ids, 0, a negative one and ids far above the count (kept apart by the index).
KEYS = [*range(1, 25), 0, -7, 2**40, 10**12]
#: Mostly one of three variants per band (signatures sharing some bands), else a rare one.
VARIANT = st.one_of(st.integers(0, 2), st.integers(0, 10**6))
SIGNATURE = st.tuples(*[VARIANT] * BANDS)
OPERATION = st.one_of(
    st.tuples(
        st.just("add"),
        st.lists(st.tuples(st.sampled_from(KEYS), SIGNATURE), max_size=8, unique_by=lambda p: p[0]),
    ),
    st.tuples(st.just("discard"), st.sampled_from(KEYS)),
    st.tuples(st.just("query"), SIGNATURE),
)
#: The index's sizes as shipped, and tiny ones so that merges, dropping dead entries,
#: renumbering rows and moving keys between the key array and dictionary happen often.
SIZES = [
    {"_RECENT_MIN": lsh._RECENT_MIN, "_RECENT_BALANCE": lsh._RECENT_BALANCE},
    {"_RECENT_MIN": 2, "_RECENT_BALANCE": 1, "_DENSE_SPARE": 4},
    {"_RECENT_MIN": 0, "_RECENT_BALANCE": 0, "_DENSE_SPARE": 0},
]


def same_state(ours: NearDuplicates, oracle: DictNearDuplicates, signatures) -> None:
    assert len(ours) == len(oracle)
    assert [key in ours for key in KEYS] == [key in oracle for key in KEYS]
    for signature in signatures:
        assert ours.candidates(signature) == oracle.candidates(signature)


@settings(max_examples=300, deadline=None)
@given(st.lists(OPERATION, max_size=30), st.sampled_from(SIZES))
def test_any_sequence_of_operations_gives_the_oracles_candidates(operations, sizes):
    with pytest.MonkeyPatch.context() as patch:
        for name, value in sizes.items():
            patch.setattr(lsh, name, value)
        ours, oracle = NearDuplicates(THRESHOLD), DictNearDuplicates(THRESHOLD)
        seen = []
        for operation, argument in operations:
            if operation == "add":
                keys = [key for key, _ in argument]
                signatures = [banded(variants) for _, variants in argument]
                seen += signatures
                assert ours.add_many(keys, signatures) == oracle.add_many(keys, signatures)
            elif operation == "discard":
                ours.discard(argument)
                oracle.discard(argument)
            else:
                signature = banded(argument)
                assert ours.candidates(signature) == oracle.candidates(signature)
            assert len(ours) == len(oracle)
        same_state(ours, oracle, seen)


def test_batches_at_the_archives_scale_give_the_oracles_candidates():
    """Batches of 500 and a bulk load of 20,000 into an index of tens of thousands, with
    re-adds under other signatures, discards, and many shared bands (``sharing_signatures``);
    the recent part is merged into the base several times over."""
    rng = random.Random(20)
    generator = np.random.default_rng(20)
    ours, oracle = NearDuplicates(THRESHOLD), DictNearDuplicates(THRESHOLD)
    keys = list(range(1, 20_001))
    signatures = list(sharing_signatures(len(keys), generator))
    assert ours.add_many(keys, signatures) == oracle.add_many(keys, signatures)
    next_key = 20_001
    for _ in range(40):
        again = rng.sample(range(1, next_key), 50)
        new = list(range(next_key, next_key + 450))
        next_key += 450
        batch = list(sharing_signatures(500, generator))
        assert ours.add_many(again + new, batch) == oracle.add_many(again + new, batch)
        for key in rng.sample(range(1, next_key), 30):
            ours.discard(key)
            oracle.discard(key)
        signatures += batch
    assert len(ours) == len(oracle)
    for probe in rng.sample(signatures, 1000):
        assert ours.candidates(probe) == oracle.candidates(probe)
    assert sum(len(ours.candidates(probe)) - 1 for probe in signatures[:200]) > 1000  # shared


def test_a_key_twice_in_one_batch_is_refused():
    index = NearDuplicates(THRESHOLD)
    with pytest.raises(ValueError, match="distinct"):
        index.add_many([1, 1], [banded((0,) * BANDS)] * 2)
    assert index.add_many([], []) == []


def test_memory_per_key_stays_under_300_bytes():
    """The archive's every signature is in each process's index: 50,000 keys added as an
    import adds them (batches of 500) take less than 300 bytes each, as NumPy allocates them
    (tracemalloc counts NumPy's buffers); the dictionaries took about 1.2 KB."""
    generator = np.random.default_rng(1)
    signatures = generator.integers(0, 2**32, (50_000, NUM_PERM), dtype=np.uint32)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        index = NearDuplicates(THRESHOLD)
        for start in range(0, len(signatures), 500):
            index.add_many(list(range(start + 1, start + 501)), signatures[start : start + 500])
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(index) == 50_000
    assert held / len(index) < 300, held / len(index)
