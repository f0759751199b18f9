"""The admin: article editing, sources and sections, seed uploads, re-indexing, index health.

Every change made through the admin must show in search as soon as it commits, so these tests
use a transactional database (on_commit hooks fire) and ask the search service itself.
"""

from __future__ import annotations

import datetime as dt
import io
import stat
import threading
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles import admin_views
from articles.importer import import_paths
from articles.models import Article, ImportRun, Section, Source
from articles.search import SearchQuery, indexed_ids, search, unindex_articles
from articles.seedfile import fingerprint

from .conftest import seed_text

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "admin:articles_article_changelist"
IMPORT = "admin:articles_article_import"
INDEX_HEALTH = "admin:articles_article_index_health"


# --- helpers ---------------------------------------------------------------------------------


def found(q: str) -> list[str]:
    """Titles the search service returns for a query, right now."""
    return [hit.title for hit in search(SearchQuery(q=q)).hits]


def change_url(article: Article) -> str:
    return reverse("admin:articles_article_change", args=[article.pk])


def form_data(article: Article | None = None, **fields) -> dict[str, str]:
    """The article form as a browser posts it, from an article's values plus overrides."""
    data = {
        "title": "",
        "slug": "",
        "source": "",
        "section": "",
        "published_0": "",
        "published_1": "",
        "body": "",
    }
    if article is not None:
        published = article.published
        data.update(
            title=article.title,
            slug=article.slug,
            source=str(article.source_id or ""),
            section=str(article.section_id or ""),
            published_0=published.strftime("%Y-%m-%d") if published else "",
            published_1=published.strftime("%H:%M:%S") if published else "",
            body=article.body,
        )
    data.update(fields)
    return data


