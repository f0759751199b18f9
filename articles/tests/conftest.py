"""Fixtures shared by the archive's tests: a real Whoosh index in a temp folder per test, and
small seed files written for the test that asks for them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def search_index_dir(settings, tmp_path: Path):
    """Every test gets its own empty index, so no test sees another's documents."""
    settings.NEWSARCHIVE_INDEX_DIR = tmp_path / "index"
    _reset_search_backend()
    yield settings.NEWSARCHIVE_INDEX_DIR
    _reset_search_backend()


def _reset_search_backend() -> None:
    try:
        from articles.search import reset_backend
    except ImportError:  # the search package is optional for the parser's own tests
        return
    reset_backend()


def seed_text(
    title: str = "Rebels advance on Aleppo",
    *,
    source: str | None = "AFP",
    published: str | None = "2015-10-10 0:38:02",
    section: str | None = "Mid-East",
    body: str = "Fighters advanced on Friday.\n\nThe offensive continued overnight.",
) -> str:
    """A seed file in the canonical layout; pass None to leave a line out."""
    meta = " ".join(
        part
        for part in (
            f"Source:{source}" if source is not None else "",
            f"Published: {published}" if published is not None else "",
        )
        if part
    )
    lines = [title, ""]
    if meta:
        lines += [meta, ""]
    lines += [body, "", ""]
    if section is not None:
        lines += [f"Posted in: {section}", ""]
    lines.append("blog comments powered by Disqus")
    return "\n".join(lines)


@pytest.fixture
def write_seed(tmp_path: Path) -> Callable[..., Path]:
    """Writes a seed file under tmp_path/seeds (or a given folder) and returns its path."""
    default_folder = tmp_path / "seeds"

    def write(name: str, text: str | bytes | None = None, folder: Path | None = None, **fields):
        path = (folder or default_folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        content = seed_text(**fields) if text is None else text
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return write
