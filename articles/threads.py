"""Story threads: the same story re-sent, corrected or reprinted, grouped at import and on edits.

A thread is a connected group of articles whose texts are near-duplicates (``similarity``:
MinHash over word shingles, estimated Jaccard at least ``NEWSARCHIVE_THREAD_THRESHOLD``). Each
article stores its signature (``Article.minhash``) and its thread (``Article.thread``: the
smallest article id in the group, None for an article without other versions).

``thread_articles(ids)`` is the one entry point for new and edited articles (the importer calls
it once per batch, inside the batch's transaction; the post-save signal for other saves);
``article_removed`` re-evaluates a thread an article left (the post-delete signal). Both look
only at the articles concerned, their LSH candidates and the members of the threads involved,
so the cost does not grow with the archive.

The LSH index lives in memory, one per process, and is filled lazily from the stored
signatures, then topped up with rows created since (ids above the highest seen), so a
re-send imported in a later run, or by another process, still finds its thread. It only
proposes candidates: each is checked against the database's row and signature, so a stale
entry (a row rolled back or deleted elsewhere) can never join two stories.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import connection, connections, router, transaction
from django.db.models import Count, Max, Q

from articles import similarity, textdiff
from articles.models import NEWEST_FIRST, Article

#: Articles signed per query by ``rebuild``.
REBUILD_BATCH = 1000
#: Stored signatures added to the LSH at a time when a process first loads them: one call for
#: a whole archive held every signature's array and candidate set at once (600 MB at
#: 1,000,000 articles); chunks this size load nearly as fast.
REFRESH_CHUNK = 50_000


@dataclass(frozen=True)
class ThreadSettings:
    threshold: float
    shingle_words: int
    max_words: int


def current_settings() -> ThreadSettings:
    """The thread rules from settings, defined once (``NEWSARCHIVE_THREAD_*``)."""
    return ThreadSettings(
        threshold=float(settings.NEWSARCHIVE_THREAD_THRESHOLD),
        shingle_words=int(settings.NEWSARCHIVE_THREAD_SHINGLE_WORDS),
        max_words=int(settings.NEWSARCHIVE_THREAD_MAX_WORDS),
    )


def thread_text(title: str, body: str) -> str:
    """What is compared: the title and the body."""
    return f"{title}\n{body}"


class _Registry:
    """This process's LSH over every stored signature, kept for the current thread rules."""

    def __init__(self, rules: ThreadSettings) -> None:
        self.rules = rules
        self.signer = similarity.Signer(rules.shingle_words, rules.max_words)
        self.lsh = similarity.NearDuplicates(rules.threshold)
        self.max_id = 0
        self.lock = threading.Lock()

    def refresh(self, coming: Collection[int] = ()) -> None:
        """Add the rows stored since the last look (ids above the highest seen: one range of
        the primary key, where a scan for changed rows would read the whole table).

        ``coming`` are rows the caller is about to add itself (an import's new batch): read
        here they would be added twice, the first time one by one. When they are one run of
        ids, as a batch inserted at once gets, the query leaves that run out.
        """
        rows = Article.objects.exclude(minhash=None).filter(pk__gt=self.max_id)
        if coming and max(coming) - min(coming) + 1 == len(coming):
            rows = rows.exclude(pk__range=(min(coming), max(coming)))
        keys, signatures = [], []
        for pk, data in rows.values_list("pk", "minhash").iterator(2000):
            self.seen(pk)
            signature = self.signer.from_bytes(data) if pk not in coming else None
            if signature is not None:
                keys.append(pk)
                signatures.append(signature)
            if len(keys) >= REFRESH_CHUNK:
                self.lsh.add_many(keys, signatures)
                keys, signatures = [], []
        self.lsh.add_many(keys, signatures)

    def seen(self, pk: int) -> None:
        self.max_id = max(self.max_id, pk)


_registry: _Registry | None = None
_registry_lock = threading.Lock()


