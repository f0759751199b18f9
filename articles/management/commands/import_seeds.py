"""`manage.py import_seeds [PATH ...]`: bring folders of seed files into the archive."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from articles.importer import FileReport, discover, import_paths

DEFAULT_PATH = Path(settings.BASE_DIR) / "seeds"


class Command(BaseCommand):
    help = (
        "Import seed files (*.txt, recursively) into the archive and its search index. "
        "Exit status 1 when any file failed; every good file is still imported."
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
            summary = import_paths(
                paths,
                dry_run=options["dry_run"],
                on_report=on_report,
                batch_size=options["batch_size"],
            )
        except KeyboardInterrupt:
            self.stderr.write("Interrupted: finished batches are saved; run again to finish.")
            sys.exit(130)
        finally:
            if bar is not None:
                bar.close()
            if report_file:
                report_file.close()
        if verbosity >= 1:
            style = self.style.ERROR if summary.failed else self.style.SUCCESS
            self.stdout.write(style(summary.line()))
        if summary.failed:
            sys.exit(1)

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
