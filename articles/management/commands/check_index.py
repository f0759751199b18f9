"""`manage.py check_index`: compare the database with the search index by article id.

Exit status 0 when they agree, 1 on drift (so cron and CI can alert); ``--fix`` repairs the
drift and exits 0 when the repair left nothing behind. Drift is an article missing from the
index, an index entry whose article is gone, or an article indexed more than once (each copy
would be found and counted).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandParser

from articles import search
from articles.models import Article

SHOW = 10
BATCH = 500


def find_drift() -> tuple[list[int], list[int], list[int]]:
    """(ids in the database but not the index, ids in the index but not the database,
    ids in both that the index holds more than once)."""
    in_db = set(Article.objects.values_list("pk", flat=True).iterator(chunk_size=5000))
    counts = search.indexed_id_counts()
    in_index = set(counts)
    twice = sorted(pk for pk, n in counts.items() if n > 1 and pk in in_db)
    return sorted(in_db - in_index), sorted(in_index - in_db), twice


class Command(BaseCommand):
    help = "Compare the database with the search index by id; exit 1 on drift (--fix repairs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fix", action="store_true", help="Index missing or duplicated, remove stale."
        )

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        missing, stale, twice = find_drift()
        if not missing and not stale and not twice:
            if verbosity >= 1:
                self.stdout.write(self.style.SUCCESS("The index matches the database."))
            return
        if verbosity >= 1:
            self._report("in the database but not the index", missing)
            self._report("in the index but not the database", stale)
            self._report("indexed more than once", twice)
        if not options["fix"]:
            sys.exit(1)
        # Every copy of a duplicated article goes first: re-indexing replaces only one of them.
        if stale or twice:
            search.unindex_articles(stale + twice)
        redo = missing + twice
        for start in range(0, len(redo), BATCH):
            search.index_articles(redo[start : start + BATCH])
        if any(find_drift()):
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
