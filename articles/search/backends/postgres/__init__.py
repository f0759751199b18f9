"""The PostgreSQL backend: PostgreSQL's own full-text search over the articles table.

The search text lives in the rows (``search_vector``, a generated column: see migration
0002), so there is no index to write: ``index_articles`` and friends have nothing to do, and
several stateless web servers can share one primary and its replicas.

One statement answers a search: the matches are found once through the GIN index (only the
narrow columns are kept, ``MATERIALIZED``), then one pass over them counts every facet at
once (one ``GROUP BY`` of every facet's key, each key blanked on rows that fail a selection
the facet is counted with, so each facet's counts ignore its own and, for the year and
month, the finer date parts: ``facets.counted_without``), and the page is ordered. Ranking every
match on the whole text would read every match's ``tsvector`` (kilobytes, out of line):
instead candidates are chosen with ``ts_rank`` on ``lead_vector`` (title and the body's
opening, stored in the row) and only the best ``RERANK_CANDIDATES`` are ranked again with
``ts_rank_cd`` on the whole text. Dates are compared as instants (``dates``). Results are
cached per data version (``newsarchive_search_state``), which every write to articles,
sources or sections bumps.
"""

from __future__ import annotations

import heapq
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router, transaction

from ... import query as q
from ...cache import LRU
from ...facets import FacetCounts, counted_without
from ...spelling import MAX_EDIT_CHARS, edit_distance, edits1, replace_word
from .. import BackendResults, BulkIndexer, Filters, SearchBackend
from . import dates
from .analysis import fold, lexeme
from .compiler import (
    CONFIG,
    RANK_WEIGHTS,
    Analysed,
    Compiled,
    Compiler,
    day_bounds,
    quote,
    texts_to_analyse,
)

__all__ = ["PostgresBackend", "make_postgres_backend"]

#: Matches ranked again on the whole text (the rest follow in lead_vector order).
RERANK_CANDIDATES = 200
RESULT_CACHE_SIZE = 256
MAX_PREFIX_TERMS = 64
MAX_FUZZY_TERMS = 16
#: "Did you mean" is offered when a search finds fewer than this and a word is unknown.
SUGGEST_BELOW_TOTAL = 10
#: The gap a stop word leaves in a phrase query (``'bank' <2> 'england'``): closed, since
#: the stored positions skip stop words as the Whoosh analyzer does.
_STOP_GAP = re.compile(r"(?<=') <\d+> (?=')")
#: The facets this backend counts, in the order of their key columns.
FACET_COLUMNS = ("source", "section", "year", "month", "day")


