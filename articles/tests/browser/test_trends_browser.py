"""Trends in a real browser: from a search to its trend, add a second search, and follow a
point of the chart to that period's search, whose total is the point's count.

The archive is the `archive` fixture: 30 articles over 2014-2016 (so the chart is by month);
"diplomats" is in the 15 World articles, "traders" in the 10 Business ones.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_point_of_the_chart_opens_its_periods_search_with_that_many_results(page: Page, archive):
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{reverse('articles:search')}?{urlencode({'q': 'diplomats'})}")
    page.get_by_role("link", name="Compare with…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trends")
    expect(page.get_by_label("Search 1", exact=True)).to_have_value("diplomats")
    page.get_by_label("Search 2", exact=True).fill("traders")
    page.get_by_role("button", name="Compare").click()

    chart = page.locator("#trends-chart")
    expect(chart.locator("polyline")).to_have_count(2)
    expect(chart.locator("a")).to_have_count(2 * 36)
    # A point of the line drawn last (on top) that has matches: "traders, May 2014: 1 article".
    point = (
        chart.locator('g[aria-label="traders"] a')
        .filter(has_not=page.locator("title", has_text=re.compile(r": 0 articles$")))
        .first
    )
    label = point.get_attribute("aria-label")
    count = int(re.search(r": (\d+) articles?$", label).group(1))
    period = re.search(r"^traders, (\w+ \d{4}):", label).group(1)
    point.click()

    expect(page).to_have_url(re.compile(r"/search/\?q=traders&year=\d{4}&month=\d+$"))
    expect(page.locator("#result-count")).to_have_text(f"{count} result{'s' * (count != 1)}")
    expect(
        page.get_by_role("link", name=re.compile(f"Remove filter: Month {period}"))
    ).to_be_visible()
    # The chart's presentation attributes and the page's own stylesheet need no CSP exception.
    assert not [text for text in console if "Content Security Policy" in text]
