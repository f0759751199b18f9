"""Run by test_postgres_replica.py in a child pytest, on a real primary and standby.

Not collected by the ordinary run (the name does not start with ``test_``): it uses the
databases it is given as they are, committing for real, since only committed data streams to
the standby.
"""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext

from articles.tests.conftest import seed_text

REPLICA = "replica_1"


@pytest.fixture(scope="module")
def databases(django_db_blocker):
    """The primary migrated and emptied (the standby follows); database access for the
    module. The clusters may be reused from an earlier run."""
    with django_db_blocker.unblock():
        call_command("migrate", verbosity=0)
        call_command("flush", interactive=False, verbosity=0)
        yield
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def django_db_setup():
    """Use the given databases, not test copies: a standby is read-only."""


def wait_for_standby(timeout: float = 60.0) -> None:
    """Until the standby has replayed everything the primary has written so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (target,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    with connections[REPLICA].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.05)


def import_seed(folder, name: str, title: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(seed_text(title, body=body), encoding="utf-8")
    call_command("import_seeds", str(folder), verbosity=0)


def get(client, url: str):
    """A GET, with the queries it ran on the primary and on the standby."""
    with (
        CaptureQueriesContext(connections["default"]) as on_primary,
        CaptureQueriesContext(connections[REPLICA]) as on_standby,
    ):
        response = client.get(url)
    return response, on_primary.captured_queries, on_standby.captured_queries


def test_the_replica_is_a_standby(databases):
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        assert cursor.fetchone()[0] is True


def test_an_import_on_the_primary_reaches_searches_on_the_standby(databases, tmp_path, client):
    import_seed(tmp_path / "one", "a.txt", "Zeppelin over Hamburg", "A zeppelin was seen.")
    wait_for_standby()

    response, on_primary, on_standby = get(client, "/api/search?q=zeppelin")

    assert response.status_code == 200
    assert response.json()["total"] == 1
    assert any("search_vector" in q["sql"] for q in on_standby)
    assert on_primary == []

    import_seed(tmp_path / "two", "b.txt", "Zeppelin lands", "The zeppelin landed safely.")
    wait_for_standby()

    response, on_primary, _ = get(client, "/api/search?q=zeppelin")
    assert response.json()["total"] == 2
    assert on_primary == []


def test_pages_read_from_the_standby(databases, tmp_path, client):
    import_seed(tmp_path / "three", "c.txt", "Harbour reopens", "The harbour reopened.")
    wait_for_standby()
    found, _, _ = get(client, "/api/search?q=harbour")
    url = found.json()["results"][0]["url"]

    for page in (url, "/search/?q=harbour", "/"):
        response, on_primary, on_standby = get(client, page)
        assert response.status_code == 200, page
        assert on_standby and on_primary == [], page