def _get_registry() -> _Registry:
    global _registry
    rules = current_settings()
    with _registry_lock:
        if _registry is None or _registry.rules != rules:
            _registry = _Registry(rules)
        return _registry


def reset() -> None:
    """Forget this process's LSH (tests; after changing the thread settings)."""
    global _registry
    with _registry_lock:
        _registry = None


@dataclass
class _Node:
    pk: int
    thread: int | None
    signature: np.ndarray | None
    text: str = ""
    _shingles: np.ndarray | None = None

    def shingles(self, signer: similarity.Signer) -> np.ndarray:
        if self._shingles is None:
            self._shingles = signer.shingle_set(self.text)
        return self._shingles


def signer() -> similarity.Signer:
    """What signs new articles for the current thread rules. The importer signs a batch
    before its rows are inserted, so each row is written once with its signature: signing
    after the insert meant an UPDATE of every new row, twice the writes, and on PostgreSQL a
    new row version whose every index entry (the GIN indexes of the search text included) is
    written again, which halved the import rate there."""
    return _get_registry().signer


def thread_articles(ids: Iterable[int] = (), new: Iterable[Article] = ()) -> None:
    """(Re)sign these edited articles (``ids``) and just created ones (``new``, read from
    memory: no thread yet, and a signature if the importer gave them one with the insert)
    and bring every thread they touch up to date.

    Runs in the caller's transaction (the importer's batch, a save), so rows and threads are
    committed together.
    """
    rows = [(a.pk, a.title, a.body, None, a.minhash) for a in new]
    signed_before = {a.pk for a in new if a.minhash is not None}  # with the row
    ids = set(ids).difference(row[0] for row in rows)
    if ids:
        fields = ("pk", "title", "body", "thread", "minhash")
        rows += Article.objects.filter(pk__in=ids).values_list(*fields)
    if not rows:
        return
    registry = _get_registry()
    with registry.lock:
        registry.refresh(coming={r[0] for r in rows})
        unsigned = [thread_text(r[1], r[2]) for r in rows if r[0] not in signed_before]
        fresh = iter(registry.signer.signatures(unsigned))
        signatures = [
            registry.signer.from_bytes(r[4]) if r[0] in signed_before else next(fresh) for r in rows
        ]
        nodes: dict[int, _Node] = {}
        signed: list[tuple[bytes | None, int]] = []
        for (pk, title, body, thread, stored), signature in zip(rows, signatures, strict=True):
            if pk not in signed_before:  # signed with the row: stored as it is
                data = similarity.to_bytes(signature) if signature is not None else None
                if data != (bytes(stored) if stored is not None else None):
                    signed.append((data, pk))
            if signature is None:
                registry.lsh.discard(pk)
            registry.seen(pk)
            nodes[pk] = _Node(pk, thread, signature, thread_text(title, body))
        keyed = [node for node in nodes.values() if node.signature is not None]
        found = registry.lsh.add_many([n.pk for n in keyed], [n.signature for n in keyed])
        _write_signatures(signed)
        regrouped = _settle(registry, nodes, dict(zip([n.pk for n in keyed], found, strict=True)))
        if regrouped or ids:  # a save writes its instance's thread, which may be stale
            _threads_changed()


def article_removed(pk: int, thread: int | None) -> None:
    """An article was deleted: forget it, and split or renumber the thread it leaves."""
    registry = _get_registry()
    with registry.lock:
        registry.lsh.discard(pk)
        if thread is not None and _settle(registry, {}, {}, extra_threads={thread}):
            _threads_changed()


