"""Reads from PostgreSQL replicas, writes to the primary.

``DATABASE_REPLICA_URL`` (comma-separated) adds one database alias per standby
(``replica_1``, ``replica_2``...). Only requests that cannot write (GET and HEAD) read from a
replica, chosen at random per request: a form post, the admin's save-and-redirect work, an
import command and anything inside a transaction read from the primary, so they never act on
a standby that is a moment behind. Migrations run on the primary only; standbys follow it.
"""

from __future__ import annotations

import contextvars
import random
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

PRIMARY = "default"
REPLICA_PREFIX = "replica_"
_replica: contextvars.ContextVar[str | None] = contextvars.ContextVar("read_replica", default=None)


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


class ReplicaRouter:
    """Sends reads to this request's replica when there is one; everything else to the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        replica = _replica.get()
        if replica is None or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return replica

    def db_for_write(self, model: type, **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # every alias holds the same data

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY


class ReadReplicaMiddleware:
    """Lets GET and HEAD requests read from a replica (one, picked at random, per request)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.replicas = replica_aliases()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.replicas or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        token = _replica.set(random.choice(self.replicas))
        try:
            return self.get_response(request)
        finally:
            _replica.reset(token)
