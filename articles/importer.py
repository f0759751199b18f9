"""The import service: seed files on disk -> parsed articles -> database rows -> search index.

Used by `manage.py import_seeds` and by the admin's upload page, so both give the same per-file
report. Files are streamed in batches: each batch is parsed, written in one transaction and then
indexed, so memory stays flat whatever the corpus size, and an interrupted run leaves only whole
batches behind. A second run over the same files finishes whatever the first left undone.
Reading, parsing and signing a batch (``_Reader``) needs no database, so it runs one batch ahead
in a child process while this one writes: the writes are the import's serial stage.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import childprocess, search, seedfile, similarity, threads
from .models import Article, ImportRun, Label, Section, Source, label_key, slug_for

#: The process that reads the next batch of files, as ``ps`` shows it.
READER_PROCESS = "import-reader"
STATUSES = ("created", "updated", "unchanged", "duplicate", "skipped", "failed")
SEED_SUFFIX = ".txt"


@dataclass
class FileReport:
    """One row of the import report: what happened to one input file, and why."""

    path: str
    status: str
    article_id: int | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "status": self.status,
            "article_id": self.article_id,
            "error": self.error,
            "warnings": self.warnings,
        }


@dataclass
class ImportSummary:
    counts: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    dry_run: bool = False

    @property
    def articles_written(self) -> int:
        return self.counts["created"] + self.counts["updated"]

    @property
    def rate(self) -> float:
        """Articles per second over the files that were parsed (everything but skipped)."""
        parsed = sum(self.counts[s] for s in STATUSES if s != "skipped")
        return parsed / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def failed(self) -> int:
        return self.counts["failed"]

    def line(self) -> str:
        parts = [f"{self.counts[s]} {s}" for s in STATUSES]
        prefix = "Dry run: " if self.dry_run else ""
        return f"{prefix}{', '.join(parts)} in {self.elapsed:.1f}s ({self.rate:.0f} articles/s)"


@dataclass(frozen=True)
class Candidate:
    """A file found under an import path: where it is, and the path the archive records."""

    path: Path
    stored_path: str
    skip_reason: str | None = None


# --- discovery -------------------------------------------------------------------------------


def discover(paths: Sequence[Path], relative_to: Path | None = None) -> Iterator[Candidate]:
    """Every file under the given paths, each once, with skipped files marked and explained.

    The stored path keeps the name of the folder that was imported (`seeds/a.txt`), so two
    corpora with the same file names do not collide, and importing a folder or one of its files
    records the same path. Folders are walked with symlinks followed, but each real folder once,
    so a symlink loop cannot hang the import.
    """
    seen = _Seen()
    for given in paths:
        given = Path(given)
        if given.is_dir():
            root = relative_to or given.resolve().parent
            yield from _walk(given, root, seen)
        else:
            root = relative_to or given.resolve().parent.parent
            if seen.first_time_by_link(given):
                yield _candidate(given, root, given.name)


class _Seen:
    """What discovery has met: real folders by device and inode, and the real paths of files
    reached other than by walking their own folder (given by name, or through a symlink).

    A plain file in a walked folder can only come round again by one of those two ways, so
    only they are remembered: a set of every file's real path held 15 MB at 100,000 files
    for the whole run, counted again in each forked index writer.
    """

    def __init__(self) -> None:
        self.folders: set[tuple[int, int]] = set()
        self.files: set[str] = set()

    def first_visit(self, folder: str) -> bool:
        key = _folder_key(folder)
        if key in self.folders:
            return False
        self.folders.add(key)
        return True

    def first_time_by_link(self, path: Path) -> bool:
        """For a file given by name or a symlink: not met before, nor in a walked folder.

        A link to nothing (or to itself) is always met for the first time: it must reach the
        report as a file that could not be read, not vanish."""
        real = os.path.realpath(path)
        if not os.path.isfile(real):
            return True
        if real in self.files:
            return False
        with contextlib.suppress(OSError):
            if _folder_key(os.path.dirname(real)) in self.folders:
                return False
        self.files.add(real)
        return True


def _folder_key(folder: str) -> tuple[int, int]:
    """A real folder's identity, however it was reached (device and inode)."""
    stat = os.stat(folder)
    return stat.st_dev, stat.st_ino


