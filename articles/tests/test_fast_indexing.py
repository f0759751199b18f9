"""The fast indexing path writes exactly what stock Whoosh writes.

Oracles are Whoosh's own: its analyzer chain and ``Positions`` format for the analysis, its
``SegmentWriter`` for the segment files, and its searcher for the results. The documents are
made up here (accents, stop words, numbers, long tokens, empty and missing fields), and the
posting blocks are made small so that posting lists span several blocks.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import index
from whoosh.analysis import RegexTokenizer, StemFilter, StopFilter
from whoosh.formats import Positions
from whoosh.qparser import FuzzyTermPlugin, MultifieldParser
from whoosh.writing import SegmentWriter

from articles.search import query as q
from articles.search.backends import Filters
from articles.search.backends.whoosh import WhooshBackend, bulkwrite
from articles.search.backends.whoosh.bulkwrite import BulkMpWriter, BulkSegmentWriter
from articles.search.backends.whoosh.codec import NativeBlocksCodec
from articles.search.backends.whoosh.fastanalysis import (
    PICKLE_BATCH,
    FastAnalysis,
    encode_position_runs,
)
from articles.search.backends.whoosh.schema import ANALYZER, build_schema
from articles.search.backends.whoosh.writing import merge_tiny

BLOCK = 16  # postings per block: common terms of 200 documents span many blocks

WORDS = [
    "market", "markets", "interest", "rates", "economy", "economic", "president", "minister",
    "Médecins", "Sans", "Frontières", "café", "naïve", "ÉLAN", "İstanbul", "Straße", "ΟΔΟΣ",
    "the", "and", "of", "a", "is", "it's", "U.S.", "3.14", "1987", "x", "co-operation",
    "e-mail", "*star", "running", "runner", "studies", "Studying", "ÆON", "ﬁnance", "Ⅻ",
    "word" * 30, "x" * 300, "__init__", "tbd", "yet", "IN", "On",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", ", ", ". ", "\n", "'", "-", "/", "...", " — ", "\t", "*"]


# --- the analysis ------------------------------------------------------------------------------


def whoosh_values(text: str) -> dict[bytes, bytes]:
    """Each term with its encoded positions, as the stock writer gets them for a text field."""
    return {
        term.encode("utf-8"): value
        for term, _freq, _weight, value in Positions().word_values(text, ANALYZER, mode="index")
    }


FAST = FastAnalysis.for_analyzer(ANALYZER)

mixed_text = st.lists(
    st.one_of(
        st.sampled_from(WORDS),
        st.sampled_from(sorted(StopFilter().stops)),
        st.integers(-(10**12), 10**12).map(str),
        st.text(min_size=1, max_size=12),
        st.text("aeiouéèçñßøæœİıΣσςΑΩ.*_'0123456789", min_size=1, max_size=40),
    ),
    max_size=60,
).flatmap(
    lambda words: st.lists(
        st.sampled_from(SEPARATORS), min_size=len(words), max_size=len(words)
    ).map(lambda seps: "".join(w + s for w, s in zip(words, seps, strict=True)))
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_text)
def test_fast_analysis_gives_the_analyzers_terms_and_positions(text):
    fast = {term: FAST.encode_positions(p) for term, p in FAST.term_positions(text).items()}
    assert fast == whoosh_values(text)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_fast_analysis_agrees_on_any_text(text):
    fast = {term: FAST.encode_positions(p) for term, p in FAST.term_positions(text).items()}
    assert fast == whoosh_values(text)


position_lists = st.lists(
    st.lists(
        st.one_of(st.integers(0, 300), st.integers(0, 70_000), st.integers(0, 2**31 + 10)),
        min_size=1,
        max_size=8,
        unique=True,
    ).map(sorted),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(position_lists)
def test_positions_of_many_postings_are_encoded_at_once_as_whoosh_encodes_each(lists):
    counts = [len(positions) for positions in lists]
    flat = [position for positions in lists for position in positions]
    assert encode_position_runs(counts, flat) == [Positions().encode(p) for p in lists]


def test_long_position_lists_are_encoded_as_whoosh_encodes_them():
    lists = [[1], list(range(0, 3 * PICKLE_BATCH, 2)), [5, 9], list(range(PICKLE_BATCH + 1))]
    counts = [len(positions) for positions in lists]
    flat = [position for positions in lists for position in positions]
    assert encode_position_runs(counts, flat) == [Positions().encode(p) for p in lists]


def test_positions_after_leading_stop_words_follow_whoosh():
    # StopFilter(renumber=True): the first kept word keeps its place, later ones close up.
    assert FAST.term_positions("the and of market of the rates market") == {
        b"market": [3, 5],
        b"rate": [4],
    }


def test_other_analyzer_chains_get_no_fast_path():
    assert FastAnalysis.for_analyzer(RegexTokenizer() | StopFilter()) is None
    assert FastAnalysis.for_analyzer(RegexTokenizer()) is None
    french = ANALYZER.items[:-1] + [StemFilter(lang="fr")]
    assert FastAnalysis.for_analyzer(type(ANALYZER)(*french)) is None


# --- the segment files -------------------------------------------------------------------------


def make_documents(count: int, seed: int = 7, first_id: int = 1) -> list[dict]:
    rnd = random.Random(seed)

    def text(most: int) -> str:
        words = rnd.choices(WORDS, k=rnd.randint(0, most))
        return "".join(w + rnd.choice(SEPARATORS) for w in words)

    documents = []
    for i in range(count):
        doc = {
            "id": first_id + i,
            "title": text(6),
            "body": "market common " + text(50),
            "updated": 10**15 + i,
        }
        if i % 5:
            doc["source"] = rnd.choice(["AFP", "Reuters", "BBC News"])
        if i % 7:
            doc["section"] = rnd.choice(["Business", "World", "Mid-East"])
        if i % 9:
            doc["published"] = 2**35 + 10**9 + i * 86_400
            doc["day"] = 20000101 + i % 28
        if i % 4 == 0:
            doc["body"] += " Médecins Sans Frontières"
        if i % 13 == 0:
            doc["body"] = ""
        documents.append(doc)
    return documents


def new_index(folder: Path) -> index.Index:
    folder.mkdir(parents=True)
    return index.create_in(str(folder), build_schema())


def write(ix, writer_class, documents, *, update=False, mergetype=None, compound=False) -> None:
    writer = writer_class(ix, codec=NativeBlocksCodec(blocklimit=BLOCK), compound=compound)
    for doc in documents:
        (writer.update_document if update else writer.add_document)(**doc)
    writer.commit(mergetype=mergetype)


def segment_files(ix) -> dict[str, bytes]:
    """The newest segment's files by extension (their names carry a random segment id)."""
    segment = ix._segments()[-1]
    segid = segment.segment_id()
    folder = Path(ix.storage.folder)
    return {p.name.replace(segid, "*"): p.read_bytes() for p in folder.glob(f"*{segid}*")}


