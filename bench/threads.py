"""`python -m bench threads`: story threads measured on the real corpora of ``../shared/corpus``.

What it reports (and writes to ``bench/results/threads.json``):

- the **import rate with and without threads**: the same corpus imported into fresh archives,
  alternately with the thread hook and with it replaced by a no-op, each in its own process;
  articles per second by wall time and per CPU second (the import and its index sub-writers).
  The issue allows threads to cost at most 10%;
- the **thread count** and the articles they hold, and a **sample** (the largest threads);
- the **exact re-sends**: files with the same title and body under another timestamp, found
  independently (parsed with the pure parser and hashed, not by the thread code), and how
  many of them share a thread with their twin (the issue asks for all of them);
- the **precision** on ``bench/threads_pairs.tsv``: pairs of file names the method put in one
  thread, each labelled by hand (same story: yes or no) by reading the two articles.
  ``--sample-pairs N`` prints N such pairs to label (text pairs first, exact re-sends only to
  fill), seeded, so the file can be made again.

The corpora are unpacked once into ``--work`` (default ``/tmp/newsarchive-threads``); when
they are absent the run says so and exits 0.

    python -m bench threads                      # Reuters and BBC, 1 import per mode
    python -m bench threads --repeats 2 --corpus reuters
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import secrets
import shutil
import subprocess
import sys
import tarfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.run import PROJECT_ROOT
from bench.run import django_env as run_env

CORPUS_DIR = PROJECT_ROOT.parent / "shared" / "corpus"
CORPORA = {"reuters": "reuters-seeds.tar.gz", "bbc": "bbc-seeds.tar.gz"}
DEFAULT_WORK = Path("/tmp/newsarchive-threads")
DEFAULT_PAIRS = PROJECT_ROOT / "bench" / "threads_pairs.tsv"
DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "threads.json"
#: How many threads the sample shows.
SAMPLE_THREADS = 8
#: The issue's allowance: threads may slow the import by at most this share.
MAX_SLOWDOWN = 0.10

#: Run in the import's process: ``import_seeds``, with the thread hooks (the signer of new rows,
#: then grouping them) replaced by no-ops when the first argument is "off".
IMPORT_SCRIPT = """
import sys, django
django.setup()
if sys.argv[1] == "off":
    from articles import threads
    threads.signer = lambda: None
    threads.thread_articles = lambda *ids, **new: None
from django.core.management import call_command
call_command("import_seeds", *sys.argv[2:], verbosity=0)
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def unpack(names: list[str], work: Path, corpus_dir: Path) -> list[Path]:
    """The corpora's seed folders under ``work`` (unpacked on first use)."""
    folders = []
    for name in names:
        archive = corpus_dir / CORPORA[name]
        target = work / "seeds" / name
        if not (target / ".unpacked").is_file():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            log(f"unpacking {archive.name}")
            with tarfile.open(archive) as tar:
                tar.extractall(target, filter="data")
            (target / ".unpacked").write_text("ok")
        # The archives hold one folder of seeds each (seeds-reuters/, seeds-bbc/).
        inner = [p for p in target.iterdir() if p.is_dir()]
        folders.append(inner[0] if len(inner) == 1 else target)
    return folders


def env_for(folder: Path) -> dict[str, str]:
    env = run_env(folder)
    env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    return env


