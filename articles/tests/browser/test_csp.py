"""The Content-Security-Policy in a real browser: Chromium reports no violation on the main
pages, their scripts included (the search box's suggestions, the facet form), and the admin
login; and it does block an inline handler, so the listener is known to hear violations."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ..conftest import STAFF_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any page script, outside the page's CSP (Playwright injects it).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture
def csp_page(page):
    """A page that records CSP violations (DOM events and console reports) across loads."""
    console: list[str] = []
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.csp_console = console
    return page


def violations(page) -> list[str]:
    return [*page.evaluate("window.__cspViolations || []"), *page.csp_console]


def visit(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    assert violations(page) == [], url


def test_main_pages_load_without_csp_violations(csp_page, archive, staff_user):
    from playwright.sync_api import expect

    page = csp_page
    article = archive.by_word("cobalt")
    visit(page, reverse("articles:home"))
    visit(page, f"{reverse('articles:search')}?q=harbour")
    expect(page.locator("#results")).to_be_visible()
    # The filters panel is opened by script on wide screens; a tick is applied by its button.
    source = page.get_by_role("group", name="Source")
    source.get_by_role("checkbox", name="AFP (12)", exact=True).click()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#result-count")).to_have_text("12 results")
    page.locator("#facet-year").get_by_role("link", name="2015 (2)").click()
    expect(page.locator("#result-count")).to_have_text("2 results")
    assert violations(page) == []
    # The search box's script asks the API for suggestions while typing.
    page.fill("#q", "harbour")
    expect(page.locator("#q-suggestions")).to_contain_text("articles match")
    assert violations(page) == []
    visit(page, article.get_absolute_url())
    visit(page, reverse("articles:archive"))
    visit(page, reverse("articles:archive_year", args=[2015]))
    visit(page, reverse("articles:sources"))
    visit(page, reverse("articles:search_help"))

    visit(page, reverse("admin:login"))
    page.fill("#id_username", staff_user.username)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(staff_user.username)
    assert violations(page) == []
    visit(page, reverse("admin:articles_article_change", args=[article.pk]))


def test_an_inline_handler_is_blocked_and_reported(csp_page, archive):
    page = csp_page
    visit(page, reverse("articles:search_help"))
    page.evaluate(
        """document.body.insertAdjacentHTML("beforeend",
           '<img src="/static/favicon.svg" onload="window.__inlineRan = true">')"""
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__inlineRan === undefined")
    assert any("script-src" in violation for violation in violations(page))
