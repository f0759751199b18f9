"""The archive's admin: articles, their sources and sections, imports and the search index.

Nothing here touches the search index on save or delete: `articles.signals` indexes every
change when its transaction commits, so the admin, the importer and the shell behave alike.
The admin only adds what a person needs on top: uploads, a re-index action and a health page.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from . import admin_views, threads
from .models import (
    Article,
    ImportRun,
    Label,
    Section,
    Source,
    display_name,
    label_key,
    slug_for,
    unique_slug,
)

PROVENANCE_FIELDS = ("original_text", "source_path", "fingerprint", "created", "updated")
#: The most matches an admin search lists, best first: a person reads the top of a ranked list
#: and narrows the words, and ranking a bounded id list keeps the query small at any size.
ADMIN_SEARCH_LIMIT = 1000
#: What the article list is ordered by while it shows search results (annotated there).
SEARCH_RANK = "search_rank"

admin.site.site_header = "newsarchive administration"
admin.site.site_title = "newsarchive admin"
admin.site.index_title = "Archive administration"


def manual_fingerprint(title: str, published: object, body: str) -> str:
    """The fingerprint of an article written in the admin rather than imported from a file.

    The column is unique and required; for a hand-made article its content is what identifies
    it, so two identical hand-made articles are caught as duplicates, just as files are.
    """
    from .seedfile import fingerprint

    return fingerprint(f"{title}\n{published}\n{body}")


class ArticleAdminForm(forms.ModelForm):
    """Fills a blank slug from the title and refuses a hand-made duplicate before saving."""

    class Meta:
        model = Article
        fields = ["title", "slug", "source", "section", "published", "body"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = "Left blank, it is made from the title."

    def clean(self) -> dict:
        data = super().clean()
        title = data.get("title")
        if title and "slug" in self.fields and not data.get("slug"):
            data["slug"] = self._free_slug(title)
        if self.instance.source_path is None and title and data.get("body") is not None:
            self._refuse_duplicate(manual_fingerprint(title, data.get("published"), data["body"]))
        return data

    def _free_slug(self, title: str) -> str:
        return unique_slug(Article, slug_for(title), exclude_pk=self.instance.pk)

    def _refuse_duplicate(self, fingerprint: str) -> None:
        twin = Article.objects.filter(fingerprint=fingerprint).exclude(pk=self.instance.pk).first()
        if twin is not None:
            raise ValidationError(
                "Article %(id)s already has this title, date and text.",
                code="duplicate",
                params={"id": twin.pk},
            )


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleAdminForm
    list_display = ("title", "source", "section", "published")
    list_select_related = ("source", "section")
    list_filter = ("source", "section", "published")
    # Searched through the search service (get_search_results), not with icontains.
    search_fields = ("title", "body")
    search_help_text = (
        'The site\'s query language (words, "phrases", OR, -word, title:, source:…); '
        f"the best {ADMIN_SEARCH_LIMIT:,} matches, best first."
    )
    # Counting the whole table for "N total" is a full scan at scale; the filtered count stays.
    show_full_result_count = False
    date_hierarchy = "published"
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("source", "section")
    readonly_fields = (*PROVENANCE_FIELDS, "story_thread")
    fieldsets = (
        (None, {"fields": ("title", "slug", "source", "section", "published", "body")}),
        (
            "Story thread",
            {
                "fields": ("story_thread",),
                "description": "Other versions of this story (re-sends, corrections, reprints), "
                "grouped by the similarity of their texts; kept up to date on every save.",
            },
        ),
        (
            "Provenance",
            {
                "classes": ("collapse",),
                "fields": PROVENANCE_FIELDS,
                "description": "What the archive was given, kept verbatim; not editable.",
            },
        ),
    )
    actions = ["reindex_selected"]

    @admin.display(description="Versions")
    def story_thread(self, obj: Article) -> str:
        """The thread's other articles, each linked to its change page."""
        if obj.pk is None or obj.thread is None:
            return "No other version."
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a> · {} · {}</li>',
            (
                (
                    reverse("admin:articles_article_change", args=[other.pk]),
                    other.title,
                    other.source or "no source",
                    other.published.strftime("%Y-%m-%d %H:%M") if other.published else "undated",
                )
                for other in threads.versions(obj)
            ),
        )
        return format_html("Thread {} <ul>{}</ul>", obj.thread, items)

    def save_model(
        self, request: HttpRequest, obj: Article, form: forms.ModelForm, change: bool
    ) -> None:
        # Imported articles keep the fingerprint of their file (provenance, and what tells a
        # re-import the file is unchanged); hand-made ones are identified by their content.
        if obj.source_path is None:
            obj.fingerprint = manual_fingerprint(obj.title, obj.published, obj.body)
        super().save_model(request, obj, form, change)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Article], search_term: str
    ) -> tuple[QuerySet[Article], bool]:
        """The search service's matches, ranked as on the site, instead of ``icontains`` over
        every body (seconds at 300,000 articles). While search is down, Django's own search."""
        from .search import SearchQuery, SearchUnavailable, matching_ids

        if not search_term.strip():
            return queryset, False
        try:
            found = matching_ids(SearchQuery(q=search_term, collapse=False), ADMIN_SEARCH_LIMIT)
        except SearchUnavailable:
            return super().get_search_results(request, queryset, search_term)
        if found.total > len(found.ids):
            self.message_user(
                request,
                f"{found.total:,} articles match; the best {len(found.ids):,} are listed.",
                messages.INFO,
            )
        queryset = queryset.filter(pk__in=found.ids).annotate(**{SEARCH_RANK: _rank(found.ids)})
        if ORDER_VAR not in request.GET:  # a clicked column still sorts instead
            queryset = queryset.order_by(SEARCH_RANK)
        return queryset, False

    @admin.action(description="Re-index selected articles", permissions=["change"])
    def reindex_selected(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        from .search import index_articles

        ids = list(queryset.values_list("id", flat=True))
        index_articles(ids)
        self.message_user(request, f"Re-indexed {len(ids)} articles.", messages.SUCCESS)

    def has_import_permission(self, request: HttpRequest) -> bool:
        return admin_views.may_import(self, request)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        context = {
            **(extra_context or {}),
            "has_import_permission": self.has_import_permission(request),
        }
        return super().changelist_view(request, context)

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        own = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="{}_{}_import".format(*info),
            ),
            path(
                "index-health/",
                self.admin_site.admin_view(self.index_health_view),
                name="{}_{}_index_health".format(*info),
            ),
        ]
        return own + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        return admin_views.import_view(self, request)

    def index_health_view(self, request: HttpRequest) -> HttpResponse:
        return admin_views.index_health_view(self, request)


