"""Parse plain-text news "seed files" into clean article fields.

A seed file is a scraped news page saved as text: a title line, a metadata line
(``Source:AFP Published: 2015-10-10 0:38:02``), paragraphs separated by blank lines, a
``Posted in: <section>`` line and some comment-widget boilerplate. Real files arrive in
several encodings, with stray control characters and with parts missing, so this module
turns *any* bytes into either a :class:`ParsedArticle` or a :class:`SeedFileError` whose
``code`` the importer can report. It is pure Python on purpose (no Django) so that it can
be tested and reused without a database.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from charset_normalizer import from_bytes
from dateutil import parser as date_parser

DEFAULT_MAX_BYTES = 5 * 1024 * 1024

ERROR_CODES = ("empty", "no-body", "binary", "too-large", "undecodable")

# Whole lines (compared case-insensitively, whitespace collapsed, trailing colon ignored)
# that scrapers copy from page furniture. Whole-line matching keeps article text safe.
BOILERPLATE_LINES = frozenset(
    {
        "blog comments powered by disqus",
        "share this",
        "share this article",
        "share this story",
        "comments",
        "tweet",
        "like this",
        "related",
        "advertisement",
    }
)

DISQUS_TAIL = "blog comments powered by disqus"
POSTED_IN = "posted in:"
TITLE_FALLBACK_CHARS = 80
MAX_DATE_CHARS = 100
# Real metadata lines are short; a longer line starting "Source:" is article text, and
# capping it keeps label scanning cheap on multi-megabyte lines.
MAX_METADATA_CHARS = 500
MIN_YEAR, MAX_YEAR = 1800, 2200

# Beyond this share of control bytes a file is data, not text that picked up some noise.
BINARY_CONTROL_RATIO = 0.10
BINARY_SIGNATURES = (
    b"\x89PNG",
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"GIF87a",
    b"GIF89a",
    b"\xff\xd8\xff",
    b"%PDF-",
    b"\x1f\x8b",
    b"\x7fELF",
    b"BZh91AY",
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
)
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_HIGH_BYTES = bytes(range(0x80, 0x100))
_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Western prose has a few accented letters per word; Cyrillic, Greek or CJK text in a
# legacy codepage is mostly high bytes. Below this share we trust cp1252 over guessing.
WESTERN_HIGH_BYTE_RATIO = 0.3
WESTERN_MIN_EVIDENCE = 8

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# C0 and C1 controls (but not \t and \n), DEL, BOM/zero-width no-break space and lone
# surrogates: none of them belongs in stored text, and PostgreSQL rejects NUL outright.
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_LABEL = re.compile(r"\b(source|published|updated)\s*:", re.IGNORECASE)
_LABEL_AT_START = re.compile(r"(?:source|published|updated)\s*:", re.IGNORECASE)
_VALUE_JUNK = " \t|,;\u00b7\u2022-\u2013\u2014"

_UTC_NAMES = frozenset({"UTC", "GMT", "Z", "UT"})
# Abbreviations news sites actually print; anything else is ignored (naive result).
_ZONE_HOURS = {
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "EET": 2,
    "EEST": 3,
}


class SeedFileError(Exception):
    """Raised for a file that cannot be imported, so the importer can report and move on.

    ``code`` is a short machine word from :data:`ERROR_CODES`; ``str(error)`` is the reason
    a person reads.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code

    def __reduce__(self):
        # Exceptions pickle as cls(*args); keep the code when sent to a worker process.
        return (type(self), (self.code, str(self)))


@dataclass(frozen=True)
class ParsedArticle:
    """Everything the importer stores about one seed file."""

    title: str
    body: str
    source: str
    section: str
    published: datetime | None
    text: str
    encoding: str
    warnings: tuple[str, ...]


# --- decoding -------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """Turn file bytes into text, naming the encoding so odd guesses show up in reports.

    Order: a BOM wins; then anything that looks binary is refused; then strict UTF-8;
    then cp1252 for Western-looking bytes (charset detectors often pick exotic codepages
    for short English text); then charset-normalizer; then cp1252 / Latin-1.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_with_bom(data, encoding), _codec_name(encoding)
    _refuse_binary(data)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _looks_western(data):
        text = _try_decode(data, "cp1252")
        if text is not None:
            return text, "cp1252"
    guessed = _guess_encoding(data)
    for encoding in (guessed, "cp1252"):
        text = _try_decode(data, encoding) if encoding else None
        if text is not None:
            return text, _codec_name(encoding)
    return data.decode("latin-1"), "latin-1"


