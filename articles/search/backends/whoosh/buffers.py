"""Read Whoosh's memory-mapped segment files in place instead of copying them.

Whoosh opens every file inside a compound segment as ``BufferFile(memoryview(mmap))``, and
``BufferFile`` wraps its buffer in ``io.BytesIO``, which copies it. Opening a searcher therefore
copied every segment's postings and terms into memory: at 100,000 articles that was ~900 MB per
process and 1.0 s (6 s with a cold disk cache) before the first search could run.

``MemoryWindow`` is the file object ``BufferFile`` needs (read, readline, seek, tell, iteration,
close) over the memoryview itself, so only the bytes actually read are copied and the operating
system shares the mapped pages between processes. ``install()`` makes compound storage use it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from whoosh.filedb import compound
from whoosh.filedb.structfile import BufferFile

_LINE_CHUNK = 256
_PEEK_BYTES = 4096


class MemoryWindow(io.RawIOBase):
    """A read-only, seekable file over a buffer that copies only what is read."""

    def __init__(self, buffer: bytes | bytearray | memoryview) -> None:
        super().__init__()
        self._view = memoryview(buffer).cast("B")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += len(self._view)
        if offset < 0:
            raise ValueError(f"negative seek position {offset}")
        self._pos = offset
        return offset

    def read(self, size: int | None = -1) -> bytes:
        start = self._pos
        end = len(self._view) if size is None or size < 0 else min(start + size, len(self._view))
        if end <= start:
            return b""
        self._pos = end
        return self._view[start:end].tobytes()

    def peek(self, size: int = 0) -> bytes:
        """Up to 4 KB ahead without consuming them: lets ``pickle.load`` read a small pickle
        (a block header) in one call instead of one ``read`` per opcode. The unpickler asks
        for 128 KB; copying that much per header would cost more than it saves."""
        start = self._pos
        return self._view[start : start + min(max(size, 1), _PEEK_BYTES)].tobytes()

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        limit = len(self._view) if size is None or size < 0 else self._pos + size
        limit = min(limit, len(self._view))
        start, scan = self._pos, self._pos
        chunk = _LINE_CHUNK
        while scan < limit:
            stop = min(scan + chunk, limit)
            found = self._view[scan:stop].tobytes().find(b"\n")
            if found >= 0:
                limit = scan + found + 1
                break
            scan, chunk = stop, chunk * 2
        self._pos = max(limit, start)
        return self._view[start : self._pos].tobytes()

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def close(self) -> None:
        if not self.closed:
            self._view.release()  # lets the mmap behind it close
        super().close()


class WindowBufferFile(BufferFile):
    """``BufferFile`` reading through a ``MemoryWindow`` rather than a copying ``BytesIO``."""

    def __init__(self, buf: bytes | bytearray | memoryview, name: str | None = None, onclose=None):
        super().__init__(b"", name=name, onclose=onclose)
        self._buf = buf
        self.file = MemoryWindow(buf)


def install() -> None:
    """Make Whoosh's compound segment storage open its files without copying them."""
    compound.BufferFile = WindowBufferFile
