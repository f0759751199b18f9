"""The threads' state token: one row whose value changes in the transaction of every write of
story threads (``articles.threads.state_token``), so that every process can tell whether the
article-to-thread map it keeps for folding search results is still the database's. Plain SQL,
the same on SQLite and PostgreSQL; no model, since nothing but ``articles.threads`` reads it."""

from django.db import migrations

FORWARD = [
    """CREATE TABLE newsarchive_threads_state (
         id integer PRIMARY KEY CHECK (id = 1), token bigint NOT NULL)""",
    "INSERT INTO newsarchive_threads_state (id, token) VALUES (1, 0)",
]
BACKWARD = ["DROP TABLE IF EXISTS newsarchive_threads_state"]


class Migration(migrations.Migration):
    dependencies = [("articles", "0003_story_threads")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
