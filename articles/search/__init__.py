"""The archive's search service: the one small API that views, the JSON API, admin and commands use.

Nobody outside this package imports Whoosh. ``search()`` takes a ``SearchQuery`` (the reader's
words and narrowing choices) and returns plain data (``SearchResults``: hits, facet values,
"did you mean", a friendly note when the query had to be repaired); it never raises for
anything a reader can type, and raises ``SearchUnavailable`` when the index cannot be reached
(an outage is not an empty result). The index is kept in step by ``index_articles`` /
``unindex_articles`` (signals and the importer call them after commit) and by the
``rebuild_index``, ``update_index`` and ``check_index`` commands.

The backend is chosen by ``settings.NEWSARCHIVE_SEARCH_BACKEND``: a short name from
``BACKENDS`` (``whoosh``, the default, or ``postgres``) or a dotted class path; one instance per
index folder.
What a backend must do is written in ``backends.SearchBackend``.

The package's modules, by what you would change in them:
- ``rules``: the sorts and their labels, page sizes, query and snippet lengths, how many related
  articles, the yyyymmdd day encoding, what makes two source names one;
- ``query``: the reader's query language, parsed into a backend-neutral tree;
- ``facets``: which facets a search shows, their labels, order and toggles;
- ``highlight``: snippets and marked titles;
- ``collapse``: story threads folded into their best hit (``SearchQuery.collapse``);
- ``errors`` and ``outage``: what a failing index raises (``IndexWriteError``,
  ``SearchUnavailable``);
- ``backends``: the backend contract; ``backends/whoosh/`` and ``backends/postgres/`` the two
  backends.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import NamedTuple

from django.conf import settings
from django.utils.module_loading import import_string

from . import collapse
from . import query as query_language
from .backends import BulkIndexer, Filters, SearchBackend
from .collapse import add_versions
from .errors import IndexLockedError, IndexWriteError, SearchUnavailable
from .facets import FacetCounts, FacetValue, facet_results, facets_for
from .highlight import highlight, make_matcher, snippet
from .outage import OutageLog
from .rules import (
    DEFAULT_PER_PAGE,
    MAX_PAGE,
    MAX_PER_PAGE,
    NEWEST,
    RELATED_COUNT,
    SORT_NAMES,
    day_number,
    effective_sort,
    label_key,
)

__all__ = [
    "FacetValue",
    "Hit",
    "Version",
    "BulkIndexer",
    "IndexLockedError",
    "IndexWriteError",
    "Matches",
    "NOTHING_LEFT",
    "SearchQuery",
    "SearchResults",
    "SearchUnavailable",
    "bulk_indexer",
    "clear_caches",
    "clear_index",
    "date_counts",
    "facet_counts",
    "get_backend",
    "index_articles",
    "indexed_id_counts",
    "indexed_ids",
    "indexed_versions",
    "matching_ids",
    "more_like_this",
    "optimize_index",
    "query_note",
    "rebuild_index",
    "reset_backend",
    "search",
    "unindex_articles",
    "warm_up",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchQuery:
    """What the reader asked for. Source and section are display names, matched by label key."""

    q: str = ""
    sources: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    year: int | None = None
    month: int | None = None
    day: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: str = ""  # one of rules.SORT_NAMES, or "" for the default (rules.effective_sort)
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    #: Fold each story thread into its best hit, as readers see results: the total and pages
    #: then count stories, facets still count articles (``collapse``). Callers that want
    #: every article (exports, feeds, the admin) or no hits at all turn it off.
    collapse: bool = True


@dataclass
class Version:
    """Another matching version of a hit's story, folded under it."""

    id: int
    title: str
    url: str
    source: str
    published: datetime | None


@dataclass
class Hit:
    id: int
    title: str
    title_html: str  # escaped, <mark> only
    url: str
    source: str
    section: str
    published: datetime | None
    snippet: str  # escaped HTML with <mark>
    thread: int | None = None  # the story thread (articles.threads), None without versions
    versions: list[Version] = field(default_factory=list)  # folded under it, in rank order

    @property
    def version_count(self) -> int:
        """How many matching versions this hit stands for (itself included)."""
        return 1 + len(self.versions)


@dataclass
class SearchResults:
    query: SearchQuery
    total: int
    page: int
    pages: int
    per_page: int
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    suggestion: str | None = None
    error: str | None = None
    #: The order the hits are in: the query's sort, or the default it resolved to ("" when
    #: the search could not be run).
    sort: str = ""
    #: Matching articles, every version counted: ``total`` too unless threads were folded.
    articles: int = 0
    #: Whether threads were folded: ``total`` and ``pages`` then count stories.
    collapsed: bool = False


# --- the backend ---------------------------------------------------------------------------

#: Short names for NEWSARCHIVE_SEARCH_BACKEND; any other value is a dotted class path.
BACKENDS = {
    "whoosh": "articles.search.backends.whoosh.WhooshBackend",
    "postgres": "articles.search.backends.postgres.PostgresBackend",
}

_backends: dict[tuple[str, str], SearchBackend] = {}
_backends_lock = threading.Lock()
_outage = OutageLog()


def get_backend() -> SearchBackend:
    """The backend for the current settings; one per (class, index folder), reused."""
    name = getattr(settings, "NEWSARCHIVE_SEARCH_BACKEND", "") or "whoosh"
    path = BACKENDS.get(name.strip().lower(), name)
    index_dir = str(getattr(settings, "NEWSARCHIVE_INDEX_DIR", ""))
    key = (path, index_dir)
    backend = _backends.get(key)
    if backend is None:
        with _backends_lock:
            backend = _backends.get(key)
            if backend is None:
                backend = import_string(path)()
                _backends[key] = backend
    return backend


def reset_backend() -> None:
    """Close and forget every backend (tests switch index folders between tests)."""
    with _backends_lock:
        for backend in _backends.values():
            backend.close()
        _backends.clear()
    collapse.cache.clear()
    _outage.reset()


# --- searching -----------------------------------------------------------------------------


def search(query: SearchQuery) -> SearchResults:
    """Run a search. Never raises for user input: repairs are described in ``error``.

    Raises ``SearchUnavailable`` when the index is missing (while the database holds
    articles), unreadable or corrupt; the outage is logged once, not per request.
    """
    query, notes = _normalise(query)
    parsed = query_language.parse(query.q)
    notes.extend(parsed.messages)
    sort = effective_sort(query.sort, has_words=parsed.node is not None)
    per_page = query.per_page
    if _nothing_left(parsed):
        notes.append(NOTHING_LEFT)
        return SearchResults(
            query=query, total=0, page=query.page, pages=0, per_page=per_page,
            facets=facet_results(query, {}), error=" ".join(notes), sort=sort,
        )  # fmt: skip
    facet_names = [f.name for f in facets_for(query)]
    offset = (query.page - 1) * per_page
    stories = None
    with _index_answers() as backend:
        found = backend.search(parsed, _filters(query), sort, offset, per_page, facet_names)
        if query.collapse:
            stories = collapse.fold_matches(backend, parsed, _filters(query), sort, found)
    if stories is None:
        total, hits = found.total, _hits(found.ids, found.terms, backend, parsed)
    else:
        shown = stories[offset : offset + per_page]
        total = len(stories)
        hits = _hits([story.best for story in shown], found.terms, backend, parsed)
        add_versions(hits, shown)
    pages = max(1, math.ceil(total / per_page)) if total else 0
    return SearchResults(
        query=query,
        total=total,
        page=query.page,
        pages=pages,
        per_page=per_page,
        hits=hits,
        facets=facet_results(query, found.facets),
        suggestion=found.suggestion,
        error=" ".join(notes) if notes else None,
        sort=sort,
        articles=found.total,
        collapsed=stories is not None,
    )


