"""The Whoosh backend's internals: the fast array readers agree with Whoosh's own, segments and
refreshes are handled, the writer waits for the lock, and the backend follows the index folder.

The fast path reads Whoosh's files directly (columns, posting blocks), so these tests pin it to
Whoosh's public readers: if an upgrade of whoosh3 changed the layout, they fail here first.
"""

from __future__ import annotations

import datetime as dt
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
from articles.search.backends.whoosh.formats import (
    PositionsBuilder,
    block_values,
    decode_positions,
    parse_block_head,
    posting_blocks,
)
from articles.search.backends.whoosh.schema import analyze, build_schema

pytestmark = pytest.mark.django_db


def snapshot():
    return get_backend().snapshot()


@pytest.fixture
def many(make_article, django_capture_on_commit_callbacks, monkeypatch):
    """300 articles (several posting blocks per common term) in two index segments, one
    deleted. The first segment is written as before blocks were pickled with protocol 3, so
    every reader below is checked on both kinds of segment."""
    from articles.search.backends.whoosh import codec, writing

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


def test_new_segments_use_the_larger_posting_blocks(make_article, monkeypatch):
    from articles.search.backends.whoosh import writing

    monkeypatch.setattr(writing, "BULK_PARALLEL_MIN", 1000)  # one process, one segment
    articles = [make_article(f"Story {i}", body="market") for i in range(300)]
    search.index_articles([a.pk for a in articles])
    seg = snapshot().parts[0][0]
    matcher = seg._terms.matcher("body", b"market", seg._reader.schema["body"].format)
    assert seg.doccount == 300
    assert matcher._lastblock  # Whoosh's default block of 128 postings would need three


def test_column_arrays_match_whooshs_column_readers(many):
    snap = snapshot()
    reader = snap.searcher.reader()
    ids = [snap.ids[d] for d in range(snap.n)]
    assert ids == list(reader.column_reader("id"))
    sources = reader.column_reader("source")
    ords, names = snap.labels["source"]
    assert [names[o] for o in ords] == [v.decode() if isinstance(v, bytes) else v for v in sources]


def test_posting_arrays_match_whooshs_matcher(many):
    snap = snapshot()
    reader = snap.searcher.reader()
    docs, weights = snap.term("body", "market")
    matcher = reader.postings("body", "market")
    expected = []
    while matcher.is_active():
        expected.append((matcher.id(), matcher.weight()))
        matcher.next()
    live = snap.live[docs]
    assert list(zip(docs[live].tolist(), weights[live].tolist(), strict=True)) == expected


def test_field_lengths_match_whoosh(many):
    snap = snapshot()
    reader = snap.searcher.reader()
    for docnum in np.flatnonzero(snap.live)[:20]:
        assert snap.lengths["body"][docnum] == reader.doc_field_length(int(docnum), "body")


def test_readers_state_the_installed_whoosh3():
    """The format readers name the whoosh3 release they were checked against; an upgrade has
    to re-read them (and this file's checks) and then change that statement."""
    from importlib.metadata import version

    from articles.search.backends.whoosh.formats import WHOOSH3_VERSION

    assert version("whoosh3") == WHOOSH3_VERSION


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

    from articles.search.backends.whoosh import phrases

    monkeypatch.setattr(phrases, "DENSE_PHRASE_RATIO", dense_ratio)
    words = analyze(phrase)
    expected = len(
        snapshot().searcher.search(
            wq.Or([wq.Phrase("title", words), wq.Phrase("body", words)]), limit=None
        )
    )
    assert search.search(SearchQuery(q=f'"{phrase}"')).total == expected
    assert expected or phrase == "common market"


def test_deleted_documents_are_not_live(many):
    snap = snapshot()
    assert snap.live_count == 299
    assert search.search(SearchQuery(q="market")).total == 299


def test_facet_counts_match_a_count_in_python(many):
    results = search.search(SearchQuery(q="rare"))
    expected: dict[str, int] = {}
    for article in many:
        if "rare" in article.body:
            expected[article.source.name] = expected.get(article.source.name, 0) + 1
    assert {v.label: v.count for v in results.facets["source"]} == expected


def test_articles_without_section_or_date_are_counted_nowhere(many):
    results = search.search(SearchQuery())
    assert sum(v.count for v in results.facets["section"]) == sum(1 for a in many if a.section_id)
    assert sum(v.count for v in results.facets["year"]) == sum(1 for a in many if a.published)


def test_searcher_is_reused_until_the_index_changes(add_article):
    add_article("One", body="cocoa")
    first = snapshot()
    search.search(SearchQuery(q="cocoa"))
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


def test_clear_index_empties_it(add_article):
    add_article("Cocoa")
    search.clear_index()
    assert indexed_ids() == set()


def test_analyzer_folds_accents_and_stems():
    assert analyze("Médecins Sans Frontières rates") == ["medecin", "san", "frontier", "rate"]


def test_schema_stores_only_the_article_id():
    schema = build_schema()
    assert [name for name, field in schema.items() if field.stored] == ["id"]


def test_commits_merge_tiny_segments_and_leave_big_ones(make_article, monkeypatch):
    from articles.search.backends.whoosh import writing

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
