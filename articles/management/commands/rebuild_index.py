"""`manage.py rebuild_index`: index every article afresh (a progress bar on a terminal)."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from articles import search
from articles.models import Article


class Command(BaseCommand):
    help = (
        "Rebuild the search index from the database. Searches keep using the old index until "
        "the new one is committed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar, even on a terminal."
        )

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        show_bar = verbosity >= 1 and not options["no_progress"] and sys.stderr.isatty()
        bar = tqdm(total=Article.objects.count(), unit="article", disable=not show_bar)
        try:
            count = search.rebuild_index(progress=bar.update)
        finally:
            bar.close()
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(f"Indexed {count} articles."))