#: Said when a query had text but its repairs left nothing to search for.
NOTHING_LEFT = (
    "Nothing was left to search for once the query was repaired, so no articles are listed: "
    "correct the query and search again."
)


def _nothing_left(parsed: query_language.ParsedQuery) -> bool:
    """A query whose repairs removed everything (``title:(``, ``AND``) matches nothing.

    Listing the whole archive would look like success; a blank query, or text the parser
    drops without a repair (a lone ``-``), still lists the archive.
    """
    return parsed.node is None and bool(parsed.messages) and bool(parsed.text.strip())


def facet_counts(query: SearchQuery, names: Iterable[str]) -> dict[str, FacetCounts]:
    """The backend's ``(value, label, count)`` triples of ``names`` for ``query``; no hits.

    For pages that show a search's shape rather than its results: the coverage chart's zoom
    (the months of the one year that holds every match), a source's sections and years.
    Paging and sort are ignored.
    """
    query, _ = _normalise(query)
    parsed = query_language.parse(query.q)
    if _nothing_left(parsed):
        return {}
    with _index_answers() as backend:
        found = backend.search(parsed, _filters(query), NEWEST, 0, 1, list(names))
    return found.facets


def date_counts(query: SearchQuery, kind: str) -> dict[int, int]:
    """Matches of ``query`` per ``kind`` ("year", "month" or "day") within its period."""
    counts = facet_counts(query, [kind]).get(kind, [])
    return {int(value): int(count) for value, _, count in counts if count}


def query_note(q: str) -> str | None:
    """What ``search()`` says about the query text itself (its repairs, or that nothing was
    left to search for), without searching: for pages that only count matches (trends)."""
    parsed = query_language.parse(q or "")
    notes = list(parsed.messages)
    if _nothing_left(parsed):
        notes.append(NOTHING_LEFT)
    return " ".join(notes) or None


@contextlib.contextmanager
def _index_answers() -> Iterator[SearchBackend]:
    """The backend, for one question to the index: any failure there is an outage, raised as
    ``SearchUnavailable`` and logged once per cause; a success after one logs the recovery."""
    backend = get_backend()
    try:
        _check_reachable(backend)
        yield backend
    except Exception as error:
        raise _outage.failed(error) from error
    _outage.succeeded()


def _check_reachable(backend: SearchBackend) -> None:
    """An index that was never written is a fresh install's empty archive, unless the
    database holds articles: then it was lost, and opening would create an empty one."""
    if backend.index_exists():
        return
    from articles.models import Article

    if Article.objects.exists():
        where = backend.location()
        raise SearchUnavailable(
            f"the search index{f' in {where}' if where else ''} is missing although the database "
            "holds articles (rebuild it with `manage.py rebuild_index`)"
        )


class Matches(NamedTuple):
    """Every match of a query, counted, and the ids of the first few in the query's order."""

    total: int
    ids: list[int]


def matching_ids(query: SearchQuery, limit: int) -> Matches:
    """The total and the ids of the first ``limit`` matches in the query's order.

    For exports, which read the rows themselves in batches: one backend call, no snippets, no
    facet counts, nothing held but at most ``limit`` ids. Paging is ignored. With
    ``query.collapse`` the matches are stories (each thread's best hit) as on the results page,
    whose "3 of 720" follows them; exports turn it off to get every article. Unlike
    ``search()`` it has no page to explain repairs on; like it, it raises ``SearchUnavailable``
    when the index cannot answer.
    """
    query, _ = _normalise(query)
    parsed = query_language.parse(query.q)
    if _nothing_left(parsed):  # as on the page: a repair that left nothing finds nothing
        return Matches(0, [])
    sort = effective_sort(query.sort, has_words=parsed.node is not None)
    with _index_answers() as backend:
        found = backend.search(parsed, _filters(query), sort, 0, max(limit, 1), ())
        stories = (
            collapse.fold_matches(backend, parsed, _filters(query), sort, found)
            if query.collapse
            else None
        )
    if stories is not None:  # the page's order: stories' best hits
        return Matches(len(stories), [story.best for story in stories[: max(limit, 0)]])
    return Matches(found.total, found.ids[: max(limit, 0)])


