"""Words to lexemes in Python, as the ``newsarchive`` text search configuration makes them.

Only highlighting uses this: snippets mark each word whose lexeme is one of the query's, and
asking PostgreSQL about every word of every snippet would cost a round trip each. PostgreSQL's
``english_stem`` is the Snowball English stemmer, which ``snowballstemmer`` implements too;
``unaccent`` is approximated by Unicode decomposition. Matching itself is always PostgreSQL's.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import snowballstemmer

_STEMMER = snowballstemmer.stemmer("english")
# Letters unaccent.rules folds to more than their base letter.
_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l"})


def fold(text: str) -> str:
    """Lower-cased, accents removed: Médecins -> medecins."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_SPECIAL))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def lexeme(word: str) -> str | None:
    """The lexeme a word of text becomes, None for nothing."""
    folded = fold(word).strip()
    if not folded:
        return None
    return _STEMMER.stemWord(folded)
