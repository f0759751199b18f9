"""Production settings: the site refuses to start with debug off and no secret key, the HTTPS
switches come from the environment, and `manage.py check --deploy` is clean under
production-like values. Each case runs in a fresh Python process with an environment of its
own, as a server would start, since settings are read once at start-up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
PRODUCTION_KEY = "k8Vq2-production-like-key-for-the-test-3xR7mZpL0aT9wYcN5bH1uJ6dF4gE"
HTTPS_SWITCHES = {
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
    "DJANGO_SECURE_COOKIES": "true",
}
PRINT_SETTINGS = (
    "import json; from django.conf import settings as s; print(json.dumps({name: getattr(s, name)"
    " for name in ('SECRET_KEY', 'DEBUG', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS',"
    " 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', 'SESSION_COOKIE_SECURE',"
    " 'CSRF_COOKIE_SECURE', 'AXES_FAILURE_LIMIT')}, default=str))"
)


def server_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """A clean environment: no DJANGO_* or NEWSARCHIVE_* variable from the test run leaks in."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "NEWSARCHIVE_", "DATABASE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="newsarchive.settings",
        NEWSARCHIVE_VAR_DIR=str(tmp_path / "var"),
    )
    env.pop("PYTHONPATH", None)  # the settings come from the working folder
    env.update(values)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path = PROJECT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def bare_project(tmp_path: Path) -> Path:
    """The settings package alone in a folder with no var/secret_key, as on a new server
    (the checkout running the tests may hold the key `make` wrote)."""
    package = tmp_path / "project" / "newsarchive"
    package.mkdir(parents=True)
    for name in ("__init__.py", "settings.py"):
        shutil.copy(PROJECT / "newsarchive" / name, package / name)
    return tmp_path / "project"


def test_check_deploy_is_clean_under_production_values(tmp_path: Path) -> None:
    env = server_env(
        tmp_path,
        DJANGO_SECRET_KEY=PRODUCTION_KEY,
        DJANGO_ALLOWED_HOSTS="archive.example.org",
        **HTTPS_SWITCHES,
    )
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_names_each_https_switch_left_off(tmp_path: Path) -> None:
    """Without the switches the same check warns about exactly what they turn on."""
    env = server_env(tmp_path, DJANGO_SECRET_KEY=PRODUCTION_KEY)
    result = run(["manage.py", "check", "--deploy"], env)
    found = {code for code in ("W004", "W008", "W012", "W016") if code in result.stderr}
    assert found == {"W004", "W008", "W012", "W016"}, result.stderr


def test_the_switches_reach_the_settings(tmp_path: Path) -> None:
    env = server_env(
        tmp_path,
        DJANGO_SECRET_KEY=PRODUCTION_KEY,
        NEWSARCHIVE_LOGIN_FAILURE_LIMIT="7",
        **HTTPS_SWITCHES,
    )
    result = run(["-c", PRINT_SETTINGS], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "SECRET_KEY": PRODUCTION_KEY,
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "AXES_FAILURE_LIMIT": 7,
    }


def test_debug_off_without_a_key_refuses_to_start(tmp_path: Path, bare_project: Path) -> None:
    result = run(["-c", PRINT_SETTINGS], server_env(tmp_path), cwd=bare_project)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert "DJANGO_SECRET_KEY is not set and DJANGO_DEBUG is off" in last_line


def test_a_key_file_is_read_and_a_missing_one_named(tmp_path: Path, bare_project: Path) -> None:
    key_file = tmp_path / "secret"
    key_file.write_text(PRODUCTION_KEY + "\n")
    result = run(
        ["-c", PRINT_SETTINGS],
        server_env(tmp_path, DJANGO_SECRET_KEY_FILE=str(key_file)),
        cwd=bare_project,
    )
    assert json.loads(result.stdout)["SECRET_KEY"] == PRODUCTION_KEY

    missing = run(
        ["-c", PRINT_SETTINGS],
        server_env(tmp_path, DJANGO_SECRET_KEY_FILE=str(tmp_path / "nowhere")),
        cwd=bare_project,
    )
    assert missing.returncode != 0
    assert "DJANGO_SECRET_KEY_FILE" in missing.stderr.strip().splitlines()[-1]


def test_debug_on_runs_on_the_development_key_which_check_deploy_flags(
    tmp_path: Path, bare_project: Path
) -> None:
    env = server_env(tmp_path, DJANGO_DEBUG="true")
    result = run(["-c", PRINT_SETTINGS], env, cwd=bare_project)
    assert json.loads(result.stdout)["SECRET_KEY"].startswith("django-insecure-")
    check_key = (
        "from django.core.checks.security.base import check_secret_key;"
        "print([warning.id for warning in check_secret_key(None)])"
    )
    flagged = run(["-c", check_key], env, cwd=bare_project)
    assert flagged.stdout.strip() == "['security.W009']", flagged.stderr