def _normalise(query: SearchQuery) -> tuple[SearchQuery, list[str]]:
    """Clamp paging, drop impossible dates and unknown sorts, rather than failing."""
    notes: list[str] = []
    changes: dict = {}
    if query.sort not in ("", *SORT_NAMES):
        notes.append(f"Unknown sort “{query.sort}”; the default order was used.")
        changes["sort"] = ""
    per_page = query.per_page if isinstance(query.per_page, int) else DEFAULT_PER_PAGE
    changes["per_page"] = min(max(per_page, 1), MAX_PER_PAGE)
    page = query.page if isinstance(query.page, int) else 1
    changes["page"] = min(max(page, 1), MAX_PAGE)
    if query.month is not None and not 1 <= query.month <= 12:
        notes.append("That month does not exist; it was ignored.")
        changes["month"] = None
        changes["day"] = None
    if query.day is not None and not 1 <= query.day <= 31:
        notes.append("That day does not exist; it was ignored.")
        changes["day"] = None
    if query.year is not None and not 1 <= query.year <= 9999:
        changes["year"] = None
    if query.date_from and query.date_to and query.date_from > query.date_to:
        changes["date_from"], changes["date_to"] = query.date_to, query.date_from
    changes["sources"] = tuple(s for s in query.sources if s and s.strip())
    changes["sections"] = tuple(s for s in query.sections if s and s.strip())
    changes["q"] = query.q or ""
    return replace(query, **changes), notes


def _filters(query: SearchQuery) -> Filters:
    return Filters(
        sources=frozenset(label_key(s) for s in query.sources),
        sections=frozenset(label_key(s) for s in query.sections),
        year=query.year,
        month=query.month if query.year is not None or query.month is not None else None,
        day=query.day,
        day_from=day_number(query.date_from) if query.date_from else None,
        day_to=day_number(query.date_to) if query.date_to else None,
    )


def _hits(
    ids: list[int],
    terms: frozenset[str],
    backend: SearchBackend,
    parsed: query_language.ParsedQuery | None = None,
) -> list[Hit]:
    """Hits in the backend's order, read from the database (only the page's rows)."""
    if not ids:
        return []
    # Imported here: the search package must import without Django's app registry (index
    # sub-writers started with spawn import it to unpickle the codec; see whoosh_codec).
    from articles.models import Article

    rows = (
        Article.objects.filter(pk__in=ids)
        .select_related("source", "section")
        .defer("original_text", "minhash")
    )
    by_id = {a.pk: a for a in rows}
    phrases, words = _asked_for(parsed.node if parsed else None)
    matches = make_matcher(terms, backend.term_for, phrases, words) if terms else None
    hits = []
    for article_id in ids:
        article = by_id.get(article_id)
        if article is None:  # deleted since it was indexed; the signal will catch up
            continue
        hits.append(
            Hit(
                id=article.pk,
                title=article.title,
                title_html=highlight(article.title, matches),
                url=article.get_absolute_url(),
                source=article.source.name if article.source_id else "",
                section=article.section.name if article.section_id else "",
                published=article.published,
                snippet=snippet(article.body, matches),
                thread=article.thread,
            )
        )
    return hits


