"""Links to feeds and exports in templates: `{% take_away_links query as take_away %}` (a
results page's feed, exports and JSON API URL, from the search's canonical parameters) and
`{% label_feed_url label as feed_url %}` (a source's or section's feed)."""

from __future__ import annotations

from django import template
from django.urls import reverse

from articles import exports
from articles.models import Section, Source
from articles.search import SearchQuery

register = template.Library()


@register.simple_tag
def take_away_links(query: SearchQuery) -> exports.TakeAwayLinks:
    return exports.take_away_links(query)


@register.simple_tag
def label_feed_url(label: Source | Section) -> str:
    name = "articles:source_feed" if isinstance(label, Source) else "articles:section_feed"
    return reverse(name, kwargs={"slug": label.slug})
