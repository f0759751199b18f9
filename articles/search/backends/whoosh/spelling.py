"""Spelling: fuzzy terms (``presdent~``) and "Did you mean" for words the index lacks.

The index holds stems, not words, so both work the same way: edits of the typed, folded word
are stemmed and looked up, and the candidates are ranked by how common they are (estimated
from the biggest segments: ranking needs no exact count). Both are bounded, because a long
word has thousands of edits.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from ... import query as q
from ...spelling import MAX_EDIT_CHARS, edits1, replace_word
from .schema import analyze, fold

if TYPE_CHECKING:
    from .snapshot import Snapshot

#: Most stems a fuzzy term expands to (per query word).
MAX_FUZZY_TERMS = 16
#: A word is thought misspelt when no article has it and an edit of it is common.
SUGGEST_MAX_DF = 0
SUGGEST_BELOW_TOTAL = 10


def expand_fuzzy(
    snapshot: Snapshot, text: str, maxdist: int, fieldnames: tuple[str, ...] = q.TEXT_FIELDS
) -> list[str]:
    """Stems of words within ``maxdist`` edits, as the searched fields know them; bounded.

    The index holds stems, so edits of the typed word are stemmed and looked up
    (``presdent`` -> ``president`` -> ``presid``), and stems close to the typed word's
    own stem are added from the term dictionary. Every searched field's vocabulary counts:
    a word only titles hold (``habour~`` for a "Harbour" headline) must be found too.
    """
    folded = fold(text)
    key = ("fuzzy", folded, maxdist, fieldnames)
    hit = snapshot.terms.get(key)
    if hit is not None:
        return hit
    found: dict[str, int] = {}
    for stem in analyze(folded):
        found[stem] = sum(snapshot.doc_frequency(f, stem) for f in fieldnames)
    if len(folded) > MAX_EDIT_CHARS:  # no real word is this long; edits would be costly
        snapshot.terms.put(key, list(found))
        return list(found)
    stems = {stem for candidate in edits1(folded) for stem in analyze(candidate)}
    if snapshot.biggest:
        # Stems near the typed word's own stem, from the biggest segment's dictionary
        # (Whoosh's automaton is fast on one segment, slow across many).
        biggest = snapshot.biggest[0]
        for stem in analyze(folded)[:1]:
            for fieldname in fieldnames:
                stems.update(biggest.terms_within(fieldname, stem, maxdist))
    for stem in stems - found.keys():
        df = sum(snapshot.probe_frequency(f, stem) for f in fieldnames)
        if df:
            found[stem] = df
    words = heapq.nlargest(MAX_FUZZY_TERMS, (w for w in found if found[w]), key=found.get)
    snapshot.terms.put(key, words)
    return words


def suggest(snapshot: Snapshot, parsed: q.ParsedQuery, total: int) -> str | None:
    """A corrected query when a word is (nearly) unknown and an edit of it is common."""
    if total >= SUGGEST_BELOW_TOTAL:
        return None
    text = parsed.text
    changed = False
    for word in dict.fromkeys(q.positive_words(parsed.node)):
        stems = analyze(word)
        if len(stems) != 1 or not word.isalpha() or not 4 <= len(word) <= MAX_EDIT_CHARS:
            continue
        df = snapshot.doc_frequency("body", stems[0]) + snapshot.doc_frequency("title", stems[0])
        if df > SUGGEST_MAX_DF:
            continue
        best, best_df = None, max(df * 10, 3)
        folded = fold(word)
        by_stem: dict[str, str] = {}
        for candidate in edits1(folded):
            cand_stems = analyze(candidate)
            if len(cand_stems) == 1:
                by_stem.setdefault(cand_stems[0], candidate)
        for stem, candidate in by_stem.items():
            cdf = snapshot.probe_frequency("body", stem)
            if cdf > best_df:
                best, best_df = candidate, cdf
        if best:
            text = replace_word(text, word, best)
            changed = True
    return text if changed else None
