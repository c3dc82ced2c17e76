"""Index shards: their layout and manifest, which of them are visible, and a search over all of them as one index.

A cluster ingest (:mod:`vademecum.cluster`) writes one tantivy index per shard under
``<index_dir>/shards/<run>-<n>/``, built in a hidden temporary folder and renamed when complete, with a
manifest (:data:`MANIFEST`) naming the ``source_files`` rows its store transaction writes. A shard is
*visible* only when its folder, its manifest and all those rows exist: the rows are written in the same
transaction as the shard's documents and passages, and the folder is renamed into place before that
transaction commits, so searches see a shard exactly when the store holds its passages (a worker that dies
before the commit leaves a folder whose rows never appear; it stays invisible and is removed by the next run).

:class:`ShardedIndex` is a :class:`PassageIndex` (the main index, which single-process ingests keep writing to)
that searches the main index and the visible shards as one tantivy index (:mod:`vademecum.search.union`): the
scores are those one index over all their passages gives, computed by tantivy itself.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import tantivy
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vademecum.evidence.models import SourceFile
from vademecum.search.index import PassageIndex
from vademecum.search.union import MemberState, member_states, open_union
from vademecum.settings import IndexSettings

log = logging.getLogger(__name__)

SHARDS_DIR = "shards"
MANIFEST = "vademecum-shard.json"
TEMP_PREFIX = ".tmp-"
# Where the union of the main index and its shards is built, inside the main index's folder (hard links).
UNION_DIR = ".union"
# How long a list of visible shards is trusted before the store is asked again.
REFRESH_SECONDS = 2.0


def shards_root(index_dir: Path) -> Path:
    """Where the shards of an index live."""
    return index_dir / SHARDS_DIR


@dataclass(frozen=True, slots=True)
class ShardManifest:
    """What a shard holds: the run that wrote it and the ``source_files`` rows committed with its passages."""

    name: str
    run_id: int
    source_files: dict[int, str]  # source_files.id → sha256
    records: int
    passages: int

    def write(self, folder: Path) -> None:
        """Write the manifest into a shard folder (before the folder is renamed into place)."""
        data = {
            "name": self.name,
            "run_id": self.run_id,
            "source_files": {str(key): value for key, value in self.source_files.items()},
            "records": self.records,
            "passages": self.passages,
        }
        path = folder / MANIFEST
        path.write_text(json.dumps(data, indent=1, sort_keys=True))
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())

    @classmethod
    def read(cls, folder: Path) -> ShardManifest | None:
        """The manifest of a shard folder, or None when it has none (an unfinished folder)."""
        try:
            data = json.loads((folder / MANIFEST).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return cls(
            name=data["name"],
            run_id=int(data["run_id"]),
            source_files={int(key): value for key, value in data["source_files"].items()},
            records=int(data["records"]),
            passages=int(data["passages"]),
        )


def is_committed(session: Session, manifest: ShardManifest) -> bool:
    """True when every ``source_files`` row the shard's transaction wrote is in the store."""
    if not manifest.source_files:
        return False
    found = dict(
        session.execute(
            select(SourceFile.id, SourceFile.sha256).where(SourceFile.id.in_(list(manifest.source_files)))
        ).all()
    )
    return found == manifest.source_files


def visible_shards(session: Session, index_dir: Path) -> list[Path]:
    """The shard folders whose store rows are committed, in name order."""
    root = shards_root(index_dir)
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir(), key=lambda path: path.name):
        if folder.name.startswith(TEMP_PREFIX) or not folder.is_dir():
            continue
        manifest = ShardManifest.read(folder)
        if manifest is not None and is_committed(session, manifest):
            found.append(folder)
    return found


def has_shards(index_dir: Path) -> bool:
    """True when a shard folder exists (visible or not): the runtime then opens a :class:`ShardedIndex`."""
    root = shards_root(index_dir)
    return root.is_dir() and any(not path.name.startswith(TEMP_PREFIX) for path in root.iterdir())