def _settle(
    registry: _Registry,
    nodes: dict[int, _Node],
    near: dict[int, set[int]],
    extra_threads: set[int] = frozenset(),
) -> bool:
    """Recompute the threads of ``nodes`` (with their LSH candidates, ``near``), their similar
    articles and every thread involved.

    The group is closed: every member of a thread involved is in it, and every similar pair
    of two members is found through the LSH. Components of size one leave their thread.
    Returns whether any article's thread changed.
    """
    threshold = registry.rules.threshold
    candidates = set().union(*near.values()) if near else set()
    threads = {n.thread for n in nodes.values() if n.thread is not None} | set(extra_threads)
    if not candidates and not threads:
        return False  # new articles like nothing stored, in no thread: nothing changes
    _load(registry, nodes, Q(pk__in=candidates - nodes.keys()))
    more = {n.thread for n in nodes.values() if n.thread is not None} | threads
    _load(registry, nodes, Q(thread__in=more))
    edges = []
    for node in nodes.values():
        if node.signature is None:
            continue
        if node.pk not in near:
            near[node.pk] = registry.lsh.candidates(node.signature) - {node.pk}
        for other in near[node.pk]:
            peer = nodes.get(other)
            if (
                peer is not None
                and other > node.pk
                and peer.signature is not None
                and _versions(registry, node, peer, threshold)
            ):
                edges.append((node.pk, other))
    changes = []
    for group in similarity.components(nodes, edges):
        thread = min(group) if len(group) > 1 else None
        changes += [(thread, pk) for pk in group if nodes[pk].thread != thread]
    _write_threads(changes)
    return bool(changes)


def _versions(registry: _Registry, a: _Node, b: _Node, threshold: float) -> bool:
    """Whether two articles are versions of one story: their signatures' estimate is near
    enough to be worth it, and the exact similarity of their shingles reaches the threshold."""
    if similarity.similarity(a.signature, b.signature) < threshold - similarity.ESTIMATE_MARGIN:
        return False
    signer = registry.signer
    return similarity.exact_similarity(a.shingles(signer), b.shingles(signer)) >= threshold


def _load(registry: _Registry, nodes: dict[int, _Node], where: Q) -> None:
    """Add the rows matching ``where`` to ``nodes``, with their stored signatures. (Two calls
    rather than one with OR: each uses its own index.)"""
    if not next(iter(where.children))[1]:
        return
    rows = Article.objects.filter(where).values_list("pk", "thread", "minhash", "title", "body")
    for pk, thread, data, title, body in rows:
        if pk not in nodes:
            nodes[pk] = _Node(
                pk, thread, registry.signer.from_bytes(data), thread_text(title, body)
            )


def _write_signatures(rows: list[tuple[bytes | None, int]]) -> None:
    """Signatures in one statement per batch (``bulk_update`` builds a CASE per row)."""
    if rows:
        table = Article._meta.db_table
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET minhash = %s WHERE id = %s", rows)


def _write_threads(rows: list[tuple[int | None, int]]) -> None:
    if rows:
        table = Article._meta.db_table
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET thread = %s WHERE id = %s", rows)


#: The one-row table of the threads' state token (migration 0004).
STATE_TABLE = "newsarchive_threads_state"


def state_token() -> int:
    """A value that changes in the transaction of every write of threads: what search
    folding keys its copy of the article-to-thread map by (``search.collapse``). Read from the
    database searches read articles from."""
    with connections[router.db_for_read(Article)].cursor() as cursor:
        cursor.execute(f"SELECT token FROM {STATE_TABLE} WHERE id = 1")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def thread_map() -> tuple[int, dict[int, int]]:
    """The state token, and article id -> thread id for every article that has other
    versions: one statement, so the two are of one moment, and a search that has nothing
    cached yet pays one query, as it did before the token. It seeks the thread index (the
    model's newest-first ordering would make SQLite walk the whole table by date)."""
    table = Article._meta.db_table
    sql = (
        f"SELECT s.token, a.id, a.thread FROM {STATE_TABLE} s "
        f"LEFT JOIN {table} a ON a.thread IS NOT NULL WHERE s.id = 1"
    )
    with connections[router.db_for_read(Article)].cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    token = int(rows[0][0]) if rows else 0
    return token, {pk: thread for _, pk, thread in rows if pk is not None}


