"""A reader's journey through the archive in a real browser: find, narrow, open and read an
article, with only the mouse, with only the keyboard, and with JavaScript turned off; and text
from the archive or the search box is always shown as text, never run.

The archive is the `archive` fixture: 30 articles mentioning "harbour" (AFP 12, Reuters 10,
BBC 8; 10 a year in 2014-2016; 2 of AFP's from 2015), each with a word of its own.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Page size of the results page (forms.DEFAULT_PER_PAGE): 30 results make two pages.
PER_PAGE = 20


def search_path(**params) -> str:
    return f"{reverse('articles:search')}?{urlencode(params, doseq=True)}"


def result_count(page: Page) -> Locator:
    return page.locator("#result-count")


def results(page: Page) -> Locator:
    return page.locator("#results .result")


def facet(page: Page, group: str, name: str) -> Locator:
    """A facet checkbox, by its group's legend and its label ("AFP (12)")."""
    return page.get_by_role("group", name=group).get_by_role("checkbox", name=name, exact=True)


def chip(page: Page, kind: str, value: str) -> Locator:
    return page.get_by_role("link", name=f"Remove filter: {kind} {value}", exact=True)


def pagination(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Pagination")


# --- keyboard helpers ------------------------------------------------------------------------

# Fields that Tab walks through part by part (day, month, year, calendar button) without
# leaving the element. Chromium draws the focus of those parts itself (a highlighted part, a
# ring round the calendar button), so they count as visibly focused.
MULTI_PART_FIELD = "input[type=date], input[type=time], input[type=datetime-local]"

# Where the focus is after a key press, in one round trip: a description of the focused element
# (empty on <body>), whether it shows the focus, and whether it is the target. Focus shows when
# the element matches :focus-visible and draws an outline, a shadow, or (the chart's SVG bars)
# a stroke on one of its shapes.
FOCUS_STATE = """([target, multiPartField]) => {
    const el = document.activeElement;
    if (!el || el === document.body) return {name: "", visible: false, multiPart: false};
    const draws = node => {
        const s = getComputedStyle(node);
        return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0)
            || s.boxShadow !== "none"
            || (node instanceof SVGGeometryElement && s.stroke !== "none"
                && parseFloat(s.strokeWidth) > 0);
    };
    const multiPart = el.matches(multiPartField);
    const label = el.getAttribute("aria-label") || el.textContent || el.value || "";
    return {
        name: `${el.tagName.toLowerCase()}#${el.id} ${label.trim().replace(/\\s+/g, " ")}`
            .slice(0, 80),
        visible: multiPart
            || (el.matches(":focus-visible") && (draws(el) || [...el.children].some(draws))),
        multiPart,
        isTarget: el === target,
    };
}"""


def press_until_focused(page: Page, target: Locator, key: str = "Tab", limit: int = 120) -> int:
    """Presses `key` until `target` has the focus; every press must move the focus to another
    element (or another part of a date field) that shows it. Returns the number of presses."""
    target_element = target.element_handle()
    before = page.evaluate(FOCUS_STATE, [target_element, MULTI_PART_FIELD])["name"]
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        focus = page.evaluate(FOCUS_STATE, [target_element, MULTI_PART_FIELD])
        now = focus["name"]
        assert now, f"{key} #{presses} left the page (focus on <body>) after {before!r}"
        assert now != before or focus["multiPart"], (
            f"{key} #{presses} did not move the focus from {before!r}"
        )
        assert focus["visible"], f"focus on {now!r} is not visible"
        if focus["isTarget"]:
            return presses
        before = now
    raise AssertionError(f"{limit} presses of {key} never reached {target}")


# --- mouse -----------------------------------------------------------------------------------


def test_searching_from_the_home_page_lists_the_matching_articles(page: Page, archive):
    page.goto(reverse("articles:home"))
    page.get_by_label("Search the archive").fill("harbour")
    page.get_by_role("button", name="Search", exact=True).click()

    expect(page).to_have_url(re.compile(r"/search/\?q=harbour$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “harbour”")
    expect(result_count(page)).to_have_text("30 results, showing 1–20")
    expect(results(page)).to_have_count(PER_PAGE)


def test_ticking_a_source_narrows_the_results_and_updates_every_count(page: Page, archive):
    page.goto(search_path(q="harbour"))
    expect(facet(page, "Source", "Reuters (10)")).to_be_visible()
    expect(page.locator("#facet-year").get_by_role("link", name="2015 (10)")).to_be_visible()

    facet(page, "Source", "AFP (12)").click()
    expect(result_count(page)).to_have_text("30 results, showing 1–20")  # nothing until applied
    page.get_by_role("button", name="Apply filters").click()

    expect(result_count(page)).to_have_text("12 results")
    expect(results(page)).to_have_count(12)
    expect(facet(page, "Source", "AFP (12)")).to_be_checked()
    expect(chip(page, "Source", "AFP")).to_be_visible()
    expect(page.locator("#facet-year").get_by_role("link", name="2015 (2)")).to_be_visible()
    expect(page.locator("#results .result__source")).to_have_text(["AFP"] * 12)


def test_removing_a_filter_chip_widens_the_results_again(page: Page, archive):
    page.goto(search_path(q="harbour", source="AFP"))
    expect(result_count(page)).to_have_text("12 results")

    chip(page, "Source", "AFP").click()

    expect(result_count(page)).to_have_text("30 results, showing 1–20")
    expect(page.locator(".chip")).to_have_count(0)
    expect(facet(page, "Source", "AFP (12)")).not_to_be_checked()


def test_a_result_opens_its_article_and_back_returns_to_the_same_results(page: Page, archive):
    glacier = archive.by_word("glacier")
    page.goto(search_path(q="harbour", source="AFP"))

    page.locator("#results").get_by_role("link", name=glacier.title).click()

    expect(page).to_have_url(re.compile(re.escape(glacier.get_absolute_url())))
    expect(page.get_by_role("heading", level=1)).to_have_text(glacier.title)
    expect(page.locator("#article-body")).to_contain_text("the glacier stayed until noon")
    expect(page.locator("#article-source")).to_have_text("AFP")

    page.go_back()

    expect(page).to_have_url(re.compile(r"/search/\?q=harbour&source=AFP$"))
    expect(result_count(page)).to_have_text("12 results")


def test_next_and_previous_page_through_the_results(page: Page, archive):
    page.goto(search_path(q="harbour"))
    first_page_titles = results(page).locator("h3").all_text_contents()

    pagination(page).get_by_role("link", name="Next page").click()

    expect(result_count(page)).to_have_text("30 results, showing 21–30")
    expect(results(page)).to_have_count(30 - PER_PAGE)
    expect(pagination(page).get_by_role("link", name="Page 2")).to_have_attribute(
        "aria-current", "page"
    )
    second_page_titles = results(page).locator("h3").all_text_contents()
    assert not set(first_page_titles) & set(second_page_titles)

    pagination(page).get_by_role("link", name="Previous page").click()

    expect(result_count(page)).to_have_text("30 results, showing 1–20")
    expect(results(page).locator("h3")).to_have_text(first_page_titles)


def test_choosing_oldest_first_puts_the_oldest_article_on_top(page: Page, archive):
    oldest = min(archive.articles, key=lambda article: article.published)
    page.goto(search_path(q="harbour"))

    page.get_by_label("Sort by").select_option(label="Oldest first")
    page.get_by_role("button", name="Sort", exact=True).click()

    expect(page).to_have_url(re.compile(r"sort=oldest"))
    expect(results(page).first.get_by_role("link")).to_have_text(oldest.title)


def test_a_reader_can_find_narrow_open_and_read_an_article_with_only_the_mouse(page: Page, archive):
    glacier = archive.by_word("glacier")
    page.goto(reverse("articles:home"))

    # Find.
    page.get_by_label("Search the archive").click()
    page.keyboard.type("harbour")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(result_count(page)).to_have_text("30 results, showing 1–20")

    # Page through.
    pagination(page).get_by_role("link", name="Next page").click()
    expect(result_count(page)).to_have_text("30 results, showing 21–30")

    # Narrow.
    facet(page, "Source", "AFP (12)").click()
    page.get_by_role("button", name="Apply filters").click()
    expect(result_count(page)).to_have_text("12 results")

    # Open and read.
    page.locator("#results").get_by_role("link", name=glacier.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(glacier.title)
    expect(page.locator("#article-body")).to_contain_text("the glacier stayed until noon")

    # Back, and widen again from the filter chip.
    page.go_back()
    expect(result_count(page)).to_have_text("12 results")
    chip(page, "Source", "AFP").click()
    expect(result_count(page)).to_have_text("30 results, showing 1–20")


# --- keyboard --------------------------------------------------------------------------------


def test_the_skip_link_is_the_first_tab_stop_and_jumps_to_the_main_content(page: Page):
    page.goto(reverse("articles:home"))

    skip = page.get_by_role("link", name="Skip to main content")
    assert press_until_focused(page, skip) == 1
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"#main$"))
    assert page.evaluate("document.activeElement.id") == "main"


def test_a_reader_can_find_narrow_open_and_read_an_article_with_only_the_keyboard(
    page: Page, archive
):
    glacier = archive.by_word("glacier")
    page.goto(reverse("articles:home"))

    # Find: Tab to the search box, type, Enter.
    press_until_focused(page, page.get_by_label("Search the archive"))
    page.keyboard.type("harbour")
    # Shift+Tab goes back the way it came; Tab returns to the box.
    press_until_focused(page, page.get_by_role("link", name="Search help", exact=True), "Shift+Tab")
    press_until_focused(page, page.get_by_label("Search the archive"))
    page.keyboard.press("Enter")
    expect(result_count(page)).to_have_text("30 results, showing 1–20")

    # Page through: Tab to "Next page", Enter.
    press_until_focused(page, pagination(page).get_by_role("link", name="Next page"))
    page.keyboard.press("Enter")
    expect(result_count(page)).to_have_text("30 results, showing 21–30")

    # Narrow: the filters come before the results; Shift+Tab back to the AFP checkbox, Space
    # ticks it (nothing reloads), then Tab on to "Apply filters" and Enter.
    press_until_focused(page, facet(page, "Source", "AFP (12)"), "Shift+Tab")
    page.keyboard.press("Space")
    expect(facet(page, "Source", "AFP (12)")).to_be_checked()
    expect(result_count(page)).to_have_text("30 results, showing 21–30")
    press_until_focused(page, page.get_by_role("button", name="Apply filters"))
    page.keyboard.press("Enter")
    expect(result_count(page)).to_have_text("12 results")
    expect(chip(page, "Source", "AFP")).to_be_visible()

    # Open and read: Tab on past the filters to the article's link, Enter.
    press_until_focused(page, page.locator("#results").get_by_role("link", name=glacier.title))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(glacier.title)
    expect(page.locator("#article-body")).to_contain_text("the glacier stayed until noon")

    # Back to the narrowed results, and widen them again from the filter chip.
    page.go_back()
    expect(result_count(page)).to_have_text("12 results")
    press_until_focused(page, chip(page, "Source", "AFP"))
    page.keyboard.press("Enter")
    expect(result_count(page)).to_have_text("30 results, showing 1–20")
    expect(page.locator(".chip")).to_have_count(0)


# --- without JavaScript ----------------------------------------------------------------------


def test_search_and_facets_work_with_javascript_turned_off(new_page, archive):
    page = new_page(java_script_enabled=False)
    page.goto(reverse("articles:home"))
    page.get_by_label("Search the archive").fill("harbour")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(result_count(page)).to_have_text("30 results, showing 1–20")

    # Without the script nothing submits on change: the Sort button and "Apply filters" do.
    expect(page.get_by_role("button", name="Sort", exact=True)).to_be_visible()
    facet(page, "Source", "BBC (8)").check()
    facet(page, "Section", "World (15)").check()
    expect(result_count(page)).to_have_text("30 results, showing 1–20")
    page.get_by_role("button", name="Apply filters").click()

    expect(page).to_have_url(re.compile(r"source=BBC&section=World"))
    # BBC is articles 22-29, World the even ones: 22, 24, 26 and 28.
    expect(result_count(page)).to_have_text("4 results")
    expect(results(page)).to_have_count(4)
    expect(chip(page, "Source", "BBC")).to_be_visible()
    expect(chip(page, "Section", "World")).to_be_visible()


# --- escaping --------------------------------------------------------------------------------


def test_an_article_titled_with_markup_shows_it_as_text_and_runs_nothing(
    page: Page, make_article, dialogs
):
    title = "<script>alert(1)</script>"
    article = make_article(
        title,
        slug="script-alert",
        body='Beware <img src=x onerror="alert(2)"> in the harbour.\n\n<b>alert(3)</b>',
        published=datetime(2015, 5, 5, 12, tzinfo=UTC),
    )

    page.goto(search_path(q="alert"))
    expect(page.locator("#results").get_by_role("link", name=title, exact=True)).to_be_visible()
    page.locator("#results").get_by_role("link", name=title, exact=True).click()

    expect(page).to_have_url(re.compile(re.escape(article.get_absolute_url())))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("#article-body")).to_contain_text('<img src=x onerror="alert(2)">')
    expect(page.locator("#article-body")).to_contain_text("<b>alert(3)</b>")
    assert page.locator("#article-body img, #article-body b, main script").count() == 0
    page.goto(reverse("articles:home"))
    expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()
    assert dialogs == []


def test_a_search_for_markup_is_echoed_as_text(page: Page, dialogs):
    words = '"><script>alert(4)</script>'

    page.goto(search_path(q=words))

    expect(page).to_have_title(re.compile(re.escape(f"“{words}”")))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Results for “{words}”")
    expect(page.get_by_label("Search the archive")).to_have_value(words)
    assert page.locator("main script").count() == 0
    assert dialogs == []
