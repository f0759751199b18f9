"""`manage.py check_index`: compare the database with the search index by article id.

Exit status 0 when they agree, 1 on drift (so cron and CI can alert); ``--fix`` repairs the
drift and exits 0 when the repair left nothing behind.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandParser

from articles import search
from articles.models import Article

SHOW = 10
BATCH = 500


def find_drift() -> tuple[list[int], list[int]]:
    """(ids in the database but not the index, ids in the index but not the database)."""
    in_db = set(Article.objects.values_list("pk", flat=True).iterator(chunk_size=5000))
    in_index = search.indexed_ids()
    return sorted(in_db - in_index), sorted(in_index - in_db)


class Command(BaseCommand):
    help = "Compare the database with the search index by id; exit 1 on drift (--fix repairs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fix", action="store_true", help="Index missing, remove stale.")

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        missing, stale = find_drift()
        if not missing and not stale:
            if verbosity >= 1:
                self.stdout.write(self.style.SUCCESS("The index matches the database."))
            return
        if verbosity >= 1:
            self._report("in the database but not the index", missing)
            self._report("in the index but not the database", stale)
        if not options["fix"]:
            sys.exit(1)
        if stale:
            search.unindex_articles(stale)
        for start in range(0, len(missing), BATCH):
            search.index_articles(missing[start : start + BATCH])
        missing, stale = find_drift()
        if missing or stale:
            self.stderr.write(self.style.ERROR("Drift remains after --fix; see the log."))
            sys.exit(1)
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS("Fixed: the index now matches the database."))

    def _report(self, what: str, ids: list[int]) -> None:
        if not ids:
            return
        shown = ", ".join(str(i) for i in ids[:SHOW])
        more = f" and {len(ids) - SHOW} more" if len(ids) > SHOW else ""
        self.stdout.write(self.style.WARNING(f"{len(ids)} articles {what}: {shown}{more}"))
