"""Raw Whoosh baseline: how fast Whoosh alone indexes the corpus, to compare `import_seeds` with.

It parses every seed file first (with the project's parser, timed and reported separately) and
then times only the Whoosh work: every document added and committed, on a fresh index with the
project's schema. No database, no per-article bookkeeping; what is left is the floor the
importer's indexing stage can approach.

Writer settings: `ix.writer(procs=2, multisegment=True, limitmb=512)`, chosen with `--sweep` at
N=10,000 on the 2-core benchmark machine (the figures are next to `DEFAULT_*` below), a new
writer and commit per 10,000 documents (`DEFAULT_COMMIT_EVERY`), and the project's codec
(`build_codec()`: 1,024 postings per block, which indexes as fast as Whoosh's default of 128;
importing it also makes whoosh3 pickle posting blocks with protocol 3, as the project does).

    python -m bench.baseline --corpus DIR [--procs 2 --limitmb 512] [--json FILE]
    python -m bench.baseline --corpus DIR --sweep      # try procs 1/2 x limitmb 128/256/512
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import TreeMemoryMonitor, folder_bytes

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Chosen by `--sweep` at N=10,000 on 2 cores (project schema, mostly idle machine), articles/s
# of the add-and-commit time, peak PSS of the process tree:
#   procs=1: limitmb 128 -> 51/s, 307 MB; 256 -> 46/s, 465 MB; 512 -> 53/s, 774 MB
#   procs=2: limitmb 128 -> 84/s, 607 MB; 256 -> 89-92/s, 918 MB; 512 -> 144-148/s, 1,149 MB
#   (1024 -> 147/s: at 512 MB a sub-writer's pool no longer spills to disk at this size)
# multisegment=True skips merging the sub-writers' segments at commit, as an expert would for
# a bulk load. procs=1 ignores multisegment.
DEFAULT_PROCS = 2
DEFAULT_LIMITMB = 512
DEFAULT_MULTISEGMENT = True
# Documents per commit. One writer and one commit for everything degrades with N: at
# N=100,000 the sub-writers' pools spilled and were merged at the commit, 74 articles/s and
# 4.1 GB peak (measured), so an expert commits a bulk load in pieces. At N <= 10,000 this is
# one commit, as before.
DEFAULT_COMMIT_EVERY = 10_000


def setup_django() -> str | None:
    """Configure Django if it can be (the project's modules may read settings); None when done,
    else the reason it could not be. Never touches the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings")
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    try:
        import django

        django.setup()
    except Exception as exc:  # noqa: BLE001 - any failure only means "run without Django"
        return f"{type(exc).__name__}: {exc}"
    return None


# --- schema ------------------------------------------------------------------------------------


def _fallback_schema() -> Any:
    from whoosh.analysis import CharsetFilter, StemmingAnalyzer
    from whoosh.fields import DATETIME, ID, TEXT, Schema
    from whoosh.support.charset import accent_map

    analyzer = StemmingAnalyzer() | CharsetFilter(accent_map)
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=analyzer, field_boost=2.0, stored=True),
        body=TEXT(analyzer=analyzer, stored=True),
        source=ID(sortable=True),
        section=ID(sortable=True),
        published=DATETIME(sortable=True, stored=True),
    )


def load_codec() -> Any:
    """The project's Whoosh codec (its posting block size), or None for Whoosh's default."""
    try:
        from articles.search.backends.whoosh.codec import build_codec
    except ImportError:
        return None
    return build_codec()


def _block_pickle_protocol() -> int:
    """The pickle protocol whoosh3 writes posting blocks with in this process (2 unless the
    project's backend changed it)."""
    from whoosh.codec import whoosh3

    return whoosh3.dumps(b"", 2)[1]  # the byte after the PROTO opcode


def load_schema() -> tuple[Any, str]:
    """The project's schema (`articles.search.backends.whoosh.schema.build_schema`), or the bench's
    copy of the agreed fields while the project's does not exist yet; with where it came from."""
    try:
        from articles.search.backends.whoosh.schema import build_schema
    except ImportError as exc:
        return _fallback_schema(), f"bench fallback (project schema unavailable: {exc})"
    return build_schema(), "articles.search.backends.whoosh.schema.build_schema"


# --- parsing -----------------------------------------------------------------------------------


@dataclass
class FallbackArticle:
    """The fields of a seed file, as the bench's stand-in parser reads them."""

    title: str
    body: str
    source: str
    section: str
    published: datetime | None


