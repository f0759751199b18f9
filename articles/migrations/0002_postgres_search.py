"""PostgreSQL's own full-text search for the ``postgres`` search backend; nothing on SQLite.

Everything here is kept current by PostgreSQL itself, so imports, admin saves and deletes need
no separate index step:

- the ``newsarchive`` text search configuration: English stemming with accents folded
  (``unaccent`` before the stemmer), as close as PostgreSQL gets to the Whoosh analyzer;
- ``articles_article.search_vector``: the weighted ``tsvector`` (title A, body B), with a GIN
  index; ``lead_vector`` (title and the body's opening), small enough to stay in the row, for
  ranking many matches cheaply before the best are ranked on the whole text, and for title
  queries; ``pair_vector``, every pair of lexemes at neighbouring positions
  (``'interest rate'``), with a GIN index, so a phrase is an index lookup instead of a check
  of each candidate's out-of-line ``search_vector`` (50-80 ms for two common words at 10,000
  articles). A BEFORE trigger fills all three from the title and body, analysing each once
  (a generated column cannot be computed from another);
- ``newsarchive_search_words``: each lexeme and how many articles hold it, kept by
  statement-level triggers (one aggregate per import batch, not per row), with a trigram index
  for fuzzy terms and "did you mean";
- ``newsarchive_search_state.version``: bumped by every statement that changes articles,
  sources or sections, so result caches know when they are stale.
"""

from django.db import migrations

LEAD_CHARS = 600
_ADDED = "SELECT v.lexeme AS word, 1 AS delta FROM new_rows n, unnest(n.search_vector) v"
_REMOVED = "SELECT v.lexeme AS word, -1 AS delta FROM old_rows o, unnest(o.search_vector) v"
#: What each statement adds to and takes from the word counts (a word whose count falls to 0
#: keeps its row with ndoc 0, which lookups skip: deleting it would scan the table each time).
_WORD_DELTAS = {
    "insert": _ADDED,
    "delete": _REMOVED,
    "update": f"{_ADDED} UNION ALL {_REMOVED}",
}

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TEXT SEARCH CONFIGURATION newsarchive (COPY = pg_catalog.english)",
    """ALTER TEXT SEARCH CONFIGURATION newsarchive
       ALTER MAPPING FOR hword, hword_part, word WITH {ext}.unaccent, english_stem""",
    """CREATE FUNCTION newsarchive_unaccent(text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
       AS $$ SELECT {ext}.unaccent('{ext}.unaccent'::regdictionary, $1) $$""",
    """CREATE FUNCTION newsarchive_pairs(v tsvector) RETURNS tsvector
       LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
         SELECT coalesce(array_to_tsvector(array_agg(DISTINCT a.lexeme || ' ' || b.lexeme)),
                         ''::tsvector)
         FROM (SELECT lexeme, unnest(positions) AS pos FROM unnest(v)) a
         JOIN (SELECT lexeme, unnest(positions) AS pos FROM unnest(v)) b ON b.pos = a.pos + 1
       $$""",
    """ALTER TABLE articles_article ADD COLUMN search_vector tsvector,
       ADD COLUMN lead_vector tsvector, ADD COLUMN pair_vector tsvector""",
    # Positions renumbered without stop words, as the Whoosh analyzer does (a phrase skips
    # them), and a gap between title and body (a phrase never runs from one into the other).
    r"""CREATE FUNCTION newsarchive_renumber(v tsvector) RETURNS tsvector
       LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
         SELECT coalesce(string_agg(entry, ' ')::tsvector, ''::tsvector) FROM (
           SELECT '''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''':'
                  || string_agg(rank::text || weight, ',' ORDER BY rank) AS entry
           FROM (SELECT u.lexeme, p.weight, dense_rank() OVER (ORDER BY p.pos) AS rank
                 FROM unnest(v) u, unnest(u.positions, u.weights) AS p(pos, weight)) x
           GROUP BY lexeme) y
       $$""",
    """CREATE FUNCTION newsarchive_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE
         title_vector tsvector := setweight(
           to_tsvector('{cfg}'::regconfig, coalesce(NEW.title, '')), 'A')
           || $v$' ':1$v$::tsvector;
       BEGIN
         NEW.search_vector := ts_delete(newsarchive_renumber(title_vector || setweight(
           to_tsvector('{cfg}'::regconfig, coalesce(NEW.body, '')), 'B')), ' ');
         NEW.lead_vector := ts_delete(newsarchive_renumber(title_vector || setweight(
           to_tsvector('{cfg}'::regconfig, left(coalesce(NEW.body, ''), {lead})), 'B')), ' ');
         NEW.pair_vector := newsarchive_pairs(NEW.search_vector);
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER newsarchive_search_text
       BEFORE INSERT OR UPDATE OF title, body ON articles_article
       FOR EACH ROW EXECUTE FUNCTION newsarchive_search_text()""",
    "UPDATE articles_article SET title = title",
    "CREATE INDEX article_search_vector ON articles_article USING gin (search_vector)",
    "CREATE INDEX article_pair_vector ON articles_article USING gin (pair_vector)",
    # --- the archive's words ---
    """CREATE TABLE newsarchive_search_words (
         word text PRIMARY KEY, ndoc integer NOT NULL)""",
    """CREATE INDEX newsarchive_search_words_trgm
       ON newsarchive_search_words USING gin (word {trgm}.gin_trgm_ops)""",
    """INSERT INTO newsarchive_search_words (word, ndoc)
       SELECT lexeme, count(*) FROM articles_article, unnest(search_vector)
       GROUP BY lexeme""",
    *(
        f"""CREATE FUNCTION newsarchive_words_{op}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              INSERT INTO newsarchive_search_words AS w (word, ndoc)
                SELECT word, sum(delta) FROM ({rows}) d
                GROUP BY word HAVING sum(delta) <> 0 ORDER BY word
              ON CONFLICT (word) DO UPDATE SET ndoc = w.ndoc + excluded.ndoc;
              RETURN NULL;
            END $$"""
        for op, rows in _WORD_DELTAS.items()
    ),
    """CREATE FUNCTION newsarchive_words_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN TRUNCATE newsarchive_search_words; RETURN NULL; END $$""",
    """CREATE TRIGGER newsarchive_words_insert AFTER INSERT ON articles_article
       REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION newsarchive_words_insert()""",
    """CREATE TRIGGER newsarchive_words_update AFTER UPDATE ON articles_article
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION newsarchive_words_update()""",
    """CREATE TRIGGER newsarchive_words_delete AFTER DELETE ON articles_article
       REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION newsarchive_words_delete()""",
    """CREATE TRIGGER newsarchive_words_truncate AFTER TRUNCATE ON articles_article
       FOR EACH STATEMENT EXECUTE FUNCTION newsarchive_words_truncate()""",
    # --- the data version ---
    """CREATE TABLE newsarchive_search_state (
         id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)""",
    "INSERT INTO newsarchive_search_state VALUES (1, 1)",
    """CREATE FUNCTION newsarchive_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE newsarchive_search_state SET version = version + 1 WHERE id = 1;
         RETURN NULL;
       END $$""",
]
for _table in ("articles_article", "articles_source", "articles_section"):
    FORWARD.append(
        f"""CREATE TRIGGER newsarchive_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
            ON {_table} FOR EACH STATEMENT EXECUTE FUNCTION newsarchive_bump_version()"""
    )

