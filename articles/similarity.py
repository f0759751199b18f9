"""Near-duplicate texts for story threads: word shingles -> MinHash -> LSH. No Django.

Wire copy is re-sent with corrections and reprinted by other outlets; comparing every new
article with every stored one would cost O(N) per article. Instead each text becomes a small
MinHash signature (the minimum of ``num_perm`` hash permutations over its set of k-word
shingles: two signatures agree in a fraction of places that estimates the Jaccard similarity of
the two sets), and ``NearDuplicates`` (datasketch's ``MinHashLSH``: signatures cut in bands,
each band a hash-table key) turns "which stored texts are at least this similar?" into a few
dictionary lookups. Candidates from the bands are then checked against the threshold on the
signatures themselves, so a chance band collision never joins two stories.

Only the first ``max_words`` words are read: versions of a story share their opening, and the
cap keeps the cost per article flat (the import must stay within 10% of its speed).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Hashable, Iterable

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

#: datasketch's permutation scheme: 32-bit hash values, so a signature is 4 bytes a place.
SCHEME = "affine32"
#: Fixed, so signatures stored by one process compare with those of any other.
SEED = 20
DTYPE = np.uint32
NUM_PERM = 64
#: How datasketch weighs missed pairs against chance candidates when it cuts signatures into
#: bands: candidates are checked on their signatures anyway, so a miss costs more. With 64
#: permutations this gives 16 bands of 4: a pair at 0.7 is a candidate 99% of the time.
LSH_WEIGHTS = (0.1, 0.9)

_WORD = re.compile(r"\w+")
#: Roughly how many characters hold ``max_words`` words; only that much text is tokenised.
_CHARS_PER_WORD = 12


class _WordHashes(dict):
    """A word's stable 32-bit hash (CRC-32 of its UTF-8), computed once per process."""

    def __missing__(self, word: str) -> int:
        value = self[word] = zlib.crc32(word.encode())
        return value


_word_hashes = _WordHashes()


def words(text: str, max_words: int | None = None) -> list[str]:
    """The text's words, lower-cased (``\\w+``), at most ``max_words`` of them."""
    if max_words is not None:
        text = text[: max_words * _CHARS_PER_WORD]
    found = _WORD.findall(text.lower())
    return found[:max_words] if max_words is not None else found


def shingle_hashes(tokens: list[str], size: int) -> np.ndarray:
    """One 32-bit hash per run of ``size`` consecutive words (the whole text when shorter).

    Word hashes are combined in NumPy rather than hashing each joined run as a string: the
    same set of runs gives the same set of hashes, at a fraction of the cost.
    """
    hashes = np.array([_word_hashes[w] for w in tokens], dtype=DTYPE)
    runs = len(hashes) - size + 1
    if runs <= 0:
        runs, size = min(len(hashes), 1), len(hashes)
    if runs == 0:
        return hashes
    combined = hashes[:runs] * DTYPE(0x9E3779B1)
    for offset in range(1, size):
        combined = (combined ^ hashes[offset : runs + offset]) * DTYPE(0x85EBCA77)
    return combined


def shingles(text: str, size: int, max_words: int | None = None) -> set[tuple[str, ...]]:
    """The shingles themselves, as word tuples: the exact set a signature estimates (tests
    compare ``jaccard`` of these with the signatures' estimate)."""
    tokens = words(text, max_words)
    if len(tokens) < size:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def jaccard(a: set, b: set) -> float:
    """The exact Jaccard similarity of two sets (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class Signer:
    """Turns texts into MinHash signatures with one fixed set of permutations."""

    def __init__(
        self, shingle_words: int = 3, max_words: int | None = 300, num_perm: int = NUM_PERM
    ) -> None:
        self.shingle_words = shingle_words
        self.max_words = max_words
        self.num_perm = num_perm
        self._permutations = MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME).permutations

    def signature(self, text: str) -> np.ndarray | None:
        """The text's signature (``num_perm`` uint32), or None for a text without words,
        which is a version of nothing."""
        tokens = words(text, self.max_words)
        if not tokens:
            return None
        minhash = MinHash(
            num_perm=self.num_perm,
            seed=SEED,
            scheme=SCHEME,
            permutations=self._permutations,
            hashfunc=int,
        )
        minhash.update_batch(shingle_hashes(tokens, self.shingle_words).tolist())
        return minhash.hashvalues

    def from_bytes(self, data: bytes | memoryview | None) -> np.ndarray | None:
        """A stored signature back as an array; None for none or one of another size (made
        with other settings: it will be signed again)."""
        if data is None:
            return None
        values = np.frombuffer(bytes(data), dtype=DTYPE)
        return values if len(values) == self.num_perm else None


def to_bytes(signature: np.ndarray) -> bytes:
    """A signature as stored in the database (4 bytes per permutation)."""
    return np.asarray(signature, dtype=DTYPE).tobytes()


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The estimated Jaccard similarity of two signatures: the share of places they agree."""
    return float(np.count_nonzero(a == b)) / len(a)


class NearDuplicates:
    """An LSH index of signatures: which stored keys may be at least ``threshold`` similar.

    Keys can be added again (the old signature is replaced) and discarded; ``candidates`` may
    include keys below the threshold (callers check with ``similarity``) and, with the chosen
    bands, misses few above it.
    """

    def __init__(self, threshold: float, num_perm: int = NUM_PERM) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=LSH_WEIGHTS)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._lsh

    def __len__(self) -> int:
        return len(self._lsh.keys)

    def add(self, key: Hashable, signature: np.ndarray) -> None:
        self.discard(key)
        self._lsh.insert(key, self._minhash(signature), check_duplication=False)

    def discard(self, key: Hashable) -> None:
        if key in self._lsh:
            self._lsh.remove(key)

    def candidates(self, signature: np.ndarray) -> list[Hashable]:
        return self._lsh.query(self._minhash(signature))

    def _minhash(self, signature: np.ndarray) -> LeanMinHash:
        return LeanMinHash(seed=SEED, hashvalues=signature, scheme=SCHEME)


def components(nodes: Iterable[int], edges: Iterable[tuple[int, int]]) -> list[set[int]]:
    """The connected components of an undirected graph (union-find): a thread is every
    article reachable through pairs of similar versions."""
    parent = {node: node for node in nodes}

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, set[int]] = {}
    for node in parent:
        groups.setdefault(root(node), set()).add(node)
    return list(groups.values())
