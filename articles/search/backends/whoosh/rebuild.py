"""Rebuilding (or optimizing) the Whoosh index beside the live one, then swapping it in at once.

A rebuild used to hold the index's write lock from start to finish (minutes at 100,000
articles): admin saves waited on it and gave up after a minute. Here every article is indexed
into a fresh index in a folder beside the live one (``<index>.rebuild-<pid>``), with the same
bulk, parallel writers as an import, while the live index keeps serving searches and taking
saves. At the end, holding the live index's lock for a moment:

1. the new segment files are moved into the live folder (same file system: a rename each);
2. what changed while the rebuild ran is applied to the new segments: every article whose
   indexed copy in the live index differs from the rebuild's (a save, a delete, a new row
   reached the live index through the signals), and every row updated since the rebuild
   started, is indexed again from the database;
3. a new table of contents naming only the new segments is written; that write is Whoosh's
   atomic replace, so a search sees the old index or the new one, never a mix. The old
   segments' files are removed (open readers keep them mapped until they close).

A rebuild that fails before step 3 leaves the live index as it was: the moved files are not
named by its table of contents and are removed with the folder beside it.

``optimize_beside`` does the same with the live index's own segments merged into one (Whoosh's
merge, with its pool bounded by ``OPTIMIZE_LIMITMB`` and spilling to disk beyond), for quiet
hours: a merge at 100,000 articles takes minutes of pure Python, which a writer holding the
live lock would make every save wait for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from whoosh import index

from .codec import build_codec
from .lockfiles import process_start
from .schema import document_for
from .writers import cancel_quietly, commit, index_write_errors, open_writer
from .writing import articles_by_id, merge_tiny

if TYPE_CHECKING:
    from .backend import WhooshBackend

logger = logging.getLogger(__name__)

#: Articles read from the database per step of a rebuild.
REBUILD_BATCH = 500
#: Memory for the postings pool of an optimize's merge (beyond it, sorted runs go to disk).
OPTIMIZE_LIMITMB = 256
_SIDE_PATTERN = re.compile(r"\.rebuild-(\d+)$")


def rebuild_beside(live: WhooshBackend, progress: Callable[[int], None] | None = None) -> int:
    """Index every article into a new index beside ``live`` and swap it in; return the count."""
    from articles.models import Article

    started = timezone.now()
    before = live.indexed_versions()
    remove_abandoned_rebuilds(live.index_dir)
    side_dir = _side_dir(live)
    side = type(live)(side_dir)
    try:
        pks = list(Article.objects.order_by("pk").values_list("pk", flat=True))
        indexer = side.bulk_indexer()
        try:
            for first in range(0, len(pks), REBUILD_BATCH):
                batch = pks[first : first + REBUILD_BATCH]
                indexer.add(batch, new=True)
                if progress is not None:
                    progress(len(batch))
        except BaseException:
            indexer.cancel()
            raise
        indexer.close()
        count = len(side.indexed_ids())
        side.close()
        swap_in(live, side_dir, before, started)
    finally:
        side.close()
        shutil.rmtree(side_dir, ignore_errors=True)
    return count


def optimize_beside(live: WhooshBackend) -> int:
    """Merge the live index's segments into one beside it and swap that in; return the number
    of segments there were."""
    started = timezone.now()
    before = live.indexed_versions()
    remove_abandoned_rebuilds(live.index_dir)
    side_dir = _side_dir(live)
    try:
        side = type(live)(side_dir)
        side_ix = side._index()
        side.close()
        writer = open_writer(side_ix, timeout=0, codec=build_codec(), limitmb=OPTIMIZE_LIMITMB)
        try:
            with index_write_errors(), live._index().reader() as reader:
                segments = reader.leaf_readers()
                for segment_reader, _offset in segments:
                    writer.add_reader(segment_reader)
        except BaseException:
            cancel_quietly(writer)
            raise
        commit(writer)
        swap_in(live, side_dir, before, started)
    finally:
        shutil.rmtree(side_dir, ignore_errors=True)
    return len(segments)


def _side_dir(live: WhooshBackend) -> Path:
    side_dir = live.index_dir.with_name(f"{live.index_dir.name}.rebuild-{os.getpid()}")
    shutil.rmtree(side_dir, ignore_errors=True)
    return side_dir


def swap_in(live: WhooshBackend, side_dir: Path, before: dict, started: Any) -> None:
    """Make the index in ``side_dir`` the live one (steps 1-3 above), holding the live lock.

    ``before`` is the live index's (id, updated) when the rebuild started: what differs from
    it now reached the live index during the rebuild, and is indexed again."""
    from articles.models import Article

    side_segments = index.open_dir(str(side_dir))._segments()
    writer = live._writer()  # the live lock: saves wait for the swap, and follow it
    live_segments = writer.segments
    try:
        with index_write_errors():
            _move_segment_files(side_dir, live.index_dir, side_segments)
            writer.segments = list(side_segments)
            writer._setup_doc_offsets()
            now = live.indexed_versions()
            changed = {pk for pk in now.keys() | before.keys() if now.get(pk) != before.get(pk)}
            recent = Article.objects.filter(updated__gte=started).values_list("pk", flat=True)
            changed.update(recent)
            _reindex(writer, sorted(changed), live.tz)
    except BaseException:
        writer.segments = live_segments  # cancelling must keep the live segments' files
        writer._setup_doc_offsets()
        cancel_quietly(writer)
        raise
    commit(writer, mergetype=merge_tiny)
    if changed:
        logger.info("Rebuild: %d articles changed while it ran, indexed again", len(changed))


def _reindex(writer: Any, ids: list[int], tz: Any) -> None:
    found: set[int] = set()
    for article in articles_by_id(ids):
        found.add(article.pk)
        writer.update_document(**document_for(article, tz))
    for missing in set(ids) - found:
        writer.delete_by_term("id", missing)


def _move_segment_files(source: Path, target: Path, segments: list[Any]) -> None:
    ids = {segment.segment_id() for segment in segments}
    for name in os.listdir(source):
        if any(segid in name for segid in ids):
            os.replace(source / name, target / name)


def remove_abandoned_rebuilds(index_dir: Path) -> None:
    """Remove folders beside the index left by rebuilds whose process is gone (a kill)."""
    with contextlib.suppress(OSError):
        for path in index_dir.parent.iterdir():
            found = _SIDE_PATTERN.search(path.name)
            ours = found and path.name == f"{index_dir.name}.rebuild-{found.group(1)}"
            if ours and process_start(int(found.group(1))) is None:
                shutil.rmtree(path, ignore_errors=True)