def import_once(seeds: list[Path], folder: Path, threads_on: bool) -> dict[str, float]:
    """A fresh archive in ``folder`` and one timed import of ``seeds``."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env = env_for(folder)
    manage = [sys.executable, str(PROJECT_ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    mode = "on" if threads_on else "off"
    command = [sys.executable, "-c", IMPORT_SCRIPT, mode, *map(str, seeds)]
    status = subprocess.run(command, env=env, cwd=PROJECT_ROOT).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if status not in (0, 1):
        raise RuntimeError(f"import failed with exit status {status}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def exact_resends(seeds: list[Path]) -> list[list[str]]:
    """Groups of files with the same title and body but other stamps, by hashing the parsed
    texts: an oracle independent of the thread code."""
    from articles import seedfile

    groups: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for folder in seeds:
        for path in sorted(folder.glob("*.txt")):
            parsed = seedfile.parse_file(path)
            key = hashlib.sha256(f"{parsed.title}\n{parsed.body}".encode()).hexdigest()
            groups[key].append((f"{folder.name}/{path.name}", parsed.published))
    return [
        [name for name, _ in members]
        for members in groups.values()
        if len(members) > 1 and len({stamp for _, stamp in members}) > 1
    ]


def archive_facts(folder: Path) -> dict[str, Any]:
    """Threads in the imported archive: counts, a sample, and file name -> (id, thread)."""
    os.environ.update(env_for(folder))
    import django

    django.setup()
    from articles import threads
    from articles.models import Article

    count, grouped = threads.thread_count()
    sample = []
    for summary in threads.largest_threads(SAMPLE_THREADS):
        members = threads.members(summary.thread)
        sample.append(
            {
                "thread": summary.thread,
                "size": summary.size,
                "titles": sorted({m.title for m in members})[:3],
                "sources": sorted({str(m.source) for m in members if m.source}),
            }
        )
    files = {
        _file_key(path): (pk, thread)
        for pk, path, thread in Article.objects.values_list("pk", "source_path", "thread")
    }
    total = Article.objects.count()
    return {"articles": total, "threads": count, "in_threads": grouped, "sample": sample}, files


def _file_key(stored_path: str) -> str:
    """``reuters/123.txt`` from the stored path (the corpus folder and the file name)."""
    parts = Path(stored_path).parts
    return "/".join(parts[-2:])


def resend_check(groups: list[list[str]], files: dict[str, tuple[int, int | None]]) -> dict:
    together = 0
    missed = []
    for names in groups:
        found = [files.get(name) for name in names]
        thread_ids = {f[1] for f in found if f is not None}
        if None not in found and len(thread_ids) == 1 and None not in thread_ids:
            together += 1
        else:
            missed.append(names)
    return {
        "groups": len(groups),
        "files": sum(len(g) for g in groups),
        "in_one_thread": together,
        "missed": missed[:10],
    }


def read_pairs(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        a, b, label = line.split("\t")[:3]
        rows.append((a, b, label.strip().lower()))
    return rows


def precision(pairs: list[tuple[str, str, str]], files: dict) -> dict[str, Any]:
    labelled = [(a, b, label) for a, b, label in pairs if label in ("yes", "no")]
    still = [
        (a, b, label)
        for a, b, label in labelled
        if files.get(a) and files.get(b) and files[a][1] is not None and files[a][1] == files[b][1]
    ]
    yes = sum(1 for _, _, label in still if label == "yes")
    return {
        "labelled": len(labelled),
        "still_in_one_thread": len(still),
        "same_story": yes,
        "precision": round(yes / len(still), 3) if still else None,
    }


def sample_pairs(n: int, files: dict, seeds: list[Path], seed: int = 20) -> list[tuple[str, str]]:
    """``n`` pairs the method put in one thread, from distinct threads: pairs whose texts
    differ first (the exact re-sends are checked on their own), exact ones only to fill."""
    from articles import seedfile

    by_thread: dict[int, list[str]] = defaultdict(list)
    for name, (_, thread) in sorted(files.items()):
        if thread is not None:
            by_thread[thread].append(name)
    root = {folder.name: folder for folder in seeds}  # the keys' first part
    rng = random.Random(seed)
    differing, identical = [], []
    for thread in sorted(by_thread):
        names = by_thread[thread]
        a, b = rng.sample(names, 2)
        texts = [seedfile.parse_file(root[x.split("/")[0]] / x.split("/")[1]) for x in (a, b)]
        same = (texts[0].title, texts[0].body) == (texts[1].title, texts[1].body)
        (identical if same else differing).append((a, b))
    rng.shuffle(differing)
    rng.shuffle(identical)
    return (differing + identical)[:n]


def render(result: dict[str, Any]) -> str:
    lines = ["", "Story threads", ""]
    rates = result["rates"]
    if rates:
        lines += [
            "| import | articles/s (wall) | articles per CPU second |",
            "| --- | ---: | ---: |",
            *(
                f"| threads {mode} | {rates[mode]['wall_rate']:.0f} | "
                f"{rates[mode]['cpu_rate']:.0f} |"
                for mode in ("off", "on")
            ),
            f"| threads on / off | {rates['wall_ratio']:.3f} | {rates['cpu_ratio']:.3f} |",
        ]
    else:
        lines.append("(imports not timed in this run: --reuse)")
    facts = result["archive"]
    lines += [
        "",
        f"{facts['articles']:,} articles; {facts['threads']:,} threads hold "
        f"{facts['in_threads']:,} of them.",
    ]
    resends = result["resends"]
    lines.append(
        f"Exact re-sends (same title and body, another stamp): {resends['groups']} groups, "
        f"{resends['files']} files; {resends['in_one_thread']} groups in one thread."
    )
    p = result["precision"]
    if p["labelled"]:
        lines.append(
            f"Hand-labelled pairs: {p['same_story']} of {p['still_in_one_thread']} are the same "
            f"story (precision {p['precision']}); {p['labelled']} labelled."
        )
    lines += ["", "Largest threads:"]
    for t in facts["sample"]:
        lines.append(f"  {t['size']:>3} versions  {' | '.join(t['titles'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench threads", description=__doc__)
    parser.add_argument("--corpus", choices=[*CORPORA, "all"], default="all")
    parser.add_argument("--corpus-dir", type=Path, default=CORPUS_DIR)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--repeats", type=int, default=1, help="imports per mode (default 1)")
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    parser.add_argument("--sample-pairs", type=int, default=0, metavar="N")
    parser.add_argument(
        "--reuse", action="store_true", help="no imports: read the archive the last run left"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    names = list(CORPORA) if args.corpus == "all" else [args.corpus]
    missing = [CORPORA[n] for n in names if not (args.corpus_dir / CORPORA[n]).is_file()]
    if missing:
        print(f"bench threads: skipped, {', '.join(missing)} not found in {args.corpus_dir}")
        return 0
    seeds = unpack(names, args.work, args.corpus_dir)
    times: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    for repeat in range(0 if args.reuse else args.repeats):
        for mode in ("off", "on") if repeat % 2 == 0 else ("on", "off"):
            log(f"import {repeat + 1}/{args.repeats}, threads {mode}")
            times[mode].append(import_once(seeds, args.work / f"archive-{mode}", mode == "on"))
            log(f"  {times[mode][-1]['wall']:.1f} s wall, {times[mode][-1]['cpu']:.1f} s CPU")
    facts, files = archive_facts(args.work / "archive-on")
    articles = facts["articles"]
    rates: dict[str, Any] = {}
    for mode, runs in times.items() if not args.reuse else ():
        wall = min(r["wall"] for r in runs)
        cpu = min(r["cpu"] for r in runs)
        rates[mode] = {"wall": wall, "cpu": cpu, "wall_rate": articles / wall,
                       "cpu_rate": articles / cpu, "runs": runs}  # fmt: skip
    if rates:
        rates["wall_ratio"] = rates["on"]["wall_rate"] / rates["off"]["wall_rate"]
        rates["cpu_ratio"] = rates["on"]["cpu_rate"] / rates["off"]["cpu_rate"]
    result = {
        "corpora": names,
        "rates": rates,
        "archive": facts,
        "resends": resend_check(exact_resends(seeds), files),
        "precision": precision(read_pairs(args.pairs), files),
    }
    print(render(result))
    if args.sample_pairs:
        print("\n# file_a\tfile_b\tsame story (yes/no)")
        for a, b in sample_pairs(args.sample_pairs, files, seeds):
            print(f"{a}\t{b}\t")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    fast = not rates or rates["cpu_ratio"] >= 1 - MAX_SLOWDOWN
    ok = fast and not result["resends"]["missed"]
    print(f"\nthreads within {MAX_SLOWDOWN:.0%} of the import without them (CPU), every "
          f"exact re-send in one thread: {'yes' if ok else 'NO'}")  # fmt: skip
    return 0
