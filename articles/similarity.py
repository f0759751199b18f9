"""Near-duplicate texts for story threads: word shingles -> MinHash -> LSH. No Django.

The method is datasketch's (``MinHash`` with its ``affine32`` permutations, ``MinHashLSH``'s
banding), written here in NumPy over a whole batch: datasketch builds Python objects per text
and per query, and importing it (SciPy) costs 0.6 s of CPU per process, which together came to
more than the import may spend on threads. The tests hold this module to datasketch itself
(a dev dependency): the same signatures, the same band parameters, the same candidates.

Wire copy is re-sent with corrections and reprinted by other outlets; comparing every new
article with every stored one would cost O(N) per article. Instead each text becomes a small
MinHash signature (the minimum of ``num_perm`` hash permutations over its set of k-word
shingles: two signatures agree in a fraction of places that estimates the Jaccard similarity of
the two sets), and ``NearDuplicates`` (datasketch's ``MinHashLSH``: signatures cut in bands,
each band hashed) turns "which stored texts are at least this similar?" into a few
sorted-array lookups. Candidates from the bands are then checked against the threshold on the
signatures themselves, so a chance band collision never joins two stories.

Only the first ``max_words`` words are read: versions of a story share their opening, and the
cap keeps the cost per article flat (the import must stay within 10% of its speed). For the
same reason a batch is signed together: each text's words are cut out in C (``words``), then
the whole batch's words are hashed in one pass, its shingles combined in one pass and its
MinHash taken one permutation at a time over every shingle at once; the values are those of
the one-text functions (``shingle_hashes``), which the tests compare, so stored signatures stay
comparable.
"""

from __future__ import annotations

import string
import zlib
from collections.abc import Iterable
from itertools import chain

import numpy as np

from articles.lsh import BandIndex

#: datasketch's permutation scheme: 32-bit hash values, so a signature is 4 bytes a place.
SCHEME = "affine32"
#: Fixed, so signatures stored by one process compare with those of any other.
SEED = 20
DTYPE = np.uint32
NUM_PERM = 64
#: How datasketch weighs missed pairs against chance candidates when it cuts signatures into
#: bands: candidates are checked on their signatures anyway, so a miss costs more. With 64
#: permutations and a threshold of 0.7 this gives 12 bands of 5: a pair at 0.7 is a candidate
#: 89% of the time, at 0.8 99%.
LSH_WEIGHTS = (0.1, 0.9)

#: A word: a run of ASCII letters, digits and underscores, or of any non-ASCII bytes (the
#: letters of other alphabets in UTF-8). Texts are read as bytes, so each word's CRC-32 is
#: one C call with no Python in between.
_WORD_BYTES = frozenset(string.ascii_letters.encode() + string.digits.encode() + b"_") | set(
    range(0x80, 0x100)
)
#: Every byte that is not a word byte becomes a space, so ``bytes.split`` cuts the words out
#: (in C, twice as fast as a regular expression finding them; a test holds it to one).
_SPACE_OUT = bytes(b if b in _WORD_BYTES else 0x20 for b in range(256))
#: Roughly how many characters hold ``max_words`` words; only that much text is tokenised.
_CHARS_PER_WORD = 12


def words(text: str, max_words: int | None = None) -> list[bytes]:
    """The text's words, lower-cased, as UTF-8, at most ``max_words`` of them."""
    if max_words is None:
        return text.lower().encode().translate(_SPACE_OUT).split()
    cut = text[: max_words * _CHARS_PER_WORD].lower().encode().translate(_SPACE_OUT)
    return cut.split(None, max_words)[:max_words]


#: How a run's word hashes are combined into the run's hash: the first times ``_FIRST``,
#: then each next one XORed in and the whole multiplied by ``_NEXT`` (modulo 2**32).
_FIRST, _NEXT = DTYPE(0x9E3779B1), DTYPE(0x85EBCA77)


def shingle_hashes(tokens: list[bytes], size: int) -> np.ndarray:
    """One 32-bit hash per run of ``size`` consecutive words (the whole text when shorter):
    each word's CRC-32, combined in NumPy rather than hashing each joined run: the same set of
    runs gives the same set of hashes, at a fraction of the cost. (One text; ``Signer``
    computes a whole batch with ``batch_shingle_hashes``, and tests hold the two together.)"""
    hashes = np.fromiter(map(zlib.crc32, tokens), dtype=DTYPE, count=len(tokens))
    return _runs(hashes, size)


