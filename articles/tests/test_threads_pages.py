"""Story threads where readers and editors meet them: the results page (folded, with its
toggle), the JSON API, the article page's "Also published as" with a word diff, the admin."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

BODY = (
    "Iran's prime minister said on Sunday that his country would retaliate against any attack "
    "on its oil installations, repeating a warning given last week."
)
TITLE = "Iranian Premier Reiterates Warning Of Retaliation"


def when(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(1987, 3, day, hour, tzinfo=dt.UTC)


@pytest.fixture
def story(add_article):
    """One story sent twice by Reuters and corrected once by AP, and another story."""
    first = add_article(TITLE, body=BODY, source="Reuters", published=when(1))
    resent = add_article(TITLE, body=BODY, source="Reuters", published=when(1, 12))
    corrected = add_article(
        TITLE, body=BODY.replace("Sunday", "Monday <b>"), source="AP", published=when(2)
    )
    other = add_article("Iran wheat imports", body="Iran bought wheat.", published=when(3))
    return {"first": first, "resent": resent, "corrected": corrected, "other": other}


def page(client, **params) -> str:
    response = client.get(reverse("articles:search"), params)
    assert response.status_code == 200
    return response.content.decode()


def results_list(html: str) -> list[str]:
    """Each result's <li> in the results list."""
    ol = re.search(r'<ol id="results".*?</ol>', html, re.S).group(0)
    return re.findall(r'<li class="result">.*?</li>\s*(?=<li class="result">|</ol>)', ol, re.S)


def test_results_page_folds_a_thread_into_its_best_hit(client, story):
    html = page(client, q="iran", sort="oldest")

    results = results_list(html)
    assert len(results) == 2
    assert re.search(r'id="result-count" class="result-count">2 results', html)
    assert "(4 articles: versions of a story are folded)" in html
    assert "<summary>3 versions</summary>" in results[0]
    links = re.findall(r'<li><a href="([^"]+)">', results[0])
    assert links == [story["resent"].get_absolute_url(), story["corrected"].get_absolute_url()]
    assert "AP" in results[0]
    assert "<details" not in results[1]


def test_facet_counts_count_articles_when_folded(client, story):
    folded = page(client, q="iran")
    every = page(client, q="iran", collapse="0")

    def counts(html: str) -> list[str]:
        return re.findall(r'<label for="[^"]+">([^<]+) <span class="count">\(([^)]+)\)', html)

    assert counts(folded) == counts(every)
    assert ("Reuters", "2") in counts(folded) and ("AP", "1") in counts(folded)


def test_the_toggle_shows_every_version_and_is_kept_in_links(client, story):
    html = page(client, q="iran")
    toggle = re.search(r'<a id="collapse-toggle" href="([^"]+)">([^<]+)</a>', html)
    assert toggle.group(2) == "Show every version"
    assert "collapse=0" in toggle.group(1)

    html = page(client, q="iran", collapse="0")
    assert len(results_list(html)) == 4
    assert "result__versions" not in html
    toggle = re.search(r'<a id="collapse-toggle" href="([^"]+)">([^<]+)</a>', html)
    assert toggle.group(2) == "Fold versions of a story"
    assert "collapse=0" not in toggle.group(1)
    # The search box keeps the choice, and so do the links that change the search.
    assert '<input type="hidden" name="collapse" value="0">' in html
    search_links = re.findall(r'href="(/search/\?[^"]+)"', html)
    kept = [link for link in search_links if link != toggle.group(1).replace("&", "&amp;")]
    assert kept and all("collapse=0" in link for link in kept)


def test_a_bad_collapse_value_is_named(client, story):
    response = client.get(reverse("articles:api_search"), {"q": "iran", "collapse": "maybe"})
    assert response.status_code == 400
    assert "Collapse" in response.json()["error"]


def test_api_gives_thread_ids_and_versions(client, story):
    data = client.get(reverse("articles:api_search"), {"q": "iran", "sort": "oldest"}).json()

    assert data["collapsed"] is True
    assert (data["total"], data["articles"]) == (2, 4)
    best, other = data["results"]
    assert best["thread"] == story["first"].pk and other["thread"] is None
    assert best["versions"] == 3 and other["versions"] == 1
    assert [v["id"] for v in best["other_versions"]] == [story["resent"].pk, story["corrected"].pk]

    every = client.get(reverse("articles:api_search"), {"q": "iran", "collapse": "0"}).json()
    assert (every["total"], every["collapsed"]) == (4, False)
    assert every["filters"]["collapse"] == "0"
    assert sorted(r["thread"] or 0 for r in every["results"]) == [0] + [story["first"].pk] * 3


def test_api_article_lists_its_versions(client, story):
    url = reverse("articles:api_article", args=[story["corrected"].pk])
    data = client.get(url).json()
    assert data["thread"] == story["first"].pk
    assert [v["id"] for v in data["other_versions"]] == [story["first"].pk, story["resent"].pk]


def test_article_page_lists_the_other_versions_with_a_word_diff(client, story):
    html = client.get(story["first"].get_absolute_url()).content.decode()

    section = re.search(r'<section class="versions" id="versions".*?</section>', html, re.S)
    section = section.group(0)
    assert "Also published as" in section
    items = re.findall(r'<li class="version".*?</li>', section, re.S)
    links = [re.search(r'<a href="([^"]+)">', item).group(1) for item in items]
    assert links == [story["resent"].get_absolute_url(), story["corrected"].get_absolute_url()]
    assert "The same title and text." in items[0]
    assert "1 March 1987, 12:00" in items[0]
    assert re.findall(r"<del>(.*?)</del>", items[1]) == ["Sunday"]
    # The inserted text was escaped, not rendered as markup.
    assert re.findall(r"<ins>(.*?)</ins>", items[1]) == ["Monday &lt;b&gt;"]
    assert "<b>" not in items[1]


def test_an_article_without_versions_has_no_such_section(client, story):
    response = client.get(story["other"].get_absolute_url())
    assert b'id="versions"' not in response.content


def test_admin_shows_the_thread_with_links(staff_client, story):
    url = reverse("admin:articles_article_change", args=[story["first"].pk])
    html = staff_client.get(url).content.decode()
    field = re.search(r"field-story_thread.*?</ul>", html, re.S).group(0)
    links = re.findall(r'<a href="([^"]+)">', field)
    assert links == [
        reverse("admin:articles_article_change", args=[story["resent"].pk]),
        reverse("admin:articles_article_change", args=[story["corrected"].pk]),
    ]
    assert f"Thread {story['first'].pk}" in field

    other = reverse("admin:articles_article_change", args=[story["other"].pk])
    assert "No other version." in staff_client.get(other).content.decode()
