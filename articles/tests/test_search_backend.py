"""The Whoosh backend's internals: the fast array readers agree with Whoosh's own, segments and
refreshes are handled, the writer waits for the lock, and the backend follows the index folder.

The fast path reads Whoosh's files directly (columns, posting blocks), so these tests pin it to
Whoosh's public readers: if an upgrade of whoosh3 changed the layout, they fail here first.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from whoosh.formats import Positions

from articles import search
from articles.models import Article
from articles.search import SearchQuery, get_backend, indexed_ids, reset_backend
from articles.search.backends import Filters
from articles.search.backends.whoosh import codec, phrases, spelling, writing
from articles.search.backends.whoosh import snapshot as snapshot_module
from articles.search.backends.whoosh.formats import (
    PositionsBuilder,
    block_values,
    decode_positions,
    parse_block_head,
    posting_blocks,
)
from articles.search.backends.whoosh.schema import analyze, build_schema
from articles.search.query import parse

pytestmark = pytest.mark.django_db


def snapshot():
    return get_backend().snapshot()


@pytest.fixture
def many(make_article, django_capture_on_commit_callbacks, monkeypatch):
    """300 articles (several posting blocks per common term) in two index segments, one
    deleted. The first segment is written as before blocks were pickled with protocol 3, so
    every reader below is checked on both kinds of segment."""
    monkeypatch.setattr(writing, "TINY_SEGMENT_DOCS", 100)  # keep both segments
    monkeypatch.setattr(codec, "POSTINGS_BLOCK_SIZE", 64)

    def batch(start: int, stop: int):
        with django_capture_on_commit_callbacks(execute=True):
            return [
                make_article(
                    f"Story {i}",
                    body="market " * (1 + i % 4) + f"common words here {'rare' if i % 50 else ''}",
                    source=("BBC", "Reuters", "AFP")[i % 3],
                    section=None if i % 7 == 0 else "Business",
                    published=None
                    if i % 11 == 0
                    else dt.datetime(2000 + i % 20, 1 + i % 12, 1, tzinfo=dt.UTC),
                )
                for i in range(start, stop)
            ]

    with monkeypatch.context() as earlier_version:
        earlier_version.setattr(codec, "PICKLE_PROTOCOL", 2)
        first = batch(0, 150)
    second = batch(150, 300)
    with django_capture_on_commit_callbacks(execute=True):
        first[0].delete()
    return first[1:] + second


def test_index_is_written_in_several_segments(many):
    assert len(snapshot().parts) >= 2


def test_posting_lists_span_several_blocks(many):
    seg = snapshot().parts[0][0]
    matcher = seg._terms.matcher("body", b"market", seg._reader.schema["body"].format)
    assert not matcher._lastblock  # the readers below are tested across block boundaries


def test_segments_of_both_pickle_protocols_are_read(many):
    """New blocks are protocol-3 pickles (values as plain bytes); older ones stay readable."""
    protocols = set()
    for seg, _ in snapshot().parts:
        info = seg._term_info("body", b"market")
        block = next(posting_blocks(seg._terms._postfile, info))
        pickled = block.pickled
        protocols.add(pickled[1])  # the byte after the PROTO opcode
        whole = block.unpickled()
        _, _, values = block_values(block)
        assert all(type(v) is bytes for v in values)
        assert list(values) == list(whole[2])
        ids, _ = parse_block_head(pickled, block.count)  # the fast path, no fallback
        assert ids.tolist() == list(whole[0])
    assert protocols == {2, 3}


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_parallel_sub_writers_write_the_same_blocks(make_article, start_method):
    """Sub-writer processes pickle blocks with protocol 3 too, also when they are started
    without fork (they import the codec's module when they unpickle the codec)."""
    from articles.search.backends.whoosh.schema import document_for

    for i in range(40):
        make_article(f"Story {i}", body="market common words")
    backend = get_backend()
    writer = backend._writer(procs=2, multisegment=True, batchsize=10, start_method=start_method)
    for article in Article.objects.select_related("source", "section"):
        writer.add_document(**document_for(article, backend.tz))
    writer.commit()
    parts = snapshot().parts
    assert sum(seg.doccount for seg, _ in parts) == 40  # every batch went to a sub-writer
    for seg, _ in parts:
        block = next(posting_blocks(seg._terms._postfile, seg._term_info("body", b"market")))
        pickled = block.pickled
        assert pickled[1] == 3


def test_new_segments_use_the_largerposting_blocks(make_article, monkeypatch):
    monkeypatch.setattr(writing, "BULK_PARALLEL_MIN", 1000)  # one process, one segment
    articles = [make_article(f"Story {i}", body="market") for i in range(300)]
    search.index_articles([a.pk for a in articles])
    seg = snapshot().parts[0][0]
    matcher = seg._terms.matcher("body", b"market", seg._reader.schema["body"].format)
    assert seg.doccount == 300
    assert matcher._lastblock  # Whoosh's default block of 128 postings would need three


def test_positions_are_decoded_like_whoosh():
    fmt = Positions()
    for positions in ([0], [3, 7], [1, 300, 70000], list(range(0, 5000, 17)), [2**31 - 1]):
        assert decode_positions(fmt.encode(positions)) == positions


def test_positions_builder_decodes_every_layout_like_whoosh():
    """One-byte gaps take the byte-offset path, larger gaps and long lists the batched unpickle;
    every (document, position) pair must come out as Whoosh wrote it."""
    fmt = Positions()
    lists = [
        [5],
        [3, 7, 9],
        [1, 300],
        [256],
        [1, 300, 70000],
        list(range(0, 5000, 17)),
        list(range(1500)),
        [2**31 - 1],
        [0, 255, 510],
    ]
    builder = PositionsBuilder()
    docs = np.arange(len(lists), dtype=np.int64) * 3
    builder.take(docs, [fmt.encode(p) for p in lists], np.arange(len(lists)))
    got_docs, got_positions = builder.arrays()
    expected = sorted((int(d), p) for d, plist in zip(docs, lists, strict=True) for p in plist)
    assert sorted(zip(got_docs.tolist(), got_positions.tolist(), strict=True)) == expected


def test_positions_builder_skips_unselected_values():
    fmt = Positions()
    builder = PositionsBuilder()
    builder.take(np.array([4, 8]), [fmt.encode([1, 900]), fmt.encode([2])], np.array([1]))
    got_docs, got_positions = builder.arrays()
    assert (got_docs.tolist(), got_positions.tolist()) == ([8], [2])


@pytest.mark.parametrize("dense_ratio", [0, 1_000_000], ids=["skip-blocks", "one-pass"])
@pytest.mark.parametrize(
    "phrase", ["market common", "common market", "words here rare", "market market common"]
)
def test_phrases_match_whooshs_phrase_query(many, monkeypatch, phrase, dense_ratio):
    """Both ways of reading a phrase's positions (skipping blocks by the rarer term's
    candidates, or reading every term whole) find exactly what Whoosh's own Phrase finds."""
    from whoosh import query as wq

    monkeypatch.setattr(phrases, "DENSE_PHRASE_RATIO", dense_ratio)
    words = analyze(phrase)
    expected = {
        hit["id"]
        for hit in snapshot().searcher.search(
            wq.Or([wq.Phrase("title", words), wq.Phrase("body", words)]), limit=None
        )
    }
    # The backend itself, not the service: a crash must raise here, not read as no matches.
    found = get_backend().search(parse(f'"{phrase}"'), Filters(), "newest", 0, 1000, [])
    assert (found.total, set(found.ids)) == (len(expected), expected)
    assert bool(expected) == (phrase != "common market")


def test_deleted_documents_are_not_live(many):
    snap = snapshot()
    assert snap.live_count == 299
    assert search.search(SearchQuery(q="market", collapse=False)).total == 299  # articles


def test_searcher_is_reused_until_the_index_changes(add_article):
    add_article("One", body="cocoa")
    first = snapshot()
    assert search.search(SearchQuery(q="cocoa")).total == 1
    assert snapshot() is first
    add_article("Two", body="cocoa")
    assert snapshot() is not first


def test_segments_survive_a_refresh(add_article):
    add_article("One", body="cocoa")
    seg = snapshot().parts[0][0]
    add_article("Two", body="cocoa")
    assert seg in [s for s, _ in snapshot().parts]


def test_backend_follows_the_index_folder(add_article, settings, tmp_path, search_failures):
    add_article("Cocoa", body="cocoa")
    assert search.search(SearchQuery(q="cocoa")).total == 1
    settings.NEWSARCHIVE_INDEX_DIR = tmp_path / "other-index"
    # No index there while the database holds articles: an outage, not an empty archive.
    with pytest.raises(search.SearchUnavailable):
        search.search(SearchQuery(q="cocoa"))
    search.rebuild_index()
    assert search.search(SearchQuery(q="cocoa")).total == 1
    assert (tmp_path / "other-index").is_dir()


def test_index_is_created_on_first_use(settings, tmp_path, db):
    settings.NEWSARCHIVE_INDEX_DIR = tmp_path / "fresh" / "index"
    reset_backend()
    assert indexed_ids() == set()
    assert (tmp_path / "fresh" / "index").is_dir()


def test_writer_waits_for_another_writers_lock(make_article, django_capture_on_commit_callbacks):
    from articles import signals

    with signals.suspended():
        article = make_article("Cocoa")
    backend = get_backend()
    holder = backend._index().writer()
    released = threading.Event()

    def release_soon():
        time.sleep(0.3)
        holder.cancel()
        released.set()

    threading.Thread(target=release_soon).start()
    search.index_articles([article.pk])
    assert released.is_set()
    assert indexed_ids() == {article.pk}


def test_analyzer_folds_accents_and_stems():
    assert analyze("Médecins Sans Frontières rates") == ["medecin", "san", "frontier", "rate"]


def test_schema_stores_only_the_article_id():
    schema = build_schema()
    assert [name for name, field in schema.items() if field.stored] == ["id"]


def test_commits_merge_tiny_segments_and_leave_big_ones(make_article, monkeypatch):
    monkeypatch.setattr(writing, "TINY_SEGMENT_DOCS", 3)
    backend = get_backend()
    for n in range(4):  # a segment of 4 documents: not tiny
        make_article(f"Big {n}", slug=f"big-{n}", fingerprint=f"{n + 100:064x}")
    backend.index_articles([a.pk for a in Article.objects.all()])
    for n in range(3):  # three single saves: three tiny segments, merged as they come
        article = make_article(f"Small {n}", slug=f"small-{n}", fingerprint=f"{n + 200:064x}")
        backend.index_articles([article.pk])

    sizes = sorted(seg.doccount for seg, _ in backend.snapshot().parts)
    assert sizes[-1] == 4, "the big segment was left alone"
    assert len(sizes) <= 3
    assert len(backend.indexed_ids()) == 7


# --- every fast reader against Whoosh's public readers, on a random index ----------------------

READER_WORDS = (
    "market",
    "markets",
    "marketing",
    "rates",
    "rate",
    "rating",
    "bank",
    "banking",
    "bakery",
    "harvest",
    "harbour",
    "cocoa",
    "coffee",
    "Médecins",
    "medecins",
    "café",
    "cafe",
    "frontières",
    "president",
    "presidents",
    "presidential",
    "election",
    "elections",
    "oil",
    "oilfield",
    "U.S",
    "e-mail",
    "the",
    "of",
    "a",
    "x1",
    "2015",
)


@pytest.fixture
def random_index(make_article, django_capture_on_commit_callbacks, monkeypatch):
    """About 130 random articles in two segments of different sizes (the first written in the
    earlier block format), small posting blocks, long bodies with large position gaps, missing
    sources, sections and dates, and a few deletions."""
    import random

    monkeypatch.setattr(writing, "TINY_SEGMENT_DOCS", 10)  # keep both segments
    monkeypatch.setattr(codec, "POSTINGS_BLOCK_SIZE", 16)
    rng = random.Random(7)

    def article(i: int):
        length = rng.choice([3, 12, 40, 3, 12, 40, 600])
        body = " ".join(rng.choices(READER_WORDS, k=length))
        stamp = dt.datetime(2014 + i % 3, 1 + i % 12, 1 + i % 28, i % 24, tzinfo=dt.UTC)
        return make_article(
            " ".join(rng.choices(READER_WORDS, k=rng.randint(1, 5))),
            body=body,
            source=rng.choice(["AFP", "Reuters", "<b>Wire</b>", None]),
            section=rng.choice(["Business", "Sport & Leisure", None]),
            published=None if rng.random() < 0.15 else stamp,
        )

    with monkeypatch.context() as earlier_version:
        earlier_version.setattr(codec, "PICKLE_PROTOCOL", 2)
        with django_capture_on_commit_callbacks(execute=True):
            first = [article(i) for i in range(75)]
    with django_capture_on_commit_callbacks(execute=True):
        second = [article(i) for i in range(75, 130)]
    with django_capture_on_commit_callbacks(execute=True):
        for doomed in (first[3], first[40], second[7]):
            doomed.delete()
    snap = snapshot()
    assert sorted(seg.doccount for seg, _ in snap.parts) == [55, 75]
    return snap


def leaves(snap):
    """(our segment, Whoosh's reader of that segment) pairs."""
    by_id = {leaf.segment().segment_id(): leaf for leaf, _ in snap.searcher.reader().leaf_readers()}
    return [(seg, by_id[seg.segid]) for seg, _ in snap.parts]


def matcher_items(matcher, value=None) -> list:
    items = []
    while matcher.is_active():
        items.append((matcher.id(), matcher.weight() if value is None else value(matcher)))
        matcher.next()
    return items


def field_length(reader, docnum: int, fieldname: str) -> int:
    """Whoosh's length of a field in a document; None (a title of stop words only) is 0."""
    return reader.doc_field_length(docnum, fieldname) or 0


def lexicon(reader, fieldname: str) -> list[str]:
    return [t.decode("utf-8") for t in reader.lexicon(fieldname)]


def test_every_posting_list_matches_whooshs_matcher(random_index):
    snap = random_index
    reader = snap.searcher.reader()
    terms = [(f, t) for f in ("title", "body") for t in lexicon(reader, f)]
    assert len(terms) >= 40
    for fieldname, term in terms:
        docs, weights = snap.term(fieldname, term)
        live = snap.live[docs]
        expected = matcher_items(reader.postings(fieldname, term))
        assert list(zip(docs[live].tolist(), weights[live].tolist(), strict=True)) == expected
        assert len(docs) == reader.doc_frequency(fieldname, term), term


def test_every_position_list_matches_whooshs_matcher(random_index):
    for (seg, leaf), fieldname in itertools.product(leaves(random_index), ("title", "body")):
        for term in lexicon(leaf, fieldname):
            ids, values = seg.read_whole(fieldname, term.encode("utf-8"))
            builder = PositionsBuilder()
            builder.take(ids, values, np.arange(len(ids)))
            docs, positions = builder.arrays()
            got = sorted(zip(docs.tolist(), positions.tolist(), strict=True))
            positions_of = matcher_items(
                leaf.postings(fieldname, term), lambda m: m.value_as("positions")
            )
            expected = sorted((doc, p) for doc, plist in positions_of for p in plist)
            live = {doc for doc, _ in positions_of}
            assert [(d, p) for d, p in got if d in live] == expected, term


def test_every_column_matches_whooshs_column_readers(random_index):
    """Whoosh reports a missing number as the top of its range and a missing label as ''; the
    fast readers report 0 and ''."""
    checked = 0
    for seg, leaf in leaves(random_index):
        for name, ours in [
            ("id", seg.ids),
            ("published", seg.published),
            ("day", seg.day),
            ("updated", seg.updated),
        ]:
            top = (1 << (8 * leaf.column_reader(name, translate=False)._fixedlen)) - 1
            theirs = [0 if v == top else v for v in leaf.column_reader(name)]
            assert ours.tolist() == theirs, name
            checked += 1
        for name in ("source", "section"):
            values = getattr(seg, f"{name}_values")
            ours = [values[r] for r in getattr(seg, f"{name}_refs")]
            assert ours == list(leaf.column_reader(name)), name
            checked += 1
    assert checked == 12


def test_snapshot_columns_hold_each_articles_own_values(random_index):
    """The same columns against the database: the index stores what the rows say."""
    from django.utils import timezone

    from articles.search.backends.whoosh.schema import _EPOCH_OFFSET

    snap = random_index
    rows = {a.pk: a for a in Article.objects.select_related("source", "section")}
    sources, source_names = snap.labels["source"]
    sections, section_names = snap.labels["section"]
    live = np.flatnonzero(snap.live)
    assert sorted(snap.ids[live].tolist()) == sorted(rows)
    for docnum in live.tolist():
        row = rows[int(snap.ids[docnum])]
        local = timezone.localtime(row.published) if row.published else None
        assert snap.day[docnum] == (int(local.strftime("%Y%m%d")) if local else 0)
        stamp = int(row.published.timestamp()) + _EPOCH_OFFSET if row.published else 0
        assert snap.published[docnum] == stamp
        assert snap.updated[docnum] == (row.updated - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // (
            dt.timedelta(microseconds=1)
        )
        assert source_names[sources[docnum]] == (row.source.name if row.source else "")
        assert section_names[sections[docnum]] == (row.section.name if row.section else "")


def test_field_lengths_match_whoosh(random_index):
    snap = random_index
    reader = snap.searcher.reader()
    for fieldname in ("title", "body"):
        for docnum in np.flatnonzero(snap.live).tolist():
            assert snap.lengths[fieldname][docnum] == field_length(reader, docnum, fieldname)


PREFIXES = [
    ("ma", "ma"),
    ("mar", "mar"),
    ("ra", "ra"),
    ("ba", "ba"),
    ("pres", "pres"),
    ("méd", "med"),
]


def test_prefix_expansion_matches_whooshs_term_dictionary(random_index):
    for typed, folded in PREFIXES:
        assert_prefix_expansion(random_index, typed, folded)


def assert_prefix_expansion(snap, typed: str, folded: str) -> None:
    reader = snap.searcher.reader()
    expected = {
        t.decode("utf-8")
        for fieldname in ("title", "body")
        for t in reader.expand_prefix(fieldname, folded)
    } | set(analyze(typed))
    assert 0 < len(expected) < snapshot_module.MAX_PREFIX_TERMS
    assert set(snap.expand_prefix(typed)) == expected


def one_edit_away(word: str) -> set[str]:
    """Every string one deletion, swap of neighbours, replacement or insertion from ``word``."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = set()
    for i in range(len(word) + 1):
        left, right = word[:i], word[i:]
        if right:
            out.add(left + right[1:])
            out.update(left + c + right[1:] for c in letters)
        if len(right) > 1:
            out.add(left + right[1] + right[0] + right[2:])
        out.update(left + c + right for c in letters)
    out.discard(word)
    return {w for w in out if w}


MISSPELT = [
    ("markt", 1),
    ("presdent", 1),
    ("presidnt", 2),
    ("harbur", 1),
    ("cocoa", 1),
    ("bnak", 2),
]


def test_fuzzy_expansion_matches_whooshs_term_dictionary(random_index):
    """Stems of the word's one-edit neighbours that the searched fields hold, plus stems within
    ``maxdist`` of its own stem in the biggest segment's dictionaries (the backend's bound)."""
    for typed, maxdist in MISSPELT:
        assert assert_fuzzy_expansion(random_index, typed, maxdist, ("title", "body"))
        assert_fuzzy_expansion(random_index, typed, maxdist, ("title",))
        assert_fuzzy_expansion(random_index, typed, maxdist, ("body",))


def assert_fuzzy_expansion(snap, typed: str, maxdist: int, fieldnames: tuple[str, ...]) -> set[str]:
    """Checks the expansion over ``fieldnames`` against Whoosh's own dictionaries; returns it."""
    reader = snap.searcher.reader()
    biggest = max(leaves(snap), key=lambda pair: pair[0].doccount)[1]
    own = analyze(typed)

    def frequency_of(stem: str) -> int:
        return sum(reader.doc_frequency(f, stem) for f in fieldnames)

    frequency = {stem: frequency_of(stem) for stem in own}
    candidates = {stem for word in one_edit_away(typed) for stem in analyze(word)}
    for fieldname in fieldnames:
        candidates |= {
            t.decode() if isinstance(t, bytes) else t
            for t in biggest.terms_within(fieldname, own[0], maxdist, prefix=1)
        }
    for stem in candidates - frequency.keys():
        frequency[stem] = frequency_of(stem)
    expected = {stem for stem, n in frequency.items() if n}
    assert len(expected) < spelling.MAX_FUZZY_TERMS
    assert set(spelling.expand_fuzzy(snap, typed, maxdist, fieldnames)) == expected, fieldnames
    return expected