class PostgresBackend(SearchBackend):
    """Search with PostgreSQL full-text search; reads go where the database router sends them."""

    separate_index = False  # the search text is part of each row, kept by PostgreSQL

    def __init__(self, index_dir: Any = None, using: str | None = None) -> None:
        """``using`` pins a database alias; by default each query asks the router (replicas)."""
        from django.utils import timezone

        self.using = using
        alias = using or router.db_for_write(_article_model())
        vendor = connections[alias].vendor
        if vendor != "postgresql":
            raise ImproperlyConfigured(
                "NEWSARCHIVE_SEARCH_BACKEND=postgres needs DATABASE_URL to point at "
                f"PostgreSQL (the {alias!r} database is {vendor})."
            )
        self.tz = timezone.get_default_timezone()
        self._analysed = LRU(8192)
        self._results = LRU(RESULT_CACHE_SIZE)
        self._per_version: dict[str, Any] = {}
        self._version: int | None = None
        self._lock = threading.Lock()

    # ---- plumbing --------------------------------------------------------------------------

    def _cursor(self) -> Any:
        return connections[self.using or router.db_for_read(_article_model())].cursor()

    def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        with self._cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.fetchall()

    def _fetch_planned(self, sql: str, params: list[Any], uses_text: bool) -> list[tuple]:
        """Run a search statement with the planner told what its cost model cannot know.

        A sequential scan reads every row's out-of-line ``search_vector`` to test it, which
        the planner does not count: at 10,000 articles it chose one for a word in a fifth of
        them (213 ms) over the GIN index, which answers ``&``/``|`` queries without reading
        the vectors. JIT compilation costs more than these statements take. Both settings
        last for this statement's transaction only.
        """
        alias = self.using or router.db_for_read(_article_model())
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            settings = ["SET LOCAL jit = off"]
            if uses_text:
                settings.append("SET LOCAL enable_seqscan = off")
            cursor.execute("; ".join(settings))
            cursor.execute(sql, params)
            return cursor.fetchall()

    def version(self) -> int | None:
        """The data version, None inside a transaction that has written (its view of the
        data is its own, and may be rolled back): then nothing is cached."""
        version, writing = self._fetch(
            "SELECT version, pg_current_xact_id_if_assigned() IS NOT NULL "
            "FROM newsarchive_search_state WHERE id = 1"
        )[0]
        if writing:
            version = None
        if version is None or version != self._version:
            with self._lock:
                self._version = version
                self._per_version = {}
        return version

    def _cached(self, name: str, make: Callable[[], Any]) -> Any:
        """A value valid for the current data version (call ``version()`` first)."""
        if self._version is None:
            return make()
        value = self._per_version.get(name)
        if value is None:
            value = self._per_version[name] = make()
        return value

    def clear_caches(self) -> int:
        """Forget cached results, analysed words and per-version values (PostgreSQL's own
        buffers are the server's, not this process's)."""
        with self._lock:
            dropped = self._results.clear() + self._analysed.clear() + len(self._per_version)
            self._per_version = {}
            return dropped

    def _labels(self) -> dict[str, dict[int, tuple[str, str]]]:
        """Per label field: id -> (display name, label key)."""

        def load() -> dict[str, dict[int, tuple[str, str]]]:
            return {
                name: {
                    pk: (label, key)
                    for pk, label, key in self._fetch(f"SELECT id, name, key FROM articles_{name}")
                }
                for name in q.LABEL_FIELDS
            }

        return self._cached("labels", load)

    def _label_ids(self, fieldname: str, text: str) -> list[int]:
        from articles.models import label_key

        wanted = label_key(text)
        return [pk for pk, (_, key) in self._labels()[fieldname].items() if key == wanted]

    def _analyse(self, texts: set[str]) -> dict[str, Analysed]:
        """PostgreSQL's reading of each text, cached for good (the configuration is fixed)."""
        out = {t: self._analysed.get(t) for t in texts}
        missing = sorted(t for t, a in out.items() if a is None)
        if missing:
            rows = self._fetch(
                f"SELECT t, phraseto_tsquery('{CONFIG}', t)::text, "
                "lower(newsarchive_unaccent(t)) FROM unnest(%s::text[]) AS t",
                [missing],
            )
            for text, tsquery, folded in rows:
                out[text] = Analysed(_STOP_GAP.sub(" <-> ", tsquery), folded)
                self._analysed.put(text, out[text])
        return out  # type: ignore[return-value]

    def _stems(self, words: list[str]) -> dict[str, tuple[str | None, int]]:
        """Each word's lexeme (None for a stop word) and how many articles hold it."""
        rows = self._fetch(
            f"SELECT t, l.lex, coalesce(w.ndoc, 0) FROM unnest(%s::text[]) AS t "
            f"LEFT JOIN LATERAL (SELECT (tsvector_to_array(to_tsvector('{CONFIG}', t)))[1] "
            "AS lex) l ON TRUE LEFT JOIN newsarchive_search_words w ON w.word = l.lex",
            [words],
        )
        return {word: (lex, ndoc) for word, lex, ndoc in rows}

    # ---- expansions ------------------------------------------------------------------------

    def _prefix_terms(self, prefix: str) -> list[str]:
        """The archive's most common lexemes starting with ``prefix`` (for highlighting)."""
        if not prefix:
            return []
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._fetch(
            "SELECT word FROM newsarchive_search_words WHERE word LIKE %s AND ndoc > 0 "
            "ORDER BY ndoc DESC LIMIT %s",
            [pattern, MAX_PREFIX_TERMS],
        )
        return [word for (word,) in rows]

    def _fuzzy_terms(self, text: str, maxdist: int) -> list[str]:
        """Lexemes of words within ``maxdist`` edits, as the archive has them; bounded.

        As in the Whoosh backend: the stems of every one-edit spelling of the word, plus
        lexemes near the word's own stem (found with pg_trgm, checked by edit distance).
        """
        folded = fold(text)
        candidates = [folded]
        if len(folded) <= MAX_EDIT_CHARS:
            candidates.extend(edits1(folded))
        found = {lex: n for lex, n in self._stems(candidates).values() if lex and n}
        own = self._stems([folded]).get(folded, (None, 0))[0]
        if own and len(folded) <= MAX_EDIT_CHARS:
            rows = self._fetch(
                "SELECT word, ndoc FROM newsarchive_search_words "
                "WHERE word %% %s AND left(word, 1) = left(%s, 1) AND ndoc > 0 "
                "ORDER BY similarity(word, %s) DESC LIMIT 64",
                [own, own, own],
            )
            for word, ndoc in rows:
                if edit_distance(word, own, maxdist) <= maxdist:
                    found[word] = ndoc
        return heapq.nlargest(MAX_FUZZY_TERMS, found, key=found.__getitem__)

    # ---- searching -------------------------------------------------------------------------

    def compile(self, parsed: q.ParsedQuery) -> Compiled | None:
        if parsed.node is None:
            return None
        compiler = Compiler(
            self._analyse(texts_to_analyse(parsed.node)),
            self._prefix_terms,
            self._fuzzy_terms,
            self._label_ids,
            self.tz,
        )
        return compiler.compile(parsed.node)

    def search(
        self,
        parsed: q.ParsedQuery,
        filters: Filters,
        sort: str,
        offset: int,
        limit: int,
        facet_names: Iterable[str],
    ) -> BackendResults:
        facet_names = tuple(f for f in FACET_COLUMNS if f in set(facet_names))
        sort = sort or ("relevance" if parsed.node is not None else "newest")
        depth = offset + limit
        version = self.version()
        key = (version, repr(parsed.node), filters.key(), sort, facet_names)
        cached = self._results.get(key) if version is not None else None
        if cached is None or (len(cached[0]) < depth and len(cached[0]) < cached[1]):
            order, total, facets, terms = self._run(parsed, filters, sort, facet_names, depth)
            suggestion = None
            if parsed.node is not None and total < SUGGEST_BELOW_TOTAL:
                suggestion = self.suggest(parsed)
            cached = (order, total, facets, frozenset(terms), suggestion)
            if version is not None:
                self._results.put(key, cached)
        order, total, facets, terms, suggestion = cached
        return BackendResults(
            total=total,
            ids=order[offset:depth],
            facets=facets,
            terms=terms,
            suggestion=suggestion,
            data_version=version,
        )

    def _run(
        self,
        parsed: q.ParsedQuery,
        filters: Filters,
        sort: str,
        facet_names: tuple[str, ...],
        depth: int,
    ) -> tuple[list[int], int, dict[str, FacetCounts], set[str]]:
        compiled = self.compile(parsed)
        if compiled is None:
            compiled = Compiled("TRUE", [], None, set())
        periods = {
            name: dates.buckets(name, filters, self._years(), self.tz)
            for name in facet_names
            if name in dates.PARTS
        }
        sql, params = self._statement(compiled, filters, sort, facet_names, depth, periods)
        rows = self._fetch_planned(sql, params, uses_text=compiled.rank is not None)
        labels = self._labels()
        tallies: dict[str, Counter[int]] = {name: Counter() for name in facet_names}
        order: list[tuple[int, int]] = []
        total = 0
        for kind, n, value, hit, *keys in rows:
            if kind == 1:
                order.append((n, value))
                continue
            total += n if hit else 0
            for name, key in zip(facet_names, keys, strict=True):
                if key is not None:
                    tallies[name][key] += n
        counts: dict[str, FacetCounts] = {name: [] for name in facet_names}
        for name, tally in tallies.items():
            bucketed = periods.get(name)
            for key, n in tally.items():
                if name in q.LABEL_FIELDS:
                    label = labels[name].get(key, ("", ""))[0]
                    if label:
                        counts[name].append((label, label, n))
                    continue
                value = bucketed.value(key) if bucketed is not None else key
                if value is not None:
                    counts[name].append((str(value), str(value), n))
        ids = [article_id for _, article_id in sorted(order)]
        return ids, total, counts, compiled.terms

    def _years(self) -> tuple[int, int] | None:
        """The first and last year of the archive's dated articles (its time zone's years)."""

        def load() -> tuple[int, int] | None:
            first, last = self._fetch(
                "SELECT min(published), max(published) FROM articles_article"
            )[0]
            if first is None:
                return None
            return first.astimezone(self.tz).year, last.astimezone(self.tz).year

        return self._cached("years", load)

    def _statement(
        self,
        compiled: Compiled,
        filters: Filters,
        sort: str,
        facet_names: tuple[str, ...],
        depth: int,
        periods: dict[str, dates.Buckets | None],
    ) -> tuple[str, list[Any]]:
        """One statement: matches once, then facet counts, total and the ordered page.

        Parameters are gathered in the order their placeholders appear in the text.
        """
        ok = self._selections(filters)

        def others_ok(name: str) -> str:
            """The selections a row must pass to count in facet ``name``."""
            left_out = counted_without(name)
            return " AND ".join(s for n, s in ok.items() if n not in left_out) or "TRUE"

        def facet_value(name: str) -> str:
            if name in dates.PARTS:
                return dates.facet_key(name, periods.get(name), self.tz)
            return f"a.{name}_id"

        keys = [
            f"CASE WHEN {others_ok(name)} THEN {facet_value(name)} END AS k_{name}"
            for name in facet_names
        ]
        ranked = sort == "relevance" and compiled.rank is not None
        hit = " AND ".join(ok.values()) or "TRUE"
        rank, rank_params = "0", []
        if ranked:
            # Candidates for the whole-text ranking, cheaply: ts_rank on the lead, only where
            # the lead holds the query (elsewhere ts_rank_cd, the final ranking, would be 0 on
            # it too). ts_rank_cd on every match cost up to 30 us a row for a query of many
            # words (a fuzzy or prefix term), most of a broad search's time.
            rank = (
                f"CASE WHEN ({hit}) AND a.lead_vector @@ %s::tsquery "
                f"THEN ts_rank('{RANK_WEIGHTS}', a.lead_vector, %s::tsquery) ELSE 0 END"
            )
            rank_params = [compiled.rank, compiled.rank]
        select = ", ".join(["a.id", "a.published", f"{rank} AS r", f"({hit}) AS hit", *keys])
        where, where_params = [compiled.where], list(compiled.params)
        if filters.day_from is not None or filters.day_to is not None:
            sql, bounds = day_bounds(_day(filters.day_from), _day(filters.day_to), self.tz)
            where.append(sql)
            where_params.extend(bounds)
        counted = _any_of([others_ok(name) for name in facet_names] or [hit])
        if counted != "TRUE":  # rows that are no hit and count in no facet are left out
            where.append(counted)
        matches = (
            f"WITH m AS MATERIALIZED (SELECT {select} FROM articles_article a "
            f"WHERE {' AND '.join(f'({w})' for w in where)})"
        )
        # The matches counted once, by every facet's key and hit at once (one hash table of
        # a few hundred groups); each facet's counts and the total are summed from the groups.
        key_columns = [f"k_{name}" for name in facet_names]
        grouped = ", ".join(["hit", *key_columns])
        facets = (
            f"SELECT 0 AS kind, count(*) AS n, NULL::bigint AS v, {grouped} FROM m "
            f"GROUP BY {grouped}"
        )
        blanks = "".join(", NULL::int" for _ in key_columns)
        order = "m.published DESC NULLS LAST, m.id DESC"
        if sort == "oldest":
            order = "m.published ASC NULLS LAST, m.id ASC"
        final_params = []
        if ranked:
            # The best RERANK_CANDIDATES by the lead, ranked again on the whole text; deeper
            # pages follow in the lead's order, so they cost no more and page 1 never changes.
            page = (
                "SELECT 1, row_number() OVER (ORDER BY "
                f"ts_rank_cd('{RANK_WEIGHTS}', a.search_vector, %s::tsquery, 1) DESC, "
                f"{order}), m.id, TRUE{blanks} FROM (SELECT m.id, m.published FROM m "
                f"WHERE m.hit ORDER BY m.r DESC, {order} LIMIT {RERANK_CANDIDATES}) m "
                "JOIN articles_article a ON a.id = m.id"
            )
            final_params = [compiled.rank]
            if depth > RERANK_CANDIDATES:
                page += (
                    f" UNION ALL SELECT 1, {RERANK_CANDIDATES} + row_number() OVER "
                    f"(ORDER BY m.r DESC, {order}), m.id, TRUE{blanks} FROM (SELECT m.id, m.r, "
                    "m.published FROM m "
                    f"WHERE m.hit ORDER BY m.r DESC, {order} OFFSET {RERANK_CANDIDATES} "
                    f"LIMIT {depth - RERANK_CANDIDATES}) m"
                )
        else:
            page = (
                f"SELECT 1, row_number() OVER (ORDER BY {order}), m.id, TRUE{blanks} FROM ("
                f"SELECT m.id, m.published FROM m WHERE m.hit ORDER BY {order} "
                f"LIMIT {depth}) m"
            )
        params = [*rank_params, *where_params, *final_params]
        return f"{matches} {facets} UNION ALL {page}", params

    def _selections(self, filters: Filters) -> dict[str, str]:
        """Per facet-like filter, an SQL test of a row (literals only: ids, numbers and
        instants); never NULL, so a row without a source or date simply fails a selection."""
        out: dict[str, str] = {}
        labels = self._labels()
        for name, chosen in (("source", filters.sources), ("section", filters.sections)):
            if chosen:
                ids = [pk for pk, (_, key) in labels[name].items() if key in chosen]
                listed = ", ".join(str(int(i)) for i in ids)
                out[name] = f"COALESCE(a.{name}_id IN ({listed}), FALSE)" if ids else "FALSE"
        out.update(dates.selections(filters, self.tz))
        return out

    # ---- suggestions and related articles --------------------------------------------------

    def suggest(self, parsed: q.ParsedQuery) -> str | None:
        """A corrected query when a word is unknown and a one-edit spelling of it is common."""
        words = [
            w
            for w in dict.fromkeys(q.positive_words(parsed.node))
            if w.isalpha() and 4 <= len(w) <= MAX_EDIT_CHARS
        ]
        if not words:
            return None
        text, changed = parsed.text, False
        known = self._stems(words)
        for word in words:
            stem, ndoc = known.get(word, (None, 0))
            if stem is None or ndoc > 0:
                continue
            folded = fold(word)
            candidates = list(edits1(folded))
            best, best_n = None, 3
            for candidate, (lex, n) in self._stems(candidates).items():
                if lex and n > best_n:
                    best, best_n = candidate, n
            if best:
                text, changed = replace_word(text, word, best), True
        return text if changed else None

    def more_like_this(self, article_id: int, limit: int = 5) -> list[int]:
        """Articles sharing this one's most distinctive words (tf x idf, title counted twice)."""
        rows = self._fetch(
            "SELECT v.lexeme, cardinality(v.positions) "
            "+ cardinality(array_positions(v.weights, 'A')) AS tf, w.ndoc "
            "FROM articles_article a, unnest(a.search_vector) v "
            "JOIN newsarchive_search_words w ON w.word = v.lexeme WHERE a.id = %s",
            [article_id],
        )
        if not rows:
            return []
        self.version()
        n = self._cached(
            "count", lambda: self._fetch("SELECT count(*) FROM articles_article")[0][0]
        )
        weights = {lex: tf * math.log(n / ndoc) for lex, tf, ndoc in rows if 2 <= ndoc <= n * 0.5}
        top = heapq.nlargest(12, weights, key=weights.__getitem__)
        if not top:
            return []
        tsquery = " | ".join(quote(t) for t in top)
        rows = self._fetch(
            "SELECT c.id FROM (SELECT a.id, a.published FROM articles_article a "
            "WHERE a.search_vector @@ %s::tsquery AND a.id <> %s "
            f"ORDER BY ts_rank_cd('{RANK_WEIGHTS}', a.lead_vector, %s::tsquery) DESC, "
            f"a.published DESC NULLS LAST LIMIT {RERANK_CANDIDATES}) c "
            "JOIN articles_article a ON a.id = c.id "
            f"ORDER BY ts_rank_cd('{RANK_WEIGHTS}', a.search_vector, %s::tsquery, 1) DESC, "
            "c.published DESC NULLS LAST, c.id DESC LIMIT %s",
            [tsquery, article_id, tsquery, tsquery, limit],
        )
        return [pk for (pk,) in rows]

    # ---- the index that is not there -------------------------------------------------------

    def bulk_indexer(self) -> BulkIndexer:
        return _AnalyseAfterImport(self)

    def index_articles(self, ids: Iterable[int]) -> None:
        """Nothing to do: PostgreSQL computes the search text when a row is written."""

    def unindex_articles(self, ids: Iterable[int]) -> None:
        """Nothing to do: a deleted row takes its search text with it."""

    def indexed_ids(self) -> set[int]:
        """Every article: each row carries its own search text, so there is no drift."""
        return {pk for (pk,) in self._fetch("SELECT id FROM articles_article")}

    def indexed_versions(self) -> dict[int, datetime | None]:
        """Each article's own ``updated``: the search text is always that version's."""
        return dict(self._fetch("SELECT id, updated FROM articles_article"))

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Recount the archive's words from scratch (the search text itself needs nothing)."""
        with connections[router.db_for_write(_article_model())].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM articles_article")
            (count,) = cursor.fetchone()
            cursor.execute("DELETE FROM newsarchive_search_words")
            cursor.execute(
                "INSERT INTO newsarchive_search_words (word, ndoc) SELECT lexeme, count(*) "
                "FROM articles_article, unnest(search_vector) GROUP BY lexeme"
            )
        if progress is not None:
            progress(count)
        self._results.clear()
        return count

    def clear(self) -> None:
        """Nothing to clear: the search text is part of each row."""
        self._results.clear()

    def term_for(self, word: str) -> str | None:
        return lexeme(word)


