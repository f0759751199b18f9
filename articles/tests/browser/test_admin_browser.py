"""The admin end to end in headless Chromium: an edit saved in the admin is what the public
search page finds a moment later, and seed files chosen in the upload form come back as a report."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from ..conftest import STAFF_PASSWORD, seed_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
    # and its fixtures are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def log_in(page, user) -> None:
    from playwright.sync_api import expect

    page.goto(reverse("admin:login"))
    page.fill("#id_username", user.username)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(user.username)


def test_title_edited_in_the_admin_is_found_by_the_public_search(
    page, staff_user, make_article, artifacts_dir: Path
):
    from playwright.sync_api import expect

    article = make_article("Storm hits coast", body="Winds reached 120 km/h overnight.")
    log_in(page, staff_user)

    page.goto(reverse("admin:articles_article_change", args=[article.pk]))
    page.fill("#id_title", "Typhoon hits coast")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")

    page.goto(f"{reverse('articles:search')}?q=typhoon")
    expect(page.locator("#results")).to_contain_text("Typhoon hits coast")
    page.screenshot(path=str(artifacts_dir / "admin-edit-found-by-search.png"), full_page=True)


def test_seed_files_chosen_in_the_import_page_are_reported_row_by_row(
    page, staff_user, tmp_path: Path, artifacts_dir: Path
):
    from playwright.sync_api import expect

    files = []
    for name, title in (("a.txt", "Cocoa prices climb"), ("b.txt", "Coffee prices fall")):
        files.append(tmp_path / name)
        files[-1].write_text(seed_text(title), encoding="utf-8")
    log_in(page, staff_user)

    page.goto(reverse("admin:articles_article_changelist"))
    page.click("text=Import seed files")
    page.set_input_files("#id_files", [str(path) for path in files])
    page.click("#import-form input[type=submit]")

    expect(page.locator("#import-summary")).to_contain_text("2 created")
    rows = page.locator("#import-report tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("a.txt")
    page.screenshot(path=str(artifacts_dir / "admin-import-report.png"), full_page=True)
    rows.first.locator("a").click()
    expect(page.locator("#id_title")).to_have_value("Cocoa prices climb")
