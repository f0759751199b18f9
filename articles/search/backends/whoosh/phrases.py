"""Phrases: which candidate documents hold a phrase's words next to each other.

A phrase is first the AND of its terms' document sets (arrays, cheap); positions are then
decoded only for those candidates, rarest term first, and each segment's verified answer is
cached with the segment, since segments never change. This is where cold searches spend most
of their time, so the reading strategy depends on how common the terms are (see
``DENSE_PHRASE_RATIO``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .formats import PositionsBuilder
from .segments import Segment

if TYPE_CHECKING:
    from .snapshot import Snapshot

#: Phrase terms at most this many times as common as each other are read in one pass each
#: (postings and positions together); rarer first terms let the others skip blocks instead.
DENSE_PHRASE_RATIO = 32

# Phrase matching packs (document, position) into one int64: positions get 32 bits (a
# few-MB article has well under 2**31 words), plus slack so position - offset stays >= 0.
_POS_BITS = 32
_POS_SLACK = 1 << 30


def phrase_docs(snapshot: Snapshot, fieldname: str, tokens: list[tuple[str, int]]) -> np.ndarray:
    """Documents with the tokens at consecutive positions: candidates by AND, then verify.

    The AND of the terms' document sets is found with arrays; positions are decoded only
    for those candidates, rarest term first, dropping documents as soon as one fails.
    """
    unique = list(dict.fromkeys(t for t, _ in tokens))
    key_tokens = tuple(tokens)
    prefetched = _prefetch_dense_phrase(snapshot, fieldname, key_tokens, unique)
    sets = {t: snapshot.term(fieldname, t)[0] for t in unique}
    if any(not len(d) for d in sets.values()):
        return np.empty(0, np.int32)
    order = sorted(unique, key=lambda t: len(sets[t]))
    cand = sets[order[0]]
    for t in order[1:]:
        cand = np.intersect1d(cand, sets[t], assume_unique=True)
        if not len(cand):
            return cand.astype(np.int32)
    found: list[np.ndarray] = []
    unverified: list[tuple[Segment, int, np.ndarray]] = []
    for seg, offset in snapshot.parts:
        local = cand[(cand >= offset) & (cand < offset + seg.doccount)] - offset
        if not len(local):
            continue
        known = seg.cached_phrase(fieldname, key_tokens)
        if known is None:
            unverified.append((seg, offset, local))
        elif len(known):
            found.append(known[np.isin(known, local, assume_unique=True)] + offset)
    if unverified:
        found.append(_verify(fieldname, key_tokens, order, unverified, prefetched))
    return np.sort(np.concatenate(found)) if found else np.empty(0, np.int32)


def _prefetch_dense_phrase(
    snapshot: Snapshot, fieldname: str, tokens: tuple[tuple[str, int], ...], unique: list[str]
) -> dict[tuple[str, str], tuple[np.ndarray, list]]:
    """Every posting and position value of the phrase's terms, read in one pass per term
    and segment, when the terms are about as common as each other (then the candidates
    are in nearly every block of each term); otherwise nothing, and the rarer term's
    candidates decide which blocks of the others are read."""
    frequencies = [snapshot.doc_frequency(fieldname, t) for t in unique]
    if not min(frequencies) or max(frequencies) > DENSE_PHRASE_RATIO * min(frequencies):
        return {}
    return {
        (seg.segid, term): seg.read_whole(fieldname, term.encode("utf-8"))
        for seg, _ in snapshot.parts
        if seg.cached_phrase(fieldname, tokens) is None
        for term in unique
    }


def _verify(
    fieldname: str,
    tokens: tuple[tuple[str, int], ...],
    order: list[str],
    parts: list[tuple[Segment, int, np.ndarray]],
    prefetched: dict[tuple[str, str], tuple[np.ndarray, list]],
) -> np.ndarray:
    """Document numbers, among each segment's candidates, holding the tokens at their relative
    positions; each segment's answer is cached (segments never change).

    Each term's (document, position - offset in the phrase) pairs are packed into one integer
    and intersected with NumPy, rarest term first; a later term is only decoded for the
    documents still in the running. One decode per term over all segments at once: per
    segment, the fixed cost of the array work was most of a cold phrase at 40+ segments.
    """
    base = tokens[0][1]
    wanted = []
    for seg, _, local in parts:
        mask = np.zeros(seg.doccount, dtype=bool)
        mask[local] = True
        wanted.append(mask)
    alive: np.ndarray | None = None
    for term in order:
        found = PositionsBuilder()
        for (seg, offset, _), mask in zip(parts, wanted, strict=True):
            if mask.any():
                seg.add_positions(
                    fieldname,
                    term.encode("utf-8"),
                    mask,
                    offset,
                    found,
                    prefetched.get((seg.segid, term)),
                )
        docs, pos = found.arrays()
        # A term is at most once at a position, so each term's keys are already unique.
        term_keys = None
        for rel in {p - base for tok, p in tokens if tok == term}:
            k = (docs << _POS_BITS) | np.maximum(pos - rel + _POS_SLACK, 0)
            term_keys = k if term_keys is None else np.intersect1d(term_keys, k, True)
        alive = term_keys if alive is None else np.intersect1d(alive, term_keys, True)
        if not len(alive):
            break
        still = alive >> _POS_BITS
        for (seg, offset, _), mask in zip(parts, wanted, strict=True):
            mask[:] = False
            mask[still[(still >= offset) & (still < offset + seg.doccount)] - offset] = True
    result = (
        np.unique(alive >> _POS_BITS).astype(np.int32)
        if alive is not None and len(alive)
        else np.empty(0, np.int32)
    )
    for seg, offset, _ in parts:
        local = result[(result >= offset) & (result < offset + seg.doccount)] - offset
        seg.cache_phrase(fieldname, tokens, local)
    return result
