"""The rule that derives a judged query set (bench/derive.py), on hand-made articles."""

from __future__ import annotations

from bench import derive
from bench.derive import derive as derive_pairs
from bench.derive import seed_articles


def test_words_that_lean_to_one_section_become_its_queries(monkeypatch) -> None:
    monkeypatch.setattr(derive, "MIN_ARTICLES", 10)
    monkeypatch.setattr(derive, "MIN_TITLES", 2)
    monkeypatch.setattr(derive, "PER_SECTION", 1)
    articles = (
        # "match": 6 of 10 in Sport (60%): a Sport query. "goal": 10 of 10 (too plain).
        [("Sport", "Match report", "match goal")] * 6
        + [("Tech", "Match making software", "match")] * 4
        + [("Sport", "Goal", "goal")] * 4
        # "market": 7 of 12 in Business, in more bodies than "firm" (5 of 10): Business's one.
        + [("Business", "Market day", "market firm")] * 5
        + [("Business", "Stock market", "market")] * 2
        + [("Tech", "Market share", "market firm")] * 5
        # "them" is a stop word; "vote" (60% Politics) is in one title only.
        + [("Politics", "Election", "vote them")] * 6
        + [("Business", "Pay deal", "vote them")] * 3
        + [("Business", "Vote on pay", "vote them")]
    )
    assert derive_pairs(articles) == [("market", "Business"), ("match", "Sport")]


def test_seed_articles_reads_title_section_and_body(seed_tarball) -> None:
    files = {
        "s/a.txt": "Cup Final\n\nSource:BBC Published: 2004-01-21 22:52:04\n\nThe match.\n\n"
        "Posted in: Sport\n\nblog comments powered by Disqus\n",
        "s/b.txt": "No Section\n\nText.\n",
    }
    archive = seed_tarball(files)
    (section, title, body), *rest = list(seed_articles(archive))
    assert (section, title) == ("Sport", "Cup Final") and not rest
    assert "The match." in body and "Source" not in body and "Disqus" not in body
