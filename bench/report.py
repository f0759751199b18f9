"""The benchmark's report: the JSON of `bench.run` as the Markdown tables it prints (and the
README quotes). Kept apart from running the stages, which is `bench.run`'s job."""

from __future__ import annotations

from typing import Any

from bench import trendsbench
from bench.searchbench import SURFACES

MAIN_SURFACES = ("service", "api", "page")
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
    lines += _side_by_side(report["runs"])
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
                f"| (parsing for the baseline, not in its time) | {_num(base.get('files'))} | "
                f"{_num(base.get('parse_seconds'), '', 1)} | {_num(base.get('parse_per_s'))} | "
                f"{_num(base.get('parse_peak_rss_mb'), ' MB')} | | |"
            )
        if "import_vs_baseline" in run:
            lines += ["", f"import/baseline throughput: **{run['import_vs_baseline']:.2f}**"]
        if "import_vs_baseline_cpu" in run:
            lines.append(
                f"import/baseline articles per CPU second: **{run['import_vs_baseline_cpu']:.2f}**"
                f" ({_num(imp.get('articles_per_cpu_s'))} against "
                f"{_num(base.get('articles_per_cpu_s'))}; the import's figure includes parsing, "
                "the database and start-up, the baseline's only indexing)"
            )

        search = run.get("search", {})
        if search:
            lines += [
                "",
                "| search latency (ms) | warm median | warm p95 | warm p99 | cold median | "
                "cold p95 | cold p99 | unique median | unique p95 | unique p99 | worst of mix | "
                "first query | set-up | peak RSS |",
                "| --- |" + " ---: |" * 13,
            ]
            for surface in SURFACES:
                data = search.get(surface)
                if not data:
                    continue
                cells = [
                    _num(data[group].get(stat), "", 1)
                    for group, stats in (
                        ("warm", ("median_ms", "p95_ms", "p99_ms")),
                        ("cold", ("median_ms", "p95_ms", "p99_ms")),
                        ("unique", ("median_ms", "p95_ms", "p99_ms")),
                    )
                    for stat in stats
                ]
                cells += [
                    _num(data.get(key), "", 1) for key in ("worst_ms", "first_query_ms", "setup_ms")
                ]
                cells.append(_num(data.get("peak_rss_mb"), " MB"))
                lines.append(f"| {SURFACE_LABELS[surface]} | {' | '.join(cells)} |")
            ratios = run.get("service_vs_naive_p95", {})
            if ratios:
                text = ", ".join(f"{k} {v:.2f}" for k, v in ratios.items())
                lines += ["", f"service/naive p95 (below 1 = service faster): **{text}**"]
            lines += _per_query_table(search)

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


def _side_by_side(runs: list[dict[str, Any]]) -> list[str]:
    """One table of both backends per N: import rate, latency per surface, sizes, memory."""
    if len({run.get("backend", "whoosh") for run in runs}) < 2:
        return []
    lines = [
        "",
        "| N | backend | import articles/s | import peak RSS | "
        + " | ".join(f"{SURFACE_LABELS[s]} p50 / p95 / worst (ms)" for s in MAIN_SURFACES)
        + " | database | search structures |",
        "| ---: | --- | ---: | ---: |" + " ---: |" * 5,
    ]
    for run in runs:
        imp, search, sizes = run.get("import", {}), run.get("search", {}), run.get("sizes", {})
        cells = []
        for surface in MAIN_SURFACES:
            data = search.get(surface)
            if not data:
                cells.append("-")
                continue
            # Over every query the surface answered: warm, cold and new together.
            p50, p95, worst = (data["all"].get(k) for k in ("median_ms", "p95_ms", "max_ms"))
            cells.append(f"{_num(p50, '', 0)} / {_num(p95, '', 0)} / {_num(worst, '', 0)}")
        lines.append(
            f"| {run['n']:,} | {run.get('backend', 'whoosh')} | "
            f"{_num(imp.get('articles_per_s'))} | {_num(imp.get('peak_rss_mb'), ' MB')} | "
            f"{' | '.join(cells)} | {_mb(sizes.get('database_bytes'))} | "
            f"{_mb(sizes.get('index_bytes'))} |"
        )
    return lines


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
