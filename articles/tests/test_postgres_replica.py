"""Reads from a streaming standby: a primary and a standby started for the test on loopback.

``scripts/test-postgres-replica.sh`` starts both from Debian's PostgreSQL binaries (the standby
made with ``pg_basebackup``); the checks in ``replica_checks.py`` then run in a child pytest
with ``DATABASE_URL`` on the primary and ``DATABASE_REPLICA_URL`` on the standby, because the
settings (a second database, the router) are read once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT / "scripts" / "test-postgres-replica.sh"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
        reason="PostgreSQL tests not asked for: set TEST_DATABASE_URL (CI does)",
    ),
    pytest.mark.skipif(
        not list(Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup")),
        reason="needs Debian's PostgreSQL binaries (apt-get install postgresql)",
    ),
]


@pytest.fixture(scope="module")
def primary_and_standby():
    started = subprocess.run(
        ["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=300, check=True
    )
    primary, standby = started.stdout.split()
    yield primary, standby
    subprocess.run(["bash", str(SCRIPT), "stop"], timeout=120, check=False)


def test_searches_and_pages_read_from_the_standby(primary_and_standby, tmp_path):
    primary, standby = primary_and_standby
    env = {
        **os.environ,
        "DATABASE_URL": primary,
        "DATABASE_REPLICA_URL": standby,
        "NEWSARCHIVE_SEARCH_BACKEND": "postgres",
        "NEWSARCHIVE_VAR_DIR": str(tmp_path / "var"),
    }
    env.pop("TEST_DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            str(Path(__file__).with_name("replica_checks.py")),
        ],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout
