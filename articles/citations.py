"""How to cite an article: an APA-style reference and a BibTeX entry, both with the article's
stable URL and the day it was read.

APA (7th edition) for a web page without a named author: the title moves to the author's place,
then the date, the site, and "Retrieved <date>, from <URL>" because an archive page can change.
BibTeX as `@misc` with `url` and `urldate` (read by biblatex) and the same facts in `note` and
`howpublished` (read by classic BibTeX styles). Text from the archive is escaped for LaTeX, so a
title with `&`, `%`, `_` or braces still compiles.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

SITE_NAME = "newsarchive"
MONTH_MACROS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# LaTeX's special characters, each as the command that prints it. The backslash comes first
# in the pattern so the escapes added for the others are not escaped again.
LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_SPECIAL = re.compile("|".join(re.escape(ch) for ch in LATEX_ESCAPES))


@dataclass(frozen=True)
class Citation:
    apa: str
    bibtex: str


def long_date(day: datetime.date) -> str:
    """`October 10, 2015`, in English whatever the site's locale, as APA writes it."""
    return f"{MONTH_NAMES[day.month - 1]} {day.day}, {day.year}"


def one_line(text: str) -> str:
    return " ".join(text.split())


def apa(
    title: str,
    source: str | None,
    published: datetime.date | None,
    url: str,
    accessed: datetime.date,
) -> str:
    """`Title. (2015, October 10). AFP. Retrieved November 29, 2026, from https://...`"""
    title = one_line(title)
    when = (
        f"({published.year}, {MONTH_NAMES[published.month - 1]} {published.day})"
        if published
        else "(n.d.)"
    )
    parts = [title if title.endswith((".", "?", "!")) else f"{title}.", f"{when}."]
    publisher = one_line(source or "")
    if publisher:
        parts.append(publisher if publisher.endswith(".") else f"{publisher}.")
    parts.append(f"Retrieved {long_date(accessed)}, from {url}")
    return " ".join(parts)


def latex_escape(text: str) -> str:
    return _LATEX_SPECIAL.sub(lambda match: LATEX_ESCAPES[match.group()], one_line(text))


def bibtex_key(article_id: int, title: str, source: str | None, year: int | None) -> str:
    """`afp2015rebels-17`: source, year and the title's first word, as people name keys, and
    the article's id so two articles never share one."""

    def ascii_word(text: str) -> str:
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        words = re.findall(r"[a-z0-9]+", folded.lower())
        return words[0] if words else ""

    stem = f"{ascii_word(source or '')}{year or ''}{ascii_word(title)}" or SITE_NAME
    return f"{stem}-{article_id}"


def bibtex(
    article_id: int,
    title: str,
    source: str | None,
    published: datetime.date | None,
    url: str,
    accessed: datetime.date,
) -> str:
    """A `@misc` entry; the title in double braces keeps its capitals in every style."""
    year = published.year if published else None
    fields: list[tuple[str, str]] = [("title", f"{{{{{latex_escape(title)}}}}}")]
    if source:
        fields.append(("author", f"{{{{{latex_escape(source)}}}}}"))
    fields.append(("howpublished", f"{{{SITE_NAME}}}"))
    if published:
        fields += [
            ("year", f"{{{published.year}}}"),
            ("month", MONTH_MACROS[published.month - 1]),
            ("date", f"{{{published.isoformat()}}}"),
        ]
    fields += [
        ("url", f"{{{url}}}"),
        ("urldate", f"{{{accessed.isoformat()}}}"),
        ("note", f"{{Accessed {accessed.isoformat()}}}"),
    ]
    body = ",\n".join(f"  {name} = {value}" for name, value in fields)
    return f"@misc{{{bibtex_key(article_id, title, source, year)},\n{body},\n}}\n"


def cite(
    article_id: int,
    title: str,
    source: str | None,
    published: datetime.date | None,
    url: str,
    accessed: datetime.date,
) -> Citation:
    """Both forms for one article. `published` is the day in the archive's time zone, as the
    article's URL and page show it; `url` is the article's absolute canonical URL."""
    return Citation(
        apa=apa(title, source, published, url, accessed),
        bibtex=bibtex(article_id, title, source, published, url, accessed),
    )
