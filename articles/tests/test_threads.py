"""Story threads: grouped at import (across runs), on edits and deletes, and reported."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from articles import threads
from articles.importer import import_paths
from articles.models import Article

pytestmark = pytest.mark.django_db(transaction=True)

WARNING = (
    "Iran's prime minister said on Sunday that his country would retaliate against any attack "
    "on its oil installations, repeating a warning given last week as tension rose over "
    "shipping in the Gulf.\n\nThe United States moved more warships into the area to escort "
    "Kuwaiti tankers, officials in Washington said."
)
COCOA = (
    "Cocoa futures ended lower in quiet trade in London as dealers waited for the buffer stock "
    "manager to resume purchases.\n\nWest African crop reports pointed to a larger harvest."
)
TITLE = "Iranian Premier Reiterates Warning Of Retaliation"


def by_title(title: str) -> list[Article]:
    return list(Article.objects.filter(title=title).order_by("pk"))


def test_a_resend_in_the_same_run_joins_the_first_copy(write_seed, tmp_path):
    write_seed("a.txt", title=TITLE, body=WARNING, published="1987-03-01 10:00:00")
    write_seed("b.txt", title=TITLE, body=WARNING, published="1987-03-01 11:15:00")
    write_seed("c.txt", title="Cocoa falls", body=COCOA)
    import_paths([tmp_path / "seeds"])

    first, second = by_title(TITLE)
    assert first.thread == second.thread == first.pk
    assert Article.objects.get(title="Cocoa falls").thread is None
    assert first.minhash is not None


@pytest.mark.parametrize("chunk", [threads.REFRESH_CHUNK, 2], ids=["one load", "in chunks"])
def test_a_resend_imported_in_a_later_run_finds_its_thread(
    write_seed, tmp_path, chunk, monkeypatch
):
    monkeypatch.setattr(threads, "REFRESH_CHUNK", chunk)
    for n in range(5):  # other stories, so a load in chunks of 2 takes three
        words = " ".join(f"{word}{n}" for word in ("cocoa", "harvest", "port", "ship", "price"))
        write_seed(f"other-{n}.txt", title=f"Other story {n}", body=f"Report {n}: {words}.")
    write_seed("a.txt", title=TITLE, body=WARNING, published="1987-03-01 10:00:00")
    import_paths([tmp_path / "seeds"])
    threads.reset()  # a later run is a new process, with an empty LSH
    corrected = WARNING.replace("last week", "last Tuesday")
    write_seed("b.txt", folder=tmp_path / "later", title=TITLE, body=corrected,
               published="1987-03-02 09:00:00")  # fmt: skip
    import_paths([tmp_path / "later"])

    first, second = by_title(TITLE)
    assert first.thread == second.thread == first.pk
    assert not Article.objects.filter(title__startswith="Other story").exclude(thread=None)


def test_an_edit_that_makes_a_version_another_story_takes_it_out(make_article):
    a = make_article(TITLE, body=WARNING)
    b = make_article(TITLE, body=WARNING)
    c = make_article(TITLE, body=WARNING)
    for article in (a, b, c):
        article.refresh_from_db()
    assert {a.thread, b.thread, c.thread} == {a.pk}

    a.title, a.body = "Cocoa falls", COCOA
    a.save()
    for article in (a, b, c):
        article.refresh_from_db()
    assert a.thread is None
    assert b.thread == c.thread == b.pk  # renumbered: the thread's first article left


def test_an_edit_that_makes_an_article_a_version_puts_it_in_the_thread(make_article):
    a = make_article(TITLE, body=WARNING)
    b = make_article("Cocoa falls", body=COCOA)
    b.refresh_from_db()
    assert b.thread is None
    b.title, b.body = TITLE, WARNING.replace("Sunday", "Monday")
    b.save()
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.thread == b.thread == a.pk


def test_deleting_a_version_leaves_a_single_article_without_a_thread(make_article):
    a = make_article(TITLE, body=WARNING)
    b = make_article(TITLE, body=WARNING)
    a.delete()
    b.refresh_from_db()
    assert b.thread is None


def test_deleting_the_link_between_two_versions_splits_the_thread(make_article, settings):
    """a ~ b and b ~ c, but a and c are too far apart: without b they are two stories."""
    settings.NEWSARCHIVE_THREAD_THRESHOLD = 0.6
    words = [f"w{i}" for i in range(80)]
    a_text = " ".join(words[:60])  # a~b and b~c: Jaccard 0.71; a~c: 0.49
    b_text = " ".join(words[10:70])
    c_text = " ".join(words[20:80])
    a, b, c = (make_article("T", body=text) for text in (a_text, b_text, c_text))
    for article in (a, b, c):
        article.refresh_from_db()
    assert a.thread == b.thread == c.thread == a.pk

    b.delete()
    a.refresh_from_db()
    c.refresh_from_db()
    assert a.thread is None
    assert c.thread is None


def test_a_bulk_delete_re_evaluates_every_thread(make_article):
    kept = make_article(TITLE, body=WARNING)
    make_article(TITLE, body=WARNING)
    make_article(TITLE, body=WARNING)
    Article.objects.exclude(pk=kept.pk).delete()
    kept.refresh_from_db()
    assert kept.thread is None


def test_rebuild_regroups_an_archive_signed_with_other_settings(make_article, settings):
    a = make_article(TITLE, body=WARNING)
    b = make_article(TITLE, body=WARNING.replace("Sunday", "Monday"))
    settings.NEWSARCHIVE_THREAD_THRESHOLD = 0.97  # the correction is no longer a version
    assert threads.rebuild() == 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.thread is None and b.thread is None


def test_versions_are_the_others_oldest_first(make_article):
    import datetime as dt

    late = make_article(TITLE, body=WARNING, published=dt.datetime(1987, 3, 2, tzinfo=dt.UTC))
    early = make_article(TITLE, body=WARNING, published=dt.datetime(1987, 3, 1, tzinfo=dt.UTC))
    make_article("Cocoa falls", body=COCOA)
    late.refresh_from_db()
    early.refresh_from_db()
    assert threads.versions(late) == [early]
    assert threads.versions(early) == [late]


def test_the_command_lists_the_largest_threads(make_article):
    for _ in range(3):
        make_article(TITLE, body=WARNING)
    for _ in range(2):
        make_article("Cocoa falls", body=COCOA)
    make_article("Alone", body="A story of its own with nothing like it anywhere.")

    out = StringIO()
    call_command("story_threads", "--top", "1", stdout=out)
    text = out.getvalue()
    assert "2 threads hold 5 articles" in text
    assert TITLE in text and "3 versions" in text
    assert "Cocoa falls" not in text

    out = StringIO()
    call_command("story_threads", "--top", "5", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["threads"] == 2 and data["articles_in_threads"] == 5
    assert [t["size"] for t in data["top"]] == [3, 2]
    assert {m["title"] for m in data["top"][1]["articles"]} == {"Cocoa falls"}


def test_the_command_refuses_a_bad_top():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("story_threads", "--top", "0")


def test_the_command_rebuilds(make_article):
    a = make_article(TITLE, body=WARNING)
    make_article(TITLE, body=WARNING)
    Article.objects.update(thread=None, minhash=None)
    out = StringIO()
    call_command("story_threads", "--rebuild", stdout=out)
    a.refresh_from_db()
    assert a.thread == a.pk
    assert "Regrouped 2 articles" in out.getvalue()


def test_the_per_search_thread_map_seeks_the_thread_index(make_article):
    """Folding reads this map whenever the threads changed: one query, with the state token,
    that finds the few articles with versions through the thread index, not by walking the
    whole table in the model's date order."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = make_article(TITLE, body=WARNING)
    second = make_article(TITLE, body=WARNING)
    make_article("Cocoa falls", body=COCOA)
    with CaptureQueriesContext(connection) as queries:
        token, found = threads.thread_map()
    assert found == {first.pk: first.pk, second.pk: first.pk}
    assert token == threads.state_token()
    (query,) = queries.captured_queries
    assert "ORDER BY" not in query["sql"]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "thread" in plan and "SCAN articles_article" not in plan, plan


