"""No request a client can send makes a server error: Hypothesis over every public URL, its
query string (raw bytes, known and unknown parameters), its path arguments and the headers the
views read (Referer for highlighting, Host for absolute URLs, cookies for the CSRF and session
middleware).

The oracle is the status line and the body's shape: never 5xx, JSON that parses on the API,
HTML that names itself on the pages. Each test counts the examples it ran in ``EXAMPLES``;
``test_fuzz_counts`` prints them (``pytest -s``) for the record.
"""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

EXAMPLES: Counter[str] = Counter()
FUZZ = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SEARCH_PARAMS = (
    "q",
    "source",
    "section",
    "year",
    "month",
    "day",
    "date_from",
    "date_to",
    "sort",
    "page",
    "per_page",
    "highlight",
)
# Values that have broken parsers before, beside arbitrary text: huge and negative numbers,
# impossible dates, query syntax fragments, NULs and lone surrogates' UTF-8 look-alikes.
AWKWARD_VALUES = (
    "",
    "0",
    "-1",
    "99999999999999999999999",
    "1e400",
    "NaN",
    "2015-02-30",
    "0000-00-00",
    "9999-12-31",
    "published:[2015 to",
    '"unclosed',
    "title:",
    "(((",
    "*",
    "a~99",
    "\x00",
    "\ufeff",
    "\u202e",
    "AFP",
    "relevance",
)

values = st.one_of(st.sampled_from(AWKWARD_VALUES), st.text(max_size=40))
param_names = st.one_of(st.sampled_from(SEARCH_PARAMS), st.text(max_size=8))


def _encode(value: str | bytes) -> str:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote_from_bytes(raw, safe="")


@st.composite
def query_strings(draw) -> str:
    """A WSGI QUERY_STRING (latin-1 text of the raw bytes): percent-encoded pairs, invalid
    UTF-8 among them, sometimes raw unencoded bytes."""
    pairs = draw(
        st.lists(
            st.tuples(param_names, st.one_of(values, st.binary(max_size=12))),
            max_size=6,
        )
    )
    encoded = "&".join(f"{_encode(name)}={_encode(value)}" for name, value in pairs)
    if draw(st.booleans()):
        return encoded
    junk = draw(st.binary(max_size=16)).decode("latin-1")
    return encoded + draw(st.sampled_from(["", "&", ";", "="])) + junk


def public_pages(archive: dict) -> list[str]:
    """One URL of each kind urls.py serves publicly (the admin has its own tests)."""
    dated = archive["aleppo"]
    undated = archive["cocoa"]
    return [
        "/",
        "/search/",
        "/search/help/",
        dated.get_absolute_url(),
        undated.get_absolute_url(),
        f"/articles/{dated.pk}/",
        "/sources/",
        "/sources/afp/",
        "/sections/",
        "/sections/mid-east/",
        "/archive/",
        "/archive/2015/",
        "/archive/2015/10/",
        "/archive/2015/10/10/",
        "/api/search",
        f"/api/articles/{dated.pk}",
        "/opensearch.xml",
        "/static/css/site.css",
        "/no/such/page/",
    ]


def check_response(path: str, response) -> None:
    """Never a server error; the body is what its content type says."""
    assert response.status_code < 500, (path, response.status_code)
    content_type = response.get("Content-Type", "")
    if response.status_code in (301, 302, 304) or response.streaming:
        return
    body = response.content
    if content_type.startswith("application/json"):
        assert isinstance(json.loads(body), dict)
    elif content_type.startswith("text/html"):
        assert b"</html>" in body or response.status_code == 400
    if path.startswith("/api/"):
        assert content_type.startswith("application/json"), (path, content_type)


@pytest.fixture
def pages(small_archive) -> list[str]:
    return public_pages(small_archive)


@FUZZ
@given(data=st.data())
def test_no_query_string_breaks_any_page(client, pages, data) -> None:
    path = data.draw(st.sampled_from(pages), label="path")
    query = data.draw(query_strings(), label="query")
    response = client.get(path, QUERY_STRING=query)
    check_response(path, response)
    EXAMPLES["query strings"] += 1


