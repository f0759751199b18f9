"""`manage.py update_index`: index only what changed or is missing since the last indexing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from articles.index_health import apply_changes, out_of_date


class Command(BaseCommand):
    help = (
        "Bring the search index up to date: index articles changed since they were indexed or "
        "missing from it, and remove indexed articles that no longer exist."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only report what would change.")

    def handle(self, *args, **options) -> None:
        to_index, to_remove = out_of_date()
        if not options["dry_run"]:
            apply_changes(to_index, to_remove)
        if options["verbosity"] >= 1:
            verb = "Would index" if options["dry_run"] else "Indexed"
            self.stdout.write(
                self.style.SUCCESS(
                    f"{verb} {len(to_index)} articles and "
                    f"{'would remove' if options['dry_run'] else 'removed'} {len(to_remove)}."
                )
            )
