"""Tests for the pure seed-file parser: no database, fixtures built inline as bytes."""

from __future__ import annotations

import os
import pickle
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from articles import seedfile
from articles.seedfile import (
    BOILERPLATE_LINES,
    DEFAULT_MAX_BYTES,
    ParsedArticle,
    SeedFileError,
    decode,
    fingerprint,
    normalise,
    parse_bytes,
    parse_file,
    parse_published,
    parse_text,
)

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

META = "Source:AFP Published: 2015-10-10 0:38:02"


@pytest.fixture(autouse=True)
def search_index_dir():
    """Shadow conftest's autouse index fixture: the parser needs neither Django nor Whoosh,
    so these tests also run with ``-p no:django`` while the settings are being edited."""
    return None


def article(
    *, title: str = "A title", meta: str = META, body: str = "First.\n\nSecond.", tail: str = ""
) -> str:
    """A well-formed seed text; tests replace the one part they are about."""
    parts = [title, meta, body, tail or "Posted in: World", "blog comments powered by Disqus"]
    return "\n\n".join(part for part in parts if part)


def raises_code(code: str, call, *args, **kwargs) -> SeedFileError:
    with pytest.raises(SeedFileError) as info:
        call(*args, **kwargs)
    assert info.value.code == code
    return info.value


# --- the shipped seed -----------------------------------------------------------------


def test_shipped_seed_parses_every_field():
    parsed = parse_file(SEEDS / "000_6a5f84842cef7bdc.txt")

    assert parsed.title == "IS advances on Aleppo despite Russian air strikes"
    assert parsed.source == "AFP"
    assert parsed.section == "Mid-East"
    assert parsed.published == datetime(2015, 10, 10, 0, 38, 2)
    assert parsed.published.tzinfo is None
    assert parsed.body.startswith("The Islamic State (IS) group fighters advanced Friday")
    assert parsed.body.endswith("jihadists and Kurdish forces.")
    assert "Posted in" not in parsed.body
    assert "disqus" not in parsed.body.lower()
    assert parsed.body.count("\n\n") == 16  # 17 paragraphs in the file
    assert "\n\n\n" not in parsed.body
    assert parsed.encoding == "utf-8"
    assert parsed.warnings == ()
    assert parsed.text.startswith("IS advances on Aleppo")
    assert parsed.text.endswith("blog comments powered by Disqus")


# --- metadata -------------------------------------------------------------------------


@pytest.mark.parametrize("meta", ["Source:AFP", "Source: AFP", "source :  AFP"])
def test_source_is_read_with_or_without_space_after_colon(meta):
    assert parse_text(article(meta=meta)).source == "AFP"


def test_published_is_kept_and_updated_is_ignored_on_one_line():
    text = article(meta="Source: Reuters Published: 2015-10-10 0:38:02 Updated: 2016-01-01 9:00")
    parsed = parse_text(text)
    assert parsed.source == "Reuters"
    assert parsed.published == datetime(2015, 10, 10, 0, 38, 2)


def test_source_and_published_on_separate_lines_in_either_order():
    forward = parse_text(article(meta="Source: AP\nPublished: 2020-01-02 03:04:05"))
    backward = parse_text(article(meta="Published: 2020-01-02 03:04:05\n\nSource: AP"))
    for parsed in (forward, backward):
        assert (parsed.source, parsed.published) == ("AP", datetime(2020, 1, 2, 3, 4, 5))
        assert parsed.body == "First.\n\nSecond."


def test_missing_source_gives_empty_source_and_warning():
    parsed = parse_text(article(meta="Published: 2015-10-10 0:38:02"))
    assert parsed.source == ""
    assert "no Source line" in parsed.warnings
    assert parsed.published == datetime(2015, 10, 10, 0, 38, 2)


def test_missing_published_gives_none_and_warning():
    parsed = parse_text(article(meta="Source: AFP"))
    assert parsed.published is None
    assert "no Published stamp" in parsed.warnings


def test_missing_metadata_line_leaves_body_whole():
    parsed = parse_text(article(meta=""))
    assert parsed.body == "First.\n\nSecond."
    assert {"no Source line", "no Published stamp"} <= set(parsed.warnings)