def _decode_with_bom(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise SeedFileError(
            "undecodable",
            f"starts with a {_codec_name(encoding)} byte-order mark but byte "
            f"{error.start} is not valid {error.encoding}",
        ) from None


def _refuse_binary(data: bytes) -> None:
    if data.startswith(BINARY_SIGNATURES):
        raise SeedFileError("binary", f"binary file (starts with {data[:8]!r})")
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if controls > BINARY_CONTROL_RATIO * len(data):
        raise SeedFileError(
            "binary",
            f"binary file: {controls} of {len(data)} bytes are control bytes "
            f"(over {BINARY_CONTROL_RATIO:.0%})",
        )


def _looks_western(data: bytes) -> bool:
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    if high < WESTERN_MIN_EVIDENCE:
        return True
    letters = len(data) - len(data.translate(None, _ASCII_LETTERS))
    return high <= WESTERN_HIGH_BYTE_RATIO * (high + letters)


def _guess_encoding(data: bytes) -> str | None:
    try:
        match = from_bytes(data).best()
    except Exception:  # a third-party heuristic must not turn bad bytes into a crash
        return None
    return match.encoding if match is not None else None


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding


# --- normalising and fingerprinting ---------------------------------------------------


def normalise(text: str) -> str:
    """One canonical spelling of a text, so storage and fingerprints ignore file noise.

    LF line ends, no BOM or control characters, tabs as spaces, no trailing whitespace
    and no leading or trailing blank lines. Idempotent.
    """
    return _normalise(text)[0]


def _normalise(text: str) -> tuple[str, int]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = text.replace("\ufeff", "").replace("\t", " ")
    text, removed = _CONTROL_CHARS.subn("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return text.strip("\n"), removed


def fingerprint(text: str) -> str:
    """Identity of a file's content: the same article saved differently gets one hash."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


# --- dates ----------------------------------------------------------------------------


def parse_published(value: str) -> datetime | None:
    """The one place that reads publication stamps; None for anything it cannot trust.

    A stamp needs at least a year and a month (a bare time or day would otherwise be
    completed from an arbitrary default). Never raises.
    """
    value = " ".join(value.split())
    if not value or len(value) > MAX_DATE_CHARS:
        return None
    common = _common_stamp(value)
    if common is not None:
        return common
    first = _dateutil_parse(value, datetime(2000, 1, 1))
    second = _dateutil_parse(value, datetime(2001, 2, 1))
    if first is None or second is None or first != second:
        return None
    if not MIN_YEAR <= first.year <= MAX_YEAR:
        return None
    return first


_COMMON_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")


def _common_stamp(value: str) -> datetime | None:
    """The wire services' own layout (`2015-10-10 0:38:02`), read without dateutil.

    It is nearly every stamp in real corpora, and dateutil's general parser costs about a
    millisecond a file, a third of the whole import; anything else falls through to it.
    """
    match = _COMMON_STAMP.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups())
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _dateutil_parse(value: str, default: datetime) -> datetime | None:
    try:
        return date_parser.parse(value, default=default, fuzzy=False, tzinfos=_zone)
    except Exception:  # dateutil raises ParserError, OverflowError, TypeError, ...
        return None


def _zone(name: str | None, offset: int | None) -> tzinfo | None:
    if offset is not None:
        return timezone(timedelta(seconds=offset))
    if name is None:
        return None
    name = name.upper()
    if name in _UTC_NAMES:
        return UTC
    if name in _ZONE_HOURS:
        return timezone(timedelta(hours=_ZONE_HOURS[name]))
    return None


# --- parsing --------------------------------------------------------------------------


@dataclass
class _Metadata:
    source: str | None = None
    published: str | None = None


def parse_bytes(data: bytes, max_bytes: int | None = DEFAULT_MAX_BYTES) -> ParsedArticle:
    """Parse raw file content, refusing oversize input before doing any work on it."""
    _check_size(len(data), max_bytes)
    if not data.strip():
        raise SeedFileError("empty", f"file is empty ({len(data)} bytes, no text)")
    text, encoding = decode(data)
    article = parse_text(text)
    warnings = article.warnings
    if encoding not in ("utf-8", "utf-8-sig", "ascii"):
        warnings = (f"decoded as {encoding}", *warnings)
    return replace(article, encoding=encoding, warnings=warnings)


def parse_file(path: str | os.PathLike, max_bytes: int | None = DEFAULT_MAX_BYTES) -> ParsedArticle:
    """Parse a file on disk without ever reading more than ``max_bytes`` into memory.

    OS problems (missing file, no permission, not a regular file) raise ``OSError``.
    """
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
    _check_size(info.st_size, max_bytes)
    with open(path, "rb") as handle:
        data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    _check_size(len(data), max_bytes)  # the file may have grown since stat
    return parse_bytes(data, max_bytes)


def _check_size(size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise SeedFileError(
            "too-large", f"file is {size} bytes, over the limit of {max_bytes} bytes"
        )


def parse_text(text: str) -> ParsedArticle:
    """Parse already decoded text; ``encoding`` is "" because no bytes were seen."""
    clean, removed = _normalise(text)
    if not clean.strip():
        raise SeedFileError("empty", "file has no text (empty or whitespace only)")
    lines = [_cut_disqus_tail(line) for line in clean.split("\n")]
    warnings: list[str] = []
    if removed:
        plural = "s" if removed != 1 else ""
        warnings.append(f"removed {removed} control character{plural}")

    start = _first_content_line(lines)
    if start is None:
        raise SeedFileError("no-body", "file holds nothing but boilerplate")
    title = "" if _is_metadata(lines[start]) else " ".join(lines[start].split())
    position = start if not title else start + 1
    meta, position = _read_metadata(lines, position)
    section, rest = _take_section(lines[position:])
    body = _body(rest)
    if not body:
        raise SeedFileError("no-body", "no article text after the title and metadata")
    if not title:
        title = body.split("\n\n", 1)[0][:TITLE_FALLBACK_CHARS].rstrip()
        warnings.append("no title line")
    source = _source(meta, warnings)
    published = _published(meta, warnings)
    if section is None:
        warnings.append("no 'Posted in:' line")
    return ParsedArticle(
        title=title,
        body=body,
        source=source,
        section=section or "",
        published=published,
        text=clean,
        encoding="",
        warnings=tuple(warnings),
    )


def _cut_disqus_tail(line: str) -> str:
    """Drop the comment-widget phrase, which some scrapes glue onto the last line."""
    if line.lower().endswith(DISQUS_TAIL):
        return line[: -len(DISQUS_TAIL)].rstrip()
    return line


def _first_content_line(lines: list[str]) -> int | None:
    return next((i for i, line in enumerate(lines) if line.strip()), None)


def _is_metadata(line: str) -> bool:
    if len(line) > MAX_METADATA_CHARS:
        return False
    return _LABEL_AT_START.match(line.lstrip()) is not None


def _read_metadata(lines: list[str], position: int) -> tuple[_Metadata, int]:
    """Metadata lines only count right after the title, so article text stays article text."""
    meta = _Metadata()
    while position < len(lines):
        line = lines[position]
        if line.strip() and not _is_metadata(line):
            break
        if line.strip():
            _read_labels(line, meta)
        position += 1
    return meta, position


def _read_labels(line: str, meta: _Metadata) -> None:
    matches = list(_LABEL.finditer(line))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(line)
        value = " ".join(line[match.end() : end].split()).strip(_VALUE_JUNK)
        label = match.group(1).lower()
        if label == "source" and not meta.source:
            meta.source = value
        elif label == "published" and not meta.published:
            meta.published = value


def _take_section(lines: list[str]) -> tuple[str | None, list[str]]:
    """Pull out the first 'Posted in:' line; every such line is kept out of the body."""
    section: str | None = None
    kept: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped[: len(POSTED_IN)].lower() == POSTED_IN:
            if section is None:
                section = " ".join(stripped[len(POSTED_IN) :].split())
            kept.append("")
        else:
            kept.append(line)
    return section, kept


def _is_boilerplate(line: str) -> bool:
    if len(line) > 60:  # every known phrase is short; skip the work for real paragraphs
        return False
    return " ".join(line.split()).lower().rstrip(":").rstrip() in BOILERPLATE_LINES


def _body(lines: list[str]) -> str:
    """Paragraphs are runs of non-blank lines; boilerplate lines act as paragraph breaks."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.strip() and not _is_boilerplate(line):
            current.append(line)
            continue
        if current:
            paragraphs.append(" ".join(" ".join(current).split()))
            current = []
    if current:
        paragraphs.append(" ".join(" ".join(current).split()))
    return "\n\n".join(paragraphs)


def _source(meta: _Metadata, warnings: list[str]) -> str:
    if meta.source is None:
        warnings.append("no Source line")
    elif not meta.source:
        warnings.append("empty Source line")
    return meta.source or ""


def _published(meta: _Metadata, warnings: list[str]) -> datetime | None:
    if meta.published is None:
        warnings.append("no Published stamp")
        return None
    published = parse_published(meta.published)
    if published is None:
        shown = meta.published if len(meta.published) <= 60 else meta.published[:57] + "..."
        warnings.append(f"unreadable Published stamp '{shown}'")
    return published
