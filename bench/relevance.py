"""`python -m bench relevance`: how good the first page is, on a judged query set.

The method (``../shared/relevance/README.md``): the Reuters seeds are copied without their
``Posted in:`` line, so the index cannot match a query against the very label that judges it;
the copy is imported with ``import_seeds`` into a fresh database and index; each query runs as
a reader would run it (the default search, no filters, the first page of 10); a hit is relevant
when its original file's section is the query's label (or its id is listed, see below).

Two engines run on the same index in the same process: the project's search service, and a
plain BM25 baseline (Whoosh's own ``BM25F`` searcher, default parameters, the schema's title
boost, every word required as the search box does). For each: mean P@10, MRR and nDCG@10
(binary gains; the ideal ranking puts every relevant article first) and the weakest queries.
The search speed of the judged queries is reported too, median and worst, warm.

The imported archive is kept in ``--work`` (default ``/tmp/newsarchive-relevance``) and reused
while the corpus, the analysis code (``schema.py``) and the migrations are the same, so a
second run takes seconds; ``--fresh`` imports again.

Judgments file format (tab-separated, UTF-8; ``#`` starts a comment line), one query a line:

    query<TAB>Section name          relevant: the articles of that section
    query<TAB>ids: 12 57 301        relevant: exactly these article ids

A section is matched as search filters match it (case and spacing ignored). With ``--archive``
the queries run against an existing archive (``DATABASE_URL`` and ``NEWSARCHIVE_INDEX_DIR`` as
set, nothing imported) and sections are the articles' own; use that for an archive's own
judgments, whose text should not name its section.

    python -m bench relevance                          # the Reuters dev set, both engines
    python -m bench relevance --judgments mine.tsv --archive
    python -m bench relevance --rerank                 # second-stage re-rank trials
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.run import PROJECT_ROOT
from bench.run import django_env as run_env

SHARED = PROJECT_ROOT.parent / "shared"
DEFAULT_CORPUS = SHARED / "corpus" / "reuters-seeds.tar.gz"
DEFAULT_JUDGMENTS = SHARED / "relevance" / "reuters-dev.tsv"
DEFAULT_WORK = Path("/tmp/newsarchive-relevance")
DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "relevance.json"
#: The first page the method judges.
CUTOFF = 10
#: How many of the weakest queries the table names.
WEAKEST = 3
#: The line the method removes from every seed before import.
SECTION_LINE = re.compile(r"^\s*Posted in:\s*(.*?)\s*$", re.IGNORECASE)
#: Files whose change makes a cached import stale: the corpus, and how text becomes terms.
ANALYSIS_CODE = PROJECT_ROOT / "articles" / "search" / "backends" / "whoosh" / "schema.py"
MIGRATIONS = PROJECT_ROOT / "articles" / "migrations"


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


# --- judgments -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judgment:
    """One judged query: relevant when the article's section is ``section``, or its id is in
    ``ids`` (exactly one of the two is set)."""

    query: str
    section: str | None = None
    ids: frozenset[int] | None = None

    def relevant(self, article_id: int, section: str | None) -> bool:
        if self.ids is not None:
            return article_id in self.ids
        return section is not None and _key(section) == _key(self.section or "")


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def parse_judgments(text: str) -> list[Judgment]:
    """The judged queries of a judgments file's text (format in this module's docstring)."""
    judged = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ValueError(f"line {number}: expected 'query<TAB>section' or 'query<TAB>ids: …'")
        query, answer = parts[0].strip(), parts[1].strip()
        if answer.lower().startswith("ids:"):
            numbers = answer[4:].replace(",", " ").split()
            if not numbers or not all(n.isdigit() for n in numbers):
                raise ValueError(f"line {number}: 'ids:' needs article ids (whole numbers)")
            judged.append(Judgment(query, ids=frozenset(int(n) for n in numbers)))
        else:
            judged.append(Judgment(query, section=answer))
    return judged


# --- metrics ---------------------------------------------------------------------------------


def precision_at(relevant: Sequence[bool], k: int = CUTOFF) -> float:
    """Relevant hits among the first k, over k (a short list counts its missing places as
    not relevant, as the method says: relevant hits / 10)."""
    return sum(relevant[:k]) / k


def reciprocal_rank(relevant: Sequence[bool]) -> float:
    """1 / the rank of the first relevant hit; 0 when there is none."""
    for rank, hit in enumerate(relevant, 1):
        if hit:
            return 1.0 / rank
    return 0.0


def ndcg_at(relevant: Sequence[bool], total_relevant: int, k: int = CUTOFF) -> float:
    """Normalised discounted cumulative gain at k with binary gains: the DCG of the list over
    the DCG of the best possible one (min(k, total_relevant) relevant hits first)."""
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, total_relevant) + 1))
    if not ideal:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, hit in enumerate(relevant[:k], 1) if hit)
    return dcg / ideal


@dataclass
class QueryScore:
    query: str
    p_at_10: float
    rr: float
    ndcg_at_10: float
    seconds: float = 0.0


@dataclass
class EngineScore:
    """One engine's figures over a judged set."""

    engine: str
    queries: list[QueryScore] = field(default_factory=list)

    def mean(self, name: str) -> float:
        return statistics.fmean(getattr(s, name) for s in self.queries) if self.queries else 0.0

    def weakest(self, n: int = WEAKEST) -> list[QueryScore]:
        return sorted(self.queries, key=lambda s: (s.p_at_10, s.ndcg_at_10))[:n]

    def as_dict(self) -> dict[str, Any]:
        times = [s.seconds * 1000 for s in self.queries]
        return {
            "engine": self.engine,
            "mean_p_at_10": round(self.mean("p_at_10"), 4),
            "mrr": round(self.mean("rr"), 4),
            "mean_ndcg_at_10": round(self.mean("ndcg_at_10"), 4),
            "median_ms": round(statistics.median(times), 2) if times else None,
            "worst_ms": round(max(times), 2) if times else None,
            "weakest": [(s.query, s.p_at_10) for s in self.weakest()],
            "queries": [vars(s) for s in self.queries],
        }


