"""Search latency benchmark for one "surface", run inside a Django-configured process.

Surfaces:

* `service` - `articles.search.search(SearchQuery(...))`, the search service itself;
* `api`     - `GET /api/search?...` through the whole Django stack (`django.test.Client`);
* `page`    - `GET /search/?...`, the HTML results page, template rendering included;
* `naive`   - `searcher.search(q, limit=20, groupedby=["source", "section"])` straight on the
              same Whoosh index: the textbook way to get hits and facet counts in one call.

Three groups of samples, each with a meaning of its own:

* **cold**: each query of the fixed mix (`cases()`: a common word, a rare word, two words, a
  phrase, a prefix, a fuzzy term, a field query, each with and without one source and one
  section filter, plus the empty query; each on result pages 1 and 50) run once, straight
  after `articles.search.clear_caches()`: no result, facet count, posting list or page of it
  is kept in the process, not even the empty query that `warm_up()` answered. What stays is
  what a running worker always has: the opened index and the files in the OS cache
  (bench/run.py reads them once before each surface, so cold is about the process, not the
  disk). Stock Whoosh keeps no answers between searches, so the naive surface clears nothing.
* **warm**: the same request again, `repeats - 1` times in a row, cache allowed: a reload, or
  the back button. It measures the cache, and says so.
* **new**: `new_cases()`, queries this process has never seen in any form (no word of one is
  in the mix or in another new query), run once each with whatever the earlier queries left
  in the caches, as on a running server: plain words (some with filters), two words, phrases,
  prefixes, fuzzy terms, field queries and deep pages (page 20 to 60 of a broad query). Drawn
  from the corpus vocabulary, the same for the same seed.

A failed search is an error, never a sample: an exception, an HTTP status other than 200, or
an ERROR logged while it ran (the service logs an index outage). Errors are counted per group
(`errors`) and listed per query (`error_messages`); bench/run.py exits non-zero when any
search failed. Each surface runs in its own fresh process (see bench/run.py) and first opens
the index as a web worker does at start-up (`setup_ms`); the first query after that is
`first_query_ms`, the slowest sample `worst_ms`, and the process's peak RSS `peak_rss_mb`.

    DATABASE_URL=... NEWSARCHIVE_INDEX_DIR=... python -m bench.searchbench --surface service
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.corpus import COLLOCATIONS, FUNCTION_WORD_RANKS, load_words, name_tail
from bench.measure import percentile

SURFACES = ("service", "api", "page", "naive")
GROUPS = ("cold", "warm", "new")
PER_PAGE = 20
PAGES = (1, 50)
FILTER_SOURCE = "AFP"
FILTER_SECTION = "Business"
# A made-up name from the corpus's long tail: in about 0.15% of the generated articles.
RARE_WORD = name_tail()[30000]
NEW_KINDS = ("word", "two words", "phrase", "prefix", "fuzzy", "field", "deep page")
NEW_PER_KIND = 8
# New queries' words come from these ranks of bench/words.txt (deep pages from the broad
# first part), so that they match something at any N.
NEW_WORD_RANKS = (FUNCTION_WORD_RANKS, 3000)
BROAD_WORD_RANKS = (FUNCTION_WORD_RANKS, 400)
DEEP_PAGES = (20, 60)
# Two words "share a stem" for the bench when their first letters agree this far: a new
# query must not reuse postings another query of the run read.
STEM_PREFIX = 5
# Stop repeating a surface once it has spent this long (bounded run at any N).
DEFAULT_BUDGET_SECONDS = 900.0


@dataclass(frozen=True)
class Case:
    """One query: the mix's or a new one."""

    kind: str
    q: str
    filtered: bool
    page: int

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.q}|{'filtered' if self.filtered else 'all'}|p{self.page}"

    @property
    def sources(self) -> tuple[str, ...]:
        return (FILTER_SOURCE,) if self.filtered else ()

    @property
    def sections(self) -> tuple[str, ...]:
        return (FILTER_SECTION,) if self.filtered else ()


QUERIES: tuple[tuple[str, str], ...] = (
    ("common word", "market"),
    ("rare word", RARE_WORD),
    ("two words", "government election"),
    ("phrase", '"interest rates"'),
    ("prefix", "econom*"),
    ("fuzzy", "presdent~"),
    ("field", "title:minister"),
    ("empty", ""),
)


def cases() -> list[Case]:
    """The fixed mix: every query x (no filter, one source + one section) x pages 1 and 50."""
    return [
        Case(kind, q, filtered, page)
        for kind, q in QUERIES
        for filtered in (False, True)
        for page in PAGES
    ]


