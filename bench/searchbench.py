"""Search latency benchmark for one "surface", run inside a Django-configured process.

Surfaces:

* `service` - `articles.search.search(SearchQuery(...))`, the search service itself;
* `api`     - `GET /api/search?...` through the whole Django stack (`django.test.Client`);
* `page`    - `GET /search/?...`, the HTML results page, template rendering included;
* `naive`   - `searcher.search(q, limit=20, groupedby=["source", "section"])` straight on the
              same Whoosh index: the textbook way to get hits and facet counts in one call.

Every surface runs the same fixed mix (see `cases()`): a common word, a rare word, two words, a
phrase, a prefix, a fuzzy term and a field query, each with and without one source and one
section filter, plus the empty query; each on result pages 1 and 50. The mix is run `repeats`
times round-robin (never the same query twice in a row); the first pass is reported as "cold"
(first time this process ran that query; bench/run.py reads the database and index files once
before each surface, so cold is about the process, not the disk), the rest as
"warm" (the service keeps a small result cache, so warm can mean cached). Then 45 distinct
queries made of ordinary words are run once each ("unique"): the figure for a stream of new
questions. Each surface runs in its own fresh process (see bench/run.py) and first opens the
index as a web worker does at start-up (`setup_ms`); the first query after that is
`first_query_ms`, the slowest query of the mix (cold or warm) `worst_ms`, and the process's peak
RSS `peak_rss_mb`.

    DATABASE_URL=... NEWSARCHIVE_INDEX_DIR=... python -m bench.searchbench --surface service
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.corpus import FUNCTION_WORD_RANKS, load_words, name_tail
from bench.measure import percentile

SURFACES = ("service", "api", "page", "naive")
PER_PAGE = 20
PAGES = (1, 50)
FILTER_SOURCE = "AFP"
FILTER_SECTION = "Business"
# A made-up name from the corpus's long tail: in about 0.15% of the generated articles.
RARE_WORD = name_tail()[30000]
UNIQUE_QUERIES = 45
# Stop repeating a surface once it has spent this long (bounded run at any N).
DEFAULT_BUDGET_SECONDS = 900.0


@dataclass(frozen=True)
class Case:
    """One query of the mix."""

    kind: str
    q: str
    filtered: bool
    page: int

    @property
    def key(self) -> str:
        return f"{self.kind}|{'filtered' if self.filtered else 'all'}|p{self.page}"

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


def unique_cases(count: int = UNIQUE_QUERIES) -> list[Case]:
    """`count` different queries (one word, two words, one word with the filters) made of
    ordinary words from the corpus vocabulary; the same list every run."""
    words = load_words()[FUNCTION_WORD_RANKS:3000]
    rnd = random.Random(7)
    kinds = ("unique word", "unique two words", "unique word + filters")
    seen: set[str] = set()
    out: list[Case] = []
    while len(out) < count:
        kind = kinds[len(out) % len(kinds)]
        q = rnd.choice(words)
        if kind == "unique two words":
            q = f"{q} {rnd.choice(words)}"
        if q.lower() in seen or not q.isascii():
            continue
        seen.add(q.lower())
        out.append(Case(kind, q, filtered=kind.endswith("filters"), page=1))
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


def _stats(samples: list[float]) -> dict[str, float | int | None]:
    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 2)

    return {
        "n": len(samples),
        "median_ms": ms(statistics.median(samples)) if samples else None,
        "p95_ms": ms(percentile(samples, 95)),
        "p99_ms": ms(percentile(samples, 99)),
        "max_ms": ms(max(samples)) if samples else None,
    }


def run_surface(
    surface: str, repeats: int = 5, budget_seconds: float = DEFAULT_BUDGET_SECONDS
) -> dict[str, Any]:
    """Run the mix on one surface; latencies per case and overall."""
    info: dict[str, Any] = {"surface": surface, "repeats": repeats, "rare_word": RARE_WORD}
    setup_started = time.perf_counter()
    run = make_runner(surface, info)
    info["setup_ms"] = round((time.perf_counter() - setup_started) * 1000, 2)
    mix = cases()
    per_case: dict[str, dict[str, Any]] = {
        c.key: {"kind": c.kind, "q": c.q, "filtered": c.filtered, "page": c.page, "samples": []}
        for c in mix
    }
    errors: dict[str, str] = {}
    started = time.perf_counter()
    first_query_ms = None
    passes_done = 0
    for attempt in range(repeats):
        if attempt and time.perf_counter() - started > budget_seconds:
            info["stopped_early"] = f"time budget of {budget_seconds:.0f} s used up"
            break
        for case in mix:
            if case.key in errors:
                continue
            t0 = time.perf_counter()
            try:
                total = run(case)
            except Exception as exc:  # noqa: BLE001 - record and go on with the mix
                errors[case.key] = f"{type(exc).__name__}: {exc}"[:500]
                continue
            elapsed = time.perf_counter() - t0
            if first_query_ms is None:
                first_query_ms = round(elapsed * 1000, 2)
            entry = per_case[case.key]
            entry["samples"].append(elapsed)
            if total is not None:
                entry["total"] = total
        passes_done += 1

    # Distinct queries, each run once: what a stream of new questions costs (no result cache).
    unique_samples: list[float] = []
    unique_errors = 0
    for case in unique_cases():
        if time.perf_counter() - started > budget_seconds:
            info["stopped_early"] = f"time budget of {budget_seconds:.0f} s used up"
            break
        t0 = time.perf_counter()
        try:
            run(case)
        except Exception:  # noqa: BLE001 - counted; the mix above reports the messages
            unique_errors += 1
            continue
        unique_samples.append(time.perf_counter() - t0)

    cold: list[float] = []
    warm: list[float] = []
    for entry in per_case.values():
        samples = entry.pop("samples")
        if samples:
            cold.append(samples[0])
            warm.extend(samples[1:])
            entry["cold_ms"] = round(samples[0] * 1000, 2)
            entry.update({f"warm_{k}": v for k, v in _stats(samples[1:]).items()})
    info.update(
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        worst_ms=round(max(cold + warm) * 1000, 2) if cold else None,
        passes=passes_done,
        first_query_ms=first_query_ms,
        cold=_stats(cold),
        warm=_stats(warm),
        unique=_stats(unique_samples),
        all=_stats(cold + warm + unique_samples),  # every query this surface answered
        unique_errors=unique_errors,
        cases=per_case,
        errors=errors,
        seconds=round(time.perf_counter() - started, 2),
    )
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.searchbench", description="Search latency on one surface."
    )
    parser.add_argument("--surface", choices=SURFACES, required=True)
    parser.add_argument("--repeats", type=int, default=5, help="passes over the mix (>= 2)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_SECONDS)
    parser.add_argument("--json", help="write the result here ('-' or nothing = stdout)")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings")
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    import django

    django.setup()
    result = run_surface(args.surface, max(args.repeats, 2), args.budget)
    text = json.dumps(result, indent=2, default=str)
    if args.json and args.json != "-":
        Path(args.json).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