def test_bulk_writer_writes_the_stock_writers_segment_byte_for_byte(tmp_path):
    documents = make_documents(200)
    stock, bulk = new_index(tmp_path / "stock"), new_index(tmp_path / "bulk")
    write(stock, SegmentWriter, documents)
    write(bulk, BulkSegmentWriter, documents)
    expected, got = segment_files(stock), segment_files(bulk)
    assert {"*.pst", "*.trm", "*._stored.col", "*._body_len.col"} <= set(expected)
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name] == expected[name], name


def test_merged_and_updated_segments_are_the_same_too(tmp_path):
    """Merging small segments (``add_reader``, with deletions) and updates by id."""
    stock, bulk = new_index(tmp_path / "stock"), new_index(tmp_path / "bulk")
    for ix, writer_class in ((stock, SegmentWriter), (bulk, BulkSegmentWriter)):
        write(ix, writer_class, make_documents(60, seed=1))
        write(ix, writer_class, make_documents(60, seed=2, first_id=61))
        changed = make_documents(30, seed=3, first_id=45)  # ids 45-74 span both segments
        write(ix, writer_class, changed, update=True, mergetype=merge_tiny)
    assert len(stock._segments()) == len(bulk._segments()) == 1
    expected, got = segment_files(stock), segment_files(bulk)
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name] == expected[name], name


# --- what searches find ------------------------------------------------------------------------

QUERIES = [
    "market",
    "interest rates",
    '"interest rates"',
    '"médecins sans frontières"',
    "econom*",
    "markt~",
    "title:minister",
    "source:afp",
    "section:business market",
    "runner OR straße",
    "market NOT studies",
    "İstanbul",
]


def stock_results(ix) -> dict[str, list]:
    """Stock Whoosh's own parser and searcher: ids, scores, stored fields and a column."""
    parser = MultifieldParser(["title", "body"], ix.schema)
    parser.add_plugin(FuzzyTermPlugin())
    found = {}
    with ix.searcher() as searcher:
        for text in QUERIES:
            hits = searcher.search(parser.parse(text), limit=None)
            ranked = [(-round(hit.score, 4), hit["id"], dict(hit.fields())) for hit in hits]
            found[text] = sorted(ranked)  # equal scores come in segment order
            by_date = searcher.search(parser.parse(text), limit=None, sortedby=["published", "id"])
            found[f"{text} by date"] = [hit["id"] for hit in by_date]
        grouped = searcher.search(parser.parse("market"), groupedby=["source", "section"])
        for name in ("source", "section"):
            found[name] = {
                value: sorted(searcher.stored_fields(docnum)["id"] for docnum in docnums)
                for value, docnums in grouped.groups(name).items()
            }
    return found


