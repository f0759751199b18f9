"""Raw Whoosh baseline: how fast stock Whoosh indexes the corpus, to compare `import_seeds` with.

It reads the seed files with the project's parser, turns them into the project's documents
and adds them to stock Whoosh's own writer (`ix.writer(...)`, not the project's bulk writer)
on a fresh index with the project's schema and codec. No database, no per-article
bookkeeping: what is left is the work the importer's indexing replaces.

It runs the way the importer runs, so that the two differ only in the writer (settings read
from where the importer defines them, `importer_policy()`):

* writer: `procs=BULK_PROCS`, `multisegment=True`, `limitmb=BULK_LIMITMB`, parallel only when
  the first batch has at least `BULK_PARALLEL_MIN` documents (articles/search/backends/whoosh/
  writing.py), the project's codec, tiny segments merged at each commit (`merge_tiny`);
* batches: `NEWSARCHIVE_IMPORT_BATCH_SIZE` files are parsed and added at a time, and the
  writer commits once `BULK_COMMIT_DOCS` documents or `BULK_COMMIT_SECONDS` seconds have
  gone in since it opened, whichever comes first;
* memory: the files are streamed batch by batch, never the whole parsed corpus in memory,
  so the sub-writers fork from a parent that holds one batch.

Parsing happens inside the timed span, as in the importer (reported on its own too:
`parse_seconds`, the parent's time spent parsing while the sub-writers index).

    python -m bench.baseline --corpus DIR [--procs 2 --limitmb 256] [--json FILE]
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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import TreeMemoryMonitor, folder_bytes

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ImporterPolicy:
    """How the importer writes the index: its writer settings and batch/commit policy."""

    procs: int
    limitmb: int
    multisegment: bool
    parallel_min: int
    batch_size: int
    commit_docs: int
    commit_seconds: float
    mergetype: Callable[[Any, list[Any]], list[Any]] | None


def importer_policy() -> ImporterPolicy:
    """The importer's settings, read where it defines them (Django must be set up)."""
    from django.conf import settings

    from articles.search.backends.whoosh import writing

    return ImporterPolicy(
        procs=writing.BULK_PROCS,
        limitmb=writing.BULK_LIMITMB,
        multisegment=True,  # WhooshBulkIndexer._open's parallel writer never merges its parts
        parallel_min=writing.BULK_PARALLEL_MIN,
        batch_size=settings.NEWSARCHIVE_IMPORT_BATCH_SIZE,
        commit_docs=writing.BULK_COMMIT_DOCS,
        commit_seconds=writing.BULK_COMMIT_SECONDS,
        mergetype=writing.merge_tiny,
    )


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