def test_unreadable_published_stamp_is_warned_with_its_text():
    parsed = parse_text(article(meta="Source: AFP Published: 2015-13-45"))
    assert parsed.published is None
    assert "unreadable Published stamp '2015-13-45'" in parsed.warnings


def test_source_line_inside_the_body_stays_body_text():
    parsed = parse_text(article(body="First.\n\nSource: a senior official.\n\nLast."))
    assert parsed.body == "First.\n\nSource: a senior official.\n\nLast."
    assert parsed.source == "AFP"


# --- dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-10-10 0:38:02", datetime(2015, 10, 10, 0, 38, 2)),
        ("Mar 24, 2022 06:46 PM", datetime(2022, 3, 24, 18, 46)),
        ("10 October 2015", datetime(2015, 10, 10)),
        ("2015-10-10T00:38:02", datetime(2015, 10, 10, 0, 38, 2)),
        ("October 2015", datetime(2015, 10, 1)),
    ],
)
def test_parse_published_reads_naive_layouts(value, expected):
    result = parse_published(value)
    assert result == expected
    assert result.tzinfo is None


def test_parse_published_iso_z_is_aware_utc():
    result = parse_published("2015-10-10T00:38:02Z")
    assert result == datetime(2015, 10, 10, 0, 38, 2, tzinfo=UTC)
    assert result.utcoffset() == timedelta(0)


def test_parse_published_iso_offset_is_aware():
    result = parse_published("2015-10-10T00:38:02+02:00")
    assert result.utcoffset() == timedelta(hours=2)
    assert result == datetime(2015, 10, 9, 22, 38, 2, tzinfo=UTC)


def test_parse_published_known_zone_abbreviation_is_aware():
    result = parse_published("Mar 24, 2022 06:46 PM EST")
    assert result == datetime(2022, 3, 24, 18, 46, tzinfo=timezone(timedelta(hours=-5)))


@pytest.mark.parametrize(
    "value",
    ["2015-13-45", "1799-12-31", "2201-01-01", "0001-01-01", "06:46 PM", "24", "", "   ",
     "not a date", "99999999999999999999", "2015-10-10 " + "x" * 200],
)  # fmt: skip
def test_parse_published_returns_none_for_impossible_or_partial_stamps(value):
    assert parse_published(value) is None


def test_parse_published_accepts_the_year_range_edges():
    assert parse_published("1800-01-01") == datetime(1800, 1, 1)
    assert parse_published("2200-12-31") == datetime(2200, 12, 31)


@PROPERTY
@given(st.text(max_size=120))
def test_parse_published_never_raises(value):
    result = parse_published(value)
    assert result is None or isinstance(result, datetime)


# --- encodings ------------------------------------------------------------------------

WESTERN = "Café “quoted” — it’s ‘fine’ naïve façade"


def test_utf8_with_bom_is_decoded_without_the_bom():
    parsed = parse_bytes(b"\xef\xbb\xbf" + article(title=WESTERN).encode("utf-8"))
    assert parsed.title == WESTERN
    assert parsed.encoding == "utf-8-sig"
    assert not any("decoded as" in w for w in parsed.warnings)


def test_plain_utf8_is_decoded_as_utf8():
    assert decode(WESTERN.encode("utf-8")) == (WESTERN, "utf-8")


def test_cp1252_accents_curly_quotes_and_dashes_survive():
    parsed = parse_bytes(article(title=WESTERN, body=WESTERN + " again.").encode("cp1252"))
    assert parsed.title == WESTERN
    assert parsed.body == WESTERN + " again."
    assert parsed.encoding == "cp1252"
    assert parsed.warnings[0] == "decoded as cp1252"


@pytest.mark.parametrize("text", ["é", "Café", "Straße Öl", "“Hi” — ‘x’", WESTERN])
def test_short_western_text_is_decoded_as_cp1252_not_an_exotic_codepage(text):
    assert decode(text.encode("cp1252")) == (text, "cp1252")


def test_latin1_file_reads_correctly():
    text = "Señor Müller à la côte"
    assert decode(text.encode("latin-1"))[0] == text