def _walk(folder: Path, root: Path, seen: _Seen) -> Iterator[Candidate]:
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        if not seen.first_visit(dirpath):
            dirnames[:] = []
            continue
        dirnames.sort()
        real_dir = os.path.realpath(dirpath)
        hidden_dir = any(part.startswith(".") for part in Path(dirpath).relative_to(folder).parts)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if os.path.islink(path):
                if not seen.first_time_by_link(path):
                    continue
            elif os.path.join(real_dir, name) in seen.files:
                continue  # given by name, or reached through a symlink, earlier in this run
            yield _candidate(path, root, name, hidden_dir)


def _candidate(path: Path, root: Path, name: str, in_hidden_dir: bool = False) -> Candidate:
    stored = _stored_path(path, root)
    if in_hidden_dir:
        return Candidate(path, stored, "inside a hidden folder")
    if name.startswith("."):
        return Candidate(path, stored, "hidden file")
    if not name.lower().endswith(SEED_SUFFIX):
        return Candidate(path, stored, f"not a {SEED_SUFFIX} file")
    return Candidate(path, stored)


def _stored_path(path: Path, root: Path) -> str:
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path(os.path.abspath(root))).as_posix()
    except ValueError:
        return absolute.as_posix()


# --- the import ------------------------------------------------------------------------------


@dataclass
class _Parsed:
    candidate: Candidate
    article: seedfile.ParsedArticle
    fingerprint: str
    signature: bytes | None = None  # story threads' MinHash of what the row will hold


def _batches(candidates: Iterable[Candidate], size: int) -> Iterator[list[Candidate]]:
    """The candidates in batches of ``size`` files to read; skipped files ride along, so
    their reports keep their place in the run."""
    batch: list[Candidate] = []
    readable = 0
    for candidate in candidates:
        batch.append(candidate)
        readable += not candidate.skip_reason
        if readable >= size:
            yield batch
            batch, readable = [], 0
    if batch:
        yield batch


def _stored_title(parsed: seedfile.ParsedArticle) -> str:
    return parsed.title[: Article._meta.get_field("title").max_length]


class _Reader:
    """Reads, parses and signs a batch of files: no database, so it can run in a child."""

    def __init__(self, max_bytes: int, signer: similarity.Signer | None) -> None:
        self.max_bytes = max_bytes
        self.signer = signer

    def read(self, batch: list[Candidate]) -> list[_Parsed | FileReport]:
        outcomes = [self._read(candidate) for candidate in batch]
        parsed = [item for item in outcomes if isinstance(item, _Parsed)]
        if self.signer is not None and parsed:
            texts = [threads.thread_text(_stored_title(p.article), p.article.body) for p in parsed]
            for item, signature in zip(parsed, self.signer.signatures(texts), strict=True):
                item.signature = similarity.to_bytes(signature) if signature is not None else None
        return outcomes

    def _read(self, candidate: Candidate) -> _Parsed | FileReport:
        path = str(candidate.path)
        if candidate.skip_reason:
            return FileReport(path, "skipped", None, candidate.skip_reason)
        try:
            article = seedfile.parse_file(candidate.path, max_bytes=self.max_bytes)
        except seedfile.SeedFileError as error:
            return FileReport(path, "failed", None, str(error))
        except OSError as error:
            return FileReport(path, "failed", None, f"cannot read: {error.strerror or error}")
        return _Parsed(candidate, article, seedfile.fingerprint(article.text))


