"""Citations on article pages: an APA-style reference and a BibTeX entry with the article's
stable URL and the access date; the BibTeX is read back with bibtexparser, its LaTeX decoded
with pylatexenc, so escaping is checked by a parser and not by the code that wrote it."""

from __future__ import annotations

import datetime as dt
import html
import re

import bibtexparser
import pytest
from django.utils import timezone
from pylatexenc.latex2text import LatexNodes2Text

from articles.citations import apa, bibtex, bibtex_key

pytestmark = pytest.mark.django_db

ACCESSED = dt.date(2026, 11, 29)
URL = "https://archive.example/articles/2015/10/10/rebels-advance-on-aleppo/"
LATEX_TITLE = r"Profits up 5% & R_D {new} #1 ~ ^ \ done"


def parse_entry(text: str):
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == []
    (entry,) = library.entries
    return entry


def latex_text(value: str) -> str:
    # pylatexenc renders \textasciicircum as U+02C6 (modifier circumflex); LaTeX prints "^".
    return LatexNodes2Text().latex_to_text(value).replace("\u02c6", "^")


# --- APA ---------------------------------------------------------------------------------------


def test_apa_reference_of_a_dated_article():
    text = apa("Rebels advance on Aleppo", "AFP", dt.date(2015, 10, 10), URL, ACCESSED)
    assert text == (
        "Rebels advance on Aleppo. (2015, October 10). AFP. "
        f"Retrieved November 29, 2026, from {URL}"
    )


def test_apa_reference_without_date_or_source_and_with_a_question():
    text = apa("Is the\nceasefire holding?", None, None, URL, ACCESSED)
    assert text == f"Is the ceasefire holding? (n.d.). Retrieved November 29, 2026, from {URL}"


# --- BibTeX ------------------------------------------------------------------------------------


def test_bibtex_entry_carries_the_url_access_date_and_date():
    entry = parse_entry(
        bibtex(17, "Rebels advance on Aleppo", "AFP", dt.date(2015, 10, 10), URL, ACCESSED)
    )

    assert entry.entry_type == "misc"
    assert entry.key == "afp2015rebels-17"
    assert latex_text(entry["title"]) == "Rebels advance on Aleppo"
    assert latex_text(entry["author"]) == "AFP"
    assert entry["url"] == URL
    assert entry["urldate"] == "2026-11-29"
    assert entry["note"] == "Accessed 2026-11-29"
    assert (entry["year"], entry["month"], entry["date"]) == ("2015", "oct", "2015-10-10")


def test_bibtex_escapes_latex_special_characters():
    entry = parse_entry(bibtex(3, LATEX_TITLE, "A&B_C", dt.date(2015, 1, 2), URL, ACCESSED))
    assert latex_text(entry["title"]) == LATEX_TITLE
    assert latex_text(entry["author"]) == "A&B_C"


def test_bibtex_of_an_undated_article_has_no_year():
    entry = parse_entry(bibtex(5, "Cocoa harvest falls short", None, None, URL, ACCESSED))
    assert "year" not in entry.fields_dict and "author" not in entry.fields_dict
    assert entry.key == "cocoa-5"


def test_bibtex_keys_are_ascii_and_unique_per_article():
    assert bibtex_key(1, "Élection à Paris", "Le Monde", 2015) == "le2015election-1"
    assert bibtex_key(2, "«»", None, None) == "newsarchive-2"


# --- on the article page -----------------------------------------------------------------------


def test_article_page_offers_both_citations_with_its_canonical_url(client, small_archive):
    article = small_archive["strikes"]
    page = client.get(article.get_absolute_url()).content.decode()

    canonical = re.search(r'<link rel="canonical" href="([^"]+)">', page).group(1)
    assert canonical == f"http://testserver{article.get_absolute_url()}"
    today = timezone.localdate()
    apa_text = html.unescape(
        re.search(r'<p class="citation__text" id="cite-apa"[^>]*>(.*?)</p>', page).group(1)
    )
    assert apa_text == apa(
        "Russian air strikes hit Syria", "Reuters", dt.date(2015, 10, 11), canonical, today
    )
    bibtex_text = html.unescape(
        re.search(r'id="cite-bibtex"[^>]*>(.*?)</pre>', page, re.S).group(1)
    )
    entry = parse_entry(bibtex_text)
    assert entry["url"] == canonical
    assert entry["urldate"] == today.isoformat()
    # Copy buttons appear only once static/js/citation.js finds a clipboard; no inline script.
    assert 'data-copy="cite-apa" hidden' in page and 'data-copy="cite-bibtex" hidden' in page
    assert "onclick" not in page


def test_citation_of_an_article_with_markup_in_its_title_is_escaped(client, add_article):
    article = add_article(
        '<script>alert("x")</script> & {braces}', published=None, source=None, section=None
    )
    page = client.get(article.get_absolute_url()).content.decode()
    assert "<script>alert" not in page
    bibtex_text = html.unescape(
        re.search(r'id="cite-bibtex"[^>]*>(.*?)</pre>', page, re.S).group(1)
    )
    assert latex_text(parse_entry(bibtex_text)["title"]) == '<script>alert("x")</script> & {braces}'