def zip_of(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(zipfile.ZipInfo(name), content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def upload(name: str, content: bytes | str) -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data)


def post_import(client, *files: SimpleUploadedFile, **fields):
    return client.post(reverse(IMPORT), {"files": list(files), **fields})


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def report_rows(response) -> dict[str, tuple[str, str | None]]:
    """The import report as {path: (status, error)}."""
    return {row.path: (row.status, row.error) for row in response.context["rows"]}


@pytest.fixture
def upload_tmp(settings, tmp_path: Path) -> Path:
    """Where uploads are unpacked during a test (the parent of the per-upload folder)."""
    folder = tmp_path / "upload-tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


# --- the article list and form ---------------------------------------------------------------


def test_article_list_shows_title_source_section_and_published(staff_client, make_article):
    make_article("Rebels advance on Aleppo", source="AFP", section="Mid-East")

    response = staff_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert response.context["cl"].list_display == [
        "action_checkbox",
        "title",
        "source",
        "section",
        "published",
    ]
    page = response.content.decode()
    for text in ("Rebels advance on Aleppo", "AFP", "Mid-East", "10 Oct 2015"):
        assert text in page


def test_article_list_query_count_does_not_grow_with_the_number_of_articles(
    staff_client, make_article
):
    make_article("One", source="AFP", section="World")
    with CaptureQueriesContext(connection) as few:
        staff_client.get(reverse(CHANGELIST))
    for n in range(8):
        make_article(f"More {n}", source=f"Source {n}", section=f"Section {n}")
    with CaptureQueriesContext(connection) as many:
        staff_client.get(reverse(CHANGELIST))

    assert len(many) == len(few)


def test_article_list_search_matches_title_and_body(staff_client, make_article):
    make_article("Cocoa prices climb", body="Traders in Bahia were surprised.")
    make_article("Harvest report", body="Cocoa farmers expect a record year.")
    make_article("Football results", body="A draw in Lisbon.")

    response = staff_client.get(reverse(CHANGELIST), {"q": "cocoa"})

    titles = {a.title for a in response.context["cl"].result_list}
    assert titles == {"Cocoa prices climb", "Harvest report"}


def test_article_list_search_speaks_the_query_language_and_ranks_best_first(
    staff_client, make_article
):
    make_article("Football results", body="Cocoa was mentioned once.")
    make_article("Cocoa prices climb", body="Cocoa rose again; cocoa traders cheered cocoa.")
    make_article("Harvest report", body="Farmers expect a record cocoa year.")

    ranked = staff_client.get(reverse(CHANGELIST), {"q": "cocoa"}).context["cl"].result_list
    service = found("cocoa")
    assert [a.title for a in ranked] == service and len(service) == 3
    titled = staff_client.get(reverse(CHANGELIST), {"q": "title:cocoa -football"})
    assert [a.title for a in titled.context["cl"].result_list] == ["Cocoa prices climb"]
    by_column = staff_client.get(reverse(CHANGELIST), {"q": "cocoa", "o": "1"})
    assert [a.title for a in by_column.context["cl"].result_list] == sorted(service)


def test_article_list_search_falls_back_to_the_database_while_search_is_down(
    staff_client, make_article, search_index_dir: Path, search_failures
):
    make_article("Cocoa prices climb", body="Traders in Bahia were surprised.")
    make_article("Football results", body="A draw in Lisbon.")
    search_index_dir.rename(search_index_dir.with_name("index-moved"))

    response = staff_client.get(reverse(CHANGELIST), {"q": "cocoa"})

    assert [a.title for a in response.context["cl"].result_list] == ["Cocoa prices climb"]
    assert len(search_failures) == 1


def test_the_date_drill_down_lists_the_years_that_hold_articles(staff_client, make_article):
    for year in (2014, 2016):
        make_article(f"Story of {year}", published=dt.datetime(year, 5, 1, tzinfo=dt.UTC))

    html = staff_client.get(reverse(CHANGELIST)).content.decode()

    assert "?published__year=2014" in html and "?published__year=2016" in html
    assert "published__year=2015" not in html
    month = staff_client.get(reverse(CHANGELIST), {"published__year": "2016"}).content.decode()
    assert "published__month=5" in month  # the levels below are Django's own


def test_the_admin_is_titled_after_the_archive(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "newsarchive administration" in html and "Django administration" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"source__id__exact": "{reuters}"}, {"Reuters story"}),
        ({"section__id__exact": "{sport}"}, {"Sport story"}),
        ({"published__year": "2014"}, {"Old story"}),
    ],
    ids=["source", "section", "date"],
)
def test_article_list_filters_by_source_section_and_date(
    staff_client, make_article, query, expected
):
    make_article("Reuters story", source="Reuters", section="World")
    make_article("Sport story", source="AFP", section="Sport")
    make_article("Old story", published=dt.datetime(2014, 3, 1, tzinfo=dt.UTC))
    ids = {
        "reuters": Source.objects.get(name="Reuters").pk,
        "sport": Section.objects.get(name="Sport").pk,
    }

    params = {key: value.format(**ids) for key, value in query.items()}
    response = staff_client.get(reverse(CHANGELIST), params)

    assert {a.title for a in response.context["cl"].result_list} == expected


def test_article_list_has_filters_and_a_date_hierarchy_on_published(staff_client, make_article):
    make_article()

    response = staff_client.get(reverse(CHANGELIST))

    cl = response.context["cl"]
    assert cl.date_hierarchy == "published"
    assert [spec.title for spec in cl.filter_specs] == ["source", "section", "published"]


def test_add_form_prefills_the_slug_from_the_title(staff_client):
    response = staff_client.get(reverse("admin:articles_article_add"))

    prepopulated = response.context["adminform"].prepopulated_fields
    assert [(p["field"].name, [d.name for d in p["dependencies"]]) for p in prepopulated] == [
        ("slug", ["title"])
    ]
    assert "data-prepopulated-fields" in response.content.decode()


def test_blank_slug_is_made_from_the_title(staff_client):
    staff_client.post(
        reverse("admin:articles_article_add"), form_data(title="Rebels take Palmyra", body="Text.")
    )

    assert Article.objects.get().slug == "rebels-take-palmyra"


def test_blank_slug_of_a_repeated_title_is_made_unique(staff_client, make_article):
    make_article("Rebels take Palmyra", slug="rebels-take-palmyra")

    staff_client.post(
        reverse("admin:articles_article_add"), form_data(title="Rebels take Palmyra", body="New.")
    )

    assert Article.objects.latest("id").slug == "rebels-take-palmyra-2"


