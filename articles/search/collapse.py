"""Folding story threads in ranked results: each thread shows once, as its best hit.

Shared by every backend: it works on the ranked ids a backend returns and on the thread of each
article (``Article.thread``, kept by ``articles.threads``). Django-free, like the rest of what
index sub-writers import: the caller reads the threads.

What the numbers mean when results are collapsed: a *story* is one thread (or an article
without other versions); the total and the pages count stories, while facet counts and the
date chart still count articles (every version), since each version has its own source,
section and date.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Story:
    """The best-ranked matching version of a thread, and the other matching versions in rank
    order (``folded``; empty for an article without versions among the matches)."""

    best: int
    thread: int | None = None
    folded: list[int] = field(default_factory=list)


def collapse(ranked: list[int], thread_of: dict[int, int]) -> list[Story]:
    """``ranked`` with every thread's later versions folded into its first (best) one.

    ``thread_of`` maps the ids that belong to a thread to its id; others stand alone.
    Linear in ``ranked``, one dictionary lookup per id.
    """
    stories: list[Story] = []
    first: dict[int, Story] = {}
    for pk in ranked:
        thread = thread_of.get(pk)
        if thread is None:
            stories.append(Story(pk))
            continue
        story = first.get(thread)
        if story is None:
            story = first[thread] = Story(pk, thread)
            stories.append(story)
        else:
            story.folded.append(pk)
    return stories
