"""A database of its own for each PostgreSQL run of the bench, on a server given by URL: made,
warmed into the file cache, measured and dropped."""

from __future__ import annotations

import time
from typing import Any

from bench.measure import log


class PostgresRun:
    """A fresh database for one run on a PostgreSQL server (the postgres backend's runs)."""

    def __init__(self, server_url: str, name: str) -> None:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        self.psycopg = psycopg
        self.server = make_conninfo(server_url)
        self.name = name
        self.url = make_conninfo(self.server, dbname=name)
        params = conninfo_to_dict(self.url)
        self.django_url = (
            f"postgres://{params.get('user', '')}:{params.get('password', '')}@"
            f"{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/{name}"
        )

    def _admin(self, sql: str) -> None:
        with self.psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        """Drop the run's database; a lingering session of another role is waited for.

        FORCE cannot end sessions of a role the bench's user is not a member of (for
        example an autovacuum worker started after a big import), so those are retried a
        few times and then left behind with a warning rather than ending the bench.
        """
        for attempt in range(10):
            try:
                self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                return
            except self.psycopg.errors.InsufficientPrivilege as exc:
                reason = str(exc).splitlines()[0]
                time.sleep(1 + attempt)
        log(f"database {self.name} left behind: {reason}")

    def scalar(self, sql: str) -> Any:
        try:
            with self.psycopg.connect(self.url) as conn:
                return conn.execute(sql).fetchone()[0]
        except self.psycopg.Error:
            return None

    def warm(self) -> int:
        """Read the articles table, its out-of-line values and its indexes into the file cache, as
        ``read_through`` does for a Whoosh index: ``pg_prewarm`` where the bench may create
        it; otherwise the table and every stored search vector are read once (the indexes
        then warm up with the first searches). Returns the bytes read, as far as known.

        Without it the first search after other work had pushed the database out of the
        file cache took 1.7 s at 100,000 articles, reading from disk."""
        tables = (
            "SELECT oid FROM pg_class WHERE relname IN "
            "('articles_article', 'newsarchive_search_words') UNION "
            "SELECT reltoastrelid FROM pg_class WHERE relname IN "
            "('articles_article', 'newsarchive_search_words') AND reltoastrelid <> 0"
        )
        relations = f"{tables} UNION SELECT indexrelid FROM pg_index WHERE indrelid IN ({tables})"
        try:
            with self.psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
                blocks = conn.execute(f"SELECT sum(pg_prewarm(oid, 'read')) FROM ({relations}) r")
                return int(blocks.fetchone()[0] or 0) * 8192
        except self.psycopg.Error:
            pass
        total = self.scalar(
            "SELECT sum(length(search_vector) + length(pair_vector) + length(lead_vector)) "
            "FROM articles_article"
        )
        return int(self.scalar("SELECT pg_table_size('articles_article')") or 0) if total else 0

    def sizes(self) -> dict[str, int | None]:
        return {
            "database_bytes": self.scalar(f"SELECT pg_database_size('{self.name}')"),
            # The search structures: the GIN indexes, the word table and its trigram index,
            # and the tsvector columns (measured on the stored values).
            "index_bytes": self.scalar(
                "SELECT pg_relation_size('article_search_vector') "
                "+ pg_relation_size('article_pair_vector') "
                "+ coalesce(pg_relation_size(to_regclass('article_lead_vector')), 0) "
                "+ pg_total_relation_size('newsarchive_search_words') "
                "+ (SELECT sum(pg_column_size(search_vector) + pg_column_size(lead_vector) "
                "+ pg_column_size(pair_vector)) FROM articles_article)::bigint"
            ),
        }
