"""What changed between two versions of a text, word by word, for the article page. No Django.

Words are compared as whitespace-separated tokens (``difflib``), so a corrected figure or a
re-worded sentence shows as one deletion and one insertion, not as changed lines. Long runs of
unchanged words are shortened to their ends, so a one-word correction in a long report reads
as a short excerpt. The segments are plain text: the template escapes them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

#: Unchanged words kept on each side of a change; longer runs are cut to "…" in between.
CONTEXT_WORDS = 8


@dataclass(frozen=True)
class Segment:
    """A run of words: ``kind`` is "same", "del" (only in the first text) or "ins" (only in
    the second), or "gap" for unchanged words left out."""

    kind: str
    text: str


def word_diff(old: str, new: str, context: int = CONTEXT_WORDS) -> list[Segment]:
    """The changes from ``old`` to ``new``; an empty list when the words are the same."""
    a, b = old.split(), new.split()
    if a == b:
        return []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    opcodes = matcher.get_opcodes()
    segments: list[Segment] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            segments += _shortened(a[i1:i2], context, index == 0, index == len(opcodes) - 1)
            continue
        if tag in ("replace", "delete"):
            segments.append(Segment("del", " ".join(a[i1:i2])))
        if tag in ("replace", "insert"):
            segments.append(Segment("ins", " ".join(b[j1:j2])))
    return segments


def _shortened(words: list[str], context: int, first: bool, last: bool) -> list[Segment]:
    """An unchanged run: whole when short, else only the words next to the changes."""
    head = 0 if first else context
    tail = 0 if last else context
    if len(words) <= head + tail + 1:
        return [Segment("same", " ".join(words))]
    parts = []
    if head:
        parts.append(Segment("same", " ".join(words[:head])))
    parts.append(Segment("gap", "…"))
    if tail:
        parts.append(Segment("same", " ".join(words[-tail:])))
    return parts
