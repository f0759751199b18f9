"""`{% cite_article article %}`: the article page's "Cite this article" box (APA and BibTeX)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from articles.citations import cite

register = template.Library()


@register.inclusion_tag("articles/includes/citation.html", takes_context=True)
def cite_article(context: template.Context, article: Any) -> dict[str, Any]:
    """The citation with the article's absolute canonical URL and today as the access date,
    both in the archive's time zone, as the page shows its dates."""
    request = context["request"]
    accessed = timezone.localdate()
    published = timezone.localdate(article.published) if article.published else None
    source = article.source.name if article.source_id else None
    url = request.build_absolute_uri(article.get_absolute_url())
    return {
        "citation": cite(article.pk, article.title, source, published, url, accessed),
        "accessed": accessed,
    }
