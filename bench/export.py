"""Export memory: a search's CSV / JSON Lines export of 100,000 rows must not grow with its size.

    python -m bench.export                      # N=100,000 (about 4 minutes on 2 cores)
    python -m bench.export --n 20000 --keep     # smaller; keep the database and index

On a fresh SQLite database and index in a scratch folder (`/tmp/newsarchive-bench/export-n<N>-
<pid>/`, removed afterwards unless `--keep`):

1. *setup* (one subprocess): migrate; N articles from the benchmark's synthetic corpus
   (`bench.corpus`, parsed by `articles.seedfile`: the same titles, bodies, sources, sections
   and dates as `make bench`) written with `bulk_create`; `rebuild_index` while the bodies are
   still empty (the export reads bodies from the database, and indexing 100,000 full bodies
   would take a quarter of an hour for nothing), then the bodies written in.
2. *measure*, one fresh process per case: `warm_up()` as a web worker does, then
   `GET /search/export.<fmt>` for the whole archive through Django's test client with the cap
   set to the case's rows, reading the streamed response chunk by chunk and keeping nothing.
   Reported: rows, bytes, seconds, the process's RSS after warm-up and its peak RSS
   (`ru_maxrss`) at the end. Flat memory means the peak at N rows is about the peak at N/10.

The results are printed as a markdown table and written as JSON (`--out`, default
`bench/results/export.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.run import PROJECT_ROOT, django_env

DEFAULT_WORK = Path("/tmp/newsarchive-bench")
DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "export.json"
INSERT_BATCH = 2_000
# (format, with the articles' text): the smallest and the largest export per row.
CASES = (("csv", False), ("jsonl", True))
MB = 1024 * 1024


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / MB, 1)


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KB on Linux


# --- step 1: the archive (in a subprocess with django_env) -----------------------------------


def setup(n: int, seed: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils.text import slugify

    from articles import seedfile
    from articles.importer import archive_time
    from articles.models import Article, Section, Source
    from articles.search import rebuild_index
    from bench.corpus import CorpusGenerator

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    labels: dict[tuple[type, str], Any] = {}

    def label(model: type, name: str) -> Any:
        if not name:
            return None
        if (model, name) not in labels:
            labels[model, name] = model.for_name(name)
        return labels[model, name]

    articles = CorpusGenerator(seed).articles()
    batch: list[Article] = []
    batch_bodies: list[str] = []
    for i in range(n):
        _, text, _ = next(articles)
        parsed = seedfile.parse_text(text)
        batch.append(
            Article(
                title=parsed.title,
                slug=f"{slugify(parsed.title)[:200]}-{i}",
                body="",
                source=label(Source, parsed.source),
                section=label(Section, parsed.section),
                published=archive_time(parsed.published),
                fingerprint=f"{i:064x}",
            )
        )
        batch_bodies.append(parsed.body)
        if len(batch) == INSERT_BATCH or i == n - 1:
            with transaction.atomic():
                created = Article.objects.bulk_create(batch)  # ids come back on SQLite
            # Bodies are written after indexing; they wait on disk, not in memory.
            _spill([(body, a.pk) for body, a in zip(batch_bodies, created, strict=True)])
            batch, batch_bodies = [], []
            log(f"  setup: {i + 1:,}/{n:,} articles written")
    indexed = rebuild_index()
    log(f"  setup: {indexed:,} articles indexed (titles, no bodies)")
    with transaction.atomic(), connection.cursor() as cursor:
        table = Article._meta.db_table
        for chunk in _spilled():
            cursor.executemany(f"UPDATE {table} SET body = %s WHERE id = %s", chunk)
    _spill_path().unlink(missing_ok=True)
    return {"articles": Article.objects.count(), "seconds": round(time.perf_counter() - started)}


def _spill_path() -> Path:
    return Path(os.environ["NEWSARCHIVE_VAR_DIR"]) / "bodies.jsonl"


def _spill(rows: list[tuple[str, int]]) -> None:
    path = _spill_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(rows) + "\n")


def _spilled():
    with _spill_path().open(encoding="utf-8") as f:
        for line in f:
            yield [tuple(row) for row in json.loads(line)]


# --- step 2: one export (in a fresh subprocess) ----------------------------------------------


def measure(fmt: str, body: bool, rows: int) -> dict[str, Any]:
    import warnings

    import django

    # WhiteNoise looks for STATIC_ROOT, which only a deploy's collectstatic makes.
    warnings.filterwarnings("ignore", message="No directory at")

    django.setup()
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from articles.search import warm_up

    warm_up()
    settings.NEWSARCHIVE_EXPORT_MAX_ROWS = rows
    after_warm_up = _rss_mb()
    url = reverse("articles:search_export", kwargs={"fmt": fmt})
    started = time.perf_counter()
    response = Client().get(url, {"body": "1"} if body else {})
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    return {
        "format": fmt,
        "body": body,
        "cap": rows,
        "rows": int(response["X-Export-Rows"]),
        "total": int(response["X-Export-Total"]),
        "truncated": response["X-Export-Truncated"] == "true",
        "lines": lines,
        "mb": round(size / MB, 1),
        "seconds": round(seconds, 1),
        "rows_per_s": round(int(response["X-Export-Rows"]) / seconds) if seconds else None,
        "rss_after_warm_up_mb": after_warm_up,
        "peak_rss_mb": _peak_rss_mb(),
    }


# --- the driver ------------------------------------------------------------------------------


def _child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.export", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.export {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    sys.stderr.write(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(n: int, seed: int, work_root: Path, keep: bool) -> dict[str, Any]:
    work = work_root / f"export-n{n}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = django_env(work)
    try:
        log(f"setup: {n:,} articles in {work}")
        report: dict[str, Any] = {
            "n": n,
            "seed": seed,
            "setup": _child(["setup", "--n", str(n), "--seed", str(seed)], env),
        }
        report["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
        report["cases"] = []
        for fmt, body in CASES:
            for rows in sorted({max(n // 10, 1), n}):
                log(f"measure: {fmt}{' with text' if body else ''}, {rows:,} rows")
                args = ["measure", "--format", fmt, "--rows", str(rows)] + (
                    ["--body"] if body else []
                )
                report["cases"].append(_child(args, env))
        return report
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def render(report: dict[str, Any]) -> str:
    lines = [
        f"Export of the whole archive, N = {report['n']:,} (setup {report['setup']['seconds']} s)",
        "",
        "| export | rows | MB | s | rows/s | RSS after warm-up | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case in report["cases"]:
        kind = f"{case['format']}{' + text' if case['body'] else ''}"
        memory = f"{case['rss_after_warm_up_mb']} MB | {case['peak_rss_mb']} MB"
        lines.append(
            f"| {kind} | {case['rows']:,} | {case['mb']} | {case['seconds']} | "
            f"{case['rows_per_s']:,} | {memory} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.export", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="step")
    parser.add_argument("--n", type=int, default=100_000, help="articles (default 100,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--keep", action="store_true", help="keep the database and index")
    step_setup = sub.add_parser("setup", help=argparse.SUPPRESS)
    step_setup.add_argument("--n", type=int, required=True)
    step_setup.add_argument("--seed", type=int, default=1)
    step_measure = sub.add_parser("measure", help=argparse.SUPPRESS)
    step_measure.add_argument("--format", choices=("csv", "jsonl"), required=True)
    step_measure.add_argument("--rows", type=int, required=True)
    step_measure.add_argument("--body", action="store_true")
    args = parser.parse_args(argv)

    if args.step == "setup":
        print(json.dumps(setup(args.n, args.seed)))
    elif args.step == "measure":
        print(json.dumps(measure(args.format, args.body, args.rows)))
    else:
        report = run(args.n, args.seed, args.work, args.keep)
        print(render(report))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
