"""Fixtures shared by the archive's tests: a real Whoosh index in a temp folder per test, and
small seed files written for the test that asks for them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def search_index_dir(settings, tmp_path: Path):
    """Every test gets its own empty index, so no test sees another's documents."""
    settings.NEWSARCHIVE_INDEX_DIR = tmp_path / "index"
    _reset_search_backend()
    yield settings.NEWSARCHIVE_INDEX_DIR
    _reset_search_backend()


@pytest.fixture(autouse=True)
def fresh_story_threads() -> Iterator[None]:
    """Every test starts with an empty in-memory LSH of story threads (``articles.threads``),
    as a new process would, so no test sees signatures of another's rolled-back rows."""
    from articles import threads

    threads.reset()
    yield
    threads.reset()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def fail_on_search_failure(request: pytest.FixtureRequest) -> Iterator[list[logging.LogRecord]]:
    """A test during which the search service logged a failure fails, even if its assertions
    held: a broken index must not pass for "no results". Tests of outages opt in by asking
    for ``search_failures``."""
    handler = _Records()
    search_logger = logging.getLogger("articles.search")
    search_logger.addHandler(handler)
    yield handler.records
    search_logger.removeHandler(handler)
    if handler.records and "search_failures" not in request.fixturenames:
        pytest.fail(
            "the search service logged a failure: "
            + "; ".join(record.getMessage() for record in handler.records),
            pytrace=False,
        )


@pytest.fixture
def search_failures(fail_on_search_failure) -> list[logging.LogRecord]:
    """Opts a test in to search failures; the error records the search service logged."""
    return fail_on_search_failure


def _reset_search_backend() -> None:
    try:
        from articles.search import reset_backend
    except ImportError:  # the search package is optional for the parser's own tests
        return
    reset_backend()


def seed_text(
    title: str = "Rebels advance on Aleppo",
    *,
    source: str | None = "AFP",
    published: str | None = "2015-10-10 0:38:02",
    section: str | None = "Mid-East",
    body: str = "Fighters advanced on Friday.\n\nThe offensive continued overnight.",
) -> str:
    """A seed file in the canonical layout; pass None to leave a line out."""
    meta = " ".join(
        part
        for part in (
            f"Source:{source}" if source is not None else "",
            f"Published: {published}" if published is not None else "",
        )
        if part
    )
    lines = [title, ""]
    if meta:
        lines += [meta, ""]
    lines += [body, "", ""]
    if section is not None:
        lines += [f"Posted in: {section}", ""]
    lines.append("blog comments powered by Disqus")
    return "\n".join(lines)


@pytest.fixture
def write_seed(tmp_path: Path) -> Callable[..., Path]:
    """Writes a seed file under tmp_path/seeds (or a given folder) and returns its path."""
    default_folder = tmp_path / "seeds"

    def write(name: str, text: str | bytes | None = None, folder: Path | None = None, **fields):
        path = (folder or default_folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        content = seed_text(**fields) if text is None else text
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return write


# --- admin (staff accounts and hand-made articles) -------------------------------------------

STAFF_PASSWORD = "staff-password-for-tests"


@pytest.fixture
def staff_user(django_user_model, settings):
    """A staff editor with every permission on the archive's models, but not a superuser."""
    from django.contrib.auth.models import Permission

    # The default hasher spends seconds on purpose; a test password needs no such protection.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = django_user_model.objects.create_user("editor", password=STAFF_PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="articles"))
    return user


@pytest.fixture
def staff_client(client, staff_user):
    """The Django test client logged in as the staff editor."""
    client.force_login(staff_user)
    return client


@pytest.fixture
def make_article(db) -> Callable[..., object]:
    """Creates an article directly in the database (indexed by the signals on commit)."""
    import datetime as dt
    import itertools

    from articles.models import Article, Section, Source

    numbers = itertools.count(1)

    def make(
        title: str = "Rebels advance on Aleppo",
        *,
        body: str = "Fighters advanced on Friday.",
        source: str | None = "AFP",
        section: str | None = "Mid-East",
        published: dt.datetime | None = dt.datetime(2015, 10, 10, 0, 38, 2, tzinfo=dt.UTC),
        **fields,
    ) -> Article:
        n = next(numbers)
        return Article.objects.create(
            title=title,
            body=body,
            source=Source.for_name(source) if source else None,
            section=Section.for_name(section) if section else None,
            published=published,
            slug=fields.pop("slug", f"article-{n}"),
            fingerprint=fields.pop("fingerprint", f"{n:064x}"),
            **fields,
        )

    return make


# --- public pages and JSON API (test_views, test_api) ----------------------------------------


@pytest.fixture
def add_article(make_article, django_capture_on_commit_callbacks) -> Callable[..., object]:
    """Like make_article, but indexed at once, as the commit of an import would index it."""

    def add(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return make_article(*args, **kwargs)

    return add


@pytest.fixture
def small_archive(add_article) -> dict[str, object]:
    """Five indexed articles: sources AFP and Reuters, sections Mid-East and Business,
    years 2014-2016, and one undated. Keyed by a short name for the tests to refer to."""
    import datetime as dt

    def day(year: int, month: int, date: int) -> dt.datetime:
        return dt.datetime(year, month, date, 9, 30, tzinfo=dt.UTC)

    return {
        "aleppo": add_article(
            "Rebels advance on Aleppo",
            body="Fighters advanced on Aleppo on Friday.\n\nThe offensive continued overnight.",
            source="AFP",
            section="Mid-East",
            published=day(2015, 10, 10),
        ),
        "strikes": add_article(
            "Russian air strikes hit Syria",
            body="Russian jets struck targets near Aleppo.\n\nMoscow said the strikes hit rebels.",
            source="Reuters",
            section="Mid-East",
            published=day(2015, 10, 11),
        ),
        "oil": add_article(
            "Oil prices climb",
            body="Oil rose sharply on Wednesday.\n\nTraders cited worries about supply.",
            source="AFP",
            section="Business",
            published=day(2014, 3, 5),
        ),
        "ceasefire": add_article(
            "Aleppo ceasefire talks begin",
            body="Diplomats met in Geneva to discuss Aleppo.\n\nNo agreement was reached.",
            source="Reuters",
            section="Mid-East",
            published=day(2016, 2, 20),
        ),
        "cocoa": add_article(
            "Cocoa harvest falls short",
            body="Cocoa farmers in Bahia reported a poor harvest.",
            source="AFP",
            section="Business",
            published=None,
        ),
    }


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """Tests use a SQLite file in WAL mode, as the site does, not Django's in-memory database.

    The in-memory test database shares one cache between connections and answers a second
    writer with "database table is locked" at once, ignoring the busy timeout; on a file, two
    threads writing (an import beside an admin save, the live server) wait for each other as
    they do in production. The file is per session, so concurrent test runs never share it.
    """
    from django.conf import settings

    for database in settings.DATABASES.values():
        if database["ENGINE"] == "django.db.backends.sqlite3":
            folder = tmp_path_factory.mktemp("database")
            database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")