_SOURCE_LINE = re.compile(r"^Source:\s*(?P<source>.*?)\s+Published:\s*(?P<published>.+?)\s*$")


def _fallback_parse_file(path: str | Path) -> FallbackArticle:
    """Minimal reader of the seed format, used only while `articles.seedfile` does not exist."""
    text = Path(path).read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    lines = text.split("\n")
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    title = lines[i].strip() if i < len(lines) else ""
    source, published = "", None
    body_lines: list[str] = []
    section = ""
    for line in lines[i + 1 :]:
        m = _SOURCE_LINE.match(line) if not source else None
        if m:
            source = m["source"]
            try:
                published = datetime.strptime(m["published"], "%Y-%m-%d %H:%M:%S")
            except ValueError:
                published = None
            continue
        if line.startswith("Posted in:"):
            section = line[len("Posted in:") :].strip()
            continue
        if line.strip() == "blog comments powered by Disqus":
            continue
        body_lines.append(line)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(body_lines)).strip()
    return FallbackArticle(title, body, source, section, published)


def load_parser() -> tuple[Callable[[Any], Any], str]:
    """`articles.seedfile.parse_file`, or the bench's stand-in while it does not exist."""
    try:
        from articles.seedfile import parse_file
    except ImportError as exc:
        return _fallback_parse_file, f"bench fallback (articles.seedfile unavailable: {exc})"
    return parse_file, "articles.seedfile.parse_file"


def seed_files(folder: Path | str) -> list[Path]:
    """The seed files under `folder` (recursively, `*.txt`), in name order."""
    return sorted(p for p in Path(folder).rglob("*.txt") if p.is_file())


def _text(value: Any) -> str:
    if value is None:
        return ""
    name = getattr(value, "name", None)  # a Source/Section object rather than a string
    return str(name if name is not None else value)


def _naive_utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def to_document(article: Any, doc_id: str, fieldnames: Iterable[str]) -> dict[str, Any]:
    """The Whoosh document for one parsed article in the bench's fallback schema."""
    doc: dict[str, Any] = {
        "id": doc_id,
        "title": _text(getattr(article, "title", "")),
        "body": _text(getattr(article, "body", "")),
        "source": _text(getattr(article, "source", "")),
        "section": _text(getattr(article, "section", "")),
    }
    published = _naive_utc(getattr(article, "published", None))
    if published is not None:
        doc["published"] = published
    names = set(fieldnames)
    return {k: v for k, v in doc.items() if k in names and v != ""}


@dataclass
class _Label:
    name: str


@dataclass
class _ArticleRow:
    """Just enough of an `Article` row for the project's `document_for`."""

    pk: int
    title: str
    body: str
    source_id: int | None
    source: _Label | None
    section_id: int | None
    section: _Label | None
    published: datetime | None
    updated: datetime


def document_maker(schema_origin: str) -> tuple[Callable[[Any, int], dict[str, Any]], str]:
    """How parsed articles become Whoosh documents: the project's own `document_for` (fed an
    Article-like row) when the project's schema is in use, else the fallback mapping."""
    if schema_origin.startswith("articles."):
        try:
            from articles.search.backends.whoosh.schema import document_for
        except ImportError:
            document_for = None
        if document_for is not None:
            try:
                from django.utils import timezone

                tz = timezone.get_default_timezone()
            except Exception:  # noqa: BLE001 - Django not configured
                tz = UTC
            now = datetime.now(UTC)

            def make(article: Any, i: int) -> dict[str, Any]:
                source = _text(getattr(article, "source", "")) or None
                section = _text(getattr(article, "section", "")) or None
                published = getattr(article, "published", None)
                if isinstance(published, datetime) and published.tzinfo is None:
                    published = published.replace(tzinfo=UTC)
                row = _ArticleRow(
                    pk=i + 1,
                    title=_text(article.title),
                    body=_text(article.body),
                    source_id=1 if source else None,
                    source=_Label(source) if source else None,
                    section_id=1 if section else None,
                    section=_Label(section) if section else None,
                    published=published,
                    updated=now,
                )
                return document_for(row, tz)

            return make, "articles.search.backends.whoosh.schema.document_for"
    return (
        lambda article, i: to_document(article, str(i + 1), _FALLBACK_FIELDS),
        "bench fallback mapping",
    )


_FALLBACK_FIELDS = ("id", "title", "body", "source", "section", "published")


# --- indexing ----------------------------------------------------------------------------------


