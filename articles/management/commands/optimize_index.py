"""`manage.py optimize_index`: merge the search index into one segment, for quiet hours."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from articles import search


class Command(BaseCommand):
    help = (
        "Merge the search index's segments into one, beside the live index, then swap it in. "
        "Searches and saves carry on meanwhile; saves made during the merge are kept."
    )

    def handle(self, *args, **options) -> None:
        merged = search.optimize_index()
        if options["verbosity"] >= 1:
            self.stdout.write(self.style.SUCCESS(f"Merged {merged} segments into one."))
