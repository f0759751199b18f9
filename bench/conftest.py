"""Fixtures shared by the bench's tests."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def seed_tarball(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Writes ``{name: text}`` into a .tar.gz shaped like ../shared/corpus's tarballs."""

    def write(files: dict[str, str]) -> Path:
        archive = tmp_path / "seeds.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for name, text in files.items():
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return archive

    return write