def _runs(hashes: np.ndarray, size: int) -> np.ndarray:
    """The combined hash of each run of ``size`` consecutive word hashes of one text (of the
    whole text, once, when it is shorter)."""
    runs = len(hashes) - size + 1
    if runs <= 0:
        runs, size = min(len(hashes), 1), len(hashes)
    if runs == 0:
        return hashes
    combined = hashes[:runs] * _FIRST
    for offset in range(1, size):
        combined = (combined ^ hashes[offset : runs + offset]) * _NEXT
    return combined


def batch_word_hashes(texts: list[str], max_words: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The CRC-32 of each of ``words(text, max_words)`` of every text, concatenated, and how
    many each text has: one pass of ``zlib.crc32`` over the whole batch's words."""
    tokens = [words(text, max_words) for text in texts]
    counts = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    every = list(chain.from_iterable(tokens))
    return np.fromiter(map(zlib.crc32, every), dtype=DTYPE, count=len(every)), counts


def batch_shingle_hashes(
    texts: list[str], size: int, max_words: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """``shingle_hashes`` of every text, concatenated in text order, and how many each text
    has (0 for a text without words): the same values, with the runs of every text combined
    in one pass over the batch's word hashes (in place: an import's process holds many
    objects, and fresh large arrays there cost more than the arithmetic)."""
    hashes, counts = batch_word_hashes(texts, max_words)
    combined = hashes * _FIRST
    for offset in range(1, size):
        # Runs that cross into the next text (or past the end) are dropped below.
        combined[:-offset] ^= hashes[offset:]
        combined *= _NEXT
    ends = np.cumsum(counts)
    keep = np.ones(len(hashes), dtype=bool)
    keep[(ends[counts >= size, None] - np.arange(1, size)).ravel()] = False
    for text in np.flatnonzero((counts > 0) & (counts < size)).tolist():
        first = int(ends[text] - counts[text])  # a short text: its one run, the whole text
        combined[first] = _runs(hashes[first : ends[text]], size)[0]
        keep[first + 1 : ends[text]] = False
    per_text = np.where(counts >= size, counts - size + 1, np.minimum(counts, 1))
    return combined[keep], per_text


def shingles(text: str, size: int, max_words: int | None = None) -> set[tuple[bytes, ...]]:
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


def fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, which datasketch's ``affine32`` scheme applies to every
    input hash before the permutations (tests check the signatures against datasketch's)."""
    values = values ^ (values >> DTYPE(16))
    values = values * DTYPE(0x85EBCA6B)
    values = values ^ (values >> DTYPE(13))
    values = values * DTYPE(0xC2B2AE35)
    return values ^ (values >> DTYPE(16))


class Signer:
    """Turns texts into MinHash signatures with datasketch's permutations (seed ``SEED``).

    ``signatures`` computes a whole batch in a few NumPy operations: the same values as
    datasketch's ``MinHash.update_batch`` (``fmix32`` then ``a * h + b`` modulo 2**32, the
    minimum per permutation), without a Python object and a call per article, which cost more
    than the rest of an import's work on an article.
    """

    def __init__(
        self, shingle_words: int = 3, max_words: int | None = 300, num_perm: int = NUM_PERM
    ) -> None:
        self.shingle_words = shingle_words
        self.max_words = max_words
        self.num_perm = num_perm
        self._a, self._b = permutations(num_perm, SEED)

    def signature(self, text: str) -> np.ndarray | None:
        """The text's signature (``num_perm`` uint32), or None for a text without words,
        which is a version of nothing."""
        return self.signatures([text])[0]

    def signatures(self, texts: list[str]) -> list[np.ndarray | None]:
        """``signature`` of each text, computed together."""
        if not texts:
            return []
        shingled, sizes = batch_shingle_hashes(texts, self.shingle_words, self.max_words)
        if not sizes.any():
            return [None] * len(texts)
        hashed = fmix32(shingled)
        nonempty = sizes > 0
        starts = (np.cumsum(sizes) - sizes)[nonempty]
        # One permutation at a time over the whole batch, into the same buffer: a matrix of
        # every permutation of every hash (16 MB for 500 articles) cost more to allocate in an
        # import's process than to compute.
        minima = np.empty((len(starts), self.num_perm), dtype=DTYPE)
        permuted = np.empty_like(hashed)
        for row, (a, b) in enumerate(zip(self._a, self._b, strict=True)):
            np.multiply(hashed, a, out=permuted)
            permuted += b
            minima[:, row] = np.minimum.reduceat(permuted, starts)
        out: list[np.ndarray | None] = [None] * len(texts)
        for row, index in enumerate(np.flatnonzero(nonempty)):
            out[index] = minima[row]
        return out

    def shingle_set(self, text: str) -> np.ndarray:
        """The text's distinct shingle hashes, sorted: what ``exact_similarity`` compares."""
        return np.unique(shingle_hashes(words(text, self.max_words), self.shingle_words))

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


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's ``affine32`` permutations for this seed: ``h -> a * h + b`` modulo 2**32,
    ``a`` odd (so each is a bijection), drawn as ``MinHash(seed=seed).permutations`` draws
    them (a test compares the two)."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=DTYPE) * DTYPE(2) + DTYPE(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=DTYPE)
    return a, b


def exact_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The Jaccard similarity of two ``shingle_set``s: the check behind a thread's every
    pair, since a 64-value estimate is off by 0.06 (one standard deviation) and short
    templated texts sit near any threshold."""
    if not len(a) and not len(b):
        return 1.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared)


#: How far below the threshold a signature's estimate may be and still be checked exactly.
ESTIMATE_MARGIN = 0.2


def bands_for(
    threshold: float, num_perm: int = NUM_PERM, weights: tuple[float, float] = LSH_WEIGHTS
) -> tuple[int, int]:
    """How many bands of how many rows, chosen as datasketch's ``MinHashLSH`` chooses them:
    the split that minimises the weighted areas of chance candidates below the threshold and
    of missed pairs above it (integrated here with NumPy rather than SciPy; a test compares
    the choices)."""
    below = np.linspace(0.0, threshold, 1001)
    above = np.linspace(threshold, 1.0, 1001)
    best, choice = float("inf"), (1, 1)
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            chance = np.trapezoid(1 - (1 - below**rows) ** bands, below)
            missed = np.trapezoid((1 - above**rows) ** bands, above)
            error = chance * weights[0] + missed * weights[1]
            if error < best:
                best, choice = error, (bands, rows)
    return choice


#: Signatures turned into band hashes at a time: a bulk load of every stored signature would
#: otherwise widen them all to 64 bits at once (512 MB for 1,000,000 articles).
_BAND_CHUNK = 1 << 16


class NearDuplicates:
    """An LSH index of signatures: which stored keys may be at least ``threshold`` similar.

    The banding of datasketch's ``MinHashLSH`` (its parameters, ``bands_for``): its ``insert``
    and ``query`` build a MinHash object per call, which at import speed was most of the cost.
    Each signature is cut into bands here and each band hashed; ``lsh.BandIndex`` keeps the
    hashes compactly (every process holds the whole archive's). Tests check the candidates
    against ``MinHashLSH.query`` and against the plain dictionaries this index used to be.
    Keys can be added again (the old signature is replaced) and discarded; ``candidates`` may
    include keys below the threshold (callers check with ``similarity``) and misses few above
    it.
    """

    def __init__(self, threshold: float, num_perm: int = NUM_PERM) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = bands_for(threshold, num_perm)
        self._index = BandIndex(self.bands)

    def __contains__(self, key: int) -> bool:
        return key in self._index

    def __len__(self) -> int:
        return len(self._index)

    def band_keys(self, signatures: np.ndarray) -> list[list[int]]:
        """``band_hashes`` as Python ints."""
        return self.band_hashes(signatures).tolist()

    def band_hashes(self, signatures: np.ndarray | list[np.ndarray]) -> np.ndarray:
        """For each signature (a row), one 64-bit hash per band of ``rows`` values: datasketch
        keys a band by its bytes; a hash collision here only adds a candidate, which the
        caller's check drops. A few NumPy passes for a whole batch."""
        out = np.empty((len(signatures), self.bands), dtype=np.uint64)
        for start in range(0, len(signatures), _BAND_CHUNK):
            values = np.asarray(signatures[start : start + _BAND_CHUNK], dtype=np.uint64)
            values = values.reshape(len(values), -1)[:, : self.bands * self.rows]
            bands = values.reshape(len(values), self.bands, self.rows)
            key = np.zeros((len(values), self.bands), dtype=np.uint64)
            for column in range(self.rows):
                key = (key ^ bands[:, :, column]) * np.uint64(0x100000001B3)
            out[start : start + len(values)] = key ^ (key >> np.uint64(29))
        return out

    def add(self, key: int, signature: np.ndarray) -> None:
        self.add_many([key], [signature])

    def add_many(self, keys: list[int], signatures: list[np.ndarray]) -> list[set[int]]:
        """Add (or replace) these distinct keys; returns each one's candidates, the others just
        added included and itself left out (the old entries of replaced keys go first, so
        none of them is anyone's candidate)."""
        if not keys:
            return []
        return self._index.add_many(keys, self.band_hashes(signatures))

    def discard(self, key: int) -> None:
        self._index.discard(key)

    def candidates(self, signature: np.ndarray) -> set[int]:
        return self._index.candidates(self.band_hashes(signature[None, :]))


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
