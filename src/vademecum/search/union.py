"""One tantivy index over the segments of several indexes, so that a search over them scores as one index.

A tantivy index is a folder of segments named by a ``meta.json``; a searcher scores BM25 with the statistics
of all its segments (N, the documents holding a term, the average field length). Indexes built apart, as the
shards of a cluster ingest are, each score with their own statistics. A *union* is a folder holding hard
links to the segment files of every member index and a ``meta.json`` listing all their segments: tantivy
opens it as one index, whose scores are those of one index holding every member's segments.

The folder lives only while tantivy opens it. Hard links, not copies nor symbolic links: a member's writer
may merge segments and delete their files at any time, and a link keeps the file the union names until the
union is open; once open, tantivy has mapped every file, so the folder is removed at once and the union index
keeps working until it is dropped. A folder left by a process killed in that instant is removed by the next
union built beside it after :data:`STALE_SECONDS`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

META = "meta.json"
# A union is built in milliseconds; a folder this old was left by a process that died while building one.
STALE_SECONDS = 600.0
# A member's merge may delete files between the reading of its meta.json and their linking: read again.
ATTEMPTS = 5


class UnionError(RuntimeError):
    """The members cannot be searched as one index (different schemas, or files kept vanishing)."""


@dataclass(frozen=True, slots=True)
class MemberState:
    """A member index as one union saw it: its folder and the bytes of its ``meta.json``."""

    folder: Path
    meta: bytes


def member_states(folders: Sequence[Path]) -> tuple[MemberState, ...]:
    """The current ``meta.json`` of each member: a union built from equal states is still current."""
    return tuple(MemberState(folder, (folder / META).read_bytes()) for folder in folders)


def open_union(folders: Sequence[Path], workdir: Path) -> tuple[tantivy.Index, tuple[MemberState, ...]]:
    """Open one index over every segment of the indexes in ``folders``, built in a folder under ``workdir``.

    ``workdir`` must be on the members' file system (hard links). Returns the index, read-only and never
    reloaded, and the member states it was built from.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    _remove_stale(workdir)
    vanished: FileNotFoundError | None = None
    for _attempt in range(ATTEMPTS):
        states = member_states(folders)
        folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=workdir))
        try:
            _link_members(states, folder)
            index = tantivy.Index.open(str(folder))
            # Nothing of the folder is read again: no watcher on a meta.json that is about to go.
            index.config_reader(reload_policy="Manual")
            return index, states
        except FileNotFoundError as error:
            vanished = error
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    raise UnionError(f"segment files of {[str(folder) for folder in folders]} kept vanishing") from vanished


def _link_members(states: Sequence[MemberState], folder: Path) -> None:
    metas = [json.loads(state.meta) for state in states]
    union: dict[str, Any] = dict(metas[0])
    for state, meta in zip(states, metas, strict=True):
        if meta["schema"] != union["schema"]:
            raise UnionError(f"{state.folder} has another schema than {states[0].folder}")
    union["segments"] = [segment for meta in metas for segment in meta["segments"]]
    union["opstamp"] = max(meta["opstamp"] for meta in metas)
    for state, meta in zip(states, metas, strict=True):
        # A segment's files are named by its id without dashes: <id>.idx, <id>.store, <id>.<opstamp>.del, ...
        ids = {segment["segment_id"].replace("-", "") for segment in meta["segments"]}
        for entry in os.scandir(state.folder):
            if entry.name.split(".", 1)[0] in ids:
                os.link(entry.path, folder / entry.name)
    (folder / META).write_text(json.dumps(union))


def _remove_stale(workdir: Path) -> None:
    limit = time.time() - STALE_SECONDS
    for entry in os.scandir(workdir):
        if entry.is_dir() and entry.stat().st_mtime < limit:
            shutil.rmtree(entry.path, ignore_errors=True)
