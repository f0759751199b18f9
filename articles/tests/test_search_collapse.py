"""Folding ranked ids into stories (``articles.search.collapse``), against a plain loop."""

from __future__ import annotations

import random

import pytest

from articles.search.collapse import Folded, FoldingCache, Story, ThreadMap, collapse


def fold_by_hand(ranked: list[int], thread_of: dict[int, int]) -> list[Story]:
    """The oracle: walk the ranking, the first version of each thread stands for it."""
    stories: list[Story] = []
    first: dict[int, Story] = {}
    for pk in ranked:
        thread = thread_of.get(pk)
        if thread is None:
            stories.append(Story(pk))
        elif thread in first:
            first[thread].folded.append(pk)
        else:
            first[thread] = Story(pk, thread)
            stories.append(first[thread])
    return stories


@pytest.mark.parametrize("seed", range(12))
def test_folding_equals_the_plain_walk_over_the_ranking(seed):
    rng = random.Random(seed)
    archive = rng.sample(range(1, 5000), rng.randint(0, 400))
    threaded = rng.sample(archive, len(archive) // rng.choice([2, 5, 50]) if archive else 0)
    thread_of = {pk: min(threaded[i - i % 3 : i - i % 3 + 3]) for i, pk in enumerate(threaded)}
    ranked = rng.sample(archive, rng.randint(0, len(archive)))

    folded = collapse(ranked, ThreadMap.from_dict(thread_of))

    expected = fold_by_hand(ranked, thread_of)
    assert len(folded) == len(expected)
    assert folded[:] == expected
    assert [folded[i] for i in range(len(folded))] == expected
    start = rng.randint(0, len(expected))
    assert folded[start : start + 7] == expected[start : start + 7]


def test_without_threads_every_match_is_its_own_story():
    folded = collapse([5, 3, 9], ThreadMap.from_dict({}))
    assert folded[:] == [Story(5), Story(3), Story(9)]


def test_the_cache_keeps_the_thread_map_while_the_token_stays(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from articles import threads

    cache = FoldingCache(capacity=10)
    with CaptureQueriesContext(connection) as cold:
        token, first = cache.thread_map()
    assert len(cold.captured_queries) == 1  # the map with its token
    with CaptureQueriesContext(connection) as warm:
        assert cache.thread_map() == (token, first)
    assert len(warm.captured_queries) == 1 and "IS NOT NULL" not in warm.captured_queries[0]["sql"]
    threads._threads_changed()
    assert cache.thread_map()[0] != token


def test_the_cache_keeps_folded_results_only_under_a_key():
    cache = FoldingCache(capacity=10)
    folded = Folded(collapse([1, 2], ThreadMap.from_dict({})).best, {})
    cache.keep(("v1",), folded)
    cache.keep(None, folded)  # an answer without a data version is never kept
    assert cache.folded(("v1",)) is folded
    assert cache.folded(None) is None
    assert cache.clear() == 1
    assert cache.folded(("v1",)) is None
