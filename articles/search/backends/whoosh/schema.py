"""What goes into the index: the text analysis, the schema and an article's document.

One place for the analysis rules, because the index and every query must agree on them: a
word typed in the search box finds an article only if both became the same term.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from whoosh import columns, fields
from whoosh.analysis import (
    CharsetFilter,
    IDTokenizer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.support.charset import accent_map

from ...rules import day_number

#: The boost title frequencies are written into the index with (every index has it, so it
#: stays); how much a title match counts in search is ``ranking.Ranking.title_weight``.
TITLE_WEIGHT = 2.5

# Seconds added to published timestamps, so that 0 can mean "undated" (and 1900 still fits).
_EPOCH_OFFSET = 2**35


def build_analyzer():
    """English words, lower-cased, accents folded (Médecins -> medecins), stop words out, stemmed.

    Folding comes before stemming so that accented and plain spellings share a stem.
    """
    return (
        RegexTokenizer()
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter()
        | StemFilter(cachesize=-1)
    )


ANALYZER = build_analyzer()
# The same chain without the stemmer, for wildcard prefixes ("econom*" must not be stemmed).
_FOLD = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map)
_LABEL = IDTokenizer() | LowercaseFilter()


def build_schema() -> fields.Schema:
    """The index schema. Only the article id is stored: result lists read rows from the DB.

    ``source``/``section`` hold display names, indexed as a lower-cased term and kept in a
    reference column (one small integer per document); ``day`` is the publication day
    (yyyymmdd in the archive's time zone, 0 when undated); ``published`` is seconds, for
    sorting; ``updated`` is the row's ``updated`` stamp in microseconds, for update_index.
    """
    number = {"numtype": int, "signed": False, "sortable": True, "shift_step": 0}
    return fields.Schema(
        id=fields.NUMERIC(bits=64, unique=True, stored=True, **number),
        title=fields.TEXT(analyzer=ANALYZER, field_boost=TITLE_WEIGHT),
        body=fields.TEXT(analyzer=ANALYZER),
        source=fields.ID(analyzer=_LABEL, sortable=columns.RefBytesColumn()),
        section=fields.ID(analyzer=_LABEL, sortable=columns.RefBytesColumn()),
        published=fields.NUMERIC(bits=64, **number),
        day=fields.NUMERIC(bits=32, **number),
        updated=fields.NUMERIC(bits=64, **number),
    )


def document_for(article: Any, tz: Any) -> dict[str, Any]:
    """The Whoosh document for an Article row (source and section selected with it)."""
    doc: dict[str, Any] = {
        "id": int(article.pk),
        "title": article.title or "",
        "body": article.body or "",
        "updated": _micros(article.updated),
    }
    if article.source_id is not None:
        doc["source"] = article.source.name
    if article.section_id is not None:
        doc["section"] = article.section.name
    if article.published is not None:
        local = article.published.astimezone(tz)
        doc["published"] = int(article.published.timestamp()) + _EPOCH_OFFSET
        doc["day"] = day_number(local)
    return doc


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(value: datetime | None) -> int:
    """Microseconds since the epoch, exactly (a float timestamp can be 1 µs off)."""
    if value is None:
        return 0
    return (value - _EPOCH) // timedelta(microseconds=1)


def updated_from_micros(micros: int) -> datetime | None:
    """The ``updated`` stamp a document was indexed from (``document_for`` wrote 0 for none)."""
    return _EPOCH + timedelta(microseconds=micros) if micros else None


def analyze(text: str) -> list[str]:
    """The index terms of a text, in order (stop words dropped)."""
    return [t.text for t in ANALYZER(text)]


def fold(text: str) -> str:
    """A word lower-cased and accent-folded but not stemmed, as prefixes and edits need it."""
    return "".join(t.text for t in _FOLD(text))
