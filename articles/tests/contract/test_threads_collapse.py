"""Story threads folded in search results, on every backend: one hit per story with its other
matching versions, totals and pages counting stories, facet counts counting articles whether
folded or not."""

from __future__ import annotations

import pytest

from articles.search import SearchQuery, matching_ids, search

from .support import day, facet

pytestmark = pytest.mark.django_db

WARNING = (
    "Iran's prime minister said on Sunday that his country would retaliate against any attack "
    "on its oil installations, repeating a warning given last week as tension rose over "
    "shipping in the Gulf."
)
TITLE = "Iranian Premier Reiterates Warning Of Retaliation"


@pytest.fixture
def resent(add_article):
    """A story sent three times (by two sources), and three other stories on Iran."""
    first = add_article(TITLE, body=WARNING, source="Reuters", published=day(1987, 3, 1, 10))
    second = add_article(TITLE, body=WARNING, source="Reuters", published=day(1987, 3, 1, 12))
    third = add_article(
        TITLE, body=WARNING.replace("Sunday", "Monday"), source="AP", published=day(1987, 3, 2)
    )
    others = [
        add_article(
            f"Iran story {n}",
            body=f"Iran {topic} news.",
            source="AP",
            published=day(1987, 3, 3 + n),
        )  # fmt: skip
        for n, topic in enumerate(["oil", "trade", "wheat"])
    ]
    return {"versions": [first, second, third], "others": others}


def test_a_thread_shows_once_with_its_other_versions(resent):
    results = search(SearchQuery(q="iran", sort="oldest"))

    assert results.collapsed
    assert results.total == 4 and results.articles == 6
    first, second, third = resent["versions"]
    best = results.hits[0]
    assert best.id == first.pk and best.thread == first.pk
    assert [v.id for v in best.versions] == [second.pk, third.pk]
    assert best.version_count == 3
    assert {v.source for v in best.versions} == {"Reuters", "AP"}
    assert [h.versions for h in results.hits[1:]] == [[], [], []]


def test_without_collapse_every_version_is_a_hit(resent):
    results = search(SearchQuery(q="iran", collapse=False))

    assert not results.collapsed
    assert results.total == results.articles == 6
    assert all(hit.versions == [] for hit in results.hits)
    threads = {hit.id: hit.thread for hit in results.hits}
    first = resent["versions"][0].pk
    assert [threads[v.pk] for v in resent["versions"]] == [first] * 3
    assert [threads[o.pk] for o in resent["others"]] == [None] * 3


def test_facet_counts_are_of_articles_either_way(resent):
    folded = search(SearchQuery(q="iran"))
    every = search(SearchQuery(q="iran", collapse=False))

    for name in ("source", "year", "section"):
        assert facet(folded, name) == facet(every, name)
    assert facet(folded, "source") == {"AP": 4, "Reuters": 2}


def test_pages_count_stories(resent):
    pages = [search(SearchQuery(q="iran", sort="oldest", per_page=3, page=n)) for n in (1, 2)]

    assert [p.pages for p in pages] == [2, 2]
    assert [len(p.hits) for p in pages] == [3, 1]
    ids = [hit.id for page in pages for hit in page.hits]
    assert len(set(ids)) == 4
    folded = {v.id for page in pages for hit in page.hits for v in hit.versions}
    assert folded.isdisjoint(ids)
    assert len(folded) == 2


def test_the_best_version_leads_when_only_some_versions_match(resent):
    """A filter that keeps one version: that one is the hit, with nothing folded under it."""
    results = search(SearchQuery(q="iran", sources=("AP",)))

    assert results.total == 4
    third = resent["versions"][2]
    hit = next(h for h in results.hits if h.id == third.pk)
    assert hit.versions == []


def test_matching_ids_follow_the_folded_order(resent):
    folded = matching_ids(SearchQuery(q="iran", sort="oldest"), 10)
    every = matching_ids(SearchQuery(q="iran", sort="oldest", collapse=False), 10)

    assert folded.total == 4 and every.total == 6
    assert folded.ids == [i for i in every.ids if i not in {v.pk for v in resent["versions"][1:]}]


def test_an_archive_without_threads_gives_the_same_results_folded_or_not(add_article):
    for n in range(3):
        add_article(
            f"Story {n}", body=f"Market news number {n} about cocoa.", published=day(2000 + n)
        )

    folded = search(SearchQuery(q="cocoa"))
    every = search(SearchQuery(q="cocoa", collapse=False))

    assert [h.id for h in folded.hits] == [h.id for h in every.hits]
    assert folded.total == every.total == 3
    assert not folded.collapsed


@pytest.mark.django_db(transaction=True)
def test_folded_results_are_kept_only_while_the_data_and_threads_stay(resent, add_article):
    """Committed, so that every backend keeps what a folded search read (PostgreSQL keeps
    nothing inside a transaction that has written); each change shows at once."""
    query = SearchQuery(q="iran", sort="oldest")
    first, second, third = resent["versions"]

    def versions() -> list[int]:
        return [hit.version_count for hit in search(query).hits]

    assert versions() == [3, 1, 1, 1]
    assert versions() == [3, 1, 1, 1]  # warm
    add_article(TITLE, body=WARNING, source="UPI", published=day(1987, 3, 9))
    assert versions() == [4, 1, 1, 1]
    third.refresh_from_db()
    third.body = "Iran closed its ports to foreign tankers for the night."
    third.save()
    assert versions() == [3, 1, 1, 1, 1]
    first.delete()  # the thread is renumbered after its next version
    assert versions() == [2, 1, 1, 1, 1]
    assert matching_ids(query, 10).total == 5
