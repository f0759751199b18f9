"""Imports under faults, for real: `import_seeds` runs as its own process with index
sub-writers on, and is killed (`kill -9`, SIGTERM) at several moments or runs out of disk
space. Afterwards no process of it is left, the index is not locked, no stray file remains,
and the same command run again imports every file exactly once with the index in step."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.index import TOC

from articles.importer import READER_PROCESS
from articles.tests.conftest import seed_text

ROOT = Path(__file__).resolve().parents[2]
FILES = 450  # two batches of 225: sub-writers start at 200 documents
BATCH = "225"
SIGNALLED_FILES = 2_000  # the bulk writer imports 450 small files in well under a second
SERIAL_BATCH = "100"  # under 200 documents a batch is indexed by one writer, in process
HANG_GUARD = 120  # seconds: a command still running then has hung (no speed is asserted)
WORDS = (
    "market",
    "oil",
    "price",
    "bank",
    "rate",
    "trade",
    "export",
    "coffee",
    "cocoa",
    "grain",
    "wheat",
    "minister",
    "talks",
    "government",
    "election",
    "strike",
    "shares",
    "profit",
    "loss",
    "dollar",
    "yen",
    "bond",
    "tender",
    "harbour",
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses /proc and Linux signals")


@pytest.fixture
def site(tmp_path: Path) -> dict:
    """A private database, index and corpus, and the environment that points a command at them."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_corpus(corpus, FILES)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "NEWSARCHIVE_INDEX_DIR": str(tmp_path / "index"),
        "NEWSARCHIVE_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SECRET_KEY": "fault-tests-secret-key-not-for-production-0123456789",
        "DJANGO_LOG_LEVEL": "DEBUG",
        "PYTHONUNBUFFERED": "1",
    }
    manage(env, "migrate", "--verbosity", "0")
    index_dir = env["NEWSARCHIVE_INDEX_DIR"]
    return {"env": env, "corpus": corpus, "db": tmp_path / "db.sqlite3", "index": index_dir}


def write_corpus(corpus: Path, count: int) -> None:
    rng = random.Random(13)
    for n in range(count):
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120)))
        title = f"Story {n} {rng.choice(WORDS)}"
        (corpus / f"{n:04d}.txt").write_text(seed_text(title, body=body), encoding="utf-8")


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )


def start_import(site: dict, batch: str = BATCH) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "import_seeds", str(site["corpus"]), "--batch-size", batch],
        cwd=ROOT,
        env=site["env"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def children_of(pid: int) -> set[int]:
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(name))
    return found


