"""The near-duplicate module (shingles -> MinHash -> LSH), checked against exact Jaccard and
against datasketch itself (signatures, permutations, band parameters, candidates)."""

from __future__ import annotations

import random

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
