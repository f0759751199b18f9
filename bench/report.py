"""The benchmark's report: the JSON of `bench.run` as the Markdown tables it prints (and the
README quotes). Kept apart from running the stages, which is `bench.run`'s job."""

from __future__ import annotations

from typing import Any

from bench import trendsbench
from bench.searchbench import GROUPS, SURFACES

MAIN_SURFACES = ("service", "api", "page")
#: Issue 18's targets at 1,000,000 articles: p95 over every search of the bench's mix (cold,
#: warm and new) per surface, the slowest single search, the import's peak RSS.
P95_TARGETS_MS = {"api": 150.0, "page": 250.0}
WORST_TARGET_MS = 1000.0
IMPORT_RSS_TARGET_MB = 2048.0
SURFACE_LABELS = {
    "service": "search service",
    "api": "GET /api/search",
    "page": "GET /search/",
    "naive": "naive Whoosh",
}


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:,.1f} MB"


def _num(value: float | None, unit: str = "", digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{unit}"


def _ratio(part: float | None, whole: float | None) -> str:
    if not part or not whole:
        return ""
    return f" ({part / whole:.2f}x corpus)"


def render(report: dict[str, Any]) -> str:
    """The results as markdown tables."""
    lines: list[str] = ["# newsarchive benchmark", ""]
    m = report["machine"]
    lines.append(
        f"{report['started']} - Python {m.get('python')}, Whoosh {m.get('whoosh')}, "
        f"{m.get('cpus')} CPUs, {m.get('memory_gb')} GB, load at start "
        f"{', '.join(str(x) for x in m.get('loadavg_at_start', []))}"
    )
    lines += summary_table(report["runs"])
    for run in report["runs"]:
        n = run["n"]
        lines += ["", f"## N = {n:,}, {run.get('backend', 'whoosh')}", ""]
        for stage, reason in run.get("unavailable", {}).items():
            short = reason.strip().splitlines()[-1] if reason.strip() else reason
            lines.append(f"- stage {stage} unavailable: {short}")
        if run.get("unavailable"):
            lines.append("")
        imp = run.get("import", {})
        base = run.get("baseline", {})
        lines += [
            "| indexing | articles | seconds | articles/s | peak RSS | peak PSS | processes |"
        ]
        lines += ["| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        if imp:
            lines.append(
                f"| import_seeds | {_num(imp.get('articles'))} | {_num(imp.get('seconds'), '', 1)}"
                f" | {_num(imp.get('articles_per_s'))} | {_num(imp.get('peak_rss_mb'), ' MB')}"
                f" | {_num(imp.get('peak_pss_mb'), ' MB')} | {_num(imp.get('peak_processes'))} |"
            )
        if base:
            w = base.get("writer", {})
            lines.append(
                f"| raw Whoosh (procs={w.get('procs')}, limitmb={w.get('limitmb')}, "
                f"multisegment={w.get('multisegment')}) | {_num(base.get('doc_count'))} | "
                f"{_num(base.get('index_seconds'), '', 1)} | {_num(base.get('articles_per_s'))} | "
                f"{_num(base.get('peak_rss_mb'), ' MB')} | "
                f"{_num(base.get('peak_pss_mb'), ' MB')} | {_num(base.get('peak_processes'))} |"
            )
            lines.append(
                f"| (of which parsing, in the baseline's parent process) | "
                f"{_num(base.get('files'))} | {_num(base.get('parse_seconds'), '', 1)} | "
                f"{_num(base.get('parse_per_s'))} | | | |"
            )
        if run.get("baseline_skipped"):
            lines.append(f"| raw Whoosh baseline | skipped: {run['baseline_skipped']} | | | | | |")
        if "import_vs_baseline" in run:
            lines += ["", f"import/baseline throughput: **{run['import_vs_baseline']:.2f}**"]
        if "import_vs_baseline_cpu" in run:
            lines.append(
                f"import/baseline articles per CPU second: **{run['import_vs_baseline_cpu']:.2f}**"
                f" ({_num(imp.get('articles_per_cpu_s'))} against "
                f"{_num(base.get('articles_per_cpu_s'))}; both include parsing, the import's also "
                "the database and start-up)"
            )

        search = run.get("search", {})
        if search:
            stats = ("median_ms", "p95_ms", "p99_ms")
            lines += [
                "",
                "| search latency (ms) | "
                + " | ".join(f"{g} {s.removesuffix('_ms')}" for g in GROUPS for s in stats)
                + " | worst | errors | first query | set-up | peak RSS |",
                "| --- |" + " ---: |" * (3 * len(GROUPS) + 5),
            ]
            for surface in SURFACES:
                data = search.get(surface)
                if not data:
                    continue
                cells = [_num(data[g].get(stat), "", 1) for g in GROUPS for stat in stats]
                cells.append(_num(data.get("worst_ms"), "", 1))
                cells.append(_num(data.get("error_count")))
                cells += [_num(data.get(key), "", 1) for key in ("first_query_ms", "setup_ms")]
                cells.append(_num(data.get("peak_rss_mb"), " MB"))
                lines.append(f"| {SURFACE_LABELS[surface]} | {' | '.join(cells)} |")
            ratios = run.get("service_vs_naive_p95", {})
            if ratios:
                text = ", ".join(f"{k} {v:.2f}" for k, v in ratios.items())
                lines += ["", f"service/naive p95 (below 1 = service faster): **{text}**"]
            lines += _per_query_table(search)
            lines += _new_kinds_table(search)

        lines += trendsbench.report_lines(run)
        rebuilt = run.get("rebuild")
        if rebuilt:
            lines += [
                "",
                "| rebuild_index | articles/s | seconds | CPU s | peak RSS | searches meanwhile "
                "| errors | median | p95 | worst |",
                "| --- |" + " ---: |" * 9,
                f"| exit {rebuilt.get('returncode')} | {_num(rebuilt.get('articles_per_s'))} | "
                f"{_num(rebuilt.get('seconds'), '', 1)} | {_num(rebuilt.get('cpu_seconds'), '', 1)}"
                f" | {_num(rebuilt.get('peak_rss_mb'), ' MB')} | {_num(rebuilt.get('searches'))} | "
                f"{_num(rebuilt.get('errors'))} | {_num(rebuilt.get('median_ms'), ' ms', 1)} | "
                f"{_num(rebuilt.get('p95_ms'), ' ms', 1)} | "
                f"{_num(rebuilt.get('worst_ms'), ' ms', 1)} |",
            ]

        lines += _targets(run)
        s = run.get("sizes", {})
        corpus_bytes = s.get("corpus_bytes")
        lines += [
            "",
            "| on disk | size |",
            "| --- | ---: |",
            f"| corpus ({n:,} files) | {_mb(corpus_bytes)} |",
            f"| database | {_mb(s.get('database_bytes'))}"
            f"{_ratio(s.get('database_bytes'), corpus_bytes)} |",
            f"| search index | {_mb(s.get('index_bytes'))}"
            f"{_ratio(s.get('index_bytes'), corpus_bytes)} |",
            f"| baseline index | {_mb(s.get('baseline_index_bytes'))}"
            f"{_ratio(s.get('baseline_index_bytes'), corpus_bytes)} |",
        ]
    return "\n".join(lines) + "\n"


def _p50_p95_worst(data: dict[str, Any] | None, group: str) -> str:
    if not data or not data.get(group, {}).get("n"):
        return "-"
    p50, p95, worst = (data[group].get(k) for k in ("median_ms", "p95_ms", "max_ms"))
    return f"{_num(p50)} / {_num(p95)} / {_num(worst)}"


def summary_table(runs: list[dict[str, Any]]) -> list[str]:
    """The README's table: a column per N and backend, a row per figure."""
    if not runs:
        return []

    def head(run: dict[str, Any]) -> str:
        return f"N = {run['n']:,}, {run.get('backend', 'whoosh')}"

    def import_(run: dict[str, Any], key: str, unit: str = "") -> str:
        return _num(run.get("import", {}).get(key), unit)

    def baseline_rate(run: dict[str, Any]) -> str:
        if run.get("baseline_skipped"):
            return "skipped"
        return _num(run.get("baseline", {}).get("articles_per_s"))

    def ratio(run: dict[str, Any], key: str) -> str:
        return "-" if run.get(key) is None else f"{run[key]:.2f}"

    def size(key: str) -> Any:
        return lambda run: _mb(run.get("sizes", {}).get(key))

    def rebuild(run: dict[str, Any]) -> str:
        r = run.get("rebuild")
        if not r:
            return "-"
        return (
            f"{_num(r.get('seconds'))} s; {_num(r.get('searches'))} searches, "
            f"{_num(r.get('errors'))} errors, worst {_num(r.get('worst_ms'))} ms"
        )

    rows: list[tuple[str, Any]] = [
        ("import, articles/s", lambda r: import_(r, "articles_per_s")),
        ("import, articles per CPU second", lambda r: import_(r, "articles_per_cpu_s")),
        ("stock-Whoosh baseline, articles/s", baseline_rate),
        ("import / baseline (wall)", lambda r: ratio(r, "import_vs_baseline")),
        ("import / baseline (CPU)", lambda r: ratio(r, "import_vs_baseline_cpu")),
        ("import peak RSS (PSS), process tree", lambda r: _rss_pss(r.get("import", {}))),
        ("corpus on disk", size("corpus_bytes")),
        ("database on disk", size("database_bytes")),
        ("search index on disk", size("index_bytes")),
    ]
    for surface in MAIN_SURFACES:
        for group in GROUPS:
            label = f"{SURFACE_LABELS[surface]} {group}, p50 / p95 / worst ms"
            rows.append((label, lambda r, s=surface, g=group: _p50_p95_worst(_surface(r, s), g)))
    rows.append(("failed searches (all surfaces)", lambda r: _num(_errors(r))))
    rows.append(("rebuild_index, searches meanwhile", rebuild))
    lines = ["", "| | " + " | ".join(head(r) for r in runs) + " |"]
    lines.append("| --- |" + " ---: |" * len(runs))
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in runs) + " |")
    return lines


