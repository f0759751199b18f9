"""Story threads in a real browser: a search shows a re-sent story once with "3 versions";
opening that control lists the other versions, and one of them opens at its own page, which
shows what changed ("Also published as"). Also without JavaScript (a <details>)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Iranian Premier Reiterates Warning Of Retaliation"
BODY = (
    "Iran's prime minister said on Sunday that his country would retaliate against any attack "
    "on its oil installations, repeating a warning given last week as tension rose in the Gulf."
)


@pytest.fixture
def resent(add_article):
    when = [dt.datetime(1987, 3, d, 10, tzinfo=dt.UTC) for d in (1, 2, 3)]
    first = add_article(TITLE, body=BODY, source="Reuters", published=when[0])
    again = add_article(TITLE, body=BODY, source="Reuters", published=when[1])
    corrected = add_article(TITLE, body=BODY.replace("last week", "on Tuesday"), source="AP",
                            published=when[2])  # fmt: skip
    add_article("Iran buys wheat", body="Iran bought wheat from Canada.", published=when[2])
    return first, again, corrected


def search_path(**params) -> str:
    return f"{reverse('articles:search')}?{urlencode(params)}"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_folded_story_expands_and_a_version_opens(new_page, resent, javascript):
    _, _, corrected = resent
    page: Page = new_page(java_script_enabled=javascript)
    page.goto(search_path(q="iran retaliate", sort="oldest"))

    results = page.locator("#results .result")
    expect(results).to_have_count(1)
    expect(page.locator("#result-count")).to_contain_text("1 result")
    versions = results.first.locator("details.result__versions")
    toggle = versions.locator("summary")
    expect(toggle).to_have_text("3 versions")
    version_link = versions.get_by_role("link").last
    expect(version_link).to_be_hidden()

    toggle.click()
    expect(version_link).to_be_visible()
    expect(versions).to_contain_text("AP")
    version_link.click()

    expect(page).to_have_url(re.compile(re.escape(corrected.get_absolute_url()) + "$"))
    also = page.locator("#versions")
    expect(also.get_by_role("heading")).to_have_text("Also published as")
    expect(also.locator("li.version")).to_have_count(2)
    expect(also.locator("li.version").first.locator("del")).to_have_text("on Tuesday")
    expect(also.locator("li.version").first.locator("ins")).to_have_text("last week")


def test_the_toggle_lists_every_version(page: Page, resent):
    page.goto(search_path(q="iran retaliate"))
    page.get_by_role("link", name="Show every version").click()

    expect(page.locator("#results .result")).to_have_count(3)
    expect(page.locator("details.result__versions")).to_have_count(0)
    page.get_by_role("link", name="Fold versions of a story").click()
    expect(page.locator("#results .result")).to_have_count(1)