def alive(pids: set[int]) -> set[int]:
    def running(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z"

    return {pid for pid in pids if running(pid)}


def wait_gone(pids: set[int], seconds: float = 10.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive(pids)


def read_until(process: subprocess.Popen, pattern: str) -> None:
    """Read the import's log lines until one matches (it must get there before it ends)."""
    for line in process.stderr:
        if re.search(pattern, line):
            return
    pytest.fail(f"the import ended before logging {pattern!r}")


def sub_writers(process: subprocess.Popen, at_least: int = 1) -> set[int]:
    """The import's index sub-writers: its children other than the one reading files ahead
    (told apart once that one has taken its name)."""
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        found = children_of(process.pid)
        readers = {pid for pid in found if process_name(pid) == READER_PROCESS}
        if readers and len(found - readers) >= at_least:
            return found - readers
        if process.poll() is not None:
            pytest.fail("the import ended before starting its sub-writers")
        time.sleep(0.01)
    pytest.fail("no sub-writer started")


def reader(process: subprocess.Popen) -> int:
    """The import's child that reads the next batch of files."""
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        for pid in children_of(process.pid):
            if process_name(pid) == READER_PROCESS:
                return pid
        if process.poll() is not None:
            pytest.fail("the import ended before starting its reader")
        time.sleep(0.01)
    pytest.fail("no reader started")


def process_name(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def assert_everything_imported_once(site: dict) -> None:
    with sqlite3.connect(site["db"]) as db:
        rows = db.execute("select id, source_path from articles_article").fetchall()
    paths = [path for _, path in rows]
    files = len(list(site["corpus"].glob("*.txt")))
    assert len(paths) == files and len(set(paths)) == files
    ix = whoosh_index.open_dir(site["index"])
    with ix.searcher() as searcher:
        indexed = [fields["id"] for fields in searcher.all_stored_fields()]
    assert sorted(indexed) == sorted(pk for pk, _ in rows)  # one document per article
    check = manage(site["env"], "check_index")
    assert check.returncode == 0, check.stdout + check.stderr


def assert_no_stray_files(index_dir: str) -> None:
    """Only the current table of contents, its segments, the lock file and an empty temp folder."""
    ix = whoosh_index.open_dir(index_dir)
    toc = ix._read_toc()
    keep = {segment.segment_id() for segment in toc.segments}
    toc_name = TOC._pattern(ix.indexname)
    segment_name = TOC._segment_pattern(ix.indexname)
    for name in os.listdir(index_dir):
        path = Path(index_dir) / name
        if path.is_dir():
            assert name.endswith(".tmp") and not os.listdir(path), f"stray {name}"
        elif toc_name.match(name):
            assert int(toc_name.match(name).group(1)) == toc.generation, f"stray {name}"
        elif segment_name.match(name):
            assert segment_name.match(name).group(1) in keep, f"stray {name}"
        else:
            assert name.startswith(f"{ix.indexname}_WRITELOCK"), f"stray {name}"


def rerun_completes(site: dict) -> None:
    rerun = manage(site["env"], "import_seeds", str(site["corpus"]), "--batch-size", BATCH)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert_everything_imported_once(site)
    assert_no_stray_files(site["index"])


@pytest.mark.parametrize(
    "moment", ["before the first commit", "mid-batch", "during an index commit"]
)
def test_kill_9_leaves_no_process_and_a_rerun_finishes(site, moment):
    process = start_import(site)
    if moment == "during an index commit":
        read_until(process, "index commit started")
        workers = children_of(process.pid)
    else:
        workers = sub_writers(process)  # they start with the first batch's documents
        if moment == "mid-batch":
            time.sleep(0.4)
    process.kill()
    process.wait(HANG_GUARD)
    assert workers, "the import had no sub-writers when it was killed"
    assert not wait_gone(workers), "sub-writers outlived the killed import"
    assert not wait_gone(running_on(site["corpus"])), "a process of the import outlived it"
    rerun_completes(site)


def running_on(corpus: Path) -> set[int]:
    """Every process whose command line names this corpus: the import and anything it forked,
    including a sub-writer being forked at the moment of the kill."""
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            except OSError:
                continue
            if str(corpus).encode() in cmdline:
                found.add(int(name))
    return found


def test_sigterm_stops_like_ctrl_c(site):
    write_corpus(site["corpus"], SIGNALLED_FILES)  # long enough to be stopped half-way
    process = start_import(site)
    # Mid-import: once both sub-writers run and the import is past forking them (a signal
    # handled inside a fork's own callbacks is ignored), well before the end.
    workers = sub_writers(process, at_least=2)
    time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=HANG_GUARD)
    assert process.returncode == 143
    assert "SIGTERM: finished batches are saved" in stderr
    assert "Traceback" not in stderr
    assert not wait_gone(workers)
    assert not wait_gone(running_on(site["corpus"]))
    rerun_completes(site)


def _can_mount_tmpfs(tmp_path: Path) -> bool:
    if os.geteuid() != 0:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe], check=False)
    if done.returncode != 0:
        return False
    subprocess.run(["umount", probe], check=False)
    return True


@pytest.fixture
def tiny_index_disk(site, tmp_path):
    """The index folder on a 384 KB tmpfs (root only); grown to 256 MB by calling the result."""
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("needs root and tmpfs mounts to fill a real disk")
    folder = Path(site["index"])
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=384k", "tmpfs", folder], check=True)

    def grow() -> None:
        subprocess.run(["mount", "-o", "remount,size=256m", folder], check=True)

    yield grow
    subprocess.run(["umount", "-l", folder], check=False)


