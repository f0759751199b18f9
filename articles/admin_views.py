"""The admin's own pages: importing uploaded seed files, and the search index's health.

The pages are plain functions of a ``ModelAdmin`` and a request, wired up by
``ArticleAdmin.get_urls``; this module never imports ``articles.admin``, so the two do not
import each other. The index comparison and its repair are ``articles.index_health``, shared
with ``check_index``.

Uploads are untrusted input handled on the server, so they are unpacked with care: every zip
member is checked against the central directory before anything is written (names that climb
out of the folder, absolute names, symlinks, too many members, too many bytes), the byte limit
is enforced again while extracting by counting what is actually written, and everything lands
in one temporary folder that is removed when the request ends. The import itself is the same
service the `import_seeds` command runs, so the admin shows the same per-file report.
"""

from __future__ import annotations

import lzma
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse

from .importer import SEED_SUFFIX, FileReport, ImportSummary, import_paths
from .index_health import fix_drift, index_health
from .models import ImportRun

ZIP_SUFFIX = ".zip"
CHUNK_BYTES = 64 * 1024
# How many ids of each kind of drift the index-health page lists (the counts are always exact).
DRIFT_SAMPLE = 50


class UploadRefused(Exception):
    """The upload as a whole is unsafe or over the limits: nothing from it is imported."""


# --- staging the upload ----------------------------------------------------------------------


@dataclass
class UploadLimits:
    """What one upload may unpack to; read from settings at request time so tests can vary it."""

    max_bytes: int
    max_files: int

    @classmethod
    def from_settings(cls) -> UploadLimits:
        return cls(settings.NEWSARCHIVE_UPLOAD_MAX_BYTES, settings.NEWSARCHIVE_UPLOAD_MAX_FILES)


@dataclass
class _Budget:
    """Counts files and bytes over the whole upload, declared (up front) and actually written."""

    limits: UploadLimits
    declared_files: int = 0
    declared_bytes: int = 0
    written_bytes: int = 0

    def declare(self, what: str, files: int, size: int) -> None:
        self.declared_files += files
        self.declared_bytes += size
        if self.declared_files > self.limits.max_files:
            raise UploadRefused(
                f"{what}: the upload holds more than {self.limits.max_files} files and folders."
            )
        if self.declared_bytes > self.limits.max_bytes:
            raise UploadRefused(
                f"{what}: the upload unpacks to more than "
                f"{filesizeformat(self.limits.max_bytes)} "
                f"({filesizeformat(self.declared_bytes)} so far)."
            )

    def spend(self, what: str, size: int) -> None:
        self.written_bytes += size
        if self.written_bytes > self.limits.max_bytes:
            raise UploadRefused(
                f"{what}: extracting stopped at {filesizeformat(self.limits.max_bytes)}, "
                "more than the archive declared."
            )


@dataclass
class StagedUpload:
    """The staged folder's refusals: rows for the report that the importer never sees."""

    refused: list[FileReport] = field(default_factory=list)

    def skip(self, path: str, reason: str) -> None:
        self.refused.append(FileReport(path, "skipped", None, reason))


def stage_uploads(
    uploads: Iterable[UploadedFile], folder: Path, limits: UploadLimits | None = None
) -> StagedUpload:
    """Write the uploaded `.txt` files and the `.txt` members of uploaded zips into `folder`.

    Raises UploadRefused for anything unsafe (the caller then imports nothing). Zip members
    that are merely not seed files are left unextracted and come back as "skipped" rows.
    """
    budget = _Budget(limits or UploadLimits.from_settings())
    staged = StagedUpload()
    for upload in uploads:
        name = upload.name or ""
        lowered = name.lower()
        if lowered.endswith(ZIP_SUFFIX):
            _stage_zip(upload, name, folder, budget, staged)
        elif lowered.endswith(SEED_SUFFIX):
            _stage_text(upload, name, folder, budget, staged)
        else:
            raise UploadRefused(
                f"{name}: not a {SEED_SUFFIX} seed file or a {ZIP_SUFFIX} archive of them."
            )
    return staged