def _stem_key(word: str) -> str:
    return word.lower()[:STEM_PREFIX]


def _mix_stems() -> set[str]:
    words = (w.strip('"*~').split(":")[-1] for _, q in QUERIES for w in q.split())
    return {_stem_key(w) for w in words if w}


def new_cases(seed: int = 1, per_kind: int = NEW_PER_KIND) -> list[Case]:
    """Queries this process has never answered in any form: `per_kind` of each of
    `NEW_KINDS`, interleaved (so a time budget cuts every kind alike), no word shared with the
    mix or with another new query; the same list for the same seed."""
    rnd = random.Random(seed)
    vocabulary = [w for w in load_words() if w.isascii() and w.isalpha() and len(w) >= 4]
    ranked = load_words()
    rank = {w: i for i, w in enumerate(ranked)}
    words = [w for w in vocabulary if NEW_WORD_RANKS[0] <= rank[w] < NEW_WORD_RANKS[1]]
    broad = [w for w in vocabulary if BROAD_WORD_RANKS[0] <= rank[w] < BROAD_WORD_RANKS[1]]
    rnd.shuffle(words)
    rnd.shuffle(broad)
    used = _mix_stems()

    def fresh(pool: list[str], min_length: int = 4) -> str:
        for word in pool:
            if len(word) >= min_length and _stem_key(word) not in used:
                used.add(_stem_key(word))
                return word
        raise ValueError("the vocabulary ran out of fresh words")

    phrases = [c for c in COLLOCATIONS if all(_stem_key(w) not in used for w in c.split())]
    rnd.shuffle(phrases)

    def phrase() -> str:
        while phrases:
            candidate = phrases.pop()
            if all(_stem_key(w) not in used for w in candidate.split()):
                used.update(_stem_key(w) for w in candidate.split())
                return f'"{candidate}"'
        return f'"{fresh(broad)} {fresh(broad)}"'  # two common words: seldom side by side

    def typo(word: str) -> str:
        at = rnd.randrange(1, len(word) - 1)
        return word[:at] + word[at + 1 :]

    makers: dict[str, Callable[[int], tuple[str, bool, int]]] = {
        "word": lambda i: (fresh(words), i % 2 == 1, 1),
        "two words": lambda i: (f"{fresh(words)} {fresh(words)}", False, 1),
        "phrase": lambda i: (phrase(), False, 1),
        "prefix": lambda i: (fresh(words, 6)[:STEM_PREFIX] + "*", False, 1),
        "fuzzy": lambda i: (typo(fresh(words, 6)) + "~", False, 1),
        "field": lambda i: (f"title:{fresh(words)}", False, 1),
        "deep page": lambda i: (fresh(broad), False, rnd.randint(*DEEP_PAGES)),
    }
    out = []
    for i in range(per_kind):
        for kind in NEW_KINDS:
            q, filtered, page = makers[kind](i)
            out.append(Case(f"new {kind}", q, filtered, page))
    return out


def query_string(case: Case) -> str:
    """The GET parameters of a case, as the search form reads them."""
    params: list[tuple[str, str]] = []
    if case.q:
        params.append(("q", case.q))
    params += [("source", s) for s in case.sources]
    params += [("section", s) for s in case.sections]
    if case.page != 1:
        params.append(("page", str(case.page)))
    return urlencode(params)


# --- surfaces ----------------------------------------------------------------------------------


def _service_runner() -> Callable[[Case], int | None]:
    from articles.search import SearchQuery, search

    def run(case: Case) -> int | None:
        results = search(
            SearchQuery(
                q=case.q,
                sources=case.sources,
                sections=case.sections,
                page=case.page,
                per_page=PER_PAGE,
            )
        )
        list(results.hits)
        _ = results.facets
        return results.total

    return run


def _http_runner(path: str, json_body: bool) -> Callable[[Case], int | None]:
    from django.test import Client

    client = Client()

    def run(case: Case) -> int | None:
        response = client.get(f"{path}?{query_string(case)}")
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        if json_body:
            return json.loads(response.content).get("total")
        return None

    return run


def _open_index() -> Any:
    from django.conf import settings
    from whoosh import index

    return index.open_dir(str(settings.NEWSARCHIVE_INDEX_DIR))


def _bench_parser(schema: Any) -> Callable[[str], Any]:
    """Whoosh's stock parser over title and body, words ANDed, with fuzzy terms (`word~`).

    The service may parse differently (its own grouping, boosts or plugins); the per-query
    totals in the report show when the two disagree."""
    from whoosh import qparser

    fields = [f for f in ("title", "body") if f in schema.names()]
    parser = qparser.MultifieldParser(fields, schema, group=qparser.AndGroup)
    parser.add_plugin(qparser.FuzzyTermPlugin())
    return parser.parse