def _threads_changed() -> None:
    """A new state token, random rather than counted: a write rolled back and another one
    after it must not leave the same token over other threads."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {STATE_TABLE} SET token = %s WHERE id = 1", [secrets.randbits(62)])


def rebuild(progress: Callable[[int], None] | None = None) -> int:
    """Sign every article again and regroup the whole archive (after changing the thread
    settings, or on an archive imported before threads existed). Returns the articles done."""
    reset()
    with transaction.atomic():
        Article.objects.update(thread=None, minhash=None)
        _threads_changed()
        reset()
        ids = list(Article.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), REBUILD_BATCH):
            thread_articles(ids[start : start + REBUILD_BATCH])
            if progress:
                progress(min(start + REBUILD_BATCH, len(ids)))
    return len(ids)


# --- reading threads -----------------------------------------------------------------------


def versions(article: Article) -> list[Article]:
    """The article's other versions, oldest first (the order they went out)."""
    if article.thread is None:
        return []
    others = (
        Article.objects.filter(thread=article.thread)
        .exclude(pk=article.pk)
        .select_related("source", "section")
        .defer("original_text", "minhash")
    )
    return sorted(others, key=lambda a: (a.published is None, a.published or 0, a.pk))


@dataclass(frozen=True)
class Comparison:
    """Another version of an article, and what differs: the body word by word against the
    article shown (``del``: only in the article shown, ``ins``: only in this version)."""

    version: Article
    same_title: bool
    changes: list[textdiff.Segment]

    @property
    def same_text(self) -> bool:
        return self.same_title and not self.changes


def compare(article: Article) -> list[Comparison]:
    """The article's other versions, oldest first, each with its word-level differences."""
    return [
        Comparison(
            version=other,
            same_title=other.title == article.title,
            changes=textdiff.word_diff(article.body, other.body),
        )
        for other in versions(article)
    ]


@dataclass(frozen=True)
class ThreadSummary:
    thread: int
    size: int
    latest: datetime | None


def largest_threads(top: int) -> list[ThreadSummary]:
    """The ``top`` threads with the most versions, then the newest."""
    rows = (
        Article.objects.filter(thread__isnull=False)
        .values("thread")
        .annotate(size=Count("pk"), latest=Max("published"))
        .order_by("-size", "-latest", "thread")[:top]
    )
    return [ThreadSummary(r["thread"], r["size"], r["latest"]) for r in rows]


def thread_count() -> tuple[int, int]:
    """How many threads there are, and how many articles they hold."""
    row = Article.objects.filter(thread__isnull=False).aggregate(
        threads=Count("thread", distinct=True), articles=Count("pk")
    )
    return row["threads"], row["articles"]


def members(thread: int) -> list[Article]:
    """A thread's articles, newest first."""
    return list(
        Article.objects.filter(thread=thread)
        .select_related("source")
        .defer("body", "original_text", "minhash")
        .order_by(*NEWEST_FIRST)
    )


# --- keeping threads in step with saves and deletes made outside the importer ----------------


def _article_saved(sender: type, instance: Article, raw: bool = False, **kwargs: object) -> None:
    if not raw:
        thread_articles([instance.pk])


def _article_deleting(sender: type, instance: Article, **kwargs: object) -> None:
    """The stored thread (the instance's may be stale: a later version's save renumbers it)."""
    if instance.pk is not None:
        stored = Article.objects.filter(pk=instance.pk).values_list("thread", flat=True)
        instance._stored_thread = stored.first()


def _article_deleted(sender: type, instance: Article, **kwargs: object) -> None:
    if instance.pk is not None:
        article_removed(instance.pk, instance.__dict__.pop("_stored_thread", instance.thread))


def connect() -> None:
    """Connect the receivers (idempotent: each has a dispatch_uid). The importer writes with
    ``bulk_create``, which sends no signals, and calls ``thread_articles`` per batch itself."""
    from django.db.models.signals import post_delete, post_save, pre_delete

    pre_delete.connect(_article_deleting, sender=Article, dispatch_uid="threads_article_deleting")
    post_save.connect(_article_saved, sender=Article, dispatch_uid="threads_article_saved")
    post_delete.connect(_article_deleted, sender=Article, dispatch_uid="threads_article_deleted")