def seed_files(folder: Path | str) -> Iterator[Path]:
    """The seed files under `folder` (recursively, `*.txt`), in name order, one folder at a
    time (the importer's order; no list of Path objects for a million files)."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".txt"):
                path = Path(dirpath) / name
                if path.is_file():
                    yield path


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


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the sub-writers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def batches(paths: Iterable[Path], size: int) -> Iterator[list[Path]]:
    """`paths` in lists of `size` (the last one shorter)."""
    batch: list[Path] = []
    for path in paths:
        batch.append(path)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Counts:
    files = 0
    failures = 0
    documents = 0
    commits = 0
    parse_seconds = 0.0
    commit_seconds = 0.0


def index_corpus(
    corpus: Path | str,
    schema: Any,
    make_document: Callable[[Any, int], dict[str, Any]],
    index_dir: Path | str,
    policy: ImporterPolicy,
) -> dict[str, Any]:
    """Stream the corpus into a fresh index at `index_dir` with stock Whoosh's writer, batch by
    batch, committing as the importer does; times all of it."""
    from whoosh import index

    parse_file, parser_origin = load_parser()
    index_dir = Path(index_dir)
    if index_dir.exists():
        shutil.rmtree(index_dir)
    index_dir.mkdir(parents=True)
    ix = index.create_in(str(index_dir), schema)
    codec = load_codec()
    counts = _Counts()
    writer: Any = None
    opened = pending = 0.0

    def commit() -> None:
        nonlocal writer, pending
        committing = time.perf_counter()
        writer.commit(mergetype=policy.mergetype)
        counts.commit_seconds += time.perf_counter() - committing
        counts.commits += 1
        writer, pending = None, 0

    load_before = os.getloadavg()[0]
    cpu_before = _cpu_seconds()
    with TreeMemoryMonitor(interval=0.1) as monitor:
        started = time.perf_counter()
        for batch in batches(seed_files(corpus), policy.batch_size):
            parsing = time.perf_counter()
            docs = []
            for path in batch:
                counts.files += 1
                try:
                    docs.append(make_document(parse_file(path), counts.files - 1))
                except Exception:  # noqa: BLE001 - count and go on, like the importer
                    counts.failures += 1
            counts.parse_seconds += time.perf_counter() - parsing
            if not docs:
                continue
            if writer is None:
                writer_args: dict[str, Any] = {"limitmb": policy.limitmb}
                if codec is not None:
                    writer_args["codec"] = codec
                if policy.procs > 1 and len(docs) >= policy.parallel_min:
                    writer_args.update(procs=policy.procs, multisegment=policy.multisegment)
                writer, opened = ix.writer(**writer_args), time.monotonic()
            for doc in docs:
                writer.add_document(**doc)
            counts.documents += len(docs)
            pending += len(docs)
            del docs
            if pending >= policy.commit_docs or time.monotonic() - opened >= policy.commit_seconds:
                commit()
        if writer is not None:
            commit()
        seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    with ix.searcher() as searcher:
        doc_count = searcher.doc_count()
        segments = len(ix._segments()) if hasattr(ix, "_segments") else None
    ix.close()
    docs_per = counts.documents
    return {
        "writer": {
            **{k: v for k, v in asdict(policy).items() if k != "mergetype"},
            "mergetype": getattr(policy.mergetype, "__name__", None),
            "settings_from": "articles.search.backends.whoosh.writing and "
            "settings.NEWSARCHIVE_IMPORT_BATCH_SIZE",
            "blocklimit": getattr(codec, "_blocklimit", 128),
            "block_pickle_protocol": _block_pickle_protocol(),
        },
        "parser": parser_origin,
        "files": counts.files,
        "failures": counts.failures,
        "documents": docs_per,
        "doc_count": doc_count,
        "segments": segments,
        "commits": counts.commits,
        "index_seconds": round(seconds, 3),
        "parse_seconds": round(counts.parse_seconds, 3),
        "parse_per_s": round(counts.files / counts.parse_seconds, 1)
        if counts.parse_seconds
        else None,
        "commit_seconds": round(counts.commit_seconds, 3),
        "add_seconds": round(seconds - counts.commit_seconds - counts.parse_seconds, 3),
        "articles_per_s": round(docs_per / seconds, 1) if seconds else None,
        "cpu_seconds": round(cpu, 2),
        "articles_per_cpu_s": round(docs_per / cpu, 1) if cpu else None,
        "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "peak_rss_mb": monitor.peak_rss_mb,
        "peak_pss_mb": monitor.peak_pss_mb,
        "peak_processes": monitor.peak_processes,
        "index_bytes": folder_bytes(index_dir),
    }


def run_baseline(
    corpus: Path | str,
    index_dir: Path | str,
    procs: int | None = None,
    limitmb: int | None = None,
    multisegment: bool | None = None,
) -> dict[str, Any]:
    """Index the corpus with stock Whoosh as the importer would; everything measured, as a
    dict. `procs`, `limitmb`, `multisegment` override the importer's settings (`--sweep`)."""
    django_problem = setup_django()
    if django_problem is not None:
        raise RuntimeError(f"the baseline reads the importer's settings: {django_problem}")
    policy = importer_policy()
    overrides = {"procs": procs, "limitmb": limitmb, "multisegment": multisegment}
    policy = replace(policy, **{k: v for k, v in overrides.items() if v is not None})
    schema, schema_origin = load_schema()
    make_document, documents_origin = document_maker(schema_origin)
    result = {
        "corpus": str(corpus),
        "schema": schema_origin,
        "documents_from": documents_origin,
    }
    result.update(index_corpus(corpus, schema, make_document, index_dir, policy))
    return result


def sweep(
    corpus: Path | str,
    procs_options: Iterable[int] = (1, 2),
    limitmb_options: Iterable[int] = (128, 256, 512),
    multisegment: bool = True,
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
            f"writer: procs={w['procs']} multisegment={w['multisegment']} limitmb={w['limitmb']}, "
            f"batches of {w['batch_size']:,}, a commit per {w['commit_docs']:,} documents or "
            f"{w['commit_seconds']:g} s ({result['commits']} commits)",
            f"indexed {result['doc_count']:,} docs ({result['failures']} files failed) in "
            f"{result['index_seconds']:.1f} s (parse {result['parse_seconds']:.1f} s, "
            f"add {result['add_seconds']:.1f} s, commit {result['commit_seconds']:.1f} s) = "
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
    parser.add_argument("--procs", type=int, help="sub-writers (default: the importer's)")
    parser.add_argument("--limitmb", type=int, help="per sub-writer (default: the importer's)")
    parser.add_argument(
        "--single-segment",
        action="store_const",
        const=False,
        dest="multisegment",
        help="merge the sub-writers' segments",
    )
    parser.add_argument("--sweep", action="store_true", help="try procs 1/2 x limitmb 128/256/512")
    parser.add_argument("--json", help="write the result as JSON to this file ('-' = stdout)")
    parser.add_argument("--quiet", action="store_true", help="no human-readable summary")
    args = parser.parse_args(argv)

    if args.sweep:
        result: Any = sweep(args.corpus, multisegment=args.multisegment is not False)
    else:
        tmp = None
        index_dir = args.index
        if index_dir is None:
            tmp = tempfile.mkdtemp(prefix="bench-baseline-")
            index_dir = Path(tmp) / "index"
        try:
            result = run_baseline(
                args.corpus, index_dir, args.procs, args.limitmb, args.multisegment
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