def _stage_text(
    upload: UploadedFile, name: str, folder: Path, budget: _Budget, staged: StagedUpload
) -> None:
    # The browser sends a bare name; keep only its last part whatever a client claims.
    safe_name = PurePosixPath(name.replace("\\", "/")).name
    budget.declare(name, 1, upload.size or 0)
    try:
        with (folder / safe_name).open("xb") as target:
            _copy(upload.chunks(CHUNK_BYTES), target, budget, name)
    except FileExistsError:
        staged.skip(name, "another uploaded file has the same name")


def _stage_zip(
    upload: UploadedFile, name: str, folder: Path, budget: _Budget, staged: StagedUpload
) -> None:
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise UploadRefused(f"{name}: not a readable zip archive ({error}).") from error
    with archive:
        entries = archive.infolist()
        members = [info for info in entries if not info.is_dir()]
        # Everything is checked from the central directory before a single byte is written.
        # Folder entries count towards the limit too: a million of them is a bomb of its own.
        for info in members:
            _check_member(name, info)
        budget.declare(name, len(entries), sum(info.file_size for info in members))
        for info in members:
            reason = _member_skip_reason(info)
            if reason:
                staged.skip(f"{name}: {info.filename}", reason)
                continue
            _extract_member(archive, info, name, folder, budget, staged)


def _check_member(archive_name: str, info: zipfile.ZipInfo) -> None:
    """Refuse names that would land outside the folder, and symlinks, whatever their suffix."""
    what = f'{archive_name}: member "{info.filename}"'
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UploadRefused(f"{what} has an absolute path; refused.")
    if ".." in parts:
        raise UploadRefused(f"{what} climbs out of the upload folder; refused.")
    if "\x00" in name or not parts:
        raise UploadRefused(f"{what} has an invalid name; refused.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UploadRefused(f"{what} is a symbolic link; refused.")


def _member_skip_reason(info: zipfile.ZipInfo) -> str | None:
    if not info.filename.lower().endswith(SEED_SUFFIX):
        return f"not a {SEED_SUFFIX} file; not extracted"
    if info.flag_bits & 0x1:
        return "encrypted; not extracted"
    return None


def _extract_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    archive_name: str,
    folder: Path,
    budget: _Budget,
    staged: StagedUpload,
) -> None:
    what = f'{archive_name}: member "{info.filename}"'
    row_path = f"{archive_name}: {info.filename}"
    target = folder.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
    # Belt and braces: the name checks above should make this impossible.
    if not target.resolve().is_relative_to(folder.resolve()):
        raise UploadRefused(f"{what} points outside the upload folder; refused.")
    try:
        source = archive.open(info)
    except (NotImplementedError, RuntimeError) as error:  # e.g. an unsupported compression
        staged.skip(row_path, f"cannot be extracted ({error})")
        return
    with source:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            out = target.open("xb")
        except FileExistsError:
            staged.skip(row_path, "another uploaded file has the same path")
            return
        except (NotADirectoryError, IsADirectoryError) as error:
            staged.skip(row_path, f"clashes with another member's path ({error.strerror})")
            return
        with out:
            try:
                written = _copy(_read_chunks(source), out, budget, what)
            except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError) as error:
                raise UploadRefused(f"{what} could not be extracted ({error}).") from error
    if written > info.file_size:
        raise UploadRefused(f"{what} is larger than the archive declared; refused.")


def _read_chunks(source: IO[bytes]) -> Iterator[bytes]:
    while chunk := source.read(CHUNK_BYTES):
        yield chunk


def _copy(chunks: Iterable[bytes], out: IO[bytes], budget: _Budget, what: str) -> int:
    """Copy while counting: the limit holds for the bytes written, not the sizes claimed."""
    written = 0
    for chunk in chunks:
        budget.spend(what, len(chunk))
        out.write(chunk)
        written += len(chunk)
    return written


# --- the import page -------------------------------------------------------------------------


class MultipleFileInput(forms.FileInput):
    """A file input with `multiple`, so staff can pick a whole folder's worth of files at once."""

    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that takes several files at once and cleans to a list."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".txt,.zip"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            if not data:
                return [single(None, initial)]
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class ImportUploadForm(forms.Form):
    files = MultipleFileField(
        label="Seed files",
        # An empty file is the importer's to report ("failed: empty"), like any other bad file.
        allow_empty_file=True,
        help_text="One or several .txt seed files, or .zip archives of them.",
    )
    dry_run = forms.BooleanField(
        required=False, label="Dry run", help_text="Parse and report without writing anything."
    )


