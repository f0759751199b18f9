"""The admin's article list at scale: its pages must stay under 300 ms at 300,000 articles.

    python -m bench.admin                       # N=300,000 (a few minutes, most of it setup)
    python -m bench.admin --n 20000 --keep      # smaller; keep the database

On a fresh SQLite database in a scratch folder (`/tmp/newsarchive-bench/admin-n<N>-<pid>/`,
removed afterwards unless `--keep`): migrate, then N articles written with `bulk_create`
(40 sources, 60 sections, dates spread over 20 years, bodies of about 1 KB); then, in the same
process, the index is built from the titles (the bodies are written in afterwards: indexing
300,000 bodies would take most of an hour; the search service's speed on full texts is timed by
`make bench` at 100,000), and a staff user opens each admin page through Django's test client,
the list pages and two searches: once to warm up, then `--repeats` times; the median and worst
are reported.

The results are printed as a markdown table and written as JSON (`--out`, default
`bench/results/admin.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK = Path("/tmp/newsarchive-bench")
DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "admin.json"
INSERT_BATCH = 5_000
#: The 300 ms the list pages must stay under.
TARGET_MS = 300


def pages(source_id: int, section_id: int, year: int, n: int) -> list[tuple[str, str]]:
    """(what, URL) of each admin page timed (a deep page: the 50th, or the last of a small N)."""
    base = "/admin/articles/article/"
    deep = max(1, min(50, n // 100))
    return [
        ("article list", base),
        ("filtered by source", f"{base}?source__id__exact={source_id}"),
        ("filtered by section", f"{base}?section__id__exact={section_id}"),
        ("filtered by year (date hierarchy)", f"{base}?published__year={year}"),
        ("filtered by month", f"{base}?published__year={year}&published__month=6"),
        ("list, a deep page", f"{base}?p={deep}"),
        ("sources list", "/admin/articles/source/"),
        ("sections list", "/admin/articles/section/"),
    ]


def searches(words: list[str]) -> list[tuple[str, str]]:
    """(what, URL) of the admin searches timed: many matches (ten words OR-ed) and few (two
    words that must both be in the title)."""
    base = "/admin/articles/article/"
    many = " OR ".join(words[:10])
    return [
        ("search, many matches", f"{base}?{urlencode({'q': many})}"),
        ("search, few matches", f"{base}?{urlencode({'q': f'{words[10]} {words[11]}'})}"),
    ]


def index_titles() -> float:
    """Index every article while its body is empty (the titles are searched), then write the
    bodies in: indexing 300,000 full bodies would take most of an hour for nothing here."""
    from django.db import connection

    from articles.search import rebuild_index

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bodies (id INTEGER PRIMARY KEY, body TEXT)")
        cursor.execute("INSERT INTO bodies SELECT id, body FROM articles_article")
        cursor.execute("UPDATE articles_article SET body = ''")
    started = time.perf_counter()
    rebuild_index()
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE articles_article SET body = (SELECT body FROM bodies WHERE bodies.id = "
            "articles_article.id)"
        )
        cursor.execute("DROP TABLE bodies")
    return seconds


def populate(n: int, seed: int) -> None:
    from articles.models import Article, Section, Source

    rng = random.Random(seed)
    sources = Source.objects.bulk_create(
        Source(name=f"Source {i}", key=f"source {i}", slug=f"source-{i}") for i in range(40)
    )
    sections = Section.objects.bulk_create(
        Section(name=f"Section {i}", key=f"section {i}", slug=f"section-{i}") for i in range(60)
    )
    words = (PROJECT_ROOT / "bench" / "words.txt").read_text().split()
    start = datetime(2000, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    for first in range(0, n, INSERT_BATCH):
        rows = []
        for i in range(first, min(n, first + INSERT_BATCH)):
            title = " ".join(rng.choices(words, k=7)).capitalize()
            rows.append(
                Article(
                    title=title,
                    slug=f"article-{i}",
                    body=" ".join(rng.choices(words, k=160)),
                    source=rng.choice(sources),
                    section=rng.choice(sections),
                    published=start + timedelta(minutes=rng.randrange(20 * 365 * 24 * 60)),
                    fingerprint=f"{i:064x}",
                    created=now,
                    updated=now,
                )
            )
        Article.objects.bulk_create(rows)


def measure(n: int, repeats: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from articles.models import Section, Source

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    rows = []
    source, section = Source.objects.first(), Section.objects.first()
    words = (PROJECT_ROOT / "bench" / "words.txt").read_text().split()
    for what, url in pages(source.pk, section.pk, 2010, n) + searches(words):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        rows.append(
            {"page": what, "url": url, "median_ms": statistics.median(times), "max_ms": max(times)}
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", type=Path, help="a folder --keep left: measure only")
    args = parser.parse_args(argv)

    folder = args.reuse or args.work / f"admin-n{args.n}-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        NEWSARCHIVE_INDEX_DIR=str(folder / "index"),
        NEWSARCHIVE_VAR_DIR=str(folder),
        DJANGO_SETTINGS_MODULE="newsarchive.settings",
        DJANGO_DEBUG="true",
    )
    sys.path.insert(0, str(PROJECT_ROOT))
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.ALLOWED_HOSTS = ["testserver"]
    try:
        if not args.reuse:
            call_command("migrate", verbosity=0)
            started = time.perf_counter()
            populate(args.n, args.seed)
            print(f"{args.n:,} articles written in {time.perf_counter() - started:.0f} s")
            print(f"titles indexed in {index_titles():.0f} s")
        rows = measure(args.n, args.repeats)
    finally:
        if not (args.keep or args.reuse):
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\n| admin page, N = {args.n:,} | median ms | worst ms |\n| --- | ---: | ---: |")
    for row in rows:
        print(f"| {row['page']} | {row['median_ms']:.0f} | {row['max_ms']:.0f} |")
    load = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"n": args.n, "loadavg": load, "pages": rows}, indent=2))
    slow = [row["page"] for row in rows if row["median_ms"] > TARGET_MS]
    print(f"load average {load[0]:.1f}; over {TARGET_MS} ms: {', '.join(slow) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