def test_non_western_legacy_text_is_left_to_charset_detection():
    text = (
        "Президент России заявил сегодня, что переговоры будут продолжены "
        "на следующей неделе в Москве."
    )
    assert decode(text.encode("cp1251")) == (text, "cp1251")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom_are_decoded(codec):
    data = article(title=WESTERN).encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    parsed = parse_bytes(data)
    assert parsed.title == WESTERN
    assert parsed.body == "First.\n\nSecond."
    assert parsed.encoding.startswith("utf-")


def test_invalid_bytes_after_utf8_bom_are_undecodable():
    error = raises_code("undecodable", decode, b"\xef\xbb\xbfTitle \xff\xfe\xfa text")
    assert "utf-8" in str(error)


def test_parse_text_reports_no_encoding():
    assert parse_text(article()).encoding == ""


# --- binary and control characters ----------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [b"\x89PNG\r\n\x1a\n", b"PK\x03\x04", b"GIF89a", b"\xff\xd8\xff\xe0", b"%PDF-1.4", b"\x1f\x8b"],
)
def test_known_binary_headers_are_refused(header):
    error = raises_code("binary", parse_bytes, header + b"Title\n\nSome text here.\n" * 20)
    assert "binary" in str(error)


def test_file_with_many_control_bytes_is_binary():
    data = b"Title\n\n" + b"ab\x00\x01\x02cdefgh" * 100
    error = raises_code("binary", parse_bytes, data)
    assert "control bytes" in str(error)


def test_a_few_stray_controls_are_removed_with_a_warning():
    data = article(body="Fir\x00st.\x07\n\nSec\x1bond.").encode("utf-8")
    parsed = parse_bytes(data)
    assert parsed.body == "First.\n\nSecond."
    assert "removed 3 control characters" in parsed.warnings
    assert "\x00" not in parsed.text


def test_single_control_character_warning_is_singular():
    assert "removed 1 control character" in parse_text(article(body="A\x00b.")).warnings


# --- empty, no body, too large --------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   ", b"\n\n\r\n\t \n"])
def test_empty_or_whitespace_bytes_are_empty(data):
    raises_code("empty", parse_bytes, data)


def test_whitespace_only_utf16_is_empty():
    raises_code("empty", parse_bytes, " \n \n".encode("utf-16"))


def test_empty_text_is_empty():
    raises_code("empty", parse_text, "\ufeff \r\n\x00 \n")


@pytest.mark.parametrize(
    "text",
    [
        "Just a title",
        "Title\n\nSource: AFP Published: 2015-10-10 0:38:02",
        "Title\n\nSource: AFP\n\nPosted in: World\n\nblog comments powered by Disqus",
        "Title\n\nShare this:\n\nTweet\n\nAdvertisement",
        "blog comments powered by Disqus",
        "Source: AFP Published: 2015-10-10",
    ],
)
def test_title_without_body_is_no_body(text):
    error = raises_code("no-body", parse_text, text)
    assert str(error)


def test_over_max_bytes_is_too_large_with_size_and_limit():
    error = raises_code("too-large", parse_bytes, b"x" * 101, max_bytes=100)
    assert "101 bytes" in str(error)
    assert "100 bytes" in str(error)