@dataclass
class ReportRow:
    """One row of the report table as the template shows it."""

    path: str
    status: str
    article_id: int | None
    article_url: str | None
    error: str | None
    warnings: list[str]


def run_upload_import(
    uploads: list[UploadedFile], *, dry_run: bool = False
) -> tuple[ImportSummary, list[FileReport]]:
    """Stage the uploads in a fresh temporary folder, import it, and remove it again.

    Report paths are made relative to that folder, so the table shows `seeds/a.txt` (the
    path the archive records) rather than a temporary location that is already gone.
    """
    with tempfile.TemporaryDirectory(
        prefix="newsarchive-upload-", dir=settings.FILE_UPLOAD_TEMP_DIR
    ) as tmp:
        folder = Path(tmp)
        staged = stage_uploads(uploads, folder)
        reports: list[FileReport] = []

        def collect(report: FileReport) -> None:
            report.path = _relative(report.path, folder)
            reports.append(report)

        summary = import_paths(
            [folder],
            dry_run=dry_run,
            relative_to=folder,
            on_report=collect,
            origin="admin",
            read_ahead=False,  # no fork of a web server's process, whose other threads hold locks
        )
    # The run would list the temporary folder, gone by now; what staff uploaded says more.
    # The folder's name is unique, so this touches this run only.
    ImportRun.objects.filter(origin="admin", paths=str(folder)).update(
        paths="\n".join(upload.name or "" for upload in uploads)
    )
    summary.counts["skipped"] += len(staged.refused)
    return summary, staged.refused + reports


def _relative(path: str, folder: Path) -> str:
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return path


def may_import(model_admin: ModelAdmin, request: HttpRequest) -> bool:
    """An import both creates and updates articles, so it needs both permissions."""
    return model_admin.has_add_permission(request) and model_admin.has_change_permission(request)


def import_view(model_admin: ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Upload seed files and show the importer's per-file report and summary line."""
    if not may_import(model_admin, request):
        raise PermissionDenied
    summary: ImportSummary | None = None
    rows: list[ReportRow] = []
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                summary, reports = run_upload_import(
                    form.cleaned_data["files"], dry_run=form.cleaned_data["dry_run"]
                )
            except UploadRefused as refusal:
                messages.error(request, f"Nothing was imported. {refusal}")
            else:
                rows = [_row(report) for report in reports]
    else:
        form = ImportUploadForm()
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Import seed files",
        "form": form,
        "summary": summary,
        "rows": rows,
        "limits": UploadLimits.from_settings(),
    }
    return TemplateResponse(request, "admin/articles/article/import_seeds.html", context)


def _row(report: FileReport) -> ReportRow:
    url = None
    if report.article_id is not None:
        url = reverse("admin:articles_article_change", args=[report.article_id])
    return ReportRow(
        report.path, report.status, report.article_id, url, report.error, list(report.warnings)
    )


# --- the index-health page -------------------------------------------------------------------


def index_health_view(model_admin: ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Show drift between database and index; POST fixes it (then redirects, so reload is safe)."""
    if request.method == "POST":
        if not model_admin.has_change_permission(request):
            raise PermissionDenied
        fixed = fix_drift()
        if fixed.drift:
            messages.success(
                request,
                f"Indexed {len(fixed.missing)} missing and removed {len(fixed.stale)} stale "
                f"articles; re-indexed {len(fixed.duplicated)} indexed more than once.",
            )
        else:
            messages.info(request, "There was no drift to fix.")
        return HttpResponseRedirect(request.path)
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    health = index_health()
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Search index health",
        "health": health,
        "missing_sample": health.missing[:DRIFT_SAMPLE],
        "stale_sample": health.stale[:DRIFT_SAMPLE],
        "last_run": ImportRun.objects.order_by("-started").first(),
        "can_fix": model_admin.has_change_permission(request),
    }
    return TemplateResponse(request, "admin/articles/article/index_health.html", context)
