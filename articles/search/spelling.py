"""Spelling edits shared by the backends' fuzzy terms and "did you mean" suggestions."""

from __future__ import annotations

import re
from collections.abc import Iterator

#: Words longer than this get no spelling edits (fuzzy, did you mean): no real word is.
MAX_EDIT_CHARS = 30
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def edits1(word: str) -> Iterator[str]:
    """Every string one deletion, swap, substitution or insertion away (Norvig's edits1)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    seen = {word}
    for left, right in splits:
        options = []
        if right:
            options.append(left + right[1:])
            options.extend(left + c + right[1:] for c in _LETTERS)
        if len(right) > 1:
            options.append(left + right[1] + right[0] + right[2:])
        options.extend(left + c + right for c in _LETTERS)
        for option in options:
            if option not in seen and option:
                seen.add(option)
                yield option


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (swaps count one), or ``limit + 1`` once past it."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def replace_word(text: str, word: str, replacement: str) -> str:
    """``text`` with every whole-word ``word`` (any case) replaced."""
    return re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", replacement, text, flags=re.IGNORECASE)