Ranker = Callable[[str], list[int]]
Judge = Callable[[Judgment, int], bool]


def score_engine(
    engine: str,
    rank: Ranker,
    judged: Iterable[Judgment],
    is_relevant: Judge,
    total_relevant: Callable[[Judgment], int],
) -> EngineScore:
    """Run every judged query through ``rank`` (query -> article ids, best first) and score
    its first page."""
    out = EngineScore(engine)
    for judgment in judged:
        started = time.perf_counter()
        ids = rank(judgment.query)[:CUTOFF]
        seconds = time.perf_counter() - started
        relevant = [is_relevant(judgment, i) for i in ids]
        out.queries.append(
            QueryScore(
                judgment.query,
                precision_at(relevant),
                reciprocal_rank(relevant),
                ndcg_at(relevant, total_relevant(judgment)),
                seconds,
            )
        )
    return out


# --- the archive -----------------------------------------------------------------------------


def strip_sections(archive: Path, into: Path) -> dict[str, str]:
    """Unpack the seeds into ``into`` without their ``Posted in:`` lines; returns each file
    name's section (the removed label, "" when a file had none)."""
    sections: dict[str, str] = {}
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".txt"):
                continue
            name = Path(member.name).name
            raw = tar.extractfile(member).read()  # type: ignore[union-attr]
            kept, section = [], ""
            for line in raw.decode("utf-8", errors="surrogateescape").splitlines(keepends=True):
                found = SECTION_LINE.match(line)
                if found:
                    section = found.group(1)
                else:
                    kept.append(line)
            (into / name).write_text("".join(kept), "utf-8", errors="surrogateescape")
            sections[name] = section
    return sections