def project_results(folder: Path) -> dict[str, tuple]:
    backend = WhooshBackend(folder)
    try:
        found = {}
        for text in [*QUERIES, ""]:
            for sort in ("relevance", "newest"):
                result = backend.search(
                    q.parse(text), Filters(), sort, 0, 500, ["source", "section", "year"]
                )
                facets = {name: sorted(counts) for name, counts in result.facets.items()}
                found[(text, sort)] = (result.total, result.ids, facets)
        return found
    finally:
        backend.close()


@pytest.fixture(scope="module")
def three_ways(tmp_path_factory):
    """The same documents in two batches, written by stock Whoosh, by the bulk writer (the
    same two segments), and by the bulk writer with two parallel sub-writers (a segment each
    per batch, documents dealt out in job files; the parent merges the first batch's two
    small segments when it commits the second); and all at once by sub-writers that roll
    over to a new segment whenever theirs is full (``rolled``)."""
    root = tmp_path_factory.mktemp("fast-indexing")
    documents = make_documents(240)
    batches = (documents[:120], documents[120:])
    for name, writer_class in (("stock", SegmentWriter), ("bulk", BulkSegmentWriter)):
        ix = new_index(root / name)
        for batch in batches:
            write(ix, writer_class, batch, compound=True)
    parallel = new_index(root / "parallel")
    for batch in batches:
        writer = BulkMpWriter(
            parallel, procs=2, multisegment=True, batchsize=25, codec=NativeBlocksCodec(BLOCK)
        )
        for doc in batch:
            writer.add_document(**doc)
        writer.commit(mergetype=merge_tiny)  # the second merges the first's two, in bulk
    write_rolled(new_index(root / "rolled"), documents)
    return root


ROLL_POSTINGS = 1_000  # a sub-writer's segment of these documents is about 30 documents


def write_rolled(ix, documents: list[dict]) -> None:
    """One parallel writer for everything, whose sub-writers' memory holds about 1,000
    postings: each finishes a segment whenever it reaches that and goes on with a new one."""
    saved = bulkwrite.BYTES_PER_POSTING
    bulkwrite.BYTES_PER_POSTING = 1024 * 1024 // ROLL_POSTINGS  # the sub-writers fork with it
    try:
        writer = BulkMpWriter(
            ix, procs=2, multisegment=True, batchsize=10, limitmb=1, codec=NativeBlocksCodec(BLOCK)
        )
        for doc in documents:
            writer.add_document(**doc)
        writer.commit(mergetype=merge_tiny)
    finally:
        bulkwrite.BYTES_PER_POSTING = saved


def test_parallel_bulk_writer_wrote_a_segment_per_sub_writer(three_ways):
    parallel = index.open_dir(str(three_ways / "parallel"))
    assert len(parallel._segments()) == 3
    assert parallel.doc_count() == 240


def test_sub_writers_roll_over_to_new_segments_and_all_are_committed(three_ways):
    rolled = index.open_dir(str(three_ways / "rolled"))
    sizes = [segment.doc_count_all() for segment in rolled._segments()]
    assert len(sizes) >= 6, sizes  # each of the two sub-writers rolled over at least twice
    assert rolled.doc_count() == 240
    with rolled.searcher() as searcher:
        assert sorted(f["id"] for f in searcher.all_stored_fields()) == list(range(1, 241))


def test_stock_whoosh_finds_the_same_in_an_index_written_in_bulk(three_ways):
    expected = stock_results(index.open_dir(str(three_ways / "stock")))
    assert all(expected[text] for text in QUERIES)
    assert stock_results(index.open_dir(str(three_ways / "bulk"))) == expected

    # Another segment layout: the same matches, dates order and groups (prefix expansions
    # score per segment, so scores of a few queries differ as they would after any commit).
    def matches(found: dict) -> dict:
        return {
            key: sorted(hit[1] for hit in value) if key in QUERIES else value
            for key, value in found.items()
        }

    rolled = stock_results(index.open_dir(str(three_ways / "rolled")))
    assert matches(rolled) == matches(expected)


def test_the_projects_search_finds_the_same_in_all_three(three_ways):
    expected = project_results(three_ways / "stock")
    assert expected[("market", "relevance")][0] > 0
    assert project_results(three_ways / "bulk") == expected

    # Another segment layout orders equal scores differently: the same matches and counts.
    def unordered(found: dict) -> dict:
        return {key: (total, sorted(ids), facets) for key, (total, ids, facets) in found.items()}

    assert unordered(project_results(three_ways / "parallel")) == unordered(expected)
    assert unordered(project_results(three_ways / "rolled")) == unordered(expected)