def test_slug_already_in_use_is_refused(staff_client, make_article):
    make_article(slug="taken")

    response = staff_client.post(
        reverse("admin:articles_article_add"), form_data(title="Other", slug="taken", body="B.")
    )

    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert Article.objects.count() == 1


def test_hand_made_article_gets_the_fingerprint_of_its_content(staff_client):
    staff_client.post(
        reverse("admin:articles_article_add"),
        form_data(
            title="Hand made", body="Typed in.", published_0="2015-10-10", published_1="9:00"
        ),
    )

    article = Article.objects.get()
    assert article.fingerprint == fingerprint(f"Hand made\n{article.published}\nTyped in.")


def test_hand_made_duplicate_of_an_article_is_refused(staff_client):
    data = form_data(title="Same", body="Same text.")
    staff_client.post(reverse("admin:articles_article_add"), data)

    response = staff_client.post(reverse("admin:articles_article_add"), {**data, "slug": "other"})

    assert response.status_code == 200
    assert "already has this title, date and text" in str(response.context["adminform"].form.errors)
    assert Article.objects.count() == 1


def test_provenance_is_read_only_in_a_collapsed_fieldset(staff_client, make_article):
    article = make_article(original_text="As given.", source_path="seeds/a.txt")

    response = staff_client.get(change_url(article))

    fieldsets = {fs.name: fs for fs in response.context["adminform"]}
    provenance = fieldsets["Provenance"]
    assert "collapse" in provenance.classes
    assert set(provenance.readonly_fields) == {
        "original_text",
        "source_path",
        "fingerprint",
        "created",
        "updated",
        "story_thread",  # the admin's read-only fields, shown in their own fieldset
    }
    assert "As given." in response.content.decode()


def test_posted_provenance_values_are_ignored(staff_client, make_article):
    article = make_article(original_text="As given.", source_path="seeds/a.txt")

    staff_client.post(
        change_url(article),
        form_data(article, original_text="forged", source_path="/etc/passwd", fingerprint="x"),
    )

    article.refresh_from_db()
    assert (article.original_text, article.source_path) == ("As given.", "seeds/a.txt")
    assert article.fingerprint == f"{1:064x}"


def test_editing_an_imported_article_keeps_its_file_fingerprint(staff_client, make_article):
    article = make_article(source_path="seeds/a.txt", fingerprint="f" * 64)

    staff_client.post(change_url(article), form_data(article, title="Corrected title"))

    article.refresh_from_db()
    assert (article.title, article.fingerprint) == ("Corrected title", "f" * 64)


# --- every admin change shows in search once committed --------------------------------------


def test_article_added_in_the_admin_is_found_by_search(staff_client):
    response = staff_client.post(
        reverse("admin:articles_article_add"),
        form_data(title="Zeppelin lands in Lisbon", body="Crowds gathered at the airfield."),
    )

    assert response.status_code == 302
    assert found("zeppelin") == ["Zeppelin lands in Lisbon"]


def test_article_changed_in_the_admin_is_found_by_its_new_title(staff_client, make_article):
    article = make_article("Storm hits coast", body="Winds reached 120 km/h.")

    response = staff_client.post(
        change_url(article), form_data(article, title="Typhoon hits coast")
    )

    assert response.status_code == 302
    assert found("typhoon") == ["Typhoon hits coast"]
    assert found("storm") == []