def test_max_bytes_none_disables_the_limit():
    data = article(body="word " * (DEFAULT_MAX_BYTES // 5 + 10)).encode("utf-8")
    assert len(data) > DEFAULT_MAX_BYTES
    assert parse_bytes(data, max_bytes=None).title == "A title"
    raises_code("too-large", parse_bytes, data)


def test_parse_file_checks_size_before_reading(tmp_path, monkeypatch):
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(10 * 1024**3)  # sparse: costs no disk, would cost 10 GB of memory

    def no_reading(*args, **kwargs):
        raise AssertionError("parse_file opened a file that is over the limit")

    monkeypatch.setattr(seedfile, "open", no_reading, raising=False)
    error = raises_code("too-large", parse_file, huge)
    assert str(10 * 1024**3) in str(error)


def test_parse_file_reads_a_small_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(article().replace("\n", "\r\n").encode("cp1252"))
    parsed = parse_file(os.fspath(path))
    assert (parsed.title, parsed.section) == ("A title", "World")


def test_parse_file_refuses_a_directory_with_oserror(tmp_path):
    with pytest.raises(OSError):
        parse_file(tmp_path)


def test_parse_file_missing_file_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        parse_file(tmp_path / "nope.txt")


# --- section and boilerplate ----------------------------------------------------------


def test_missing_posted_in_gives_empty_section_and_warning():
    parsed = parse_text("Title\n\nSource: AFP Published: 2015-10-10\n\nBody text.")
    assert parsed.section == ""
    assert "no 'Posted in:' line" in parsed.warnings


def test_posted_in_with_several_sections_is_kept_as_given():
    assert parse_text(article(tail="Posted in:   Mid-East, World  ")).section == "Mid-East, World"


@pytest.mark.parametrize("phrase", sorted(BOILERPLATE_LINES))
def test_each_boilerplate_line_is_dropped_in_any_case(phrase):
    for variant in (phrase, phrase.upper(), phrase.title() + ":"):
        parsed = parse_text(article(body=f"First.\n\n{variant}\n\nSecond."))
        assert parsed.body == "First.\n\nSecond."


def test_boilerplate_words_inside_sentences_are_kept():
    body = (
        "Comments from the minister were brief.\n\nRelated talks continue.\n\n"
        "Share this view, he said. Tweet storms followed."
    )
    assert parse_text(article(body=body)).body == body


def test_disqus_glued_to_last_line_is_cut():
    text = "Title\n\nSource: AFP\n\nLast paragraph ends here.BLOG Comments Powered By disqus"
    assert parse_text(text).body == "Last paragraph ends here."


def test_disqus_glued_to_posted_in_line_still_gives_section():
    text = "Title\n\nSource: AFP\n\nBody.\n\nPosted in: Mid-Eastblog comments powered by Disqus"
    parsed = parse_text(text)
    assert (parsed.section, parsed.body) == ("Mid-East", "Body.")


# --- title and body shape -------------------------------------------------------------


def test_title_whitespace_is_collapsed():
    assert parse_text(article(title="  Big \t  news   today ")).title == "Big news today"


def test_metadata_first_line_takes_title_from_body_with_warning():
    long_para = "Word " * 40
    parsed = parse_text(f"{META}\n\n{long_para}\n\nSecond.")
    assert parsed.title == long_para[:80].rstrip()
    assert len(parsed.title) <= 80
    assert "no title line" in parsed.warnings
    assert parsed.source == "AFP"
    assert parsed.body.startswith("Word Word")


def test_paragraph_lines_are_joined_and_paragraphs_separated_by_one_blank_line():
    body = "One line\nwraps   here.\n\n\n\n  Two\t tabs.  \n\n"
    assert parse_text(article(body=body)).body == "One line wraps here.\n\nTwo tabs."


# --- normalise and fingerprint --------------------------------------------------------


def test_normalise_line_ends_bom_controls_and_trailing_space():
    raw = "\ufeff\n\nTitle  \r\nline\ttwo\rthree\x00\x85\x7f \n\n\n"
    assert normalise(raw) == "Title\nline two\nthree"


def test_normalise_is_idempotent_on_shipped_seed():
    text = (SEEDS / "000_6a5f84842cef7bdc.txt").read_text("utf-8")
    assert normalise(normalise(text)) == normalise(text)


def test_fingerprint_ignores_line_ends_encoding_and_outer_blank_lines():
    text = article(title=WESTERN)
    crlf = parse_bytes(("\r\n" + text.replace("\n", "\r\n") + "\r\n\r\n").encode("cp1252"))
    lf = parse_bytes(text.encode("utf-8"))
    assert fingerprint(crlf.text) == fingerprint(lf.text) == fingerprint(text)
    assert len(fingerprint(text)) == 64


def test_fingerprint_differs_when_only_the_published_stamp_differs():
    one = article(meta="Source: AFP Published: 2015-10-10 0:38:02")
    two = article(meta="Source: AFP Published: 2015-10-10 0:38:03")
    assert fingerprint(one) != fingerprint(two)


def test_fingerprint_of_parsed_text_matches_fingerprint_of_raw_text():
    raw = "\n\r\n" + article(body="Fir\x00st.") + "   \n"
    assert fingerprint(parse_text(raw).text) == fingerprint(raw)


# --- errors and robustness ------------------------------------------------------------


def test_seedfile_error_carries_code_and_message_and_pickles():
    error = SeedFileError("binary", "binary file (starts with b'PK')")
    assert (error.code, str(error)) == ("binary", "binary file (starts with b'PK')")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, str(copy)) == (error.code, str(error))


def test_five_megabyte_line_parses_quickly():
    line = "word " * (DEFAULT_MAX_BYTES // 5 - 20)
    data = f"Title\n\n{META}\n\n{line}\n\nPosted in: World".encode()
    assert len(data) <= DEFAULT_MAX_BYTES
    started = time.perf_counter()
    parsed = parse_bytes(data)
    assert time.perf_counter() - started < 1.0
    assert parsed.body.startswith("word word") and parsed.section == "World"


def test_five_megabyte_single_line_without_newlines_is_fast():
    data = ("Source: " + "a " * (DEFAULT_MAX_BYTES // 2 - 10)).encode()
    started = time.perf_counter()
    raises_code("no-body", parse_bytes, data)  # too long to be metadata: it is the title
    assert time.perf_counter() - started < 1.0


def test_overlong_source_line_after_title_is_body_text():
    line = "Source: " + "a " * 300
    parsed = parse_text(f"Title\n\n{line}")
    assert parsed.body == line.strip()
    assert "no Source line" in parsed.warnings


@PROPERTY
@given(st.binary(max_size=2000))
def test_parse_bytes_returns_article_or_seedfile_error(data):
    try:
        assert isinstance(parse_bytes(data), ParsedArticle)
    except SeedFileError as error:
        assert error.code in seedfile.ERROR_CODES


_TEXTISH_BYTE = st.sampled_from([b"\n", b" ", b"\x00", *(bytes([b]) for b in range(0x20, 0x100))])


@PROPERTY
@given(st.lists(_TEXTISH_BYTE, max_size=1500).map(b"".join))
def test_legacy_looking_bytes_return_article_or_seedfile_error(data):
    """Mostly printable high bytes reach the charset-detection path that random bytes skip."""
    try:
        parsed = parse_bytes(data)
    except SeedFileError as error:
        assert error.code in seedfile.ERROR_CODES
    else:
        assert parsed.encoding and parsed.body


@PROPERTY
@given(st.text(max_size=2000))
def test_parse_text_returns_article_or_seedfile_error(text):
    try:
        parsed = parse_text(text)
    except SeedFileError as error:
        assert error.code in seedfile.ERROR_CODES
    else:
        assert parsed.body and parsed.title
        assert "\n\n\n" not in parsed.body
        assert normalise(parsed.text) == parsed.text


@PROPERTY
@given(st.text(alphabet=st.characters(exclude_characters="\r"), max_size=500))
def test_fingerprint_ignores_crlf(text):
    assert fingerprint(text) == fingerprint("\r\n".join(text.split("\n")))


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ", min_size=3, max_size=10)
_MARK = st.sampled_from(["", "", "é", "è", "à", "ç", "ü", "ñ", "“", "”", "‘", "’", "—", "€", "."])
_WESTERN_WORD = st.builds(lambda word, mark: word + mark, _WORD, _MARK)
_SEPARATOR = st.sampled_from([" ", " ", "\n", "\n\n", "\t"])
_WESTERN_TEXT = st.lists(st.tuples(_WESTERN_WORD, _SEPARATOR), max_size=60).map(
    lambda pairs: "".join(word + sep for word, sep in pairs)
)


@PROPERTY
@given(_WESTERN_TEXT)
def test_fingerprint_is_the_same_for_utf8_and_cp1252_bytes(text):
    data = text.encode("cp1252")
    assume(not text.isascii())
    decoded, encoding = decode(data)
    assert encoding == "cp1252"
    assert fingerprint(decoded) == fingerprint(decode(text.encode("utf-8"))[0]) == fingerprint(text)