def _indexed_label(searcher: Any, field: str, name: str) -> str:
    """The indexed term for a source/section name, whatever normalisation the backend applied."""
    try:
        terms = [t.decode("utf-8") if isinstance(t, bytes) else t for t in searcher.lexicon(field)]
    except Exception:  # noqa: BLE001 - field missing: filter by the name as given
        return name
    for candidate in (name, name.lower(), name.casefold()):
        if candidate in terms:
            return candidate
    wanted = name.casefold().replace(" ", "-")
    for term in terms:
        if term.casefold().replace(" ", "-") == wanted:
            return term
    return name


def _naive_runner(info: dict[str, Any]) -> Callable[[Case], int | None]:
    from whoosh import query as wq

    ix = _open_index()
    searcher = ix.searcher()
    parse = _bench_parser(ix.schema)
    info["naive_parser"] = "whoosh MultifieldParser(title, body), AND group, FuzzyTermPlugin"
    source_term = _indexed_label(searcher, "source", FILTER_SOURCE)
    section_term = _indexed_label(searcher, "section", FILTER_SECTION)
    info["naive_filter_terms"] = {"source": source_term, "section": section_term}
    groupedby = [f for f in ("source", "section") if f in ix.schema.names()]
    sort_field = "published" if "published" in ix.schema.names() else None

    def run(case: Case) -> int | None:
        q = parse(case.q) if case.q else wq.Every()
        kwargs: dict[str, Any] = {"groupedby": groupedby}
        if case.filtered:
            kwargs["filter"] = wq.And(
                [wq.Term("source", source_term), wq.Term("section", section_term)]
            )
        if not case.q and sort_field:
            kwargs.update(sortedby=sort_field, reverse=True)
        if case.page == 1:
            results = searcher.search(q, limit=PER_PAGE, **kwargs)
            hits = list(results)
        else:
            page = searcher.search_page(q, case.page, pagelen=PER_PAGE, **kwargs)
            results = page.results
            hits = list(page)
        for hit in hits:
            hit.fields()
        for field in groupedby:
            results.groups(field)
        return len(results)

    return run


def make_runner(surface: str, info: dict[str, Any]) -> Callable[[Case], int | None]:
    """The function that runs one case on `surface` (raises ImportError when it cannot exist).

    The project's surfaces start with `warm_up()`, as a gunicorn worker does (newsarchive/
    wsgi.py); the naive one opens its index and searcher. Both are timed as set-up."""
    if surface in ("service", "api", "page"):
        from articles.search import warm_up

        info["warm_up_ms"] = round(warm_up() * 1000, 2)
    if surface == "service":
        return _service_runner()
    if surface == "api":
        return _http_runner("/api/search", json_body=True)
    if surface == "page":
        return _http_runner("/search/", json_body=False)
    if surface == "naive":
        return _naive_runner(info)
    raise ValueError(f"unknown surface {surface!r}")


# --- measuring ---------------------------------------------------------------------------------


class _ErrorRecords(logging.Handler):
    """Counts the ERROR records logged anywhere in the process (the service logs an outage
    and carries on with an error page: that search failed, however fast it was)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}"[:300])


@contextmanager
def errors_logged() -> Iterator[_ErrorRecords]:
    """While the block runs, every ERROR record logged in the process (root logger)."""
    handler = _ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@dataclass
class Sample:
    """One search: its time, or why it failed (then it has no time)."""

    seconds: float | None
    total: int | None = None
    error: str | None = None


def timed(run: Callable[[Case], int | None], case: Case, logged: _ErrorRecords) -> Sample:
    """Run one case; an exception or an ERROR logged meanwhile makes it a failure."""
    before = len(logged.messages)
    started = time.perf_counter()
    try:
        total = run(case)
    except Exception as exc:  # noqa: BLE001 - a failed search is counted, not raised
        return Sample(None, error=f"{type(exc).__name__}: {exc}"[:500])
    seconds = time.perf_counter() - started
    if len(logged.messages) > before:
        return Sample(None, error=f"logged: {logged.messages[before]}")
    return Sample(seconds, total)


def cache_clearer(surface: str) -> Callable[[], int]:
    """What empties the caches before a cold sample: the search package's `clear_caches()`
    for the project's surfaces; nothing for stock Whoosh, which keeps no answers."""
    if surface == "naive":
        return lambda: 0
    from articles.search import clear_caches

    return clear_caches