class Importer:
    """Runs one import; keeps the label caches and counts for that run."""

    def __init__(
        self,
        *,
        dry_run: bool = False,
        batch_size: int | None = None,
        max_bytes: int | None = None,
        on_report: Callable[[FileReport], None] | None = None,
        read_ahead: bool = True,
    ) -> None:
        self.dry_run = dry_run
        self.read_ahead = read_ahead
        self.batch_size = batch_size or settings.NEWSARCHIVE_IMPORT_BATCH_SIZE
        self.max_bytes = max_bytes or settings.NEWSARCHIVE_MAX_FILE_BYTES
        self.on_report = on_report
        self.summary = ImportSummary(dry_run=dry_run)
        self._labels: dict[type[Label], dict[str, Label]] = {}
        self._indexed: set[int] | None = None
        self._indexer: search.BulkIndexer | None = None

    def run(self, candidates: Iterable[Candidate]) -> ImportSummary:
        started = time.monotonic()
        reader = _Reader(self.max_bytes, None if self.dry_run else threads.signer())
        # Files are read, parsed and signed one batch ahead, in a child process once there is
        # a second batch: the database and index writes stay in this one.
        batches = _batches(candidates, self.batch_size)
        prepared = childprocess.ahead(
            reader.read, batches, name=READER_PROCESS, child=self.read_ahead
        )
        try:
            with contextlib.closing(prepared):
                # The child is forked here, before the index's write lock is taken: a forked
                # copy of the lock would outlive this process should it die.
                first = list(itertools.islice(prepared, 1))
                indexing = contextlib.nullcontext() if self.dry_run else search.bulk_indexer()
                with indexing as self._indexer:
                    for outcomes in itertools.chain(first, prepared):
                        self._import_batch(outcomes)
        finally:
            self.summary.elapsed = time.monotonic() - started
        return self.summary

    def _report(self, report: FileReport) -> None:
        self.summary.counts[report.status] += 1
        if self.on_report:
            self.on_report(report)

    def _import_batch(self, outcomes: list[_Parsed | FileReport]) -> None:
        parsed = []
        for outcome in outcomes:
            if isinstance(outcome, FileReport):
                self._report(outcome)  # skipped, or could not be read
            else:
                parsed.append(outcome)
        if not parsed:
            return
        by_path = {
            a.source_path: a
            for a in Article.objects.filter(
                source_path__in=[p.candidate.stored_path for p in parsed]
            ).only("id", "source_path", "fingerprint")
        }
        by_fingerprint = dict(
            Article.objects.filter(fingerprint__in=[p.fingerprint for p in parsed]).values_list(
                "fingerprint", "id"
            )
        )
        plan = _Plan()
        for item in parsed:
            plan.decide(item, by_path.get(item.candidate.stored_path), by_fingerprint)
        if not self.dry_run:
            self._write(plan)
        for report in plan.reports:
            self._report(report)

    def _write(self, plan: _Plan) -> None:
        with transaction.atomic():
            new = [self._new_article(item) for item in plan.to_create]
            _assign_unique_slugs(new, [item.fingerprint for item in plan.to_create])
            Article.objects.bulk_create(new)
            changed = [self._apply(article, item) for article, item in plan.to_update]
            Article.objects.bulk_update(changed, UPDATED_FIELDS)
            # Story threads: committed with the batch (bulk writes send no signals).
            threads.thread_articles([a.pk for a in changed], new=new)
        for article, report in zip(new, plan.created_reports, strict=True):
            report.article_id = article.pk
        for duplicate, first in plan.batch_duplicates:
            duplicate.article_id = first.article_id
        # Indexed from memory (with their labels), not read back: see ``_label``.
        self._indexer.add_articles(new, new=True)
        self._indexer.add_articles(changed)
        self._indexer.add(self._unindexed(plan.unchanged_ids))

    def _unindexed(self, ids: list[int]) -> list[int]:
        """Unchanged articles the index lacks: what an interrupted earlier run left to do."""
        if not ids:
            return []
        if self._indexed is None:
            self._indexed = search.indexed_ids()
        return [pk for pk in ids if pk not in self._indexed]

    def _new_article(self, item: _Parsed) -> Article:
        # The signature goes in with the row: signing after the insert would update each one.
        article = Article(source_path=item.candidate.stored_path, minhash=item.signature)
        return self._apply(article, item)

    def _apply(self, article: Article, item: _Parsed) -> Article:
        parsed = item.article
        article.title = _stored_title(parsed)
        article.body = parsed.body
        article.source = self._label(Source, parsed.source)
        article.section = self._label(Section, parsed.section)
        article.published = archive_time(parsed.published)
        article.original_text = parsed.text
        article.fingerprint = item.fingerprint
        article.updated = timezone.now()
        return article

    def _label(self, model: type[Label], name: str) -> Label | None:
        """The label for a name, from this run's cache: each article holds the label object
        itself, so the index reads its display name without a query per article."""
        key = label_key(name)
        if not key:
            return None
        cache = self._labels.get(model)
        if cache is None:
            cache = self._labels[model] = {label.key: label for label in model.objects.all()}
        if key not in cache:
            cache[key] = model.for_name(name)
        return cache[key]


