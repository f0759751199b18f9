"""When the index cannot be reached: the exception callers see, and a log that tells each
outage once.

A missing or unreadable index is an outage, not an empty archive: answering "no results" would
hide it from readers and operators alike. Every request during an outage fails the same way,
so the log gets the first failure with its traceback, a changed cause once more, and the
recovery; not a traceback per request.
"""

from __future__ import annotations

import logging
import threading

from .errors import SearchUnavailable

logger = logging.getLogger("articles.search")


class OutageLog:
    """Remembers the current outage's cause, so each cause is logged once."""

    def __init__(self) -> None:
        self._cause: str | None = None
        self._lock = threading.Lock()

    @property
    def cause(self) -> str | None:
        return self._cause

    def failed(self, error: BaseException) -> SearchUnavailable:
        """Record a failure; returns the SearchUnavailable to raise (chained by the caller)."""
        cause = f"{type(error).__name__}: {error}"
        with self._lock:
            first = cause != self._cause
            self._cause = cause
        if first:
            logger.error("Search is unavailable: %s", cause, exc_info=error)
        if isinstance(error, SearchUnavailable):
            return error
        return SearchUnavailable(cause)

    def succeeded(self) -> None:
        """Record a working search; logs the recovery once."""
        if self._cause is None:  # the usual case, without taking the lock
            return
        with self._lock:
            recovered, self._cause = self._cause is not None, None
        if recovered:
            logger.warning("Search is available again.")

    def reset(self) -> None:
        """Forget the current outage (tests switch index folders between tests)."""
        with self._lock:
            self._cause = None