def _stats(samples: list[float], errors: int = 0) -> dict[str, float | int | None]:
    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 2)

    return {
        "n": len(samples),
        "errors": errors,
        "median_ms": ms(statistics.median(samples)) if samples else None,
        "p95_ms": ms(percentile(samples, 95)),
        "p99_ms": ms(percentile(samples, 99)),
        "max_ms": ms(max(samples)) if samples else None,
    }


def measure(
    run: Callable[[Case], int | None],
    clear: Callable[[], int],
    mix: list[Case],
    new: list[Case],
    repeats: int = 5,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
) -> dict[str, Any]:
    """Cold, warm and new samples (see the module's docstring) of `run`; `clear` empties
    the caches before each cold sample."""
    groups: dict[str, list[float]] = {g: [] for g in GROUPS}
    failed = dict.fromkeys(GROUPS, 0)
    per_case: dict[str, dict[str, Any]] = {}
    new_by_kind: dict[str, list[float]] = {}
    messages: dict[str, str] = {}
    info: dict[str, Any] = {"first_query_ms": None}
    started = time.perf_counter()

    def record(group: str, case: Case, sample: Sample) -> None:
        entry = per_case.setdefault(
            case.key,
            {"kind": case.kind, "q": case.q, "filtered": case.filtered, "page": case.page},
        )
        if sample.error is not None:
            failed[group] += 1
            entry["errors"] = entry.get("errors", 0) + 1
            messages.setdefault(case.key, sample.error)
            return
        assert sample.seconds is not None
        if info["first_query_ms"] is None:
            info["first_query_ms"] = round(sample.seconds * 1000, 2)
        groups[group].append(sample.seconds)
        entry.setdefault(group, []).append(sample.seconds)
        if sample.total is not None:
            entry["total"] = sample.total
        if group == "new":
            new_by_kind.setdefault(case.kind, []).append(sample.seconds)

    def over_budget() -> bool:
        if time.perf_counter() - started <= budget_seconds:
            return False
        info["stopped_early"] = f"time budget of {budget_seconds:.0f} s used up"
        return True

    with errors_logged() as logged:
        for case in mix:
            if over_budget():
                break
            clear()
            record("cold", case, timed(run, case, logged))
            for _ in range(repeats - 1):
                record("warm", case, timed(run, case, logged))
        for case in new:
            if over_budget():
                break
            record("new", case, timed(run, case, logged))

    for entry in per_case.values():
        for group in GROUPS:
            samples = entry.pop(group, None)
            if samples and group == "cold":
                entry["cold_ms"] = round(samples[0] * 1000, 2)
            elif samples and group == "warm":
                entry["warm_median_ms"] = round(statistics.median(samples) * 1000, 2)
            elif samples:
                entry["new_ms"] = round(samples[0] * 1000, 2)
    every = [s for g in GROUPS for s in groups[g]]
    info.update(
        {g: _stats(groups[g], failed[g]) for g in GROUPS},
        all=_stats(every, sum(failed.values())),  # every search this surface answered
        new_by_kind={kind: _stats(v) for kind, v in new_by_kind.items()},
        worst_ms=round(max(every) * 1000, 2) if every else None,
        error_count=sum(failed.values()),
        errors=messages,
        cases=per_case,
        seconds=round(time.perf_counter() - started, 2),
    )
    return info


def run_surface(
    surface: str,
    repeats: int = 5,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    seed: int = 1,
) -> dict[str, Any]:
    """Set the surface up as a web worker would, then measure it (see `measure`)."""
    info: dict[str, Any] = {"surface": surface, "repeats": repeats, "rare_word": RARE_WORD}
    setup_started = time.perf_counter()
    run = make_runner(surface, info)
    info["setup_ms"] = round((time.perf_counter() - setup_started) * 1000, 2)
    info.update(
        measure(run, cache_clearer(surface), cases(), new_cases(seed), repeats, budget_seconds)
    )
    info["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.searchbench", description="Search latency on one surface."
    )
    parser.add_argument("--surface", choices=SURFACES, required=True)
    parser.add_argument("--repeats", type=int, default=5, help="passes over the mix (>= 2)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_SECONDS)
    parser.add_argument("--seed", type=int, default=1, help="seed of the new queries")
    parser.add_argument("--json", help="write the result here ('-' or nothing = stdout)")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings")
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    import django

    django.setup()
    result = run_surface(args.surface, max(args.repeats, 2), args.budget, args.seed)
    text = json.dumps(result, indent=2, default=str)
    if args.json and args.json != "-":
        Path(args.json).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
