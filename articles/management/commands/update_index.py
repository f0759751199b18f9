"""`manage.py update_index`: index only what changed or is missing since the last indexing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from articles import search
from articles.models import Article

BATCH = 500


def plan_update() -> tuple[list[int], list[int]]:
    """(ids to index, ids to remove): rows newer than their indexed copy or not indexed,
    and indexed ids whose row is gone."""
    indexed = search.indexed_versions()
    to_index: list[int] = []
    seen: set[int] = set()
    for pk, updated in Article.objects.values_list("pk", "updated").iterator(chunk_size=2000):
        seen.add(pk)
        if pk not in indexed:
            to_index.append(pk)
            continue
        stamp = indexed[pk]
        if stamp is None or updated is None or updated > stamp:
            to_index.append(pk)
    to_remove = sorted(set(indexed) - seen)
    return to_index, to_remove


class Command(BaseCommand):
    help = (
        "Bring the search index up to date: index articles changed since they were indexed or "
        "missing from it, and remove indexed articles that no longer exist."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only report what would change.")

    def handle(self, *args, **options) -> None:
        to_index, to_remove = plan_update()
        if not options["dry_run"]:
            if to_remove:
                search.unindex_articles(to_remove)
            for start in range(0, len(to_index), BATCH):
                search.index_articles(to_index[start : start + BATCH])
        if options["verbosity"] >= 1:
            verb = "Would index" if options["dry_run"] else "Indexed"
            self.stdout.write(
                self.style.SUCCESS(
                    f"{verb} {len(to_index)} articles and "
                    f"{'would remove' if options['dry_run'] else 'removed'} {len(to_remove)}."
                )
            )
