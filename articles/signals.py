"""Keeps the search index in step with the database, wherever a change is made.

An article saved or deleted through the ORM (admin, shell, a management command, a bulk
``QuerySet.delete()``, which sends ``post_delete`` per row) is (re)indexed or removed once the
transaction commits, never before: a rolled-back edit must not reach the index. Renaming a
source or section reindexes its articles, since hits and facets show the names.

Changes inside one transaction are gathered and written in one index commit per transaction
(a bulk delete of 1,000 rows is one writer, not 1,000). The importer writes with
``bulk_create``/``bulk_update``, which send no signals, and indexes each committed batch itself
(``search.bulk_indexer``). ``suspended()`` turns the receivers off for code that wants the
index left alone (tests use it to make the index drift on purpose). Importing this module
connects the receivers; ``articles.apps.ArticlesConfig.ready`` imports it.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from articles.models import Article, Section, Source

logger = logging.getLogger(__name__)

_suspended: contextvars.ContextVar[int] = contextvars.ContextVar(
    "search_signals_suspended", default=0
)


@contextmanager
def suspended() -> Iterator[None]:
    """Within this block, saves and deletes do not touch the index (the caller indexes)."""
    token = _suspended.set(_suspended.get() + 1)
    try:
        yield
    finally:
        _suspended.reset(token)


def is_suspended() -> bool:
    return _suspended.get() > 0


class _Pending:
    """Article ids to bring in step when the current transaction commits.

    Ids saved and deleted are kept together: at commit ``index_articles`` reads each from the
    database, indexing the rows that exist and removing the ones that don't. So a delete that
    was rolled back with a savepoint cannot remove a live article from the index.
    """

    def __init__(self, using: str) -> None:
        self.using = using
        self.ids: set[int] = set()

    def flush(self) -> None:
        from articles import search

        if _local.pending.get(self.using) is self:
            del _local.pending[self.using]
        if not self.ids:
            return
        try:
            search.index_articles(self.ids)
        except Exception:
            # The database change is committed and must stand; `update_index` or
            # `check_index --fix` repairs the index later.
            logger.exception(
                "search index update failed for %s; run update_index", sorted(self.ids)
            )


class _Local(threading.local):
    def __init__(self) -> None:
        self.pending: dict[str, _Pending] = {}


_local = _Local()


def _queue(using: str, ids: set[int]) -> None:
    """Record ids for the commit of the current transaction on ``using``.

    Outside an atomic block Django runs on_commit callbacks at once, so nothing is pooled.
    Inside one, the pool's callback may have been dropped by a rollback (of the transaction
    or of the savepoint it was registered in); then a new pool is started.
    """
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        batch = _Pending(using)
        batch.ids.update(ids)
        batch.flush()
        return
    batch = _local.pending.get(using)
    if batch is None or not any(entry[1] == batch.flush for entry in connection.run_on_commit):
        batch = _local.pending[using] = _Pending(using)
        transaction.on_commit(batch.flush, using=using)
    batch.ids.update(ids)


def article_saved(
    sender: type, instance: Article, raw: bool = False, using: str = "default", **kwargs: Any
) -> None:
    if raw or is_suspended():
        return
    _queue(using, {instance.pk})


def article_deleted(sender: type, instance: Article, using: str = "default", **kwargs: Any) -> None:
    if is_suspended() or instance.pk is None:
        return
    _queue(using, {instance.pk})


def label_saving(
    sender: type,
    instance: Source | Section,
    raw: bool = False,
    using: str = "default",
    **kwargs: Any,
) -> None:
    """Remember the stored name, so that saving without a rename reindexes nothing."""
    if raw or instance.pk is None or is_suspended():
        return
    old = sender.objects.using(using).filter(pk=instance.pk).values_list("name", flat=True).first()
    instance._search_old_name = old


def label_saved(
    sender: type,
    instance: Source | Section,
    created: bool = False,
    raw: bool = False,
    using: str = "default",
    **kwargs: Any,
) -> None:
    """A renamed source or section changes what its articles show: reindex them."""
    if raw or created or is_suspended():
        return
    old = instance.__dict__.pop("_search_old_name", None)
    if old is not None and old == instance.name:
        return
    field = "source" if isinstance(instance, Source) else "section"
    ids = set(Article.objects.using(using).filter(**{field: instance}).values_list("pk", flat=True))
    if ids:
        _queue(using, ids)


def connect() -> None:
    """Connect the receivers (idempotent: each has a dispatch_uid)."""
    post_save.connect(article_saved, sender=Article, dispatch_uid="search_article_saved")
    post_delete.connect(article_deleted, sender=Article, dispatch_uid="search_article_deleted")
    for label in (Source, Section):
        name = label.__name__.lower()
        pre_save.connect(label_saving, sender=label, dispatch_uid=f"search_{name}_saving")
        post_save.connect(label_saved, sender=label, dispatch_uid=f"search_{name}_saved")


connect()
