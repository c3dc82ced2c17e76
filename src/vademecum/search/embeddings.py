"""Passage embeddings kept in the data directory: chunk files plus a manifest, appended to and resumable.

Layout of one store (``<home>/embeddings/<index directory name>-<model id>/``)::

    manifest.json        {"model", "dimension", "dtype", "chunks": [{"file", "passages", "first_id", "last_id"}]}
    chunk-000000.npz     ids (int64), hashes (uint64), kinds (str), vectors (float16, one row per passage)

A chunk is written to a temporary file and renamed into place, then the manifest is replaced the same
way; only chunks the manifest lists are read. A run killed at any point therefore leaves either the
old store or the old store plus one whole chunk, and the next run carries on from there (files the
manifest does not list are removed first). Vectors are stored as float16 (half the disk; the ranking
they give on BioASQ is unchanged, docs/retrieval-quality.md) and searched as one float32 matrix.

Each row carries a hash of the passage's kind and text, so a row whose passage was deleted, changed
or whose id was reused by a new passage is recognised as stale and ignored at search time.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vademecum.errors import VademecumError
from vademecum.search.dense import best_positions

MANIFEST = "manifest.json"
CHUNK_PREFIX = "chunk-"
# About ten seconds of embedding on two cores: the most an interrupted run loses.
CHUNK_SIZE = 1024
STORED_DTYPE = "float16"


def passage_hash(kind: str, text: str) -> int:
    """A 64-bit fingerprint of what was embedded (kind and text), to recognise stale rows."""
    digest = hashlib.blake2b(f"{kind}\0{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass(frozen=True, slots=True)
class PassageToEmbed:
    """One indexed passage as the embedding store sees it."""

    passage_id: int
    kind: str
    text: str

    @property
    def hash(self) -> int:
        """The fingerprint stored beside its vector."""
        return passage_hash(self.kind, self.text)


@dataclass(frozen=True, slots=True)
class EmbedReport:
    """What one embedding run did: passages embedded now, already embedded before, and indexed in all."""

    embedded: int
    already: int
    total: int


@dataclass
class EmbeddingMatrix:
    """All stored vectors in memory (float32, unit length), with each row's passage id, hash and kind."""

    ids: np.ndarray
    hashes: np.ndarray
    kinds: np.ndarray
    vectors: np.ndarray
    _rows_by_kinds: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def ranking(self, query: np.ndarray, depth: int, kinds: Sequence[str] = ()) -> list[int]:
        """Row numbers by cosine similarity to ``query`` (unit length), best first, only rows of ``kinds``."""
        if len(self.ids) == 0:
            return []
        # One matrix-vector product over every row (about 2 ms for 63k x 384 on two cores); filtering
        # the scores afterwards is cheaper than copying the rows of the wanted kinds out of the matrix.
        scores = self.vectors @ query
        if not kinds:
            return [int(i) for i in best_positions(scores, depth)]
        rows = self._rows_of(tuple(sorted(kinds)))
        return [int(i) for i in rows[best_positions(scores[rows], depth)]]

    def _rows_of(self, kinds: tuple[str, ...]) -> np.ndarray:
        rows = self._rows_by_kinds.get(kinds)
        if rows is None:
            rows = np.flatnonzero(np.isin(self.kinds, list(kinds)))
            self._rows_by_kinds[kinds] = rows
        return rows


