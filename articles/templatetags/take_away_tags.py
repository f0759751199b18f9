"""`{% take_away_links query as take_away %}`: a results page's feed, export and JSON API links,
built from the search's canonical parameters (articles.exports.take_away_links)."""

from __future__ import annotations

from django import template

from articles import exports
from articles.search import SearchQuery

register = template.Library()


@register.simple_tag
def take_away_links(query: SearchQuery) -> exports.TakeAwayLinks:
    return exports.take_away_links(query)
