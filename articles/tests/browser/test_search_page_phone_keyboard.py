"""Issue 17 in a real browser, at a phone's 390 px and a desktop's 1280 px: the filters within
the first screen and the first 10 Tab stops, "show more" without JavaScript, stepping through
results from an article and back, no reload on arrow keys over the closed sort menu, facet
counts equal to the totals their links land on, a chart whose labels fit inside it and whose
bars are tap targets of 24 px, and bad syntax reported as such.

The archive is the `archive` fixture (30 "harbour" articles; see conftest.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.urls import reverse
from playwright.sync_api import Page, expect

from .conftest import DESKTOP, PHONE
from .test_search_flow import press_until_focused, result_count

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": PHONE, "desktop": DESKTOP}


def search_path(**params) -> str:
    return f"{reverse('articles:search')}?{urlencode(params, doseq=True)}"


@pytest.fixture(params=list(SIZES))
def sized_page(request, new_page) -> Page:
    if request.param == "phone":
        return new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    return new_page(viewport=DESKTOP)


def first_filter(page: Page):
    """The first control of the filters: the "Filters" toggle on a phone, the first facet
    checkbox beside the results."""
    toggle = page.locator("#filters-toggle")
    return toggle if toggle.is_visible() else page.locator("#facet-source input").first


def total_of(page: Page) -> int:
    text = result_count(page).text_content() or ""
    return int(re.match(r"[\d,]+", text).group().replace(",", ""))


# --- 1: filters first ---------------------------------------------------------------------


def test_the_filters_are_on_the_first_screen_and_within_ten_tab_stops(sized_page: Page, archive):
    page = sized_page
    page.goto(search_path(q="harbour"))
    height = page.viewport_size["height"]

    control = first_filter(page)
    box = control.bounding_box()
    assert box is not None and box["y"] + box["height"] <= height
    assert press_until_focused(page, control, limit=10) <= 10
    if control.get_attribute("id") == "filters-toggle":  # phone: it opens the facets
        expect(page.locator("#facet-source input").first).to_be_hidden()
        page.keyboard.press("Enter")
        expect(page.locator("#facet-source input").first).to_be_visible()


def test_the_filters_open_and_show_more_without_javascript(new_page, archive, make_article):
    with transaction.atomic():
        for n in range(10):
            make_article(f"Harbour note {n}", slug=f"harbour-note-{n}", section=f"Desk {n}",
                         body="The harbour was calm.",
                         published=datetime(2016, 6, 1, tzinfo=UTC))  # fmt: skip
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=False)
    page.goto(search_path(q="harbour"))

    page.locator("#filters-toggle").click()
    sections = page.get_by_role("group", name="Section")
    expect(sections.locator("> ul > li")).to_have_count(8)
    more = sections.get_by_text(re.compile(r"Show 5 more"))
    more.click()
    expect(sections.locator("li")).to_have_count(13)
    sections.get_by_role("checkbox", name="Desk 9 (1)").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(result_count(page)).to_have_text("1 result")
    # The chosen value is never hidden behind "Show more".
    page.locator("#filters-toggle").click()
    expect(page.get_by_role("checkbox", name="Desk 9 (1)")).to_be_visible()


# --- 2: stepping through results ----------------------------------------------------------


def test_stepping_through_results_from_an_article_and_back_to_the_same_page(
    sized_page: Page, archive
):
    page = sized_page
    listing = search_path(q="harbour", sort="oldest", page=2)
    page.goto(listing)
    titles = page.locator("#results .result__title").all_text_contents()

    page.locator("#results .result__title a").first.click()
    expect(page.locator("#result-position")).to_have_text("21 of 30")
    expect(page.get_by_role("heading", level=1)).to_have_text(titles[0])
    page.get_by_role("link", name="Next result").click()
    expect(page.locator("#result-position")).to_have_text("22 of 30")
    expect(page.get_by_role("heading", level=1)).to_have_text(titles[1])
    page.get_by_role("link", name="Previous result").click()
    page.get_by_role("link", name="Previous result").click()
    expect(page.locator("#result-position")).to_have_text("20 of 30")

    page.get_by_role("link", name="‹ Back to results").click()
    expect(page).to_have_url(re.compile(r"/search/\?q=harbour&sort=oldest$"))  # page 1 holds 20
    page.goto(listing)
    page.locator("#results .result__title a").nth(3).click()
    page.get_by_role("link", name="‹ Back to results").click()
    expect(page).to_have_url(re.compile(r"/search/\?q=harbour&sort=oldest&page=2$"))
    expect(page.locator("#results .result__title")).to_have_text(titles)


# --- 3: nothing happens while looking -------------------------------------------------------


def test_arrow_keys_on_the_closed_sort_menu_do_not_reload_the_page(sized_page: Page, archive):
    page = sized_page
    page.goto(search_path(q="harbour"))
    url = page.url
    page.evaluate("window.__samePage = true")

    page.locator("#sort").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)  # a reload would have started by now

    assert page.url == url and page.evaluate("window.__samePage") is True
    page.get_by_role("button", name="Sort", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=oldest"))


# --- 4: counts that do not lie ------------------------------------------------------------


def test_every_facet_and_bar_count_equals_the_total_its_link_lands_on(sized_page: Page, archive):
    page = sized_page
    page.goto(search_path(q="harbour", year=2015, month=3))
    links = page.eval_on_selector_all(
        "#facets a.facet__link:not(.is-selected), #coverage a.coverage__bar",
        """links => links.map(a => [a.getAttribute('href'),
             a.getAttribute('aria-label') || a.textContent])""",
    )
    assert len(links) >= 5
    for href, label in links:
        count = int(re.search(r"\((\d+)\)|: (\d+) matching", label).group(1)
                    or re.search(r": (\d+) matching", label).group(1))  # fmt: skip
        page.goto(href)
        assert total_of(page) == count, (label, href)


# --- 5: the chart -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{"q": "harbour"}, {"q": "harbour", "year": 2015}, {"q": "harbour", "year": 2015, "month": 3}],
    ids=["years", "months", "days"],
)
def test_the_charts_labels_fit_inside_it_and_its_bars_are_24px_targets(
    sized_page: Page, archive, params
):
    page = sized_page
    page.goto(search_path(**params))
    svg = page.locator("#coverage svg")
    expect(svg).to_be_visible()
    box = svg.bounding_box()
    texts = page.eval_on_selector_all(
        "#coverage svg text",
        "els => els.map(t => { const r = t.getBoundingClientRect();"
        " return [t.textContent, r.left, r.right, r.top, r.bottom]; })",
    )
    assert texts
    for text, left, right, top, bottom in texts:
        assert box["x"] - 0.5 <= left and right <= box["x"] + box["width"] + 0.5, text
        assert box["y"] - 0.5 <= top and bottom <= box["y"] + box["height"] + 0.5, text
    counts = page.locator("#coverage .coverage__count").all_text_contents()
    assert counts and all(c.strip() for c in counts)  # numbers on the bars, not tooltips only
    widths = page.eval_on_selector_all(
        "#coverage .coverage__hit", "els => els.map(r => r.getBoundingClientRect().width)"
    )
    assert min(widths) >= 24


# --- 6: bad syntax ------------------------------------------------------------------------------


def test_an_unreadable_query_says_so_and_lists_nothing(sized_page: Page, archive):
    page = sized_page
    page.goto(search_path(q="title:("))

    expect(page.locator("#query-error")).to_contain_text("Nothing was left to search for")
    expect(page.locator("#query-error")).not_to_contain_text("closed")
    expect(result_count(page)).to_have_text("0 results")
    expect(page.locator("#results")).to_have_count(0)
    expect(page.locator("#sort")).to_have_count(0)


# --- 7: browse pages --------------------------------------------------------------------------


def test_a_months_days_are_a_calendar_of_24px_targets(sized_page: Page, archive):
    page = sized_page
    page.goto(reverse("articles:archive_month", args=[2015, 3]))

    calendar = page.locator("#archive-days")
    expect(calendar.locator("thead th")).to_have_count(7)
    day = calendar.get_by_role("link", name=re.compile(r"^\d+ March: \d+ articles?$")).first
    box = day.bounding_box()
    assert box["width"] >= 24 and box["height"] >= 24
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    day.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("March 2015")
    expect(page.locator("#day-count")).to_contain_text("oldest first")


def test_a_long_source_list_has_numbered_pages_up_to_the_last(
    sized_page: Page, archive, make_article
):
    with transaction.atomic():
        for n in range(45):
            make_article(f"Gazette item {n}", slug=f"gazette-item-{n}", source="Gazette",
                         published=datetime(2016, 1, 1 + n % 28, tzinfo=UTC))  # fmt: skip
    page = sized_page
    page.goto(reverse("articles:source", args=["gazette"]))

    paging = page.get_by_role("navigation", name="Pagination")
    expect(paging.locator("#page-of")).to_have_text("Page 1 of 3")
    paging.get_by_role("link", name="Page 3").click()
    expect(page.locator("#page-of")).to_have_text("Page 3 of 3")
    expect(page.locator("#article-list li")).to_have_count(5)
    expect(page.locator("#label-breakdowns")).to_contain_text("Years")


# --- 8: zero results ----------------------------------------------------------------------------


def test_no_results_shows_no_empty_filters_and_did_you_mean_runs_in_one_click(
    sized_page: Page, archive
):
    page = sized_page
    page.goto(search_path(q="harbur"))

    expect(result_count(page)).to_have_text("0 results")
    expect(page.locator("#filters")).to_have_count(0)
    expect(page.locator("#sort")).to_have_count(0)
    expect(page.locator("#facet-dates")).to_have_count(0)
    page.locator("#suggestion a").click()
    expect(result_count(page)).to_have_text("30 results, showing 1–20")