class EmbeddingStore:
    """The embeddings of one index's passages by one model, in one directory."""

    def __init__(self, directory: Path, model: str) -> None:
        self.directory = directory
        self.model = model

    @property
    def manifest_path(self) -> Path:
        """The manifest; its modification time tells readers that chunks were added."""
        return self.directory / MANIFEST

    def manifest(self) -> dict | None:
        """The manifest as stored, or None before the first chunk."""
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        if manifest.get("model") != self.model:
            raise VademecumError(f"{self.manifest_path} holds vectors of {manifest.get('model')}, not {self.model}")
        return manifest

    def _chunk_files(self) -> list[Path]:
        manifest = self.manifest()
        return [self.directory / chunk["file"] for chunk in (manifest or {"chunks": []})["chunks"]]

    def embedded(self) -> dict[int, int]:
        """Passage id → hash of every stored row (a later row for the same id wins)."""
        found: dict[int, int] = {}
        for path in self._chunk_files():
            with np.load(path) as chunk:
                found.update(zip(chunk["ids"].tolist(), chunk["hashes"].tolist(), strict=True))
        return found

    def load(self) -> EmbeddingMatrix:
        """Every stored row as one float32 matrix (empty when nothing is stored yet)."""
        ids, hashes, kinds, vectors = [], [], [], []
        for path in self._chunk_files():
            with np.load(path) as chunk:
                ids.append(chunk["ids"])
                hashes.append(chunk["hashes"])
                kinds.append(chunk["kinds"])
                vectors.append(chunk["vectors"])
        if not ids:
            return EmbeddingMatrix(
                np.empty(0, np.int64), np.empty(0, np.uint64), np.empty(0, str), np.empty((0, 0), np.float32)
            )
        all_ids = np.concatenate(ids)
        # A passage embedded again (its text changed) has a row in a later chunk: only the newest row counts.
        _unique, last_from_end = np.unique(all_ids[::-1], return_index=True)
        keep = np.sort(len(all_ids) - 1 - last_from_end)
        matrix = np.empty((len(all_ids), vectors[0].shape[1]), dtype=np.float32)
        np.concatenate(vectors, out=matrix)
        if len(keep) == len(all_ids):
            return EmbeddingMatrix(all_ids, np.concatenate(hashes), np.concatenate(kinds), matrix)
        return EmbeddingMatrix(all_ids[keep], np.concatenate(hashes)[keep], np.concatenate(kinds)[keep], matrix[keep])

    def remove_unlisted(self) -> None:
        """Delete temporary files and chunks the manifest does not list (left by a run that was killed)."""
        if not self.directory.is_dir():
            return
        listed = {path.name for path in self._chunk_files()}
        for path in self.directory.iterdir():
            if path.name.endswith(".tmp") or (path.name.startswith(CHUNK_PREFIX) and path.name not in listed):
                path.unlink()

    def append(self, passages: Sequence[PassageToEmbed], vectors: np.ndarray) -> None:
        """Store one chunk of passages and their vectors, then list it in the manifest (each step atomic)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        manifest = self.manifest() or {
            "model": self.model,
            "dimension": int(vectors.shape[1]),
            "dtype": STORED_DTYPE,
            "chunks": [],
        }
        number = max((int(c["file"][len(CHUNK_PREFIX) : -len(".npz")]) + 1 for c in manifest["chunks"]), default=0)
        name = f"{CHUNK_PREFIX}{number:06d}.npz"
        ids = np.array([p.passage_id for p in passages], dtype=np.int64)
        _write_atomically(
            self.directory / name,
            lambda handle: np.savez(
                handle,
                ids=ids,
                hashes=np.array([p.hash for p in passages], dtype=np.uint64),
                kinds=np.array([p.kind for p in passages], dtype=str),
                vectors=vectors.astype(STORED_DTYPE),
            ),
        )
        manifest["chunks"].append(
            {"file": name, "passages": len(passages), "first_id": int(ids.min()), "last_id": int(ids.max())}
        )
        _write_atomically(
            self.manifest_path, lambda handle: handle.write(json.dumps(manifest, indent=1).encode("utf-8"))
        )


def _write_atomically(path: Path, write: Callable) -> None:
    """Write through ``write(handle)`` to a temporary file beside ``path``, flush it to disk, rename it over."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def embed_missing(
    passages: Iterable[PassageToEmbed],
    store: EmbeddingStore,
    encode: Callable[[Sequence[str]], np.ndarray],
    *,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> EmbedReport:
    """Embed the passages the store has no current vector for, a chunk at a time, in passage id order.

    ``encode`` turns texts into unit-length vectors (:meth:`DenseEncoder.encode`); it is not called when
    nothing is missing, so a caller may load the model inside it on first use.

    ``progress(done, to_do)`` is called before the first chunk and after each stored one. Interrupting
    the run (Ctrl-C, kill) loses at most the chunk being embedded.
    """
    store.remove_unlisted()
    stored = store.embedded()
    everything = list(passages)
    missing = sorted(
        (p for p in everything if stored.get(p.passage_id) != p.hash),
        key=lambda p: p.passage_id,
    )
    if progress is not None:
        progress(0, len(missing))
    for start in range(0, len(missing), chunk_size):
        chunk = missing[start : start + chunk_size]
        store.append(chunk, encode([p.text for p in chunk]))
        if progress is not None:
            progress(start + len(chunk), len(missing))
    return EmbedReport(embedded=len(missing), already=len(everything) - len(missing), total=len(everything))