def parse_corpus(folder: Path | str) -> dict[str, Any]:
    """Parse every seed file; returns the documents and how long it took."""
    parse_file, parser_origin = load_parser()
    files = seed_files(folder)
    parsed = []
    failures = 0
    started = time.perf_counter()
    for path in files:
        try:
            parsed.append(parse_file(path))
        except Exception:  # noqa: BLE001 - count and go on, like an import would
            failures += 1
    seconds = time.perf_counter() - started
    return {
        "articles": parsed,
        "files": len(files),
        "failures": failures,
        "parse_seconds": round(seconds, 3),
        "parse_per_s": round(len(files) / seconds, 1) if seconds else None,
        "parser": parser_origin,
    }


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the sub-writers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def index_documents(
    docs: list[dict[str, Any]],
    schema: Any,
    index_dir: Path | str,
    procs: int = DEFAULT_PROCS,
    limitmb: int = DEFAULT_LIMITMB,
    multisegment: bool = DEFAULT_MULTISEGMENT,
    commit_every: int = DEFAULT_COMMIT_EVERY,
) -> dict[str, Any]:
    """Index `docs` into a fresh index at `index_dir`, one writer and commit per
    `commit_every` documents; times only that."""
    from whoosh import index

    index_dir = Path(index_dir)
    if index_dir.exists():
        shutil.rmtree(index_dir)
    index_dir.mkdir(parents=True)
    ix = index.create_in(str(index_dir), schema)
    writer_args: dict[str, Any] = {"limitmb": limitmb}
    codec = load_codec()
    if codec is not None:
        writer_args["codec"] = codec
    if procs > 1:
        writer_args.update(procs=procs, multisegment=multisegment)
    load_before = os.getloadavg()[0]
    cpu_before = _cpu_seconds()
    with TreeMemoryMonitor(interval=0.1) as monitor:
        started = time.perf_counter()
        commit_seconds = 0.0
        for first in range(0, len(docs), max(commit_every, 1)):
            writer = ix.writer(**writer_args)
            for doc in docs[first : first + commit_every]:
                writer.add_document(**doc)
            committing = time.perf_counter()
            writer.commit()
            commit_seconds += time.perf_counter() - committing
        seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    with ix.searcher() as searcher:
        doc_count = searcher.doc_count()
        segments = len(ix._segments()) if hasattr(ix, "_segments") else None
    ix.close()
    return {
        "writer": {
            "procs": procs,
            "limitmb": limitmb,
            "multisegment": multisegment,
            "commit_every": commit_every,
            "blocklimit": getattr(codec, "_blocklimit", 128),
            "block_pickle_protocol": _block_pickle_protocol(),
        },
        "documents": len(docs),
        "doc_count": doc_count,
        "segments": segments,
        "index_seconds": round(seconds, 3),
        "add_seconds": round(seconds - commit_seconds, 3),
        "commit_seconds": round(commit_seconds, 3),
        "articles_per_s": round(len(docs) / seconds, 1) if seconds else None,
        "cpu_seconds": round(cpu, 2),
        "articles_per_cpu_s": round(len(docs) / cpu, 1) if cpu else None,
        "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "peak_rss_mb": monitor.peak_rss_mb,
        "peak_pss_mb": monitor.peak_pss_mb,
        "peak_processes": monitor.peak_processes,
        "index_bytes": folder_bytes(index_dir),
    }


def run_baseline(
    corpus: Path | str,
    index_dir: Path | str,
    procs: int = DEFAULT_PROCS,
    limitmb: int = DEFAULT_LIMITMB,
    multisegment: bool = DEFAULT_MULTISEGMENT,
) -> dict[str, Any]:
    """Parse the corpus, then index it with raw Whoosh; everything measured, as a dict."""
    django_problem = setup_django()
    schema, schema_origin = load_schema()
    make_document, documents_origin = document_maker(schema_origin)
    with TreeMemoryMonitor(interval=0.2) as parse_monitor:
        parsed = parse_corpus(corpus)
        docs = [make_document(a, i) for i, a in enumerate(parsed.pop("articles"))]
    result = {
        "corpus": str(corpus),
        "schema": schema_origin,
        "documents_from": documents_origin,
        "django": "configured" if django_problem is None else f"not configured: {django_problem}",
        **parsed,
        "parse_peak_rss_mb": parse_monitor.peak_rss_mb,
    }
    result.update(index_documents(docs, schema, index_dir, procs, limitmb, multisegment))
    return result


