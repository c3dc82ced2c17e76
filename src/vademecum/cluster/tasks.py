"""What runs on a Dask worker: build one index shard and store its files' documents, all or nothing.

A task writes its shard's index into a hidden temporary folder, then, inside the store transaction that
holds the shard's documents, passages and ``source_files`` rows, writes the manifest, renames the folder
into place and commits. A worker killed at any point before the commit leaves no store rows (PostgreSQL
rolls back the dead connection's transaction) and a folder that is either hidden or has a manifest whose
rows never appeared: searches ignore both (:func:`vademecum.search.shards.visible_shards`). Dask then runs
the task again on another worker, which starts the shard from scratch.
"""

from __future__ import annotations

import os
import resource
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from vademecum.db import create_db_engine, create_session_factory
from vademecum.search.index import PassageIndex
from vademecum.search.shards import TEMP_PREFIX, ShardManifest, is_committed, shards_root
from vademecum.services.ingest import IngestProblem, store_shard
from vademecum.settings import Settings

# One engine per worker process and database, reused by every task the process runs.
_SESSIONS: dict[str, sessionmaker[Session]] = {}


@dataclass
class ShardResult:
    """What a shard task reports back to the client (plain data: it crosses process boundaries)."""

    name: str
    files: list[str]
    outcomes: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[IngestProblem] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    written: bool = False
    worker_pid: int = 0


def _sessions(url: str) -> sessionmaker[Session]:
    if url not in _SESSIONS:
        _SESSIONS[url] = create_session_factory(create_db_engine(url))
    return _SESSIONS[url]


def build_shard(settings: Settings, run_id: int, name: str, files: list[str]) -> ShardResult:
    """Ingest ``files`` into the store and into the index shard ``name`` (see the module docstring)."""
    sessions = _sessions(settings.resolved_database_url)
    root = shards_root(settings.index_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / name
    result = ShardResult(name=name, files=list(files), worker_pid=os.getpid())
    if final.exists():
        manifest = ShardManifest.read(final)
        with sessions() as session:
            committed = manifest is not None and is_committed(session, manifest)
        if committed:
            # An earlier attempt committed and its worker died before reporting: the shard is done.
            result.written = True
            result.outcomes = {path: "ingested" for path in files}
            return result
        shutil.rmtree(final)
    for leftover in root.glob(f"{TEMP_PREFIX}{name}-*"):
        # An earlier attempt of this shard whose worker died: its transaction died with it.
        shutil.rmtree(leftover, ignore_errors=True)
    temporary = root / f"{TEMP_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
    renamed = False
    try:
        index = PassageIndex(temporary, settings.index)
        with sessions() as session, session.begin():
            outcome = store_shard(session, index, settings, run_id, [Path(path) for path in files])
            index.commit()
            index.close()
            result.outcomes = outcome.outcomes
            result.counts = dict(outcome.counts)
            result.problems = outcome.problems
            result.replaced = outcome.replaced
            result.deleted = outcome.deleted
            if outcome.source_files:
                ShardManifest(
                    name=name,
                    run_id=run_id,
                    source_files=outcome.source_files,
                    records=outcome.counts["records"],
                    passages=outcome.counts["passages_indexed"],
                ).write(temporary)
                os.rename(temporary, final)
                _fsync_dir(root)
                renamed = True
            # Leaving the block commits: from then on the shard is visible, with its documents.
        result.written = renamed
        return result
    except BaseException:
        if renamed:
            shutil.rmtree(final, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def worker_summary(dask_worker: Any) -> dict[str, Any]:
    """The pid and peak memory of a worker process (run with ``Client.run``)."""
    return {"pid": os.getpid(), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