def _rank(ids: list[int]) -> RawSQL:
    """Each id's place in ``ids``, as one ``CASE id WHEN … THEN n`` (SQLite and PostgreSQL):
    a thousand Django ``When`` expressions cost half a second to build and compile."""
    if not ids:
        return RawSQL("0", ())
    column = (
        f"{connection.ops.quote_name(Article._meta.db_table)}.{connection.ops.quote_name('id')}"
    )
    whens = " ".join("WHEN %s THEN %s" for _ in ids)
    params = [value for n, pk in enumerate(ids) for value in (pk, n)]
    return RawSQL(f"CASE {column} {whens} END", params, output_field=IntegerField())


class LabelAdminForm(forms.ModelForm):
    """Refuses a rename onto another label's name, which the unique key column would reject."""

    def clean_name(self) -> str:
        name = display_name(self.cleaned_data["name"])
        key = label_key(name)
        if not key:
            raise ValidationError("The name cannot be blank.", code="blank")
        model = self._meta.model
        twin = model._default_manager.filter(key=key).exclude(pk=self.instance.pk).first()
        if twin is not None:
            raise ValidationError(
                "%(name)s already exists; names differing only in case or spacing are one.",
                code="duplicate",
                params={"name": twin.name},
            )
        return name


class LabelAdmin(admin.ModelAdmin):
    """Sources and sections: renaming one relabels its articles (the signals reindex them)."""

    form = LabelAdminForm
    fields = ("name", "slug")
    list_display = ("name", "slug", "article_count")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    # The article filter for this label in the article changelist, e.g. "source__id__exact".
    article_filter: str = ""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Label]:
        """Each label's article count as a subquery on the (label, published) index: a join
        with GROUP BY read every article and was repeated in the list's own count."""
        field = self.article_filter.split("__")[0]
        counts = (
            Article.objects.filter(**{field: OuterRef("pk")})
            .order_by()
            .values(field)
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(article_count=Coalesce(Subquery(counts, output_field=IntegerField()), 0))
        )

    @admin.display(description="Articles", ordering="article_count")
    def article_count(self, obj: Label) -> str:
        url = reverse("admin:articles_article_changelist")
        return format_html(
            '<a href="{}?{}={}">{}</a>', url, self.article_filter, obj.pk, obj.article_count
        )


@admin.register(Source)
class SourceAdmin(LabelAdmin):
    article_filter = "source__id__exact"


@admin.register(Section)
class SectionAdmin(LabelAdmin):
    article_filter = "section__id__exact"


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """A read-only log of imports, from the command and from admin uploads."""

    list_display = ("started", "origin", "dry_run", "summary", "elapsed", "finished")
    list_filter = ("origin", "dry_run")
    readonly_fields = ("origin", "started", "finished", "dry_run", "paths", "counts", "elapsed")

    @admin.display(description="Counts")
    def summary(self, obj: ImportRun) -> str:
        return ", ".join(f"{count} {status}" for status, count in obj.counts.items() if count)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ImportRun | None = None) -> bool:
        return False