def _surface(run: dict[str, Any], surface: str) -> dict[str, Any] | None:
    return run.get("search", {}).get(surface)


def _errors(run: dict[str, Any]) -> int | None:
    search = run.get("search", {})
    if not search:
        return None
    return sum(data.get("error_count", 0) for data in search.values())


def _rss_pss(imp: dict[str, Any]) -> str:
    if not imp.get("peak_rss_mb"):
        return "-"
    return f"{_num(imp['peak_rss_mb'], ' MB')} ({_num(imp.get('peak_pss_mb'), ' MB')})"


def _targets(run: dict[str, Any]) -> list[str]:
    """Issue 18's targets (set for 1,000,000 articles), checked on this run's figures."""
    search = run.get("search", {})
    checks = []
    for surface, target in P95_TARGETS_MS.items():
        p95 = search.get(surface, {}).get("all", {}).get("p95_ms")
        if p95 is not None:
            verdict = "met" if p95 <= target else "missed"
            checks.append(
                f"{SURFACE_LABELS[surface]} p95 {p95:,.0f} ms (<= {target:,.0f}: {verdict})"
            )
    worst = [search[s]["worst_ms"] for s in MAIN_SURFACES if search.get(s, {}).get("worst_ms")]
    if worst:
        verdict = "met" if max(worst) <= WORST_TARGET_MS else "missed"
        checks.append(f"slowest search {max(worst):,.0f} ms (<= {WORST_TARGET_MS:,.0f}: {verdict})")
    rss = run.get("import", {}).get("peak_rss_mb")
    if rss:
        verdict = "met" if rss < IMPORT_RSS_TARGET_MB else "missed"
        checks.append(f"import peak RSS {rss:,.0f} MB (< {IMPORT_RSS_TARGET_MB:,.0f}: {verdict})")
    if not checks:
        return []
    return ["", "Targets of issue 18 (set for N = 1,000,000): " + "; ".join(checks) + "."]


