"""The same archive on PostgreSQL: the import, search and page suites run against a real server.

CI starts a throwaway server with scripts/test-postgres.sh and sets TEST_DATABASE_URL; on a
machine without one these tests skip. The suites run in a child pytest because pytest-django
configures one database per session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
SUITES_ON_POSTGRES = [
    "articles/tests/test_importer.py",
    "articles/tests/test_commands.py",
    "articles/tests/contract",
    "articles/tests/test_views.py",
    "articles/tests/test_api.py",
    "articles/tests/test_trends.py",
    "articles/tests/test_trends_views.py",
    "articles/tests/test_admin.py",
    "articles/tests/test_threads.py",
    "articles/tests/test_threads_pages.py",
]

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
        reason="no PostgreSQL server: set TEST_DATABASE_URL (CI starts one)",
    ),
]


def test_import_search_and_pages_pass_on_postgresql():
    suites = [s for s in SUITES_ON_POSTGRES if (PROJECT / s).exists()]
    env = {**os.environ, "DATABASE_URL": os.environ["TEST_DATABASE_URL"]}
    env.pop("TEST_DATABASE_URL")

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *suites],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_the_database_really_is_postgresql():
    env = {**os.environ, "DATABASE_URL": os.environ["TEST_DATABASE_URL"]}
    code = "from django.db import connection; print(connection.vendor)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.stdout.strip().splitlines()[-1] == "postgresql", result.stderr
