"""The search contract: every test in this folder runs once per search backend.

A backend joins the contract with one entry in ``BACKEND_FACTORIES``: a function given a fresh
folder and pytest-django's ``settings`` that points the search service at the backend, or skips
with a one-line reason when the backend cannot run here. The tests then talk to the backend
only through ``articles.search`` (and the signals and importer that call it), so they state what
any backend must do, not how Whoosh does it; Whoosh internals are tested in
``test_search_backend.py``.

Two guards make a failing search fail the test: every test asserts exact results (mostly
against ``oracle.py``, a brute-force evaluator in plain Python), and the suite-wide
``fail_on_search_failure`` (``articles/tests/conftest.py``) fails any test during which the
search service logged an error (``search()`` raises
``SearchUnavailable`` on a backend's failure, but lookups such as related articles degrade
quietly and only log).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from articles.search import SearchBackend, get_backend, reset_backend

WHOOSH_BACKEND = "articles.search.backends.whoosh.WhooshBackend"


def install_whoosh(folder: Path, settings: Any) -> None:
    settings.NEWSARCHIVE_SEARCH_BACKEND = WHOOSH_BACKEND
    settings.NEWSARCHIVE_INDEX_DIR = folder


def install_postgres(folder: Path, settings: Any) -> None:
    """PostgreSQL full-text search in the test database itself: it runs when the suite runs on
    PostgreSQL (``test_postgres.py`` reruns this folder there when TEST_DATABASE_URL is set)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL backend needs a PostgreSQL database: set TEST_DATABASE_URL")
    settings.NEWSARCHIVE_SEARCH_BACKEND = "postgres"  # the short name, as a deployment sets it
    settings.NEWSARCHIVE_INDEX_DIR = folder


#: Every backend the contract runs against: name -> installer (or skip with a reason).
BACKEND_FACTORIES: dict[str, Callable[[Path, Any], None]] = {
    "whoosh": install_whoosh,
    "postgres": install_postgres,
}


#: Contract tests a backend is known to fail, with why: run as strict xfails, so a fix shows.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


@pytest.fixture(autouse=True, params=list(BACKEND_FACTORIES))
def backend(request, settings, tmp_path: Path, db) -> Iterator[SearchBackend]:
    """The backend under test, installed as the search service's backend, with an empty index."""
    gap = KNOWN_GAPS.get((request.param, request.function.__name__))
    if gap:
        request.applymarker(pytest.mark.xfail(reason=gap, strict=True))
    BACKEND_FACTORIES[request.param](tmp_path / f"{request.param}-index", settings)
    reset_backend()
    backend = get_backend()
    backend.clear()
    yield backend
    reset_backend()