def _per_query_table(search: dict[str, Any]) -> list[str]:
    present = [s for s in SURFACES if s in search]
    if not present:
        return []
    header = " | ".join(SURFACE_LABELS[s] for s in present)
    lines = [
        "",
        f"| query (ms: cold / warm median) | filter | page | {header} | total (service / naive) |",
        "| --- | --- | ---: |" + " ---: |" * len(present) + " ---: |",
    ]
    first = search[present[0]]["cases"]
    for key, case in first.items():
        if case["kind"].startswith("new "):
            continue
        q = case["q"] or "(empty)"
        cells = []
        for s in present:
            entry = search[s]["cases"].get(key, {})
            error = search[s].get("errors", {}).get(key)
            if error:
                cells.append("error")
            else:
                cold = _num(entry.get("cold_ms"), "", 1)
                cells.append(f"{cold} / {_num(entry.get('warm_median_ms'), '', 1)}")
        totals = " / ".join(
            _num(search[s]["cases"].get(key, {}).get("total"))
            for s in ("service", "naive")
            if s in search
        )
        filt = "AFP + Business" if case["filtered"] else ""
        lines.append(
            f"| {case['kind']}: `{q}` | {filt} | {case['page']} | {' | '.join(cells)} | {totals} |"
        )
    return lines


# --- command line ------------------------------------------------------------------------------


def _new_kinds_table(search: dict[str, Any]) -> list[str]:
    """The new queries by kind: median / worst ms per surface."""
    present = [s for s in SURFACES if search.get(s, {}).get("new_by_kind")]
    if not present:
        return []
    kinds = list(search[present[0]]["new_by_kind"])
    lines = [
        "",
        "| new queries (ms: median / worst) | "
        + " | ".join(SURFACE_LABELS[s] for s in present)
        + " |",
        "| --- |" + " ---: |" * len(present),
    ]
    for kind in kinds:
        cells = []
        for s in present:
            st = search[s]["new_by_kind"].get(kind, {})
            cells.append(f"{_num(st.get('median_ms'), '', 1)} / {_num(st.get('max_ms'), '', 1)}")
        lines.append(
            f"| {kind} ({search[present[0]]['new_by_kind'][kind]['n']}) | "
            + " | ".join(cells)
            + " |"
        )
    return lines
