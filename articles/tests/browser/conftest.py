"""Fixtures for the end-to-end tests: one headless Chromium for the whole folder, a fresh
browser context (and page) per test against pytest-django's live server, a screenshot of every
page a test opened under `test-artifacts/<test name>.png`, and a small archive made via the ORM.

Shared with `test_admin_browser.py`: `browser`, `new_page`, `page`, `phone_page`, `dialogs`,
`artifacts_dir`, `archive`, `screenshots_dir`. While the browser runs, DJANGO_ALLOW_ASYNC_UNSAFE
is set, so tests need not set it themselves.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import transaction
from django.utils.text import slugify

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Fail fast: the pages are local and tiny; 10 s leaves room for a busy CI machine, not 30 s.
TIMEOUT_MS = 10_000


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--screenshots-dir`. pytest reads this hook only from conftests it loads at start-up:
    this one is, whenever a path under articles/tests/browser is on the command line (as in
    `make screenshots`). A top-level conftest.py may register the same option; then this one
    steps aside."""
    with contextlib.suppress(ValueError):  # ValueError: already registered
        parser.addoption(
            "--screenshots-dir",
            default=None,
            help="Where test_screenshots.py writes its PNGs (default: $SCREENSHOTS_DIR, "
            "else test-artifacts/screenshots).",
        )


# --- browser -------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser() -> Iterator:
    """One headless Chromium for all the browser tests (Debian's, never a downloaded one).

    Package-scoped, not session-scoped: Playwright's sync API keeps an asyncio loop running in
    this thread while it is started, which Django's async-safety check (and asyncio.run or
    async_to_sync in any later test) would trip over; so it stops when this folder's tests end.
    """
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed: apt-get install chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    # Meanwhile the ORM calls of the tests and their fixtures are plain synchronous calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    folder = request.config.rootpath / "test-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def dialogs() -> list[str]:
    """Messages of every alert/confirm/prompt any page of this test raised (each dismissed)."""
    return []


@pytest.fixture
def new_page(
    browser, live_server, request: pytest.FixtureRequest, artifacts_dir: Path, dialogs: list[str]
) -> Iterator[Callable[..., object]]:
    """Opens a page in a fresh context (kwargs go to `browser.new_context`, e.g.
    `java_script_enabled=False`), with the live server as base URL. At teardown the visible part
    of each page opened is saved as test-artifacts/<test name>.png (then -2, -3...; the viewport,
    not the full page, which costs a second on a long page) and its context is closed."""
    opened: list = []

    def open_page(**context_options):
        options = {"viewport": DESKTOP, "base_url": live_server.url, **context_options}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()

        def record_dialog(dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", record_dialog)
        opened.append(page)
        return page

    yield open_page

    name = re.sub(r"[^\w.\[\]-]+", "_", request.node.name)
    for n, page in enumerate(opened, start=1):
        suffix = "" if n == 1 else f"-{n}"
        try:
            if not page.is_closed():
                page.screenshot(path=str(artifacts_dir / f"{name}{suffix}.png"))
        except Exception as error:  # a broken page must not hide the test's own failure
            warnings.warn(f"no screenshot for {name}{suffix}: {error}", stacklevel=1)
        finally:
            page.context.close()


@pytest.fixture
def page(new_page):
    """A desktop page (1280x900)."""
    return new_page(viewport=DESKTOP)


@pytest.fixture
def phone_page(new_page):
    """A phone page (390x844, touch, mobile viewport)."""
    return new_page(viewport=PHONE, is_mobile=True, has_touch=True)


@pytest.fixture
def screenshots_dir(request: pytest.FixtureRequest) -> Path:
    """--screenshots-dir, else $SCREENSHOTS_DIR, else test-artifacts/screenshots."""
    chosen = (
        request.config.getoption("screenshots_dir", default=None)
        or os.environ.get("SCREENSHOTS_DIR")
        or "test-artifacts/screenshots"
    )
    folder = Path(chosen)
    if not folder.is_absolute():
        folder = request.config.rootpath / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- data ----------------------------------------------------------------------------------

# Thirty articles, all mentioning "harbour", each with one word no other article has (its title
# starts with it). Article i (0-29) is filed under:
#   source  AFP for 0-11 (12), Reuters for 12-21 (10), BBC for 22-29 (8)
#   year    2014 for 0-9, 2015 for 10-19, 2016 for 20-29 (10 each)
#   section World for even i (15), Business for i % 6 in (1, 3) (10), Science for i % 6 == 5 (5)
# so e.g. "harbour" narrowed to AFP gives 12 results, of which 2 are from 2015 (i = 10, 11).
# fmt: off
WORDS = [
    "albatross", "bagpipe", "cobalt", "dolphin", "ember", "falcon", "glacier", "hazelnut", "iris",
    "juniper", "kestrel", "lantern", "marble", "nectar", "orchid", "pepper", "quartz", "raven",
    "saffron", "tundra", "umbrella", "violin", "walnut", "xylophone", "yarrow", "zeppelin",
    "anchovy", "basalt", "cedar", "dune",
]
# fmt: on
COMMON_WORD = "harbour"
# Words shared by one section's articles, so each article has related articles to show.
SECTION_SCENES = {
    "World": "as diplomats gathered",
    "Business": "as traders watched the markets",
    "Science": "as researchers took samples",
}


def _source_for(i: int) -> str:
    return "AFP" if i < 12 else "Reuters" if i < 22 else "BBC"


def _section_for(i: int) -> str:
    if i % 2 == 0:
        return "World"
    return "Business" if i % 6 in (1, 3) else "Science"


@dataclass
class Archive:
    """The articles `archive` created, findable by their unique word."""

    articles: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.articles)

    def by_word(self, word: str):
        return next(a for a in self.articles if a.title.lower().startswith(word.lower()))


@pytest.fixture
def archive(transactional_db, make_article) -> Archive:
    """The thirty-article archive described above, written through the ORM in one transaction
    (the signals index it when that commits)."""
    created = Archive()
    with transaction.atomic():
        for i, word in enumerate(WORDS):
            year = 2014 + i // 10
            title = f"{word.capitalize()} sighted near the {COMMON_WORD}"
            section = _section_for(i)
            created.articles.append(
                make_article(
                    title,
                    slug=slugify(title),
                    source=_source_for(i),
                    section=section,
                    published=datetime(year, 1 + i % 12, 1 + i % 28, 9, 30, tzinfo=UTC),
                    body=(
                        f"The {word} was seen near the {COMMON_WORD} on a quiet morning, "
                        f"{SECTION_SCENES[section]}.\n\n"
                        f"Witnesses said the {word} stayed until noon, then left."
                    ),
                )
            )
    return created