def _fingerprint(corpus: Path) -> str:
    stat = corpus.stat()
    digest = hashlib.sha256(f"{corpus.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    digest.update(ANALYSIS_CODE.read_bytes())
    for migration in sorted(MIGRATIONS.glob("[0-9]*.py")):  # a cached database has the tables
        digest.update(migration.read_bytes())
    return digest.hexdigest()[:16]


def django_env(work: Path) -> dict[str, str]:
    """The environment of the scratch archive (its own database, index and var folder), as
    the speed bench sets it; a scratch archive is never served, so any secret key will do
    when none is configured."""
    env = run_env(work)
    env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    return env


def prepare_archive(corpus: Path, work: Path, fresh: bool) -> tuple[Path, dict[str, str]]:
    """The scratch archive folder for ``corpus`` (imported now unless a matching one is
    cached) and each seed file name's removed section."""
    folder = work / f"archive-{_fingerprint(corpus)}"
    done = folder / "imported.json"
    if fresh and folder.exists():
        shutil.rmtree(folder)
    if done.is_file():
        log(f"reusing the imported archive in {folder}")
        return folder, json.loads(done.read_text())["sections"]
    if folder.exists():
        shutil.rmtree(folder)  # an import that did not finish
    log(f"unpacking {corpus.name} without its section lines into {folder}/seeds")
    sections = strip_sections(corpus, folder / "seeds")
    env = django_env(folder)
    manage = [sys.executable, str(PROJECT_ROOT / "manage.py")]
    log(f"importing {len(sections):,} articles (a few minutes)")
    started = time.perf_counter()
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    status = subprocess.run(
        [*manage, "import_seeds", str(folder / "seeds"), "--verbosity", "0"], env=env
    ).returncode
    if status not in (0, 1):  # 1: some file failed, every good one is in
        raise RuntimeError(f"import_seeds failed with exit status {status}")
    seconds = time.perf_counter() - started
    log(f"imported in {seconds:.0f} s")
    done.write_text(json.dumps({"sections": sections, "seconds": seconds}))
    return folder, sections


# --- the engines -----------------------------------------------------------------------------


def setup_django(env: dict[str, str] | None) -> None:
    """Django on the scratch archive (``env``), or on the configured one when None."""
    if env:
        os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings")
    import django

    django.setup()


def project_ranker() -> Ranker:
    """The project's search service, as the search box runs it (first page of 10)."""
    from articles.search import SearchQuery, search

    def rank(query: str) -> list[int]:
        return [hit.id for hit in search(SearchQuery(q=query, per_page=CUTOFF)).hits]

    return rank


def bm25_ranker() -> Ranker:
    """Stock Whoosh BM25F (default k1 and b, the schema's title boost) on the same index,
    every word required, title and body searched: a plain BM25 engine."""
    from django.conf import settings
    from whoosh import index, scoring
    from whoosh.qparser import MultifieldParser

    ix = index.open_dir(str(settings.NEWSARCHIVE_INDEX_DIR))
    searcher = ix.searcher(weighting=scoring.BM25F())
    parser = MultifieldParser(["title", "body"], ix.schema)

    def rank(query: str) -> list[int]:
        hits = searcher.search(parser.parse(query), limit=CUTOFF)
        return [hit["id"] for hit in hits]

    return rank


def archive_judge(
    sections_by_file: dict[str, str] | None,
) -> tuple[Judge, Callable[[Judgment], int]]:
    """How hits are judged: by the section their seed file had before it was stripped
    (``sections_by_file``), or by the article's own section in the archive (None)."""
    from articles.models import Article

    rows = Article.objects.values_list("id", "source_path", "section__name")
    if sections_by_file is None:
        section_of = {aid: section for aid, _, section in rows}
    else:
        section_of = {
            aid: sections_by_file.get(Path(path).name) if path else None for aid, path, _ in rows
        }
    per_section: dict[str, int] = {}
    for section in section_of.values():
        if section:
            per_section[_key(section)] = per_section.get(_key(section), 0) + 1

    def is_relevant(judgment: Judgment, article_id: int) -> bool:
        return judgment.relevant(article_id, section_of.get(article_id))

    def total_relevant(judgment: Judgment) -> int:
        if judgment.ids is not None:
            return len(judgment.ids)
        return per_section.get(_key(judgment.section or ""), 0)

    return is_relevant, total_relevant


# --- tuning --------------------------------------------------------------------------------

#: The sweep's grid (fields of ``ranking.Ranking``).
BM25F_GRID: dict[str, list[float]] = {
    "k1": [0.6, 0.9, 1.2, 1.6, 2.0, 3.0],
    "title_b": [0.3, 0.6, 0.9],
    "body_b": [0.3, 0.5, 0.75, 0.9],
    "title_weight": [1.0, 2.0, 3.0, 5.0, 8.0],
}


@dataclass
class SweepPoint:
    values: tuple[float, ...]
    p_at_10: list[float]  # per query

    @property
    def mean(self) -> float:
        return statistics.fmean(self.p_at_10)


def sweep(
    grid: dict[str, list[float]],
    base: Any,
    judged: list[Judgment],
    is_relevant: Judge,
) -> list[SweepPoint]:
    """P@10 per query at every point of ``grid`` (fields of ``ranking.Ranking``), through the
    search service, with the other parameters as in ``base``."""
    import itertools
    from dataclasses import replace

    from articles.search import get_backend

    snapshot = get_backend().snapshot()
    rank = project_ranker()
    points = []
    for values in itertools.product(*grid.values()):
        changes = dict(zip(grid, values, strict=True))
        snapshot.set_ranking(replace(base, **changes))
        scores = [precision_at([is_relevant(j, i) for i in rank(j.query)[:CUTOFF]]) for j in judged]
        points.append(SweepPoint(values, scores))
    snapshot.set_ranking(base)
    return points


def plateau(points: list[SweepPoint], grid: dict[str, list[float]]) -> dict[tuple, float]:
    """Each point's mean P@10 averaged with its grid neighbours' (one step along one axis):
    a point on a broad plateau keeps its figure, a lucky spike does not."""
    by_values = {p.values: p.mean for p in points}
    axes = list(grid.values())
    out = {}
    for p in points:
        near = [p.mean]
        for axis, values in enumerate(axes):
            at = values.index(p.values[axis])
            for step in (-1, 1):
                if 0 <= at + step < len(values):
                    moved = list(p.values)
                    moved[axis] = values[at + step]
                    near.append(by_values[tuple(moved)])
        out[p.values] = statistics.fmean(near)
    return out


def leave_one_out(points: list[SweepPoint]) -> float:
    """Mean P@10 of each query at the point chosen (best plateau-free mean) on the others:
    what tuning on this set is worth on a query it has not seen."""
    n = len(points[0].p_at_10)
    held = []
    for i in range(n):
        best = max(points, key=lambda p: sum(p.p_at_10) - p.p_at_10[i])
        held.append(best.p_at_10[i])
    return statistics.fmean(held)


def report_sweep(name: str, grid: dict[str, list[float]], points: list[SweepPoint]) -> str:
    smooth = plateau(points, grid)
    ranked = sorted(points, key=lambda p: -smooth[p.values])
    lines = [
        f"Sweep of {name} ({len(points)} points; plateau = the mean with its grid neighbours):",
        "",
        "| " + " | ".join(grid) + " | mean P@10 | plateau |",
        "| " + " | ".join("---:" for _ in grid) + " | ---: | ---: |",
    ]
    for p in ranked[:10]:
        cells = " | ".join(f"{v:g}" for v in p.values)
        lines.append(f"| {cells} | {p.mean:.3f} | {smooth[p.values]:.3f} |")
    best = max(points, key=lambda p: p.mean)
    lines += [
        "",
        f"best single point {best.mean:.3f} at {dict(zip(grid, best.values, strict=True))}; "
        f"leave-one-query-out {leave_one_out(points):.3f}",
    ]
    return "\n".join(lines)


# --- the report ------------------------------------------------------------------------------


def render(scores: list[EngineScore], judged_name: str) -> str:
    """The relevance table (markdown), one row per engine."""
    lines = [
        f"Relevance on `{judged_name}` ({len(scores[0].queries)} queries, first page of {CUTOFF}):",
        "",
        "| engine | mean P@10 | MRR | nDCG@10 | weakest (P@10) | median / worst ms |",
        "| --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for score in scores:
        d = score.as_dict()
        weakest = ", ".join(f"{q} {p:.1f}" for q, p in d["weakest"])
        lines.append(
            f"| {score.engine} | {d['mean_p_at_10']:.3f} | {d['mrr']:.3f} | "
            f"{d['mean_ndcg_at_10']:.3f} | {weakest} | {d['median_ms']:.1f} / "
            f"{d['worst_ms']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench relevance", description=__doc__)
    parser.add_argument("--judgments", type=Path, default=DEFAULT_JUDGMENTS)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--fresh", action="store_true", help="import again, even if cached")
    parser.add_argument(
        "--archive",
        action="store_true",
        help="judge the configured archive by its own sections (nothing is imported)",
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="tune: P@10 over a grid of BM25F parameters, with a plateau and leave-one-out",
    )
    parser.add_argument(
        "--rerank",
        action="store_true",
        help="measure second-stage re-rankers over the first 100 (bench/rerank.py)",
    )
    args = parser.parse_args(argv)
    if not args.judgments.is_file():
        log(f"relevance run skipped: no judgments file at {args.judgments}")
        return 0
    judged = parse_judgments(args.judgments.read_text("utf-8"))
    if args.archive:
        setup_django(None)
        sections = None
    else:
        if not args.corpus.is_file():
            log(f"relevance run skipped: the corpus {args.corpus} is absent")
            return 0
        folder, sections = prepare_archive(args.corpus, args.work, args.fresh)
        setup_django(django_env(folder))
    is_relevant, total_relevant = archive_judge(sections)
    if args.sweep:
        from articles.search.backends.whoosh.ranking import RANKING

        points = sweep(BM25F_GRID, RANKING, judged, is_relevant)
        print(report_sweep("BM25F", BM25F_GRID, points))
        return 0
    if args.rerank:
        from bench.rerank import main as rerank_trials

        print(rerank_trials(judged, is_relevant, total_relevant))
        return 0
    engines = [("newsarchive", project_ranker()), ("plain BM25 (Whoosh BM25F)", bm25_ranker())]
    scores = []
    for name, rank in engines:
        for judgment in judged:  # a warm-up pass: cold reads are the speed bench's business
            rank(judgment.query)
        scores.append(score_engine(name, rank, judged, is_relevant, total_relevant))
    print(render(scores, args.judgments.name))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"judgments": str(args.judgments), "engines": [s.as_dict() for s in scores]},
            indent=2,
        )
    )
    log(f"results written to {args.out}")
    return 0
