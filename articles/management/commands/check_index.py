"""`manage.py check_index`: compare the database with the search index by article id.

Exit status 0 when they agree, 1 on drift (so cron and CI can alert); ``--fix`` repairs the
drift and exits 0 when the repair left nothing behind. Drift is an article missing from the
index, an index entry whose article is gone, or an article indexed more than once (each copy
would be found and counted). The comparison and the repair are ``articles.index_health``,
shared with the admin's index-health page.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandParser

from articles.index_health import fix_drift, index_health

SHOW = 10


class Command(BaseCommand):
    help = "Compare the database with the search index by id; exit 1 on drift (--fix repairs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fix", action="store_true", help="Index missing or duplicated, remove stale."
        )

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        health = index_health()
        if not health.drift:
            if verbosity >= 1:
                self.stdout.write(self.style.SUCCESS("The index matches the database."))
            return
        if verbosity >= 1:
            self._report("in the database but not the index", health.missing)
            self._report("in the index but not the database", health.stale)
            self._report("indexed more than once", health.duplicated)
        if not options["fix"]:
            sys.exit(1)
        fix_drift(health)
        if index_health().drift:
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