def test_a_segment_of_undated_articles_reads_day_zero(add_article):
    add_article("Undated", published=None)
    add_article("Dated")
    snap = snapshot()
    assert len(snap.parts) == 2
    assert sorted(snap.day.tolist()) == [0, 20151010]


def test_an_index_naming_the_codec_by_its_old_module_still_opens(add_article, settings):
    """Whoosh pickles each segment's codec into the index's table of contents: an index
    written when the codec lived in ``backends/whoosh_codec.py`` names that module."""
    from articles.search.backends.whoosh.codec import NativeBlocksCodec

    with pytest.MonkeyPatch.context() as earlier_version:
        earlier_version.setattr(
            NativeBlocksCodec, "__module__", "articles.search.backends.whoosh_codec"
        )
        add_article("Cocoa harvest", body="cocoa")
    toc = b"".join(p.read_bytes() for p in settings.NEWSARCHIVE_INDEX_DIR.glob("*.toc"))
    assert b"articles.search.backends.whoosh_codec" in toc
    reset_backend()  # the next search unpickles the table of contents again
    assert search.search(SearchQuery(q="cocoa")).total == 1


def test_the_codec_imports_without_django_settings_or_the_search_code():
    """Sub-writers started with spawn import the codec's module in a bare interpreter: it must
    need no settings, and the package must not load the backend (nor NumPy) on the way."""
    code = (
        "import sys\n"
        "import articles.search.backends.whoosh.codec\n"
        "from django.conf import settings\n"
        "assert not settings.configured\n"
        "loaded = {'articles.models', 'articles.search.backends.whoosh.backend', 'numpy'}\n"
        "assert not loaded & set(sys.modules), loaded & set(sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=root)


def test_readers_state_the_installed_whoosh3():
    """The format readers name the whoosh3 release they were checked against; an upgrade has
    to re-read them (and this file's checks) and then change that statement."""
    from importlib.metadata import version

    from articles.search.backends.whoosh.formats import WHOOSH3_VERSION

    assert version("whoosh3") == WHOOSH3_VERSION
