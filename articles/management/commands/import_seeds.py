"""`manage.py import_seeds [PATH ...]`: bring folders of seed files into the archive."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from tqdm import tqdm

from articles.childprocess import HelperProcessError
from articles.importer import FileReport, discover, import_paths
from articles.search import IndexWriteError

DEFAULT_PATH = Path(settings.BASE_DIR) / "seeds"

# Exit statuses, also in the README and --help.
EXIT_FILES_FAILED = 1  # some files could not be imported; every good file was
EXIT_FAULT = 3  # the index, the database or the disk failed; finished batches are saved
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143  # SIGTERM (128 + SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the import is, so it stops as Ctrl-C does: the batch being written
    is rolled back or finished, what was added is committed, sub-writers are stopped."""


@contextlib.contextmanager
def sigterm_as_interrupt():
    def stop(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Command(BaseCommand):
    help = (
        "Import seed files (*.txt, recursively) into the archive and its search index. "
        "Exit status: 0 done; 1 some files failed (every good file is still imported); "
        "2 usage error; 3 the index, database or disk failed; 130 Ctrl-C; 143 SIGTERM. "
        "After 3, 130 or 143 the finished batches are saved: run the same command again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "paths", nargs="*", type=Path, help="Files or folders (default: the seeds/ folder)."
        )
        parser.add_argument(
            "--report", type=Path, help="Write one JSON object per input file to this file."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Parse and report without writing anything."
        )
        parser.add_argument("--batch-size", type=int, help="Files per transaction.")

    def handle(self, *args, **options) -> None:
        paths = options["paths"] or [DEFAULT_PATH]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise CommandError(f"No such file or folder: {', '.join(missing)}")
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        verbosity = options["verbosity"]
        report_file = self._open_report(options["report"])
        bar = self._progress_bar(paths, verbosity)

        def on_report(report: FileReport) -> None:
            if report_file:
                report_file.write(json.dumps(report.as_dict(), ensure_ascii=False) + "\n")
            if bar is not None:
                bar.update(1)
            if verbosity >= 2 or (verbosity >= 1 and report.status == "failed"):
                self._echo(report)

        try:
            with sigterm_as_interrupt():
                summary = import_paths(
                    paths,
                    dry_run=options["dry_run"],
                    on_report=on_report,
                    batch_size=options["batch_size"],
                )
        except KeyboardInterrupt as stop:
            self._close(bar, report_file)
            signal_name = "SIGTERM" if isinstance(stop, Terminated) else "Interrupted"
            self.stderr.write(f"{signal_name}: finished batches are saved; run again to finish.")
            sys.exit(EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_INTERRUPTED)
        except (IndexWriteError, HelperProcessError, DatabaseError, OSError) as fault:
            self._close(bar, report_file)
            if options.get("traceback"):
                raise
            self.stderr.write(
                f"Import stopped: {_one_line(fault)}. Finished batches are saved; "
                "fix the cause and run the same command again."
            )
            sys.exit(EXIT_FAULT)
        finally:
            if bar is not None:
                bar.close()
            if report_file:
                report_file.close()
        if verbosity >= 1:
            style = self.style.ERROR if summary.failed else self.style.SUCCESS
            self.stdout.write(style(summary.line()))
        if summary.failed:
            sys.exit(EXIT_FILES_FAILED)

    @staticmethod
    def _close(bar, report_file) -> None:
        """Close the bar and report before the last words, so they are not drawn over."""
        if bar is not None:
            bar.close()
        if report_file:
            report_file.close()

    def _open_report(self, path: Path | None):
        if path is None:
            return None
        try:
            return path.open("w", encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot write the report to {path}: {error.strerror}") from error

    def _progress_bar(self, paths: list[Path], verbosity: int) -> tqdm | None:
        """A bar only for a person at a terminal; logs and pipes get the summary line alone."""
        if verbosity < 1 or not self.stdout.isatty():
            return None
        total = sum(1 for _ in discover(paths))
        return tqdm(total=total, unit="file", desc="Importing", file=sys.stderr)

    def _echo(self, report: FileReport) -> None:
        detail = f": {report.error}" if report.error else ""
        style = self.style.ERROR if report.status == "failed" else (lambda text: text)
        self.stdout.write(style(f"{report.status:9} {report.path}{detail}"))


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