class _AnalyseAfterImport(BulkIndexer):
    """An import needs no indexing, but it leaves the table as autovacuum has not yet seen
    it: no planner statistics for a fresh archive (the first searches were planned blind),
    and new rows not yet marked visible to all, which keeps a search without words from
    reading the covering index alone (migration 0005). So the table is vacuumed and
    analysed once when an import that added articles ends (analysed only, inside a
    transaction, where VACUUM cannot run)."""

    def __init__(self, backend: PostgresBackend) -> None:
        super().__init__(backend)
        self.added = False

    def add(self, ids: Iterable[int], *, new: bool = False) -> None:
        self.added = self.added or bool(list(ids))

    def close(self) -> None:
        if self.added:
            connection = connections[router.db_for_write(_article_model())]
            with connection.cursor() as cursor:
                if connection.in_atomic_block:
                    cursor.execute("ANALYZE articles_article")
                else:
                    cursor.execute("VACUUM (ANALYZE) articles_article")
            self.added = False


def _any_of(conditions: list[str]) -> str:
    """SQL true when one of the conditions is (each given once)."""
    unique = list(dict.fromkeys(conditions))
    if "TRUE" in unique:
        return "TRUE"
    return " OR ".join(f"({c})" for c in unique)


def _article_model() -> type:
    from articles.models import Article

    return Article


def _day(number: int | None) -> Any:
    from datetime import date

    if number is None:
        return None
    return date(number // 10000, number // 100 % 100, number % 100)


def make_postgres_backend(using: str | None = None) -> PostgresBackend:
    """A PostgreSQL backend on the given database alias (tests and the contract suite)."""
    return PostgresBackend(using=using)
