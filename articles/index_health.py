"""Index health: the database and the search index compared, and the repairs that follow.

One service behind ``check_index``, ``update_index`` and the admin's index-health page, so they
find the same drift and mend it the same way. Drift is a comparison of article ids (rows the
index lacks, index entries whose row is gone, rows the index holds more than once: each copy
would be found and counted); ``update_index`` also compares each row's
``updated`` stamp with the one it was indexed from. It arises when an index write fails after
its database commit (the signals log it and carry on) or when rows change behind the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from articles import search
from articles.models import Article

#: Articles per index commit when repairing: each batch is one writer, so a repair of many
#: thousands neither holds the lock for minutes nor builds one huge segment in memory.
REPAIR_BATCH = 500
_ID_CHUNK = 5000


@dataclass(frozen=True)
class IndexHealth:
    """The database and the search index compared by article id (both lists sorted)."""

    in_database: int
    in_index: int
    missing: list[int]  # in the database, not in the index
    stale: list[int]  # in the index, no longer in the database
    duplicated: Sequence[int] = ()  # in both, but indexed more than once

    @property
    def drift(self) -> bool:
        return bool(self.missing or self.stale or self.duplicated)


def index_health() -> IndexHealth:
    """Compare every article id in the database with every id in the index."""
    database = set(Article.objects.values_list("pk", flat=True).iterator(chunk_size=_ID_CHUNK))
    counts = search.indexed_id_counts()
    indexed = set(counts)
    return IndexHealth(
        in_database=len(database),
        in_index=len(indexed),
        missing=sorted(database - indexed),
        stale=sorted(indexed - database),
        duplicated=sorted(pk for pk, n in counts.items() if n > 1 and pk in database),
    )


def fix_drift(health: IndexHealth | None = None) -> IndexHealth:
    """Index what the index lacks, drop what it holds for deleted rows; returns the drift
    repaired (``health`` when the caller has just measured it, else measured now).

    Call ``index_health()`` afterwards to learn whether the repair left anything behind (a
    write that failed again, or rows changed meanwhile).
    """
    if health is None:
        health = index_health()
    # Every copy of a duplicated article goes first: re-indexing replaces only one of them.
    duplicated = list(health.duplicated)
    apply_changes([*health.missing, *duplicated], [*health.stale, *duplicated])
    return health


def out_of_date() -> tuple[list[int], list[int]]:
    """(ids to index, ids to remove): rows newer than their indexed copy or not indexed at
    all, and indexed ids whose row is gone."""
    indexed = search.indexed_versions()
    to_index: list[int] = []
    seen: set[int] = set()
    rows = Article.objects.values_list("pk", "updated").iterator(chunk_size=_ID_CHUNK)
    for pk, updated in rows:
        seen.add(pk)
        stamp = indexed.get(pk)
        if pk not in indexed or stamp is None or updated is None or updated > stamp:
            to_index.append(pk)
    return to_index, sorted(set(indexed) - seen)


def apply_changes(to_index: Sequence[int], to_remove: Sequence[int]) -> None:
    """Remove ``to_remove`` from the index, then (re)index ``to_index`` in batches."""
    if to_remove:
        search.unindex_articles(to_remove)
    for start in range(0, len(to_index), REPAIR_BATCH):
        search.index_articles(to_index[start : start + REPAIR_BATCH])
