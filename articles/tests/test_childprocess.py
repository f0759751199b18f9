"""The pipeline that works one batch ahead in a forked child (``childprocess.ahead``)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from articles.childprocess import HelperProcessError, ahead, is_alive

NAME = "test-ahead"


def square_all(batch: list[int]) -> tuple[int, list[int]]:
    return os.getpid(), [n * n for n in batch]


def children_of(pid: int) -> set[int]:
    """The living children of a process."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                found.add(int(entry.name))
    return found


def children() -> set[int]:
    return children_of(os.getpid())


def wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


@pytest.mark.parametrize("seed", range(5))
def test_results_are_those_of_map_in_order(seed):
    rng = random.Random(seed)
    batches = [
        [rng.randrange(1000) for _ in range(rng.randrange(6))] for _ in range(rng.randrange(8))
    ]
    got = [squares for _, squares in ahead(square_all, batches, name=NAME)]
    assert got == [square_all(batch)[1] for batch in batches]


def test_a_second_batch_is_worked_in_one_other_process_that_then_leaves():
    before = children()
    pids = [pid for pid, _ in ahead(square_all, [[1], [2], [3], [4]], name=NAME)]
    assert len(set(pids)) == 1 and pids[0] != os.getpid()
    assert wait_until(lambda: children() <= before)
    assert not is_alive(pids[0])


def test_one_batch_or_no_child_stays_in_this_process():
    assert [pid for pid, _ in ahead(square_all, [[1]], name=NAME)] == [os.getpid()]
    inline = ahead(square_all, [[1], [2], [3]], name=NAME, child=False)
    assert [pid for pid, _ in inline] == [os.getpid()] * 3
    assert list(ahead(square_all, [], name=NAME)) == []


def test_the_child_takes_the_given_name():
    def name_of_self(batch: list[int]) -> str:
        return Path("/proc/self/comm").read_text().strip()

    assert list(ahead(name_of_self, [[1], [2]], name=NAME)) == [NAME, NAME]


def test_an_error_in_the_work_is_raised_here_with_its_message():
    def fail_on_three(batch: list[int]) -> list[int]:
        if 3 in batch:
            raise ValueError("three is not allowed")
        return batch

    before = children()
    results = ahead(fail_on_three, [[1], [2], [3], [4]], name=NAME)
    assert next(results) == [1]
    assert next(results) == [2]
    with pytest.raises(HelperProcessError, match="test-ahead failed: ValueError: three is not"):
        next(results)
    assert wait_until(lambda: children() <= before)


def test_the_childs_death_is_raised_here():
    def die_on_two(batch: list[int]) -> list[int]:
        if 2 in batch:
            os.kill(os.getpid(), signal.SIGKILL)
        return batch

    results = ahead(die_on_two, [[1], [2], [3]], name=NAME)
    assert next(results) == [1]
    with pytest.raises(HelperProcessError, match="test-ahead was killed by signal 9"):
        next(results)


def test_a_caller_that_stops_early_stops_the_child():
    def slow(batch: list[int]) -> list[int]:
        time.sleep(0.2)
        return batch

    before = children()
    results = ahead(slow, [[n] for n in range(10)], name=NAME)
    assert next(results) == [0]
    assert len(children() - before) == 1  # at work on the next batch
    results.close()
    assert wait_until(lambda: children() <= before)


def test_the_child_dies_with_its_parent(tmp_path):
    """A parent killed outright (no clean-up runs) takes its reading child with it."""
    script = textwrap.dedent(
        """
        import os, sys, time
        from articles.childprocess import ahead

        results = ahead(lambda batch: batch, [[1], [2], [3]], name="orphan-test")
        next(results)  # the child now works on [2]
        print(os.getpid(), flush=True)
        time.sleep(3600)
        """
    )
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE, text=True
    )
    try:
        pid = int(parent.stdout.readline())
        child = next(iter(children_of(pid)))
        os.kill(pid, signal.SIGKILL)
        parent.wait(10)
        assert wait_until(lambda: not is_alive(child))
    finally:
        parent.kill()
        parent.wait()
