"""The relevance bench's scorer on a tiny hand-made judged set: the metrics, the judgments
file format and the stripping of section lines. Expected figures are worked out by hand from
the definitions (P@10 = relevant in the first 10 / 10; MRR = 1 / first relevant rank; nDCG@10
with binary gains, log2(rank + 1) discounts), not by calling the code under test."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.relevance import (
    Judgment,
    ndcg_at,
    parse_judgments,
    precision_at,
    reciprocal_rank,
    render,
    score_engine,
    strip_sections,
)

# Ten articles: ids 1-10. "cocoa" judged by section, "rates" by ids.
SECTIONS = {1: "Cocoa", 2: "Cocoa", 3: "Money", 4: "cocoa ", 5: None, 6: "Money", 7: "Grain"}
JUDGED = parse_judgments("# query\tjudgment\ncocoa\tCocoa\n\nrates\tids: 6, 3 9\nnothing\tGrain\n")
RUNS = {
    "cocoa": [3, 1, 5, 4, 6],  # relevant at ranks 2 and 4; 3 cocoa articles exist
    "rates": [6, 9, 3, 1],  # ranks 1-3; 3 relevant ids
    "nothing": [1, 2, 3],  # none relevant; 1 Grain article exists
}


def judge(judgment: Judgment, article_id: int) -> bool:
    return judgment.relevant(article_id, SECTIONS.get(article_id))


def total(judgment: Judgment) -> int:
    return {"cocoa": 3, "rates": 3, "nothing": 1}[judgment.query]


def test_judgments_file_format() -> None:
    judged = JUDGED
    assert judged == [
        Judgment("cocoa", section="Cocoa"),
        Judgment("rates", ids=frozenset({3, 6, 9})),
        Judgment("nothing", section="Grain"),
    ]
    # A section matches as filters do: case and spacing ignored.
    assert JUDGED[0].relevant(4, "  COCOA ")
    assert not JUDGED[0].relevant(4, None)
    assert JUDGED[1].relevant(9, None) and not JUDGED[1].relevant(1, "Cocoa")
    for bad in ("cocoa\n", "cocoa\tCocoa\textra\n", "rates\tids: 6 x\n", "\tCocoa\n"):
        with pytest.raises(ValueError, match="line 1"):
            parse_judgments(bad)


def test_metrics_by_hand() -> None:
    hits = [False, True, False, True, False]
    assert precision_at(hits) == pytest.approx(0.2)  # a short list: missing places count 0
    assert precision_at([True] * 12) == 1.0
    assert reciprocal_rank(hits) == 0.5
    assert reciprocal_rank([False, False]) == 0.0
    # DCG = 1/log2(3) + 1/log2(5); ideal for 3 relevant = 1 + 1/log2(3) + 1/log2(4).
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 0.5
    assert ndcg_at(hits, 3) == pytest.approx(dcg / ideal)
    assert ndcg_at([True, True], 2) == pytest.approx(1.0)
    assert ndcg_at([False, True], 0) == 0.0
    # Only the first 10 count.
    assert ndcg_at([False] * 10 + [True], 1) == 0.0


def test_score_engine_on_a_hand_made_set() -> None:
    score = score_engine("toy", RUNS.__getitem__, JUDGED, judge, total)
    by_query = {s.query: s for s in score.queries}
    assert by_query["cocoa"].p_at_10 == pytest.approx(0.2)
    assert by_query["cocoa"].rr == 0.5
    assert by_query["cocoa"].ndcg_at_10 == pytest.approx(
        (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 0.5)
    )
    assert by_query["rates"].p_at_10 == pytest.approx(0.3)
    assert by_query["rates"].rr == 1.0
    assert by_query["rates"].ndcg_at_10 == pytest.approx(1.0)
    assert by_query["nothing"].p_at_10 == 0.0
    assert by_query["nothing"].rr == 0.0
    assert score.mean("p_at_10") == pytest.approx((0.2 + 0.3 + 0.0) / 3)
    assert score.mean("rr") == pytest.approx(0.5)
    assert [s.query for s in score.weakest(2)] == ["nothing", "cocoa"]
    table = render([score], "toy.tsv")
    assert "| toy | 0.167 | 0.500 |" in table
    assert "nothing 0.0, cocoa 0.2, rates 0.3" in table


def test_strip_sections_removes_the_judging_label(tmp_path: Path, seed_tarball) -> None:
    files = {
        "seeds/a.txt": "Cocoa Talks\n\nSource:Reuters Published: 1987-03-01 10:00:00\n\n"
        "Cocoa prices rose.\n\nPosted in: Cocoa\n\nblog comments powered by Disqus\n",
        "seeds/b.txt": "No Section\r\n\r\nText.\r\n",
        "seeds/notes.md": "not a seed",
    }
    archive = seed_tarball(files)
    sections = strip_sections(archive, tmp_path / "out")
    assert sections == {"a.txt": "Cocoa", "b.txt": ""}
    stripped = (tmp_path / "out" / "a.txt").read_text()
    assert "Posted in" not in stripped and "Cocoa prices rose." in stripped
    assert (tmp_path / "out" / "b.txt").read_bytes() == b"No Section\r\n\r\nText.\r\n"
    assert not (tmp_path / "out" / "notes.md").exists()