def sweep(
    corpus: Path | str,
    procs_options: Iterable[int] = (1, 2),
    limitmb_options: Iterable[int] = (128, 256, 512),
    multisegment: bool = DEFAULT_MULTISEGMENT,
) -> list[dict[str, Any]]:
    """Run the baseline once per writer setting, each in a fresh process (clean memory figures)."""
    rows = []
    for procs in procs_options:
        for limitmb in limitmb_options:
            with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
                argv = [
                    sys.executable,
                    "-m",
                    "bench.baseline",
                    "--corpus",
                    str(corpus),
                    "--index",
                    str(Path(tmp) / "index"),
                    "--procs",
                    str(procs),
                    "--limitmb",
                    str(limitmb),
                    "--json",
                    "-",
                    "--quiet",
                ]
                if not multisegment:
                    argv.append("--single-segment")
                done = subprocess.run(
                    argv, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
                )
            if done.returncode != 0:
                rows.append({"procs": procs, "limitmb": limitmb, "error": done.stderr[-2000:]})
                continue
            result = json.loads(done.stdout)
            rows.append({"procs": procs, "limitmb": limitmb, **result})
            print(
                f"procs={procs} limitmb={limitmb}: {result['articles_per_s']:,.0f} articles/s, "
                f"{result['index_seconds']:.1f} s, {result['articles_per_cpu_s']:,.0f}/CPU-s, "
                f"load {result['loadavg_1min']}, peak RSS {result['peak_rss_mb']:,.0f} MB "
                f"(PSS {result['peak_pss_mb'] or 0:,.0f} MB)",
                file=sys.stderr,
                flush=True,
            )
    return rows


def describe(result: dict[str, Any]) -> str:
    """A few human lines about one baseline run."""
    w = result["writer"]
    return "\n".join(
        [
            f"schema: {result['schema']}; documents: {result['documents_from']}",
            f"parser: {result['parser']}",
            f"parsed {result['files']:,} files ({result['failures']} failures) in "
            f"{result['parse_seconds']:.1f} s = {result['parse_per_s'] or 0:,.0f} files/s",
            f"writer: procs={w['procs']} multisegment={w['multisegment']} limitmb={w['limitmb']}",
            f"indexed {result['doc_count']:,} docs in {result['index_seconds']:.1f} s "
            f"(add {result['add_seconds']:.1f} s, commit {result['commit_seconds']:.1f} s) = "
            f"{result['articles_per_s'] or 0:,.0f} articles/s; CPU {result['cpu_seconds']:.1f} s "
            f"= {result['articles_per_cpu_s'] or 0:,.0f} articles per CPU-second "
            f"(1-min load {result['loadavg_1min'][0]} -> {result['loadavg_1min'][1]})",
            f"peak memory while indexing: RSS {result['peak_rss_mb']:,.0f} MB summed over "
            f"{result['peak_processes']} processes, PSS {result['peak_pss_mb'] or 0:,.0f} MB",
            f"index size {result['index_bytes'] / 1e6:,.1f} MB in {result['segments']} segments",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.baseline", description="Index a seed-file corpus with raw Whoosh."
    )
    parser.add_argument("--corpus", type=Path, required=True, help="folder of seed files")
    parser.add_argument("--index", type=Path, help="index folder (default: a temporary one)")
    parser.add_argument("--procs", type=int, default=DEFAULT_PROCS)
    parser.add_argument("--limitmb", type=int, default=DEFAULT_LIMITMB)
    parser.add_argument(
        "--single-segment", action="store_true", help="merge the sub-writers' segments"
    )
    parser.add_argument("--sweep", action="store_true", help="try procs 1/2 x limitmb 128/256/512")
    parser.add_argument("--json", help="write the result as JSON to this file ('-' = stdout)")
    parser.add_argument("--quiet", action="store_true", help="no human-readable summary")
    args = parser.parse_args(argv)

    if args.sweep:
        result: Any = sweep(args.corpus, multisegment=not args.single_segment)
    else:
        tmp = None
        index_dir = args.index
        if index_dir is None:
            tmp = tempfile.mkdtemp(prefix="bench-baseline-")
            index_dir = Path(tmp) / "index"
        try:
            result = run_baseline(
                args.corpus, index_dir, args.procs, args.limitmb, not args.single_segment
            )
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        if not args.quiet:
            print(describe(result), file=sys.stderr)
    if args.json == "-":
        print(json.dumps(result, indent=2, default=str))
    elif args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