def test_an_import_writes_each_signature_with_its_row(write_seed, tmp_path):
    """No UPDATE of the new rows afterwards: on PostgreSQL that re-indexes every row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    write_seed("a.txt", title=TITLE, body=WARNING, published="1987-03-01 10:00:00")
    write_seed("b.txt", title=TITLE, body=WARNING, published="1987-03-01 11:15:00")
    write_seed("c.txt", title="Cocoa falls", body=COCOA)
    with CaptureQueriesContext(connection) as queries:
        import_paths([tmp_path / "seeds"])

    assert not [q["sql"] for q in queries.captured_queries if "SET minhash" in q["sql"]]
    first, second = by_title(TITLE)
    assert first.minhash is not None and bytes(first.minhash) == bytes(second.minhash)
    assert first.thread == second.thread == first.pk
    assert Article.objects.get(title="Cocoa falls").minhash is not None


# --- folded search results follow every change of the threads --------------------------------


def folded_iran() -> list[int]:
    """How many versions each story of a folded search for "iran" stands for, oldest first."""
    from articles.search import SearchQuery, search

    return [hit.version_count for hit in search(SearchQuery(q="iran", sort="oldest")).hits]


@pytest.fixture
def three_versions(make_article):
    """A story, its re-send and its correction, and another story on Iran."""
    import datetime as dt

    def at(hour: int) -> dt.datetime:
        return dt.datetime(1987, 3, 1, hour, tzinfo=dt.UTC)

    return [
        make_article(TITLE, body=WARNING, published=at(9)),
        make_article(TITLE, body=WARNING, published=at(10)),
        make_article(TITLE, body=WARNING.replace("last week", "on Friday"), published=at(11)),
        make_article("Iran wheat", body="Iran bought wheat. " + COCOA, published=at(12)),
    ]


def test_a_repeated_folded_search_reads_neither_the_thread_map_nor_every_ranked_id(
    three_versions, monkeypatch
):
    """The second time, a folded search asks the backend for its page only, as an unfolded
    one does, and reads no thread from the database: both are kept for the data version."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from articles.search import get_backend

    assert folded_iran() == [3, 1]  # cold: fills the caches
    backend = get_backend()
    asked = []
    real_search = backend.search

    def counting_search(parsed, filters, sort, offset, limit, facet_names):
        asked.append(limit)
        return real_search(parsed, filters, sort, offset, limit, facet_names)

    monkeypatch.setattr(backend, "search", counting_search)
    with CaptureQueriesContext(connection) as queries:
        assert folded_iran() == [3, 1]
    assert len(asked) == 1  # the page, with its facets; not every ranked id again
    assert not [q for q in queries.captured_queries if "thread IS NOT NULL" in q["sql"]]