referers = st.one_of(
    st.sampled_from(
        [
            "http://[::1",
            "http://[::1]:8000/search/?q=aleppo",
            "http://testserver/search/?q=aleppo&q=%ff",
            "//testserver/search/?q=",
            "http://user:pass@testserver:99999/search/?q=x",
            "http://testserver:abc/search/?q=x",
            "javascript:alert(1)",
            "http://[fe80::1%25eth0]/search/",
            "\x00",
            "/search/?q=" + "a" * 5000,
        ]
    ),
    st.builds(lambda q: "http://testserver/search/?q=" + quote(q), st.text(max_size=60)),
    st.text(max_size=80),
)
hosts = st.one_of(
    st.sampled_from(["testserver", "localhost:8000", "[::1]", "[::1", "testserver:99999", ""]),
    st.text(alphabet=st.characters(codec="latin-1"), max_size=30),
)
cookies = st.one_of(
    st.sampled_from(["csrftoken=x", "sessionid=" + "z" * 40, "csrftoken=" + "a" * 64, '="']),
    st.text(alphabet=st.characters(codec="latin-1"), max_size=60),
)


@FUZZ
@given(data=st.data())
def test_no_header_breaks_any_page(client, pages, data) -> None:
    path = data.draw(st.sampled_from(pages), label="path")
    headers = {"HTTP_REFERER": data.draw(referers, label="referer").encode().decode("latin-1")}
    if data.draw(st.booleans(), label="with host"):
        headers["HTTP_HOST"] = data.draw(hosts, label="host")
    if data.draw(st.booleans(), label="with cookie"):
        headers["HTTP_COOKIE"] = data.draw(cookies, label="cookie")
    if data.draw(st.booleans(), label="with accept-language"):
        headers["HTTP_ACCEPT_LANGUAGE"] = data.draw(st.text(max_size=30), label="language")
    response = client.get(path, **headers)
    check_response(path, response)
    EXAMPLES["headers"] += 1


path_numbers = st.one_of(
    st.integers(min_value=0, max_value=10**4), st.integers(min_value=0, max_value=10**40)
)
slugs = st.from_regex(r"[-a-zA-Z0-9_]{1,40}", fullmatch=True)


@st.composite
def fuzzed_paths(draw) -> str:
    """Every URL pattern with path arguments, filled with any value its converter accepts."""
    n = lambda: draw(path_numbers)  # noqa: E731
    return draw(
        st.sampled_from(
            [
                f"/articles/{n()}/{n()}/{n()}/{draw(slugs)}/",
                f"/articles/undated/{draw(slugs)}/",
                f"/articles/{n()}/",
                f"/sources/{draw(slugs)}/",
                f"/sections/{draw(slugs)}/",
                f"/archive/{n()}/",
                f"/archive/{n()}/{n()}/",
                f"/archive/{n()}/{n()}/{n()}/",
                f"/api/articles/{n()}",
                "/" + quote(draw(st.text(max_size=30))),
            ]
        )
    )


@FUZZ
@given(path=fuzzed_paths())
def test_no_path_argument_breaks_any_page(client, small_archive, path) -> None:
    response = client.get(path)
    check_response(path, response)
    EXAMPLES["paths"] += 1


def test_malformed_referer_on_an_article_page_is_ignored(client, small_archive) -> None:
    """The crash the issue reported: urlsplit raises on an unclosed IPv6 host."""
    response = client.get(small_archive["aleppo"].get_absolute_url(), HTTP_REFERER="http://[::1")
    assert response.status_code == 200


def test_huge_ids_are_not_found_rather_than_errors(client, small_archive) -> None:
    """Integers past the database's 64 bits match no row."""
    huge = 10**30
    assert client.get(f"/articles/{huge}/").status_code == 404
    assert client.get(f"/api/articles/{huge}").status_code == 404
    assert client.get(f"/archive/{huge}/").status_code == 404


def test_fuzz_counts() -> None:
    """Runs last in file order; prints how many requests each fuzz test made (pytest -s)."""
    print("request fuzz examples:", dict(EXAMPLES))  # noqa: T201