@pytest.mark.parametrize("batch", [BATCH, SERIAL_BATCH], ids=["sub-writers", "one writer"])
def test_full_disk_ends_with_one_line_and_a_rerun_finishes(site, tiny_index_disk, batch):
    process = start_import(site, batch)
    workers = sub_writers(process) if batch == BATCH else set()
    _, stderr = process.communicate(timeout=HANG_GUARD)
    assert_stopped_with_one_line(process, stderr, "No space left on device")
    assert not wait_gone(workers)
    assert not wait_gone(running_on(site["corpus"]))
    assert_no_stray_files(site["index"])
    assert indexed_ids(site) <= database_ids(site)  # no index document without its article
    tiny_index_disk()
    rerun_completes(site)


def test_a_sub_writer_killed_ends_the_import_with_one_line(site):
    process = start_import(site)
    workers = sub_writers(process)
    os.kill(min(workers), signal.SIGKILL)
    _, stderr = process.communicate(timeout=HANG_GUARD)
    assert_stopped_with_one_line(process, stderr, "killed by signal 9")
    assert not wait_gone(workers)
    assert not wait_gone(running_on(site["corpus"]))
    rerun_completes(site)


def test_the_reading_process_killed_ends_the_import_with_one_line(site):
    """The child reading files ahead dies: the import stops as for a dead sub-writer, and
    takes its sub-writers with it; a rerun finishes the job."""
    write_corpus(site["corpus"], SIGNALLED_FILES)  # long enough to be stopped half-way
    process = start_import(site)
    workers = sub_writers(process)
    os.kill(reader(process), signal.SIGKILL)
    _, stderr = process.communicate(timeout=HANG_GUARD)
    assert_stopped_with_one_line(process, stderr, f"{READER_PROCESS} was killed by signal 9")
    assert not wait_gone(workers)
    assert not wait_gone(running_on(site["corpus"]))
    assert indexed_ids(site) <= database_ids(site)
    rerun_completes(site)


def assert_stopped_with_one_line(process: subprocess.Popen, stderr: str, cause: str) -> None:
    assert process.returncode == 3, stderr[-2000:]
    last = [line for line in stderr.splitlines() if line.startswith("Import stopped:")]
    assert len(last) == 1 and cause in last[0], stderr[-2000:]
    assert "Traceback" not in stderr


def database_ids(site: dict) -> set[int]:
    with sqlite3.connect(site["db"]) as db:
        return {pk for (pk,) in db.execute("select id from articles_article")}


def indexed_ids(site: dict) -> set[int]:
    ix = whoosh_index.open_dir(site["index"])
    with ix.searcher() as searcher:
        return {fields["id"] for fields in searcher.all_stored_fields()}


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)
"""


@pytest.fixture
def lock_holder(tmp_path):
    """A process that holds an index's write lock until killed, as a leftover sub-writer did."""
    from whoosh import fields

    folder = tmp_path / "lockdemo"
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), fields.Schema(id=fields.ID(stored=True)))
    lock_file = folder / f"{ix.indexname}_WRITELOCK"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock_file)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    yield ix, holder
    holder.kill()
    holder.wait()


def test_a_lock_left_by_a_dead_imports_sub_writer_is_cleared(lock_holder):
    from articles.search.backends.whoosh.lockfiles import OwnerRecord, lock_path
    from articles.search.backends.whoosh.writers import open_writer

    ix, holder = lock_holder
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **TEXT)
    dead_owner = int(gone.stdout)
    record = OwnerRecord(lock_path(ix))
    subwriter = [holder.pid, process_start(holder.pid)]
    Path(record.path).write_text(
        json.dumps({"pid": dead_owner, "start": 1, "subwriters": [subwriter]})
    )
    writer = open_writer(ix, timeout=5)  # would wait 5 s and fail if the lock stayed held
    writer.add_document(id="1")
    writer.commit()
    assert holder.wait(5) == -signal.SIGKILL
    assert not Path(record.path).exists()


def test_a_lock_held_by_a_live_process_is_named_not_broken(lock_holder):
    from articles.search.backends.whoosh.writers import open_writer
    from articles.search.errors import IndexLockedError

    ix, holder = lock_holder
    with pytest.raises(
        IndexLockedError, match=rf"stayed locked for 1s; held by process {holder.pid}"
    ):
        open_writer(ix, timeout=1)
    assert holder.poll() is None  # a writer that is alive is never killed


TEXT = {"capture_output": True, "text": True, "check": True}


def process_start(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
