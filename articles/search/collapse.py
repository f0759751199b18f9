"""Folding story threads in ranked results: each thread shows once, as its best hit.

Shared by every backend: it works on the ranked ids a backend returns and on the thread of each
article (``Article.thread``, kept by ``articles.threads``). The models are imported inside the
functions that read them: the search package must import without Django's app registry (index
sub-writers started with spawn import it).

What the numbers mean when results are collapsed: a *story* is one thread (or an article
without other versions); the total and the pages count stories, while facet counts and the
date chart still count articles (every version), since each version has its own source,
section and date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import Hit


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


def threads_of_versions() -> dict[int, int]:
    """Article id -> thread id, for every article that has other versions."""
    from articles.models import Article

    # No ordering: the model's newest-first ordering would make SQLite walk the whole table
    # by date instead of seeking the (mostly empty) thread index, on every search.
    rows = Article.objects.filter(thread__isnull=False).order_by()
    return dict(rows.values_list("pk", "thread"))


def add_versions(hits: list[Hit], stories: list[Story]) -> None:
    """Each hit's folded versions, read in one query (title, source, date and link)."""
    from . import Version

    by_best = {story.best: story for story in stories}
    folded = [pk for story in stories for pk in story.folded]
    if not folded:
        return
    from articles.models import Article

    rows = Article.objects.filter(pk__in=folded).select_related("source")
    found = {a.pk: a for a in rows.only("id", "title", "slug", "published", "source__name")}
    for hit in hits:
        story = by_best.get(hit.id)
        for pk in story.folded if story else ():
            article = found.get(pk)
            if article is not None:
                hit.versions.append(
                    Version(
                        id=pk,
                        title=article.title,
                        url=article.get_absolute_url(),
                        source=article.source.name if article.source_id else "",
                        published=article.published,
                    )
                )
