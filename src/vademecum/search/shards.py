"""Index shards: their layout and manifest, which of them are visible, and a search that fans out over them.

A cluster ingest (:mod:`vademecum.cluster`) writes one tantivy index per shard under
``<index_dir>/shards/<run>-<n>/``, built in a hidden temporary folder and renamed when complete, with a
manifest (:data:`MANIFEST`) naming the ``source_files`` rows its store transaction writes. A shard is
*visible* only when its folder, its manifest and all those rows exist: the rows are written in the same
transaction as the shard's documents and passages, and the folder is renamed into place before that
transaction commits, so searches see a shard exactly when the store holds its passages (a worker that dies
before the commit leaves a folder whose rows never appear; it stays invisible and is removed by the next run).

:class:`ShardedIndex` is a :class:`PassageIndex` (the main index, which single-process ingests keep writing to)
that also searches the visible shards, with the scores one index over all their passages would give
(:mod:`vademecum.search.scoring`): each shard is searched with the same query; its hits are re-scored with
the summed statistics; a shard is read deeper until the bound of :func:`score_ratio_bound` shows that no
unread passage of it can reach the top ``limit``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vademecum.evidence.models import SourceFile
from vademecum.search.index import TEXT_FIELDS, PassageHit, PassageIndex
from vademecum.search.query import content_terms, query_terms
from vademecum.search.scoring import (
    GlobalStatistics,
    ShardStatistics,
    field_ids,
    global_score,
    query_terms_by_field,
    score_ratio_bound,
    shard_statistics,
)
from vademecum.settings import IndexSettings

log = logging.getLogger(__name__)

SHARDS_DIR = "shards"
MANIFEST = "vademecum-shard.json"
TEMP_PREFIX = ".tmp-"
# First depth read from each shard, as a multiple of its share of the limit; doubled while the bound says go on.
FIRST_DEPTH_FACTOR = 2
MIN_DEPTH = 20
# Relative slack on the stopping bound, for tantivy's float32 scores against our float64 ones.
BOUND_SLACK = 1e-4
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


class Shard:
    """One searchable index with its BM25 statistics (re-read only when its passage count changes)."""

    def __init__(self, index: tantivy.Index, fields: dict[int, str]) -> None:
        self.index = index
        self.fields = fields
        self._stats: ShardStatistics | None = None
        self._stats_docs: int | None = None

    def searcher(self) -> tantivy.Searcher:
        return self.index.searcher()

    def statistics(self, searcher: tantivy.Searcher) -> ShardStatistics:
        # The main index changes as single-process ingests write to it: re-read when its size changed.
        if self._stats is None or self._stats_docs != searcher.num_docs:
            self._stats = shard_statistics(self.index, self.fields)
            self._stats_docs = searcher.num_docs
        return self._stats


@dataclass
class _Reading:
    """How far one shard has been read for one search."""

    shard: Shard
    searcher: tantivy.Searcher
    stats: ShardStatistics
    depth: int = 0
    exhausted: bool = False
    last_score: float = math.inf
    ratio: float = 1.0


class ShardedIndex(PassageIndex):
    """The main passage index plus the visible shards, searched as one index (exact global BM25)."""

    def __init__(self, path: Path, settings: IndexSettings, sessions: sessionmaker[Session]) -> None:
        super().__init__(path, settings)
        self.sessions = sessions
        self.fields = field_ids(self.schema)
        self._main = Shard(self._index, self.fields)
        self._shards: dict[Path, Shard] = {}
        self._shard_writers: dict[Path, tantivy.IndexWriter] = {}
        self._listed_at = -math.inf
        self._lock = threading.Lock()

    # Shards ------------------------------------------------------------------------------

    def refresh(self) -> list[Path]:
        """Re-read which shards are visible (done by searches at most every REFRESH_SECONDS)."""
        with self.sessions() as session:
            folders = visible_shards(session, self.path)
        with self._lock:
            self._shards = {
                folder: self._shards.get(folder) or Shard(tantivy.Index.open(str(folder)), self.fields)
                for folder in folders
            }
            for shard in self._shards.values():
                shard.index.reload()
            self._listed_at = time.monotonic()
        return folders

    def shards(self) -> list[Shard]:
        """The main index and every visible shard."""
        if time.monotonic() - self._listed_at > REFRESH_SECONDS:
            self.refresh()
        with self._lock:
            return [self._main, *self._shards.values()]

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
        self.shards()
        with self._lock:
            folders = [folder for folder in self._shards if folder.name != keep_in]
        for folder in folders:
            writer = self._shard_writer(folder)
            for document_id in ids:
                writer.delete_documents_by_term("document_id", document_id)

    def clear(self) -> None:
        """Queue the removal of everything, in the shards too (a rebuild refills the main index from the store)."""
        super().clear()
        self.shards()
        for folder in list(self._shards):
            self._shard_writer(folder).delete_all_documents()

    def _shard_writer(self, folder: Path) -> tantivy.IndexWriter:
        writer = self._shard_writers.get(folder)
        if writer is None:
            writer = self._shards[folder].index.writer(heap_size=self.settings.writer_heap_bytes, num_threads=1)
            self._shard_writers[folder] = writer
        return writer

    def commit(self) -> None:
        """Make queued changes durable and visible, in the main index and the shards."""
        super().commit()
        for folder, writer in self._shard_writers.items():
            writer.commit()
            self._shards[folder].index.reload()

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

    # Reading -----------------------------------------------------------------------------

    def count(self) -> int:
        """Passages visible to searches, over all shards."""
        return sum(shard.searcher().num_docs for shard in self.shards())

    def phrase_count(self, phrase: str) -> int:
        """How many passages of all shards contain ``phrase`` in their text."""
        total = super().phrase_count(phrase)
        for shard in self.shards()[1:]:
            total += _phrase_count(shard.index, phrase)
        return total

    def search(
        self,
        text: str,
        *,
        kinds: Sequence[str] = (),
        limit: int = 10,
        field_boosts: dict[str, float] | None = None,
    ) -> list[PassageHit]:
        """Rank passages over all shards with the scores one index holding them all would give."""
        shards = self.shards()
        if len(shards) == 1:
            return super().search(text, kinds=kinds, limit=limit, field_boosts=field_boosts)
        terms = content_terms(text)
        if not terms or limit <= 0:
            return []
        query = self._query(terms, kinds, field_boosts)
        return search_shards(shards, query, limit, self.fields)

    def _query(self, terms: list[str], kinds: Sequence[str], field_boosts: dict[str, float] | None) -> tantivy.Query:
        # The same query PassageIndex.search builds, so that the two rank alike.
        query = self._index.parse_query(
            " ".join(terms), default_field_names=list(TEXT_FIELDS), field_boosts=field_boosts or {}
        )
        if kinds:
            kind_filter = tantivy.Query.term_set_query(self.schema, "kind", list(kinds))
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, kind_filter)])
        return query


def search_shards(
    shards: Sequence[Shard], query: tantivy.Query, limit: int, fields: dict[int, str]
) -> list[PassageHit]:
    """The exact global top ``limit`` of ``query`` over ``shards`` (see the module docstring)."""
    readings = []
    for shard in shards:
        searcher = shard.searcher()
        readings.append(_Reading(shard, searcher, shard.statistics(searcher)))
    terms = query_terms_by_field(query, fields)
    stats = GlobalStatistics.combine(
        (reading.stats for reading in readings),
        terms,
        lambda field, term: sum(reading.searcher.doc_freq(field, term) for reading in readings),
    )
    for reading in readings:
        reading.ratio = score_ratio_bound(reading.stats, stats, _doc_freq(reading.searcher))
    # (global score, shard number, address) of every passage read so far.
    scored: dict[tuple[int, int, int], tuple[float, tantivy.DocAddress]] = {}
    # A shard's first read is its share of the limit (by size), with margin; the bound decides the rest.
    for reading in readings:
        share = limit * reading.stats.doc_count / max(1, stats.doc_count)
        reading.depth = max(MIN_DEPTH, math.ceil(FIRST_DEPTH_FACTOR * share))
    pending = [number for number, reading in enumerate(readings) if reading.stats.doc_count]
    while pending:
        for number in pending:
            reading = readings[number]
            hits = reading.searcher.search(query, reading.depth, count=False).hits
            reading.exhausted = len(hits) < reading.depth
            if hits:
                reading.last_score = hits[-1][0]
            for _local, address in hits:
                key = (number, address.segment_ord, address.doc)
                if key in scored:
                    continue
                score = global_score(query.explain(reading.searcher, address), stats, fields)
                scored[key] = (score, address)
        ranked = sorted(scored.items(), key=lambda item: (-item[1][0], item[0]))
        cutoff = ranked[limit - 1][1][0] if len(ranked) >= limit else -math.inf
        pending = [
            number
            for number, reading in enumerate(readings)
            if not reading.exhausted and _unread_bound(reading) * (1 + BOUND_SLACK) >= cutoff
        ]
        for number in pending:
            readings[number].depth *= 2
    ranked = sorted(scored.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [
        PassageHit(PassageIndex._passage(readings[number].searcher.doc(address)), score)
        for (number, _segment, _doc), (score, address) in ranked
    ]


def _unread_bound(reading: _Reading) -> float:
    """The highest global score a passage of the shard below its last read one can have.

    A score is a constant C >= 0 (the kinds filter's) plus term contributions, each at most ``ratio`` times
    its shard value, so global <= C + ratio * (shard - C) <= ratio * shard.
    """
    return reading.ratio * reading.last_score


def _doc_freq(searcher: tantivy.Searcher) -> Callable[[str, str], int]:
    return lambda field, term: searcher.doc_freq(field, term)


def _phrase_count(index: tantivy.Index, phrase: str) -> int:
    terms = query_terms(phrase)
    if not terms:
        return 0
    query = index.parse_query('"' + " ".join(terms) + '"', default_field_names=["text"])
    return index.searcher().search(query, 1, count=True).count


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
