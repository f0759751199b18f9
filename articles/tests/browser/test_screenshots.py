"""Pictures of the main pages at phone (390 px) and desktop (1280 px) widths, for the docs and for
review: `make screenshots` writes them to docs/screenshots/ (`--screenshots-dir`; by default
test-artifacts/screenshots). Each one also checks the page it shows: the status, the heading,
a main landmark, and that nothing is wider than the screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from articles.models import Source

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@dataclass(frozen=True)
class Shot:
    """One page to photograph, and what must be on it."""

    name: str  # the PNGs are <name>-phone.png and <name>-desktop.png
    path: Callable[[object], str]  # the `archive` fixture (or None) -> the page's path
    heading: str  # the page's h1
    status: int = 200
    shows: str = "main"  # a CSS selector that must be visible on the page
    with_archive: bool = True  # False: the page looks the same on an empty archive


def _search(**params) -> str:
    return f"{reverse('articles:search')}?{urlencode(params)}"


SHOTS = [
    Shot("home", lambda archive: reverse("articles:home"), "Search the news archive"),
    Shot(
        "search-results",
        lambda archive: _search(q="harbour"),
        "Results for “harbour”",
        shows="#filters",
    ),
    Shot(
        "article",
        lambda archive: archive.by_word("glacier").get_absolute_url(),
        "Glacier sighted near the harbour",
        shows="#article-body",
    ),
    Shot(
        "article-from-search",
        lambda archive: (
            f"{archive.by_word('glacier').get_absolute_url()}?"
            f"{urlencode({'q': 'harbour', 'source': 'AFP', 'n': 7})}"
        ),
        "Glacier sighted near the harbour",
        shows="#result-nav",
    ),
    Shot(
        "archive-month",
        lambda archive: reverse("articles:archive_month", kwargs={"year": 2015, "month": 3}),
        "Articles from March 2015",
        shows="#archive-days",
    ),
    Shot(
        "source",
        lambda archive: Source.objects.get(name="AFP").get_absolute_url(),
        "AFP",
        shows="#article-list",
    ),
    Shot(
        "archive-year",
        lambda archive: reverse("articles:archive_year", kwargs={"year": 2015}),
        "Articles from 2015",
        shows="#archive-months",
    ),
    Shot(
        "trends",
        lambda archive: (
            f"{reverse('articles:trends')}?"
            f"{urlencode({'q': ['diplomats', 'traders', 'researchers']}, doseq=True)}"
        ),
        "Trends",
        shows="#trends",
    ),
    Shot(
        "search-help",
        lambda archive: reverse("articles:search_help"),
        "How to search the archive",
        with_archive=False,
    ),
    Shot(
        "no-results",
        lambda archive: _search(q="zyzzyva"),
        "Results for “zyzzyva”",
        shows="#no-results",
    ),
    Shot(
        "not-found",
        lambda archive: "/no-such-page/",
        "Page not found",
        status=404,
        shows="#not-found",
        with_archive=False,
    ),
]


@pytest.mark.parametrize("shot", SHOTS, ids=[shot.name for shot in SHOTS])
def test_page_fits_phone_and_desktop_screens(
    shot: Shot, phone_page: Page, page: Page, screenshots_dir: Path, request: pytest.FixtureRequest
):
    path = shot.path(request.getfixturevalue("archive") if shot.with_archive else None)
    for size, width, browser_page in (("phone", 390, phone_page), ("desktop", 1280, page)):
        response = browser_page.goto(path)

        assert response is not None and response.status == shot.status
        expect(browser_page.get_by_role("main")).to_be_visible()
        expect(browser_page.get_by_role("heading", level=1)).to_have_text(shot.heading)
        expect(browser_page.locator(shot.shows).first).to_be_visible()
        scroll_width = browser_page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{shot.name} is {scroll_width}px wide at {width}px"
        browser_page.screenshot(
            path=str(screenshots_dir / f"{shot.name}-{size}.png"), full_page=True
        )


def test_the_filters_open_on_a_phone(phone_page: Page, archive, screenshots_dir: Path):
    phone_page.goto(_search(q="harbour", source="AFP"))
    phone_page.locator("#filters-toggle").click()
    expect(phone_page.locator("#facet-source")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    phone_page.screenshot(path=str(screenshots_dir / "search-filters-phone.png"), full_page=True)


def test_story_threads_folded_in_results_and_compared_on_the_article(
    phone_page: Page, page: Page, add_article, screenshots_dir: Path
):
    """A story re-sent and corrected: one result with its versions opened, and the article's
    "Also published as" with the word diff."""
    import datetime as dt

    body = (
        "Iran's prime minister said on Sunday that his country would retaliate against any "
        "attack on its oil installations, repeating a warning given last week as tension rose "
        "over shipping in the Gulf."
    )
    title = "Iranian Premier Reiterates Warning Of Retaliation"
    when = [dt.datetime(1987, 3, d, 10, tzinfo=dt.UTC) for d in (1, 2, 3, 4)]
    first = add_article(title, body=body, source="Reuters", section="Crude", published=when[0])
    add_article(title, body=body, source="Reuters", section="Crude", published=when[1])
    add_article(title, body=body.replace("last week", "on Tuesday"), source="AP",
                section="Crude", published=when[2])  # fmt: skip
    add_article("Iran buys Canadian wheat", body="Iran bought wheat from Canada, traders said.",
                source="AP", section="Grain", published=when[3])  # fmt: skip
    for size, width, browser_page in (("phone", 390, phone_page), ("desktop", 1280, page)):
        browser_page.goto(_search(q="iran"))
        versions = browser_page.locator("details.result__versions").first
        versions.locator("summary").click()
        expect(versions.get_by_role("link").first).to_be_visible()
        assert browser_page.evaluate("document.documentElement.scrollWidth") <= width
        browser_page.screenshot(path=str(screenshots_dir / f"search-threads-{size}.png"),
                                full_page=True)  # fmt: skip
        browser_page.goto(first.get_absolute_url())
        expect(browser_page.locator("#versions del").first).to_be_visible()
        assert browser_page.evaluate("document.documentElement.scrollWidth") <= width
        browser_page.screenshot(path=str(screenshots_dir / f"article-versions-{size}.png"),
                                full_page=True)  # fmt: skip
