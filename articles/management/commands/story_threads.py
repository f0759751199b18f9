"""`manage.py story_threads`: the largest story threads (re-sends, corrections, reprints)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from articles import threads


class Command(BaseCommand):
    help = (
        "List the story threads with the most versions: each thread's size and its articles "
        "(id, time, source, title). --rebuild signs every article again and regroups them "
        "(after changing NEWSARCHIVE_THREAD_* or on an archive imported before threads)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--top", type=int, default=20, help="How many threads (default 20).")
        parser.add_argument("--json", action="store_true", help="Print JSON instead of text.")
        parser.add_argument(
            "--rebuild", action="store_true", help="Regroup the whole archive first."
        )

    def handle(self, *args, **options) -> None:
        top = options["top"]
        if top < 1:
            raise CommandError("--top must be at least 1.")
        verbosity = options["verbosity"]
        if options["rebuild"]:
            done = threads.rebuild()
            if verbosity >= 1 and not options["json"]:
                self.stdout.write(self.style.SUCCESS(f"Regrouped {done} articles."))
        count, grouped = threads.thread_count()
        largest = [(t, threads.members(t.thread)) for t in threads.largest_threads(top)]
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(count, grouped, largest), indent=2))
            return
        if verbosity >= 1:
            self.stdout.write(f"{count} threads hold {grouped} articles.")
        for summary, articles in largest:
            self.stdout.write(f"\nThread {summary.thread}: {summary.size} versions")
            if verbosity >= 1:
                for article in articles:
                    source = str(article.source or "-")
                    self.stdout.write(
                        f"  {article.pk:>7}  {_when(article)}  {source:<10}  {article.title}"
                    )


def _when(article) -> str:
    if article.published is None:
        return "undated         "
    return f"{timezone.localtime(article.published):%Y-%m-%d %H:%M}"


def _as_json(count: int, grouped: int, largest: list) -> dict:
    return {
        "threads": count,
        "articles_in_threads": grouped,
        "top": [
            {
                "thread": summary.thread,
                "size": summary.size,
                "articles": [
                    {
                        "id": a.pk,
                        "title": a.title,
                        "source": str(a.source) if a.source else None,
                        "published": a.published.isoformat() if a.published else None,
                        "url": a.get_absolute_url(),
                    }
                    for a in articles
                ],
            }
            for summary, articles in largest
        ],
    }