def _asked_for(node: query_language.Node | None) -> tuple[list[list[str]], list[str]]:
    """The phrases (each as its words) and the lone words a query asks for, not negated: what
    a snippet marks, a phrase only where its words stand together."""
    phrases: list[list[str]] = []
    words: list[str] = []

    def walk(n: query_language.Node | None) -> None:
        if isinstance(n, (query_language.And, query_language.Or)):
            for child in n.children:
                walk(child)
        elif isinstance(n, query_language.Phrase):
            phrases.append(re.findall(r"\w+", n.text))
        elif isinstance(n, query_language.Term):
            words.extend(re.findall(r"\w+", n.text))

    walk(node)
    return phrases, words


def warm_up() -> float:
    """Open the index and answer the front page's search once; returns the seconds it took.

    Opening reads every segment's columns into arrays (a quarter of a second at 100,000
    articles), which would otherwise fall on the first reader after each worker starts.
    The WSGI module calls this at start-up. Never raises: a broken index must not stop the
    site from serving its error pages.

    Then every object made so far (Django, URL patterns, templates, the index's readers) is
    moved out of the garbage collector's sight with ``gc.freeze()``: they live as long as the
    worker, yet each full collection walked all ~80,000 of them. A cold phrase search, whose
    unpickling sets off collections, spent about 65 of its 240 ms there at 100,000 articles.
    Garbage collected just before is not kept forever.
    """
    started = time.perf_counter()
    try:
        search(SearchQuery())
    except SearchUnavailable:  # logged by search(); the pages say so to readers
        pass
    except Exception:  # noqa: BLE001 - logged; the first request will show the real error
        logger.exception("warming up the search index failed")
    gc.collect()
    gc.freeze()
    return time.perf_counter() - started


def clear_caches() -> int:
    """Forget every answer this process keeps, so the next search is computed from the index;
    returns how many cached entries went. For measuring (the bench's cold searches): a running
    site never needs it, since caches follow the index by themselves."""
    return get_backend().clear_caches() + collapse.cache.clear()


# --- keeping the index in step -------------------------------------------------------------


def index_articles(ids: Iterable[int]) -> None:
    """(Re)index these articles from the database in one writer commit; gone rows are removed."""
    get_backend().index_articles(ids)


@contextlib.contextmanager
def bulk_indexer() -> Iterator[BulkIndexer]:
    """An indexer for an import: ``add(ids)`` after each committed batch.

    Whatever was added is made searchable when the block ends, also when it ends with an
    error or Ctrl-C: the rows were committed, so indexing them is right, and a rerun of the
    import has less left to do.
    """
    indexer = get_backend().bulk_indexer()
    try:
        yield indexer
    finally:
        indexer.close()


def unindex_articles(ids: Iterable[int]) -> None:
    """Remove these article ids from the index (one commit)."""
    get_backend().unindex_articles(ids)


def more_like_this(article_id: int, limit: int = RELATED_COUNT) -> list[int]:
    """Ids of the articles most similar to this one (by its distinctive words), best first.

    During an outage: none (a sidebar must never break an article page), logged once.
    """
    try:
        with _index_answers() as backend:
            return backend.more_like_this(article_id, limit)
    except SearchUnavailable:
        return []


def indexed_ids() -> set[int]:
    """Every article id in the index (check_index compares it with the database)."""
    return get_backend().indexed_ids()


def indexed_id_counts() -> dict[int, int]:
    """Every indexed article id with its number of index documents: check_index looks for
    articles indexed more than once, which ``indexed_ids`` (a set) cannot show."""
    return get_backend().indexed_id_counts()


def indexed_versions() -> dict[int, datetime | None]:
    """Every indexed article id with the ``updated`` stamp it was indexed from."""
    return get_backend().indexed_versions()


def rebuild_index(progress: Callable[[int], None] | None = None) -> int:
    """Index every article afresh; ``progress(n)`` is called as articles are added."""
    return get_backend().rebuild(progress)


def optimize_index() -> int:
    """Merge the index's segments into one (for quiet hours); searches and saves carry on."""
    return get_backend().optimize()


def clear_index() -> None:
    """Empty the index."""
    get_backend().clear()
