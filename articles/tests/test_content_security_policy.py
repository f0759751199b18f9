"""Every page carries a Content-Security-Policy that allows no inline script, and no page needs
one: its HTML has no inline <script>, no on*= handler and no style attribute. Checked on each
kind of page, public and admin, error pages included. (The browser test in
browser/test_csp.py checks that Chromium reports no violation on the main pages.)
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def assert_strict_policy(response) -> None:
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def assert_nothing_inline(path: str, response) -> None:
    html = response.content.decode()
    for pattern in (INLINE_SCRIPT, HANDLER_ATTRIBUTE, STYLE_ATTRIBUTE, JAVASCRIPT_URL):
        match = pattern.search(html)
        assert match is None, f"{path}: {match.group(0)[:120]!r}"


def public_paths(archive: dict) -> list[str]:
    return [
        "/",
        "/search/",
        "/search/?q=aleppo&source=AFP&year=2015",
        "/search/?q=aleppp",  # with "Did you mean"
        "/search/?year=abc",  # the 400 page
        "/search/help/",
        archive["aleppo"].get_absolute_url(),
        archive["cocoa"].get_absolute_url(),
        "/sources/",
        "/sources/afp/",
        "/sections/",
        "/sections/mid-east/",
        "/archive/",
        "/archive/2015/",
        "/archive/2015/10/",
        "/archive/2015/10/10/",
        "/no/such/page/",
        "/admin/login/",
    ]


def test_every_public_page_has_a_strict_policy_and_no_inline_code(client, small_archive):
    for path in public_paths(small_archive):
        response = client.get(path)
        assert response.status_code in (200, 400, 404), path
        assert_strict_policy(response)
        assert_nothing_inline(path, response)


def test_api_and_opensearch_responses_carry_the_policy_too(client, small_archive):
    for path in ("/api/search?q=aleppo", f"/api/articles/{small_archive['aleppo'].pk}"):
        assert_strict_policy(client.get(path))
    assert_strict_policy(client.get("/opensearch.xml"))


def test_admin_pages_have_a_strict_policy_and_no_inline_code(staff_client, small_archive):
    article = small_archive["aleppo"]
    paths = [
        reverse("admin:index"),
        reverse("admin:articles_article_changelist"),
        reverse("admin:articles_article_change", args=[article.pk]),
        reverse("admin:articles_article_add"),
        reverse("admin:articles_source_changelist"),
        reverse("admin:articles_importrun_changelist"),
    ]
    for path in paths:
        response = staff_client.get(path)
        assert response.status_code == 200, path
        assert_strict_policy(response)
        assert_nothing_inline(path, response)


def test_admin_tool_pages_have_no_inline_code(staff_client, small_archive):
    """The archive's own admin pages (import, index health), found from the article list."""
    changelist = staff_client.get(reverse("admin:articles_article_changelist")).content.decode()
    tool_links = set(re.findall(r'href="(/admin/articles/article/[a-z-]+/)"', changelist))
    assert len(tool_links) >= 2, tool_links
    for path in sorted(tool_links):
        response = staff_client.get(path)
        assert response.status_code == 200, path
        assert_strict_policy(response)
        assert_nothing_inline(path, response)


def test_the_search_outage_page_has_the_policy(
    client, small_archive, search_index_dir, search_failures
):
    import shutil

    from articles.search import reset_backend

    reset_backend()
    shutil.rmtree(search_index_dir)
    response = client.get("/search/", {"q": "aleppo"})
    assert response.status_code == 503
    assert_strict_policy(response)
    assert_nothing_inline("/search/ (outage)", response)