BACKWARD = [
    *(
        f"DROP TRIGGER IF EXISTS newsarchive_version ON {t}"
        for t in ("articles_article", "articles_source", "articles_section")
    ),
    "DROP FUNCTION IF EXISTS newsarchive_bump_version()",
    "DROP TABLE IF EXISTS newsarchive_search_state",
    *(
        f"DROP TRIGGER IF EXISTS newsarchive_words_{e} ON articles_article"
        for e in ("insert", "update", "delete", "truncate")
    ),
    *(
        f"DROP FUNCTION IF EXISTS newsarchive_words_{e}()"
        for e in ("insert", "update", "delete", "truncate")
    ),
    "DROP TABLE IF EXISTS newsarchive_search_words",
    "DROP TRIGGER IF EXISTS newsarchive_search_text ON articles_article",
    "DROP FUNCTION IF EXISTS newsarchive_search_text()",
    "DROP INDEX IF EXISTS article_search_vector",
    "DROP INDEX IF EXISTS article_pair_vector",
    "ALTER TABLE articles_article DROP COLUMN IF EXISTS search_vector, "
    "DROP COLUMN IF EXISTS lead_vector, DROP COLUMN IF EXISTS pair_vector",
    "DROP FUNCTION IF EXISTS newsarchive_pairs(tsvector)",
    "DROP FUNCTION IF EXISTS newsarchive_renumber(tsvector)",
    "DROP FUNCTION IF EXISTS newsarchive_unaccent(text)",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS newsarchive",
]


def _extension_schema(cursor, name: str) -> str:
    cursor.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = %s",
        [name],
    )
    row = cursor.fetchone()
    return row[0] if row else "public"


def _run(statements: list[str]):
    def run(apps, schema_editor) -> None:
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return  # SQLite keeps using the Whoosh index
        with connection.cursor() as cursor:
            for statement in statements:
                if "{" in statement:
                    cursor.execute("SELECT current_schema()")
                    names = {
                        "{cfg}": f"{cursor.fetchone()[0]}.newsarchive",
                        "{ext}": _extension_schema(cursor, "unaccent"),
                        "{trgm}": _extension_schema(cursor, "pg_trgm"),
                        "{lead}": str(LEAD_CHARS),
                    }
                    for placeholder, name in names.items():
                        statement = statement.replace(placeholder, name)
                cursor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("articles", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False)]
