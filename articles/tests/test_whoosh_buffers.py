"""Segment files are read in place: the window over Whoosh's memory map behaves like the
``BytesIO`` it replaces, without copying the buffer."""

from __future__ import annotations

import io
import pickle

import pytest
from whoosh.filedb import compound

from articles.search.backends.whoosh import buffers
from articles.search.backends.whoosh.buffers import MemoryWindow, WindowBufferFile

CONTENT = b"first line\nsecond line\n" + pickle.dumps({"a": [1, 2, 3]}, protocol=2) + b"tail"


def test_reads_like_bytesio():
    window, reference = MemoryWindow(CONTENT), io.BytesIO(CONTENT)
    for step in (lambda f: f.read(3), lambda f: f.readline(), lambda f: f.readline(4)):
        assert step(window) == step(reference)
        assert window.tell() == reference.tell()
    window.seek(-4, io.SEEK_END)
    reference.seek(-4, io.SEEK_END)
    assert window.read() == reference.read() == b"tail"
    assert window.read(5) == b""


def test_iterates_lines_and_unpickles():
    window = MemoryWindow(CONTENT)
    assert next(iter(window)) == b"first line\n"
    window.seek(len(b"first line\nsecond line\n"))
    assert pickle.load(window) == {"a": [1, 2, 3]}
    assert window.read() == b"tail"  # pickle.load consumed exactly one pickle


def test_peek_does_not_move():
    window = MemoryWindow(CONTENT)
    window.seek(6)
    assert window.peek(4).startswith(b"line")
    assert window.tell() == 6


def test_peek_copies_a_bounded_amount():
    window = MemoryWindow(bytes(1_000_000))
    assert 0 < len(window.peek(131_072)) <= 4096  # what the C unpickler asks for


def test_does_not_copy_the_buffer():
    backing = bytearray(b"abcdef")
    window = MemoryWindow(memoryview(backing))
    backing[0:3] = b"XYZ"
    assert window.read(3) == b"XYZ"


def test_negative_seek_is_refused():
    with pytest.raises(ValueError):
        MemoryWindow(b"abc").seek(-1)


def test_closing_releases_the_view_so_the_map_can_close():
    backing = bytearray(b"abcdef")
    view = memoryview(backing)
    f = WindowBufferFile(view, name="x")
    assert f.read(2) == b"ab"
    f.close()
    backing.extend(b"more")  # resizing fails while any export of the buffer is alive
    assert f.is_closed


def test_installed_for_compound_segments():
    buffers.install()
    assert compound.BufferFile is WindowBufferFile