class ShardedIndex(PassageIndex):
    """The main passage index plus the visible shards, searched as one index."""

    def __init__(self, path: Path, settings: IndexSettings, sessions: sessionmaker[Session]) -> None:
        super().__init__(path, settings)
        self.sessions = sessions
        self._folders: list[Path] = []
        self._union: tantivy.Index | None = None
        self._union_states: tuple[MemberState, ...] = ()
        self._shard_writers: dict[Path, tantivy.IndexWriter] = {}
        self._listed_at = -math.inf
        self._lock = threading.Lock()

    # Shards ------------------------------------------------------------------------------

    def refresh(self) -> list[Path]:
        """Re-read which shards are visible and re-open the union if an index changed (searches do it
        at most every REFRESH_SECONDS, and :meth:`commit` at once)."""
        with self.sessions() as session:
            folders = visible_shards(session, self.path)
        with self._lock:
            self._folders = folders
            self._reopen()
            self._listed_at = time.monotonic()
        return folders

    def _reopen(self) -> None:
        # Called with the lock held: a new union when an index of it has committed since it was opened.
        if not self._folders:
            self._union, self._union_states = None, ()
            return
        members = [self.path, *self._folders]
        if member_states(members) != self._union_states:
            self._union, self._union_states = open_union(members, self.path / UNION_DIR)

    def shard_folders(self) -> list[Path]:
        """The visible shards."""
        if time.monotonic() - self._listed_at > REFRESH_SECONDS:
            self.refresh()
        with self._lock:
            return list(self._folders)

    def searcher(self) -> tantivy.Searcher:
        """A searcher over the main index and every visible shard, as one index."""
        self.shard_folders()
        with self._lock:
            union = self._union
        return union.searcher() if union is not None else super().searcher()

    # Writing: adds go to the main index; deletions reach every shard too --------------------

    def delete_document(self, document_id: str) -> None:
        """Queue the removal of a document's passages from the main index and from every shard."""
        self.delete_documents([document_id])

    def delete_documents(self, document_ids: Iterable[str], keep_in: str | None = None) -> None:
        """Queue removals from the main index and every shard except the one named ``keep_in``.

        A cluster run that replaced a document removes its older passages everywhere but in the shard
        that holds the new version (:func:`vademecum.cluster.ingest.ingest_on_cluster`).
        """
        ids = list(document_ids)
        for document_id in ids:
            super().delete_document(document_id)
        for folder in self.shard_folders():
            if folder.name == keep_in:
                continue
            writer = self._shard_writer(folder)
            for document_id in ids:
                writer.delete_documents_by_term("document_id", document_id)

    def clear(self) -> None:
        """Queue the removal of everything, in the shards too (a rebuild refills the main index from the store)."""
        super().clear()
        for folder in self.shard_folders():
            self._shard_writer(folder).delete_all_documents()

    def _shard_writer(self, folder: Path) -> tantivy.IndexWriter:
        writer = self._shard_writers.get(folder)
        if writer is None:
            index = tantivy.Index.open(str(folder))
            writer = index.writer(heap_size=self.settings.writer_heap_bytes, num_threads=1)
            self._shard_writers[folder] = writer
        return writer

    def commit(self) -> None:
        """Make queued changes durable and visible, in the main index and the shards."""
        super().commit()
        for writer in self._shard_writers.values():
            writer.commit()
        with self._lock:
            self._reopen()

    def rollback(self) -> None:
        """Drop queued changes everywhere."""
        super().rollback()
        for writer in self._shard_writers.values():
            writer.rollback()

    def close(self) -> None:
        """Release every writer lock."""
        super().close()
        for writer in self._shard_writers.values():
            writer.wait_merging_threads()
        self._shard_writers = {}


def remove_invisible(session: Session, index_dir: Path, keep: Iterable[str] = ()) -> list[Path]:
    """Delete shard folders that never became visible (left by a worker that died), except ``keep``."""
    root = shards_root(index_dir)
    if not root.is_dir():
        return []
    visible = set(visible_shards(session, index_dir))
    removed = []
    for folder in root.iterdir():
        if folder in visible or folder.name in keep:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed
