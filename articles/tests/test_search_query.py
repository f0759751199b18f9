"""The query language parser: text -> tree, leniently (articles.search.query)."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from articles.search.query import (
    MAX_CLAUSES,
    MAX_EXPANSIONS,
    And,
    DateRange,
    Fuzzy,
    MatchAll,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
    parse,
    positive_words,
)
from articles.search.rules import MAX_QUERY_CHARS


def test_words_are_all_required():
    assert parse("cocoa exports").node == And((Term("cocoa"), Term("exports")))


def test_quoted_words_are_a_phrase():
    assert parse('"interest rates"').node == Phrase("interest rates")


def test_or_between_words():
    assert parse("oil OR gas").node == Or((Term("oil"), Term("gas")))


def test_and_binds_tighter_than_or():
    assert parse("a AND b OR c").node == Or((And((Term("a"), Term("b"))), Term("c")))


def test_lowercase_operators_are_words():
    assert parse("war and peace").node == And((Term("war"), Term("and"), Term("peace")))


def test_not_excludes():
    assert parse("oil NOT gas").node == And((Term("oil"), Not(Term("gas"))))


def test_minus_excludes():
    assert parse("oil -gas").node == And((Term("oil"), Not(Term("gas"))))


def test_only_negative_query_subtracts_from_everything():
    assert parse("-football").node == And((MatchAll(), Not(Term("football"))))


def test_field_queries():
    assert parse("title:budget").node == Term("budget", "title")
    assert parse('source:"Press Association"').node == Term("Press Association", "source")
    assert parse("section:sport").node == Term("sport", "section")


def test_field_applies_to_a_group():
    assert parse("title:(oil OR gas)").node == Or((Term("oil", "title"), Term("gas", "title")))


def test_unknown_field_is_read_as_words():
    assert parse("foo:bar").node == And((Term("foo"), Term("bar")))


def test_trailing_star_is_a_prefix():
    assert parse("econom*").node == Prefix("econom")


def test_one_letter_prefix_is_refused_with_a_message():
    parsed = parse("a* cocoa")
    assert parsed.node == Term("cocoa")
    assert "at least 2 letters" in " ".join(parsed.messages)


def test_tilde_is_fuzzy_with_optional_distance():
    assert parse("presdent~").node == Fuzzy("presdent", None, 1)
    assert parse("presdent~2").node == Fuzzy("presdent", None, 2)
    assert parse("presdent~9").node == Fuzzy("presdent", None, 2)


def test_date_range():
    assert parse("published:[2015-01-01 to 2015-06-30]").node == DateRange(
        date(2015, 1, 1), date(2015, 6, 30)
    )


def test_date_range_of_months_and_years_covers_whole_periods():
    assert parse("published:[1987-03 TO 1987-03]").node == DateRange(
        date(1987, 3, 1), date(1987, 3, 31)
    )
    assert parse("date:2004").node == DateRange(date(2004, 1, 1), date(2004, 12, 31))


def test_open_ended_date_range():
    assert parse("published:[2015-01-01 to *]").node == DateRange(date(2015, 1, 1), None)


def test_reversed_date_range_is_swapped():
    assert parse("published:[2015 to 2014]").node == DateRange(date(2014, 1, 1), date(2015, 12, 31))


def test_bad_date_is_reported():
    parsed = parse("published:[soon to 2015]")
    assert parsed.node == DateRange(None, date(2015, 12, 31))
    assert "not a date" in " ".join(parsed.messages)


def test_unbalanced_quote_runs_to_the_end():
    parsed = parse('"interest rates')
    assert parsed.node == Phrase("interest rates")
    assert "quotation mark" in " ".join(parsed.messages)


def test_unclosed_bracket_is_closed():
    parsed = parse("(oil OR gas")
    assert parsed.node == Or((Term("oil"), Term("gas")))
    assert "unclosed bracket" in " ".join(parsed.messages)


def test_stray_closing_bracket_is_ignored():
    parsed = parse("oil) gas]")
    assert parsed.node == And((Term("oil"), Term("gas")))
    assert "closing bracket" in " ".join(parsed.messages)


def test_lone_operators_are_ignored_with_a_message():
    for text in ("AND", "OR", "NOT", "oil AND", "OR gas", "oil NOT"):
        parsed = parse(text)
        assert parsed.messages, text


def test_lone_operator_leaves_the_words():
    assert parse("oil AND").node == Term("oil")


def test_empty_query_means_everything():
    parsed = parse("   ")
    assert parsed.node is None and parsed.messages == []


def test_long_query_is_cut_with_a_message():
    parsed = parse("word " * 1000)
    assert len(parsed.text) <= MAX_QUERY_CHARS
    assert "too long" in " ".join(parsed.messages)


def test_number_of_words_is_bounded():
    parsed = parse(" ".join(f"w{i}" for i in range(100)))
    assert len(parsed.node.children) == MAX_CLAUSES
    assert f"first {MAX_CLAUSES} words" in " ".join(parsed.messages)


def test_number_of_wildcards_is_bounded():
    parsed = parse(" ".join(f"ab{i}*" for i in range(10)))
    prefixes = [c for c in parsed.node.children if isinstance(c, Prefix)]
    assert len(prefixes) == MAX_EXPANSIONS
    assert "wildcard" in " ".join(parsed.messages)


def test_positive_words_skip_negations_and_labels():
    node = parse('oil "gas prices" -coal NOT tar source:bbc').node
    assert positive_words(node) == ["oil", "gas", "prices"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text):
    parse(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                '"',
                "(",
                ")",
                "[",
                "]",
                "{",
                "}",
                "AND",
                "OR",
                "NOT",
                "-",
                "*",
                "~",
                ":",
                "title:",
                "published:",
                "to",
                "2015",
                "oil",
                " ",
                "a*",
                "~2",
                "source:",
            ]
        ),
        max_size=40,
    )
)
def test_operator_soup_never_raises(parts):
    parse("".join(parts))
    parse(" ".join(parts))
