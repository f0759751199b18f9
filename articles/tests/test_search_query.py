"""The query language parser: text -> tree, leniently (articles.search.query)."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from articles.search.query import (
    MAX_CLAUSES,
    MAX_EXPANSIONS,
    MAX_FUZZY_DISTANCE,
    MIN_PREFIX_CHARS,
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


def test_a_date_field_group_reads_dates():
    assert parse("published:(2015)").node == DateRange(date(2015, 1, 1), date(2015, 12, 31))
    assert parse("date:(2015-03 OR [2016 to 2017])").node == Or(
        (
            DateRange(date(2015, 3, 1), date(2015, 3, 31)),
            DateRange(date(2016, 1, 1), date(2017, 12, 31)),
        )
    )
    assert parse("published:(-2015)").node == And(
        (MatchAll(), Not(DateRange(date(2015, 1, 1), date(2015, 12, 31))))
    )


def test_a_date_field_group_ends_at_its_bracket():
    assert parse("published:(2015) cocoa").node == And(
        (DateRange(date(2015, 1, 1), date(2015, 12, 31)), Term("cocoa"))
    )
    assert parse("published:(2015 title:cocoa)").node == And(
        (DateRange(date(2015, 1, 1), date(2015, 12, 31)), Term("cocoa", "title"))
    )


def test_a_word_in_a_date_field_group_is_reported_and_dropped():
    parsed = parse("published:(cocoa)")
    assert parsed.node is None
    assert "not a date" in " ".join(parsed.messages)


def test_bad_date_is_reported():
    parsed = parse("published:[soon to 2015]")
    assert parsed.node == DateRange(None, date(2015, 12, 31))
    assert "not a date" in " ".join(parsed.messages)


def test_unbalanced_quote_runs_to_the_end():
    parsed = parse('"interest rates')
    assert parsed.node == Phrase("interest rates")
    assert "quotation mark" in " ".join(parsed.messages)


def test_a_quoted_run_of_punctuation_is_dropped_with_a_message():
    for text in ('"!!!"', '"..."', '"!!! ???"', 'title:"--"'):
        parsed = parse(text)
        assert parsed.node is None, text
        assert "held no words" in " ".join(parsed.messages), text
    assert parse('oil "!!!"').node == Term("oil")


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


# --- properties of any parse --------------------------------------------------------------------

LEAVES = (Term, Phrase, Prefix, Fuzzy)
SOUP = [
    '"', "(", ")", "[", "]", "{", "}", "AND", "OR", "NOT", "&&", "||", "-", "*", "~", ":",
    "title:", "published:", "date:", "to", "2015", "2015-06", " ", "a*", "ab*", "oil", "gas",
    "~2", "source:", "section:", "médecins", "e-mail", "the", "\x00",
]  # fmt: skip


def walk(node):
    yield node
    if isinstance(node, (And, Or)):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.child)


def assert_well_formed(text: str) -> None:
    """What every parse promises, whatever the text: bounded, simplified, meaningful leaves."""
    parsed = parse(text)
    assert len(parsed.text) <= MAX_QUERY_CHARS
    assert parsed.text.isprintable()
    assert len(parsed.messages) == len(set(parsed.messages))
    assert all(isinstance(m, str) and m for m in parsed.messages)
    nodes = list(walk(parsed.node)) if parsed.node is not None else []
    leaves = [n for n in nodes if isinstance(n, LEAVES)]
    assert len(leaves) <= MAX_CLAUSES
    assert sum(isinstance(n, (Prefix, Fuzzy)) for n in nodes) <= MAX_EXPANSIONS
    for node in nodes:
        assert isinstance(node, (*LEAVES, And, Or, Not, DateRange, MatchAll)), node
        if isinstance(node, (And, Or)):
            assert len(node.children) >= 2
            assert not any(type(c) is type(node) for c in node.children), "not flattened"
        if isinstance(node, Not):
            assert not isinstance(node.child, (Not, MatchAll))
        if isinstance(node, MatchAll):
            top = parsed.node
            assert isinstance(top, And) and top.children[0] is node
            assert all(isinstance(c, Not) for c in top.children[1:])
        if isinstance(node, LEAVES):
            # "published" only through a group: see test_a_date_field_group_reads_dates.
            assert node.field in (None, "title", "body", "source", "section", "published")
            if node.field in ("source", "section"):
                assert node.text.strip(), node  # a label may be any non-blank name
            else:
                # A quoted run of punctuation stays a phrase; it matches everything, like "the".
                assert isinstance(node, Phrase) or any(ch.isalnum() for ch in node.text), node
        if isinstance(node, Prefix):
            assert sum(ch.isalnum() for ch in node.text) >= MIN_PREFIX_CHARS
        if isinstance(node, Fuzzy):
            assert 1 <= node.maxdist <= MAX_FUZZY_DISTANCE
        if isinstance(node, DateRange):
            assert node.start is not None or node.end is not None
            assert node.start is None or node.end is None or node.start <= node.end
    # What was kept of the text means the same when read again.
    assert parse(parsed.text).node == parsed.node
    typed = text.casefold()
    assert all(word.casefold() in typed for word in positive_words(parsed.node))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_any_text_parses_into_a_bounded_well_formed_tree(text):
    assert_well_formed(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SOUP), max_size=40), st.sampled_from(["", " "]))
def test_operator_soup_parses_into_a_bounded_well_formed_tree(parts, joiner):
    assert_well_formed(joiner.join(parts))


WORD = st.text(alphabet=st.characters(categories=["Ll", "Lu", "Nd"]), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(WORD.filter(lambda w: w not in ("AND", "OR", "NOT")), min_size=1, max_size=30))
def test_plain_words_round_trip_as_required_terms(words):
    parsed = parse(" ".join(words))
    kept = [Term(w) for w in words[:MAX_CLAUSES]]
    assert parsed.node == (kept[0] if len(kept) == 1 else And(tuple(kept)))
    assert (not parsed.messages) == (len(words) <= MAX_CLAUSES)


@settings(max_examples=200, deadline=None)
@given(st.lists(WORD, min_size=2, max_size=6), st.sampled_from([None, "title", "body"]))
def test_quoted_words_round_trip_as_a_phrase(words, fieldname):
    prefix = f"{fieldname}:" if fieldname else ""
    parsed = parse(f'{prefix}"{" ".join(words)}"')
    assert parsed.node == Phrase(" ".join(words), fieldname)
    assert not parsed.messages


@settings(max_examples=200, deadline=None)
@given(st.lists(WORD.filter(lambda w: w not in ("AND", "OR", "NOT")), min_size=2, max_size=8))
def test_or_and_not_round_trip(words):
    assert parse(" OR ".join(words)).node == Or(tuple(Term(w) for w in words))
    negated = parse(" ".join(f"-{w}" for w in words)).node
    assert negated == And((MatchAll(), *(Not(Term(w)) for w in words)))