UPDATED_FIELDS = [
    "title",
    "body",
    "source",
    "section",
    "published",
    "original_text",
    "fingerprint",
    "updated",
]


class _Plan:
    """What one batch will do to the database, decided before anything is written."""

    def __init__(self) -> None:
        self.to_create: list[_Parsed] = []
        self.created_reports: list[FileReport] = []
        self.to_update: list[tuple[Article, _Parsed]] = []
        self.unchanged_ids: list[int] = []
        self.reports: list[FileReport] = []
        self.batch_duplicates: list[tuple[FileReport, FileReport]] = []
        self._batch_fingerprints: dict[str, FileReport] = {}

    def decide(self, item: _Parsed, existing: Article | None, by_fingerprint: dict) -> None:
        path, warnings = str(item.candidate.path), list(item.article.warnings)
        owner = by_fingerprint.get(item.fingerprint)
        if existing is not None and existing.fingerprint == item.fingerprint:
            self.unchanged_ids.append(existing.pk)
            self.reports.append(FileReport(path, "unchanged", existing.pk, None, warnings))
        elif owner is not None and (existing is None or owner != existing.pk):
            reason = f"same content as article {owner}"
            self.reports.append(FileReport(path, "duplicate", owner, reason, warnings))
        elif item.fingerprint in self._batch_fingerprints:
            first = self._batch_fingerprints[item.fingerprint]
            report = FileReport(path, "duplicate", None, f"same content as {first.path}", warnings)
            self.reports.append(report)
            self.batch_duplicates.append((report, first))
        elif existing is not None:
            self.to_update.append((existing, item))
            report = FileReport(path, "updated", existing.pk, None, warnings)
            self._remember(item, report)
        else:
            report = FileReport(path, "created", None, None, warnings)
            self.to_create.append(item)
            self.created_reports.append(report)
            self._remember(item, report)

    def _remember(self, item: _Parsed, report: FileReport) -> None:
        self._batch_fingerprints[item.fingerprint] = report
        self.reports.append(report)


def archive_time(value: datetime | None) -> datetime | None:
    """A stamp from a file as an aware datetime: naive stamps are read in the archive's zone."""
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value, timezone.get_default_timezone())


def _assign_unique_slugs(articles: list[Article], fingerprints: list[str]) -> None:
    """Slugs from titles, made unique with a piece of the fingerprint when a title repeats."""
    bases = [slug_for(a.title) for a in articles]
    candidates = set(bases)
    for base, fp in zip(bases, fingerprints, strict=True):
        candidates.update({f"{base}-{fp[:8]}", f"{base}-{fp[:16]}"})
    taken = set(Article.objects.filter(slug__in=candidates).values_list("slug", flat=True))
    for article, base, fp in zip(articles, bases, fingerprints, strict=True):
        for slug in (base, f"{base}-{fp[:8]}", f"{base}-{fp[:16]}", f"{base}-{fp}"):
            if slug not in taken:
                break
        article.slug = slug
        taken.add(slug)


def import_paths(
    paths: Sequence[Path | str],
    *,
    dry_run: bool = False,
    relative_to: Path | None = None,
    on_report: Callable[[FileReport], None] | None = None,
    batch_size: int | None = None,
    origin: str = "command",
    read_ahead: bool = True,
) -> ImportSummary:
    """Import every seed file under `paths`; each file gets exactly one report row.

    The run is recorded as an ImportRun (with its counts, even when interrupted) so the admin's
    index-health page can show the last import.
    """
    importer = Importer(
        dry_run=dry_run, on_report=on_report, batch_size=batch_size, read_ahead=read_ahead
    )
    run = ImportRun.objects.create(
        origin=origin, dry_run=dry_run, paths="\n".join(str(p) for p in paths)
    )
    try:
        return importer.run(discover([Path(p) for p in paths], relative_to=relative_to))
    finally:
        summary = importer.summary
        run.counts = {status: summary.counts[status] for status in STATUSES}
        run.elapsed = summary.elapsed
        run.finished = timezone.now()
        run.save(update_fields=["counts", "elapsed", "finished"])
