"""The near-duplicate module (shingles -> MinHash -> LSH), checked against exact Jaccard and
against datasketch itself (signatures, permutations, band parameters, candidates)."""

from __future__ import annotations

import random
import re
import zlib

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from articles import similarity
from articles.similarity import NearDuplicates, Signer, jaccard, shingles

STORY = (
    "Iranian Premier Reiterates Warning Of Retaliation. Iran's prime minister said on Sunday "
    "that his country would retaliate against any attack on its oil installations, repeating "
    "a warning given last week as tension rose over shipping in the Gulf and the United "
    "States moved more warships into the area to escort tankers."
)
OTHER = (
    "Cocoa prices fall in London. Cocoa futures ended lower in quiet trade as dealers waited "
    "for the buffer stock manager to resume purchases, and West African crop reports pointed "
    "to a larger harvest than expected earlier in the season."
)


@pytest.fixture
def signer() -> Signer:
    return Signer(shingle_words=3, max_words=300)


def test_identical_texts_have_identical_signatures(signer):
    assert similarity.similarity(signer.signature(STORY), signer.signature(STORY)) == 1.0


def test_case_and_punctuation_do_not_matter(signer):
    shouted = STORY.upper().replace(",", " ;")
    assert similarity.similarity(signer.signature(STORY), signer.signature(shouted)) == 1.0


def test_a_corrected_version_is_near_and_an_unrelated_story_far(signer):
    corrected = STORY.replace("last week", "last Tuesday")
    near = similarity.similarity(signer.signature(STORY), signer.signature(corrected))
    far = similarity.similarity(signer.signature(STORY), signer.signature(OTHER))
    assert near >= 0.7
    assert far <= 0.1


def test_a_text_without_words_has_no_signature(signer):
    assert signer.signature("") is None
    assert signer.signature(" -- !! ") is None


def test_short_texts_are_one_shingle(signer):
    assert shingles("Two words", 3) == {(b"two", b"words")}
    assert similarity.similarity(signer.signature("Two words"), signer.signature("two WORDS")) == 1


def test_only_the_first_max_words_count():
    signer = Signer(shingle_words=3, max_words=20)
    head = " ".join(f"w{i}" for i in range(20))
    a = signer.signature(head + " tail one two three four five")
    b = signer.signature(head + " something else entirely different here")
    assert similarity.similarity(a, b) == 1.0


def test_signatures_survive_the_database_round_trip(signer):
    signature = signer.signature(STORY)
    assert (signer.from_bytes(memoryview(similarity.to_bytes(signature))) == signature).all()
    assert signer.from_bytes(b"\x00" * 8) is None  # made with other settings
    assert signer.from_bytes(None) is None


def test_the_estimate_follows_exact_jaccard_on_random_texts(signer):
    """Brute-force oracle: on random pairs sharing a random part of their words, the MinHash
    estimate is within 0.2 of the exact Jaccard of the shingle sets (64 permutations: the
    standard error is at most 0.0625), and within 0.08 on average."""
    rng = random.Random(7)
    vocabulary = [f"word{i}" for i in range(400)]
    errors = []
    for _ in range(60):
        base = rng.choices(vocabulary, k=rng.randint(20, 120))
        other = list(base)
        for _ in range(rng.randint(0, len(base))):
            other[rng.randrange(len(other))] = rng.choice(vocabulary)
        a, b = " ".join(base), " ".join(other)
        exact = jaccard(shingles(a, 3), shingles(b, 3))
        estimate = similarity.similarity(signer.signature(a), signer.signature(b))
        errors.append(abs(exact - estimate))
        assert abs(exact - estimate) <= 0.2, (exact, estimate)
    assert sum(errors) / len(errors) <= 0.08


def test_lsh_finds_near_duplicates_and_not_unrelated_texts(signer):
    index = NearDuplicates(threshold=0.6)
    index.add(1, signer.signature(STORY))
    index.add(2, signer.signature(OTHER))
    assert index.candidates(signer.signature(STORY.replace("Sunday", "Monday"))) == {1}
    assert len(index) == 2
    index.add(1, signer.signature(OTHER))  # replaced, not added twice
    assert index.candidates(signer.signature(OTHER)) == {1, 2}
    index.discard(1)
    index.discard(1)
    assert index.candidates(signer.signature(OTHER)) == {2}
    assert 1 not in index