def test_folded_results_follow_an_import(write_seed, tmp_path):
    write_seed("a.txt", title=TITLE, body=WARNING, published="1987-03-01 10:00:00")
    import_paths([tmp_path / "seeds"])
    assert folded_iran() == [1]
    write_seed("b.txt", folder=tmp_path / "later", title=TITLE, body=WARNING,
               published="1987-03-02 09:00:00")  # fmt: skip
    import_paths([tmp_path / "later"])
    assert folded_iran() == [2]


def test_folded_results_follow_an_edit(three_versions):
    assert folded_iran() == [3, 1]
    correction = three_versions[2]
    correction.body = "Iran said nothing more. " + COCOA
    correction.save()  # an instance read before it joined: it writes its own (empty) thread
    assert folded_iran() == [2, 1, 1]


def test_folded_results_follow_a_delete(three_versions):
    assert folded_iran() == [3, 1]
    three_versions[1].delete()
    assert folded_iran() == [2, 1]
    three_versions[0].delete()
    assert folded_iran() == [1, 1]


def test_folded_results_follow_a_regrouping_that_leaves_the_index_alone(three_versions, settings):
    """``story_threads --rebuild`` writes threads and not the index: the threads' state token
    still tells every process that its thread map is stale."""
    assert folded_iran() == [3, 1]
    settings.NEWSARCHIVE_THREAD_THRESHOLD = 0.97  # the correction is no longer a version
    threads.rebuild()
    assert folded_iran() == [2, 1, 1]


def test_a_regrouping_rolled_back_leaves_the_folded_results_as_committed(three_versions, settings):
    from django.db import transaction

    assert folded_iran() == [3, 1]
    settings.NEWSARCHIVE_THREAD_THRESHOLD = 0.97
    with pytest.raises(RuntimeError), transaction.atomic():
        threads.rebuild()
        assert folded_iran() == [2, 1, 1]  # seen inside the transaction that wrote it
        raise RuntimeError("roll back")
    assert folded_iran() == [3, 1]
    threads.rebuild()
    assert folded_iran() == [2, 1, 1]


def test_an_archive_without_threads_has_an_empty_map_and_a_token(make_article):
    make_article("Cocoa falls", body=COCOA)
    token, found = threads.thread_map()
    assert found == {} and token == threads.state_token()