def test_article_deleted_in_the_admin_disappears_from_search(staff_client, make_article):
    article = make_article("Glacier retreats", body="Measurements from the summer.")
    assert found("glacier") == ["Glacier retreats"]

    response = staff_client.post(
        reverse("admin:articles_article_delete", args=[article.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert found("glacier") == []


def test_bulk_delete_selected_removes_the_articles_from_search(staff_client, make_article):
    doomed = [make_article(f"Volcano report {n}", body="Ash fell.") for n in range(3)]
    make_article("Volcano survivor", body="Still here.")

    response = staff_client.post(
        reverse(CHANGELIST),
        {
            "action": "delete_selected",
            "_selected_action": [a.pk for a in doomed],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert found("volcano") == ["Volcano survivor"]


def test_renaming_a_source_relabels_its_articles_in_search(staff_client, make_article):
    make_article("Cocoa prices climb", source="AFP")
    source = Source.objects.get(name="AFP")

    response = staff_client.post(
        reverse("admin:articles_source_change", args=[source.pk]),
        {"name": "Agence France-Presse", "slug": source.slug},
    )

    assert response.status_code == 302
    results = search(SearchQuery(q="cocoa"))
    assert [hit.source for hit in results.hits] == ["Agence France-Presse"]
    assert {str(facet.value) for facet in results.facets["source"]} == {"Agence France-Presse"}
    renamed = search(SearchQuery(q="cocoa", sources=("Agence France-Presse",)))
    assert [hit.title for hit in renamed.hits] == ["Cocoa prices climb"]


def test_renaming_a_section_relabels_its_articles_in_search(staff_client, make_article):
    make_article("Cocoa prices climb", section="Mid-East")
    section = Section.objects.get(name="Mid-East")

    staff_client.post(
        reverse("admin:articles_section_change", args=[section.pk]),
        {"name": "Middle East", "slug": section.slug},
    )

    results = search(SearchQuery(q="cocoa"))
    assert [hit.section for hit in results.hits] == ["Middle East"]
    assert {str(facet.value) for facet in results.facets["section"]} == {"Middle East"}


# --- sources and sections --------------------------------------------------------------------


@pytest.mark.parametrize("model", ["source", "section"])
def test_source_and_section_lists_show_article_counts(staff_client, make_article, model):
    make_article("One", source="AFP", section="World")
    make_article("Two", source="AFP", section="World")
    make_article("Three", source="Reuters", section="Sport")

    response = staff_client.get(reverse(f"admin:articles_{model}_changelist"))

    counts = {label.name: label.article_count for label in response.context["cl"].result_list}
    expected = {"source": {"AFP": 2, "Reuters": 1}, "section": {"World": 2, "Sport": 1}}
    assert counts == expected[model]


def test_renaming_a_source_onto_another_sources_name_is_refused(staff_client, make_article):
    make_article("One", source="AFP")
    make_article("Two", source="Reuters")
    reuters = Source.objects.get(name="Reuters")

    response = staff_client.post(
        reverse("admin:articles_source_change", args=[reuters.pk]),
        {"name": " afp ", "slug": reuters.slug},
    )

    assert response.status_code == 200
    assert "AFP already exists" in str(response.context["adminform"].form.errors)
    assert Source.objects.get(pk=reuters.pk).name == "Reuters"


# --- importing uploaded seed files -----------------------------------------------------------


def test_article_list_links_to_the_import_page(staff_client):
    response = staff_client.get(reverse(CHANGELIST))

    assert f'href="{reverse(IMPORT)}"' in response.content.decode()


def test_uploaded_text_files_are_imported_with_a_report_row_each(staff_client, upload_tmp):
    response = post_import(
        staff_client,
        upload("a.txt", seed_text("Cocoa prices climb")),
        upload("b.txt", seed_text("Coffee prices fall")),
    )

    assert response.status_code == 200
    assert report_rows(response) == {"a.txt": ("created", None), "b.txt": ("created", None)}
    assert set(Article.objects.values_list("source_path", flat=True)) == {"a.txt", "b.txt"}


def test_import_report_links_each_article_and_shows_the_summary_line(staff_client, upload_tmp):
    response = post_import(staff_client, upload("a.txt", seed_text("Cocoa prices climb")))

    article = Article.objects.get()
    page = response.content.decode()
    assert f'href="{change_url(article)}"' in page
    assert "1 created, 0 updated, 0 unchanged, 0 duplicate, 0 skipped, 0 failed" in page


def test_import_report_shows_errors_and_warnings(staff_client, upload_tmp):
    response = post_import(
        staff_client,
        upload("empty.txt", ""),
        upload("undated.txt", seed_text("Undated story", published=None)),
    )

    rows = {row.path: row for row in response.context["rows"]}
    assert rows["empty.txt"].status == "failed"
    assert "empty" in rows["empty.txt"].error
    assert rows["undated.txt"].status == "created"
    assert rows["undated.txt"].warnings


def test_zip_of_seed_files_is_imported_with_its_folders(staff_client, upload_tmp):
    archive = zip_of(
        {
            "seeds/a.txt": seed_text("Cocoa prices climb"),
            "seeds/2015/b.txt": seed_text("Coffee prices fall"),
        }
    )

    response = post_import(staff_client, upload("seeds.zip", archive))

    assert report_rows(response) == {
        "seeds/a.txt": ("created", None),
        "seeds/2015/b.txt": ("created", None),
    }


def test_imported_upload_is_found_by_search(staff_client, upload_tmp):
    post_import(staff_client, upload("a.txt", seed_text("Quokka census published")))

    assert found("quokka") == ["Quokka census published"]


def test_import_from_the_admin_is_recorded_as_an_admin_run(staff_client, upload_tmp):
    post_import(staff_client, upload("a.txt", seed_text()))

    run = ImportRun.objects.get()
    assert (run.origin, run.paths, run.counts["created"]) == ("admin", "a.txt", 1)


def test_dry_run_upload_reports_without_writing(staff_client, upload_tmp):
    response = post_import(staff_client, upload("a.txt", seed_text()), dry_run="on")

    assert report_rows(response) == {"a.txt": ("created", None)}
    assert Article.objects.count() == 0


def test_upload_folder_is_removed_after_the_import(staff_client, upload_tmp):
    post_import(staff_client, upload("seeds.zip", zip_of({"a.txt": seed_text()})))

    assert list(upload_tmp.iterdir()) == []


def test_upload_that_is_neither_text_nor_zip_is_refused(staff_client, upload_tmp):
    response = post_import(staff_client, upload("photo.jpg", b"\xff\xd8\xff\xe0"))

    assert any("photo.jpg: not a .txt seed file" in m for m in messages_of(response))
    assert Article.objects.count() == 0


def test_file_named_zip_that_is_no_zip_is_refused(staff_client, upload_tmp):
    response = post_import(staff_client, upload("seeds.zip", b"not a zip at all"))

    assert any("not a readable zip archive" in m for m in messages_of(response))


def test_refusal_imports_nothing_from_the_rest_of_the_upload(staff_client, upload_tmp):
    response = post_import(
        staff_client, upload("a.txt", seed_text()), upload("notes.docx", b"PK\x03\x04")
    )

    assert any(m.startswith("Nothing was imported.") for m in messages_of(response))
    assert Article.objects.count() == 0


@pytest.mark.parametrize(
    "member",
    [
        "../escape.txt",
        "seeds/../../escape.txt",
        "/tmp/escape.txt",
        "..\\escape.txt",
        "C:/escape.txt",
    ],
)
def test_zip_member_outside_the_folder_is_refused(staff_client, upload_tmp, member):
    archive = zip_of({"seeds/a.txt": seed_text(), member: seed_text("Escaped")})

    response = post_import(staff_client, upload("evil.zip", archive))

    assert any(f'member "{member}"' in m and "refused" in m for m in messages_of(response))
    assert Article.objects.count() == 0
    assert not any(path.name == "escape.txt" for path in upload_tmp.parent.rglob("*"))


def test_zip_symlink_member_is_refused(staff_client, upload_tmp):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("passwd.txt")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")

    response = post_import(staff_client, upload("links.zip", buffer.getvalue()))

    assert any('"passwd.txt" is a symbolic link' in m for m in messages_of(response))
    assert Article.objects.count() == 0


def test_zip_bomb_is_refused_from_its_declared_size(staff_client, upload_tmp, settings):
    settings.NEWSARCHIVE_UPLOAD_MAX_BYTES = 100_000
    bomb = zip_of({"bomb.txt": b"0" * 1_000_000})
    assert len(bomb) < 10_000

    response = post_import(staff_client, upload("bomb.zip", bomb))

    assert any("unpacks to more than" in m for m in messages_of(response))
    assert Article.objects.count() == 0


def test_zip_with_too_many_members_is_refused(staff_client, upload_tmp, settings):
    settings.NEWSARCHIVE_UPLOAD_MAX_FILES = 3
    archive = zip_of({f"{n}.txt": seed_text(f"Story {n}") for n in range(4)})

    response = post_import(staff_client, upload("many.zip", archive))

    assert any("more than 3 files" in m for m in messages_of(response))
    assert Article.objects.count() == 0


def test_extraction_stops_at_the_byte_limit_even_if_the_central_directory_lies(
    tmp_path, monkeypatch
):
    # A central directory that understates sizes passes the up-front check; the bytes counted
    # while writing still stop the extraction.
    monkeypatch.setattr(admin_views._Budget, "declare", lambda self, what, files, size: None)
    archive = upload("bomb.zip", zip_of({"bomb.txt": b"0" * 1_000_000}))
    limits = admin_views.UploadLimits(max_bytes=100_000, max_files=10)

    with pytest.raises(admin_views.UploadRefused, match="extracting stopped"):
        admin_views.stage_uploads([archive], tmp_path, limits)

    assert (tmp_path / "bomb.txt").stat().st_size <= 100_000


def test_zip_with_a_corrupt_member_is_refused(staff_client, upload_tmp):
    archive = bytearray(zip_of({"a.txt": seed_text() * 50}))
    data_start = 30 + len("a.txt")  # the local file header, then the compressed bytes
    archive[data_start + 10 : data_start + 20] = b"\xff" * 10

    response = post_import(staff_client, upload("broken.zip", bytes(archive)))

    assert any('"a.txt" could not be extracted' in m for m in messages_of(response))
    assert Article.objects.count() == 0


def test_same_path_in_two_uploads_is_imported_once_and_reported(staff_client, upload_tmp):
    response = post_import(
        staff_client,
        upload("one.zip", zip_of({"a.txt": seed_text("First")})),
        upload("two.zip", zip_of({"a.txt": seed_text("Second")})),
    )

    assert report_rows(response) == {
        "two.zip: a.txt": ("skipped", "another uploaded file has the same path"),
        "a.txt": ("created", None),
    }
    assert Article.objects.get().title == "First"


def test_non_text_zip_members_are_skipped_with_a_reason(staff_client, upload_tmp):
    archive = zip_of({"a.txt": seed_text(), "photo.jpg": b"\xff\xd8", "inner.zip": b"PK"})

    response = post_import(staff_client, upload("seeds.zip", archive))

    assert report_rows(response) == {
        "seeds.zip: photo.jpg": ("skipped", "not a .txt file; not extracted"),
        "seeds.zip: inner.zip": ("skipped", "not a .txt file; not extracted"),
        "a.txt": ("created", None),
    }
    assert (
        "1 created, 0 updated, 0 unchanged, 0 duplicate, 2 skipped"
        in response.context["summary"].line()
    )


# --- re-indexing and index health ------------------------------------------------------------


def test_reindex_action_puts_selected_articles_back_in_the_index(staff_client, make_article):
    article = make_article("Lost lighthouse", body="Keeper found.")
    unindex_articles([article.pk])
    assert found("lighthouse") == []

    response = staff_client.post(
        reverse(CHANGELIST), {"action": "reindex_selected", "_selected_action": [article.pk]}
    )

    assert response.status_code == 302
    assert found("lighthouse") == ["Lost lighthouse"]


def delete_behind_the_index(article: Article) -> None:
    """Delete a row without the signals, as a crash between commit and index update would."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Article._meta.db_table} WHERE id = %s", [article.pk])


def test_index_health_shows_counts_and_drift(staff_client, make_article):
    kept, unindexed, deleted = (make_article(f"Story {n}") for n in range(3))
    unindex_articles([unindexed.pk])
    delete_behind_the_index(deleted)

    response = staff_client.get(reverse(INDEX_HEALTH))

    health = response.context["health"]
    assert (health.in_database, health.in_index) == (2, 2)
    assert (health.missing, health.stale) == ([unindexed.pk], [deleted.pk])
    assert "Fix drift" in response.content.decode()


def test_fix_drift_indexes_missing_articles_and_drops_stale_ones(staff_client, make_article):
    kept, unindexed, deleted = (make_article(f"Story {n}") for n in range(3))
    unindex_articles([unindexed.pk])
    delete_behind_the_index(deleted)

    response = staff_client.post(reverse(INDEX_HEALTH))

    assert response.status_code == 302
    assert indexed_ids() == {kept.pk, unindexed.pk}


def test_index_health_shows_the_last_import_and_its_counts(staff_client, write_seed, tmp_path):
    write_seed("a.txt")
    write_seed("b.md")
    import_paths([tmp_path / "seeds"])

    response = staff_client.get(reverse(INDEX_HEALTH))

    assert response.context["last_run"] == ImportRun.objects.get()
    page = response.content.decode()
    assert '<td class="count-created">1</td>' in page
    assert '<td class="count-skipped">1</td>' in page


def test_index_health_with_no_drift_offers_no_fix(staff_client, make_article):
    make_article()

    response = staff_client.get(reverse(INDEX_HEALTH))

    assert "The index matches the database." in response.content.decode()
    assert "Fix drift" not in response.content.decode()


# --- who may use the admin -------------------------------------------------------------------

ADMIN_PAGES = [CHANGELIST, IMPORT, INDEX_HEALTH, "admin:articles_source_changelist"]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_anonymous_visitor_is_sent_to_the_login_page(client, page):
    response = client.get(reverse(page))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_user_who_is_not_staff_is_sent_to_the_login_page(client, django_user_model, page):
    client.force_login(django_user_model.objects.create_user("reader"))

    response = client.get(reverse(page))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_anonymous_upload_is_refused_and_imports_nothing(client, upload_tmp):
    response = post_import(client, upload("a.txt", seed_text()))

    assert response.status_code == 302
    assert Article.objects.count() == 0


def test_staff_without_article_permissions_cannot_import_or_fix_the_index(
    client, django_user_model
):
    client.force_login(django_user_model.objects.create_user("guest", is_staff=True))

    assert client.get(reverse(IMPORT)).status_code == 403
    assert client.post(reverse(INDEX_HEALTH)).status_code == 403


# --- a save during a long import --------------------------------------------------------------


def test_admin_save_during_a_long_import_is_neither_refused_nor_lost(
    staff_client, make_article, tmp_path
):
    folder = tmp_path / "bulk"
    folder.mkdir()
    for n in range(300):
        (folder / f"{n:03}.txt").write_text(
            f"Bulk story {n}\n\nSource:AFP Published: 2015-10-10 0:38:02\n\n"
            f"Body paragraph.\n\nPosted in: Mid-East\n",
            encoding="utf-8",
        )
    article = make_article("Storm hits coast", body="Winds reached 120 km/h.")
    import_started, reports, failures = threading.Event(), [], []

    def run_import() -> None:
        def on_report(report) -> None:
            reports.append(report)
            import_started.set()

        try:
            import_paths([folder], batch_size=10, on_report=on_report)
        except Exception as error:  # reported by the assertion below
            failures.append(error)
        finally:
            import_started.set()
            connection.close()

    importer = threading.Thread(target=run_import)
    importer.start()
    assert import_started.wait(30)
    import_was_running = importer.is_alive()
    response = staff_client.post(
        change_url(article), form_data(article, title="Typhoon hits coast")
    )
    importer.join(120)

    assert import_was_running and not importer.is_alive()
    assert failures == []
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.title == "Typhoon hits coast"
    assert found("typhoon") == ["Typhoon hits coast"]
    assert len(reports) == 300
    assert {r.status for r in reports} == {"created"}
    imported = set(Article.objects.exclude(pk=article.pk).values_list("id", flat=True))
    assert len(imported) == 300
    assert imported | {article.pk} <= indexed_ids()