def test_components_join_chains_and_keep_singletons_apart():
    groups = similarity.components([1, 2, 3, 4, 5], [(1, 2), (2, 3), (5, 4)])
    assert sorted(sorted(g) for g in groups) == [[1, 2, 3], [4, 5]]
    assert sorted(sorted(g) for g in similarity.components([7], [])) == [[7]]


def random_texts(count: int, seed: int) -> list[str]:
    """Texts of 0-400 words from a small vocabulary, some sharing long runs of words."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(300)]
    texts = []
    for _ in range(count):
        if texts and rng.random() < 0.3:
            words = rng.choice(texts).split()
            words[rng.randrange(len(words) or 1) :] = rng.choices(vocabulary, k=rng.randint(0, 40))
        else:
            words = rng.choices(vocabulary, k=rng.randint(0, 400))
        texts.append(" ".join(words))
    return texts


def test_batch_signatures_are_datasketchs_minhash(signer):
    """The vectorised signatures equal datasketch's own ``MinHash.update_batch`` over the
    same shingle hashes (the oracle), text by text, whatever the batch around them."""
    texts = random_texts(80, seed=3)
    for text, signature in zip(texts, signer.signatures(texts), strict=True):
        tokens = similarity.words(text, signer.max_words)
        if not tokens:
            assert signature is None
            continue
        oracle = MinHash(num_perm=similarity.NUM_PERM, seed=similarity.SEED, hashfunc=int,
                         scheme=similarity.SCHEME)  # fmt: skip
        oracle.update_batch(similarity.shingle_hashes(tokens, 3).tolist())
        assert np.array_equal(oracle.hashvalues, signature)
        assert np.array_equal(signer.signature(text), signature)


def test_lsh_candidates_are_datasketchs(signer):
    """The bands give exactly the candidates of datasketch's ``MinHashLSH`` with the same
    parameters, on texts with many near pairs."""
    texts = random_texts(120, seed=5)
    ours = NearDuplicates(threshold=0.6)
    theirs = MinHashLSH(threshold=0.6, num_perm=similarity.NUM_PERM, weights=similarity.LSH_WEIGHTS)
    signatures = signer.signatures(texts)
    for key, signature in enumerate(signatures):
        if signature is None:
            continue
        ours.add(key, signature)
        minhash = MinHash(num_perm=similarity.NUM_PERM, seed=similarity.SEED,
                          hashvalues=signature, scheme=similarity.SCHEME)  # fmt: skip
        theirs.insert(key, minhash)
    pairs = 0
    for signature in signatures:
        if signature is None:
            continue
        minhash = MinHash(num_perm=similarity.NUM_PERM, seed=similarity.SEED,
                          hashvalues=signature, scheme=similarity.SCHEME)  # fmt: skip
        found = ours.candidates(signature)
        assert found == set(theirs.query(minhash))
        pairs += len(found) - 1
    assert pairs > 10  # the texts did share runs


def test_words_of_other_alphabets_count(signer):
    assert similarity.words("Ελλάδα και Κύπρος") == [
        w.encode() for w in ("ελλάδα", "και", "κύπρος")
    ]
    assert signer.signature("مرحبا بالعالم") is not None


def test_permutations_are_datasketchs():
    a, b = similarity.permutations(similarity.NUM_PERM, similarity.SEED)
    reference = MinHash(num_perm=similarity.NUM_PERM, seed=similarity.SEED, scheme="affine32")
    assert np.array_equal(reference.permutations[0], a)
    assert np.array_equal(reference.permutations[1], b)


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.6, 0.7, 0.8, 0.9])
def test_band_parameters_are_datasketchs(threshold):
    reference = MinHashLSH(threshold=threshold, num_perm=64, weights=similarity.LSH_WEIGHTS)
    assert similarity.bands_for(threshold, 64) == (reference.b, reference.r)


def test_exact_similarity_is_jaccard_of_the_shingles(signer):
    for a, b in zip(random_texts(40, seed=9), random_texts(40, seed=11), strict=True):
        oracle = jaccard(shingles(a, 3, 300), shingles(b, 3, 300))
        found = similarity.exact_similarity(signer.shingle_set(a), signer.shingle_set(b))
        assert found == pytest.approx(oracle, abs=0.02)  # only hash collisions may differ


#: The word rule as a regular expression: the oracle for the byte table ``words`` uses.
WORD_PATTERN = re.compile(rb"(?:\w|[\x80-\xff])+")


def awkward_texts(count: int, seed: int) -> list[str]:
    """Texts of 0-40 words, many shorter than a shingle, with punctuation, digits,
    underscores, accents and other alphabets, and words glued by odd characters."""
    rng = random.Random(seed)
    pieces = [
        *("Oil", "prices", "ROSE", "1.5", "pct", "U.S.", "snake_case", "café", "Ελλάδα"),
        *("東京", "—", "'s", "\t", "\r\n", "x", "", "!!", "a-b", "\x00", "naïve", "Ñ"),
    ]
    texts = []
    for _ in range(count):
        size = rng.choice([0, 1, 2, 3, 4, rng.randint(5, 40)])
        texts.append("".join(rng.choice(pieces) + rng.choice(" ,.;:\n") for _ in range(size)))
    return texts


def test_words_are_the_runs_the_word_pattern_finds():
    """``words`` splits on a byte table; the regular expression is the independent oracle."""
    for text in awkward_texts(300, seed=1) + random_texts(40, seed=2):
        found = WORD_PATTERN.findall(text.lower().encode())
        assert similarity.words(text) == found
        assert similarity.words(text, 7) == found[:7]


def combined_by_hand(tokens: list[bytes], size: int) -> list[int]:
    """Each run's hash in plain Python integers: the CRC-32 of each word, the first times
    0x9E3779B1, each next one XORed in and multiplied by 0x85EBCA77, modulo 2**32."""
    runs = [tokens[i : i + size] for i in range(len(tokens) - size + 1)] or (
        [tokens] if tokens else []
    )
    out = []
    for run in runs:
        value = zlib.crc32(run[0]) * 0x9E3779B1 % 2**32
        for token in run[1:]:
            value = (value ^ zlib.crc32(token)) * 0x85EBCA77 % 2**32
        out.append(value)
    return out


def test_shingle_hashes_match_a_plain_python_computation():
    for text in awkward_texts(200, seed=3):
        tokens = similarity.words(text)
        assert similarity.shingle_hashes(tokens, 3).tolist() == combined_by_hand(tokens, 3)


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_a_batchs_shingle_hashes_are_each_texts_own(size):
    """The batch computation (one pass over every text's words) gives, text by text, the
    hashes of the straightforward per-text one, whatever texts surround it: empty ones,
    ones shorter than a shingle, ones cut at ``max_words``."""
    texts = awkward_texts(150, seed=size) + random_texts(30, seed=size)
    random.Random(size).shuffle(texts)
    for max_words in (None, 12):
        hashes, counts = similarity.batch_shingle_hashes(texts, size, max_words)
        assert counts.sum() == len(hashes)
        pieces = np.split(hashes, np.cumsum(counts)[:-1])
        for text, piece in zip(texts, pieces, strict=True):
            expected = combined_by_hand(similarity.words(text, max_words), size)
            assert piece.tolist() == expected, text


def test_batch_signatures_equal_one_text_at_a_time(signer):
    texts = awkward_texts(120, seed=8) + random_texts(40, seed=8)
    together = signer.signatures(texts)
    for text, signature in zip(texts, together, strict=True):
        alone = signer.signature(text)
        assert (alone is None and signature is None) or np.array_equal(alone, signature)
    assert signer.signatures([]) == []


def test_a_batch_gets_the_candidates_each_key_finds_once_all_are_in(signer):
    """``add_many`` gathers candidates while it inserts; the oracle asks the finished index
    for each key's (``candidates``), here with keys re-added under other signatures, whose
    old bands must match nobody."""
    texts = random_texts(160, seed=12)
    signatures = [s for s in signer.signatures(texts) if s is not None]
    index = NearDuplicates(threshold=0.6)
    index.add_many(list(range(80)), signatures[:80])
    rng = random.Random(12)
    keys = rng.sample(range(40), 20) + list(range(80, 80 + len(signatures) - 80))
    batch = [
        signatures[(key * 7) % len(signatures)] if key < 80 else signatures[key] for key in keys
    ]
    found = index.add_many(keys, batch)
    for key, signature, candidates in zip(keys, batch, found, strict=True):
        assert candidates == index.candidates(signature) - {key}
    assert sum(map(len, found)) > 20  # the texts did share runs
