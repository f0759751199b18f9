"""Two indexes for the PostgreSQL backend's broad searches; nothing on SQLite.

``article_lead_vector``, a GIN index of ``lead_vector`` (the title and the body's opening):
a title query (``title:minister``) finds its rows there, where it used to visit every row
holding the word anywhere (61,000 of 100,000 articles for ``minister``) to check its title.

``article_browse``, a covering index for searches without words. Such a search (browsing,
or only stop words) counts its facets over every article, and the statement reads only ``id``, ``published``, ``source_id`` and ``section_id``. With
all four in one index, PostgreSQL reads that index alone (an index-only scan: about 1/50 of
the table's pages) wherever the visibility map says the rows are visible to everyone, which
the vacuum after each import sees to.
"""

from django.db import migrations

FORWARD = [
    "CREATE INDEX IF NOT EXISTS article_lead_vector ON articles_article USING gin (lead_vector)",
    "CREATE INDEX IF NOT EXISTS article_browse ON articles_article "
    "(published DESC NULLS LAST, id DESC) INCLUDE (source_id, section_id)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS article_browse",
    "DROP INDEX IF EXISTS article_lead_vector",
]


def _run(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("articles", "0004_threads_state")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False)]
