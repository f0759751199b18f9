"""The search package's failures, shared by every backend and by the callers that report them.

Django-free: index sub-writer processes started with ``spawn`` import the modules that raise
these."""


class IndexWriteError(RuntimeError):
    """The index could not be written (a full disk, a sub-writer that died, unreadable files).

    Its message names the cause in one line, for an import's last words or a log."""


class IndexLockedError(IndexWriteError):
    """Another writer held the index lock for too long."""


class SearchUnavailable(RuntimeError):
    """The search index cannot be reached (missing, unreadable, corrupt): search is down.

    Raised by ``articles.search.search()``; the message is for operators, not readers.
    """
