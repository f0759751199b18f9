"""The archive's data: articles and the sources and sections they are filed under."""

from __future__ import annotations

from django.db import models
from django.db.models import F
from django.urls import reverse
from django.utils.text import slugify

from articles.search.rules import display_name, label_key

#: Longest slug made from a title or name, leaving room in the column for a suffix that makes
#: it unique.
SLUG_LENGTH = 200

#: Newest first, undated articles last on every database (PostgreSQL sorts NULLs first), ties
#: by id: the order of every list of articles.
NEWEST_FIRST = (F("published").desc(nulls_last=True), "-id")


def slug_for(text: str, fallback: str = "article") -> str:
    """The slug a title or name starts from, before it is made unique (the importer, the admin
    and labels each do that their own way): ASCII words joined by hyphens, or ``fallback`` when
    nothing of the text survives (a title in Arabic script)."""
    return slugify(text)[:SLUG_LENGTH].strip("-") or fallback


class LabelQuerySet(models.QuerySet):
    def with_counts(self) -> LabelQuerySet:
        return self.annotate(article_count=models.Count("articles")).order_by(
            "-article_count", "name"
        )


class Label(models.Model):
    """A named facet value with a stable slug (shared shape of Source and Section)."""

    name = models.CharField(max_length=200)
    key = models.CharField(max_length=200, unique=True, editable=False)
    slug = models.SlugField(max_length=200, unique=True)

    objects = LabelQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name = display_name(self.name)
        self.key = label_key(self.name)
        if not self.slug:
            self.slug = slug_for(self.name, f"{type(self).__name__.lower()}-{self.key[:40]}")
        super().save(*args, **kwargs)

    @classmethod
    def for_name(cls, name: str):
        """The label for a name from a file, created on first sight; None for a blank name."""
        key = label_key(name)
        if not key:
            return None
        label = cls.objects.filter(key=key).first()
        if label is None:
            label = cls(name=name, slug=unique_slug(cls, slug_for(name, "unnamed")))
            label.save()
        return label


def unique_slug(
    model: type[models.Model], base: str, field: str = "slug", exclude_pk: int | None = None
) -> str:
    """`base`, or `base-2`, `base-3`... whichever no other row uses yet."""
    base = base[:180] or "item"
    others = model.objects.exclude(pk=exclude_pk) if exclude_pk is not None else model.objects
    slug, n = base, 1
    while others.filter(**{field: slug}).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


class Source(Label):
    class Meta(Label.Meta):
        pass

    def get_absolute_url(self) -> str:
        return reverse("articles:source", kwargs={"slug": self.slug})


class Section(Label):
    class Meta(Label.Meta):
        pass

    def get_absolute_url(self) -> str:
        return reverse("articles:section", kwargs={"slug": self.slug})


class Article(models.Model):
    title = models.CharField(max_length=500)
    slug = models.SlugField(max_length=220, unique=True)
    body = models.TextField(help_text="The article text; paragraphs separated by blank lines.")
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="articles"
    )
    section = models.ForeignKey(
        Section, null=True, blank=True, on_delete=models.PROTECT, related_name="articles"
    )
    published = models.DateTimeField(null=True, blank=True, db_index=True)

    # Provenance: what the archive was given, kept verbatim.
    original_text = models.TextField(blank=True, editable=False)
    source_path = models.CharField(
        max_length=1000,
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="The seed file's path relative to the import root.",
    )
    fingerprint = models.CharField(
        max_length=64,
        unique=True,
        editable=False,
        help_text="SHA-256 of the file's text after decoding and normalising line ends.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Story threads (articles/threads.py keeps both): the id of the thread's first article when
    # this one has other versions (re-sends, corrections, reprints), else None; and the MinHash
    # signature of its text that decides it.
    thread = models.BigIntegerField(
        null=True,
        blank=True,
        editable=False,
        db_index=True,
        help_text="The story thread: its first article's id; empty when there is no other version.",
    )
    minhash = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-published", "-id"]
        indexes = [
            models.Index(fields=["source", "-published"], name="article_source_published"),
            models.Index(fields=["section", "-published"], name="article_section_published"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        if self.published is None:
            return reverse("articles:article_undated", kwargs={"slug": self.slug})
        from django.utils import timezone

        day = timezone.localtime(self.published)
        return reverse(
            "articles:article",
            kwargs={"year": day.year, "month": day.month, "day": day.day, "slug": self.slug},
        )

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.body.split("\n\n") if p.strip()]


class ImportRun(models.Model):
    """One run of the import service, kept so staff can see when and how the last import went."""

    ORIGINS = [("command", "import_seeds command"), ("admin", "admin upload")]

    origin = models.CharField(max_length=20, choices=ORIGINS, default="command")
    started = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    paths = models.TextField(blank=True, help_text="The paths given, one per line.")
    counts = models.JSONField(default=dict, blank=True)
    elapsed = models.FloatField(default=0.0)

    class Meta:
        ordering = ["-started"]
        get_latest_by = "started"

    def __str__(self) -> str:
        return f"{self.get_origin_display()} at {self.started:%Y-%m-%d %H:%M}"
