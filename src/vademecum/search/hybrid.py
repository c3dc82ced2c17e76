"""Hybrid passage search: the lexical (BM25) ranking fused with the dense one by reciprocal rank fusion.

With the setting ``search.dense`` on, :func:`~vademecum.search.open_index.open_passage_index` gives the
runtime a :class:`HybridIndex` instead of a plain :class:`PassageIndex`; it is written to the same way,
and its ``search`` takes the same arguments, so the answer engine, ``vademecum search``, the web search
and ``vademecum eval --dense`` all rank through this one method. Each search fuses the lexical top
``max(limit, 100)`` with the dense top of the same depth (RRF, k = ``search.dense_rrf_k``, chosen on
BioASQ 7b-9b: docs/retrieval-quality.md); a hit's score is its fusion score.

Passage vectors come from ``vademecum index embed`` (:mod:`vademecum.search.embeddings`). Passages
indexed since the last embedding run are found by the lexical half only, with a warning in the log;
with no vectors at all the search refuses (NotIngestedError naming the command), since silently
answering lexically would misreport what the setting does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import tantivy

from vademecum.errors import NotIngestedError
from vademecum.search.dense import RRF_K, DenseEncoder, fused_scores
from vademecum.search.embeddings import (
    CHUNK_SIZE,
    EmbeddingMatrix,
    EmbeddingStore,
    EmbedReport,
    PassageToEmbed,
    embed_missing,
    passage_hash,
)
from vademecum.search.index import IndexedPassage, PassageHit, PassageIndex
from vademecum.search.query import query_terms
from vademecum.search.shards import has_shards
from vademecum.settings import IndexSettings, Settings

log = logging.getLogger(__name__)

# Both rankings are fused over at least this many passages (the depth the fusion was tuned at).
FUSION_DEPTH = 100
# Query vectors kept per process: the answer engine searches one question several times.
QUERY_CACHE_SIZE = 256
EMBED_COMMAND = "vademecum index embed"


def embeddings_dir(settings: Settings, model: str) -> Path:
    """Where the vectors of the settings' index by ``model`` live: ``<home>/embeddings/<index>-<model>``."""
    return settings.home / "embeddings" / f"{settings.index.index_name()}-{model}"


class HybridIndex(PassageIndex):
    """A passage index whose searches fuse BM25 with dense retrieval over stored passage vectors."""

    def __init__(
        self,
        path: Path,
        settings: IndexSettings,
        embeddings: EmbeddingStore,
        *,
        rrf_k: int = RRF_K,
        encoder: DenseEncoder | None = None,
    ) -> None:
        super().__init__(path, settings)
        self.embeddings = embeddings
        self.rrf_k = rrf_k
        self._encoder = encoder
        self._matrix: EmbeddingMatrix | None = None
        self._matrix_version: int | None = None
        self._checked: tuple[int | None, int] | None = None
        self._queries: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Settings, encoder: DenseEncoder | None = None) -> HybridIndex:
        """The hybrid index over the settings' index directory and its embedding store."""
        if has_shards(settings.index_dir):
            log.warning("search.dense does not search index shards yet: only the main index is searched")
        model = DenseEncoder.model_id()
        return cls(
            settings.index_dir,
            settings.index,
            EmbeddingStore(embeddings_dir(settings, model), model),
            rrf_k=settings.search.dense_rrf_k,
            encoder=encoder,
        )

    @property
    def encoder(self) -> DenseEncoder:
        """The query encoder, loaded on first use (a few seconds: it loads torch)."""
        with self._lock:
            if self._encoder is None:
                self._encoder = DenseEncoder.load()
            return self._encoder

    # Embedding ---------------------------------------------------------------------------

    def passages(self) -> Iterator[PassageToEmbed]:
        """Every passage visible to searches, as the embedding store needs it (about 0.3 s per 60k)."""
        searcher = self._index.searcher()
        hits = searcher.search(tantivy.Query.all_query(), max(1, searcher.num_docs), count=False).hits
        for _score, address in hits:
            passage = self._passage(searcher.doc(address))
            yield PassageToEmbed(passage.passage_id, passage.kind, passage.text)

    def embed(self, *, chunk_size: int = CHUNK_SIZE, progress: Callable[[int, int], None] | None = None) -> EmbedReport:
        """Embed every indexed passage that has no current vector (see :func:`embed_missing`)."""
        # The model is loaded by the first chunk, not before: a run with nothing to embed takes a second.
        return embed_missing(
            self.passages(),
            self.embeddings,
            lambda texts: self.encoder.encode(texts),
            chunk_size=chunk_size,
            progress=progress,
        )

    # Searching ---------------------------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        kinds: Sequence[str] = (),
        limit: int = 10,
        field_boosts: dict[str, float] | None = None,
    ) -> list[PassageHit]:
        """Rank passages for a free-text query: BM25 and dense rankings fused by reciprocal rank."""
        depth = max(limit, FUSION_DEPTH)
        lexical = super().search(text, kinds=kinds, limit=depth, field_boosts=field_boosts)
        if not query_terms(text):
            return lexical
        matrix = self._current_matrix()
        rows = matrix.ranking(self._query_vector(text), depth, kinds)
        found = {hit.passage.passage_id: hit.passage for hit in lexical}
        lexical_ids = list(found)
        hashes = {int(matrix.ids[row]): int(matrix.hashes[row]) for row in rows}
        # A vector counts only while its passage is indexed with the kind and text it was made from
        # (deleted, changed and reused ids are dropped). Passages the lexical search returned are checked
        # now; the others only when they make the cut, since reading them from the index costs more.
        # Dropping one re-ranks the rest, so that repeats until none is dropped.
        dense_ids = [
            passage_id
            for passage_id in hashes
            if passage_id not in found
            or passage_hash(found[passage_id].kind, found[passage_id].text) == hashes[passage_id]
        ]
        while True:
            scores = fused_scores([lexical_ids, dense_ids], self.rrf_k)
            top = list(scores.items())[:limit]
            unread = [passage_id for passage_id, _score in top if passage_id not in found]
            stale = self._read_current(unread, hashes, kinds, found)
            if not stale:
                return [PassageHit(found[passage_id], score) for passage_id, score in top]
            dense_ids = [passage_id for passage_id in dense_ids if passage_id not in stale]

    def _query_vector(self, text: str) -> np.ndarray:
        vector = self._queries.get(text)
        if vector is None:
            vector = self.encoder.encode_query(text)
            if len(self._queries) >= QUERY_CACHE_SIZE:
                self._queries.pop(next(iter(self._queries)))
            self._queries[text] = vector
        return vector

    def _read_current(
        self, passage_ids: list[int], hashes: dict[int, int], kinds: Sequence[str], found: dict[int, IndexedPassage]
    ) -> set[int]:
        """Read ``passage_ids`` from the index into ``found``; return those no longer indexed as embedded."""
        if not passage_ids:
            return set()
        searcher = self._index.searcher()
        query = tantivy.Query.term_set_query(self.schema, "passage_id", passage_ids)
        for _score, address in searcher.search(query, len(passage_ids)).hits:
            passage = self._passage(searcher.doc(address))
            if (not kinds or passage.kind in kinds) and passage_hash(passage.kind, passage.text) == hashes.get(
                passage.passage_id
            ):
                found[passage.passage_id] = passage
        return {passage_id for passage_id in passage_ids if passage_id not in found}

    def _current_matrix(self) -> EmbeddingMatrix:
        """The stored vectors, reloaded when an embedding run has added some since they were read."""
        try:
            version: int | None = self.embeddings.manifest_path.stat().st_mtime_ns
        except FileNotFoundError:
            version = None
        with self._lock:
            if self._matrix is None or version != self._matrix_version:
                self._matrix = self.embeddings.load()
                self._matrix_version = version
            matrix = self._matrix
            indexed = self.count()
            if self._checked != (version, indexed):
                self._check_coverage(matrix, indexed)
                self._checked = (version, indexed)
        return matrix

    def _check_coverage(self, matrix: EmbeddingMatrix, indexed: int) -> None:
        """Refuse when no passage has a vector; warn when some indexed passages have none."""
        if indexed and not len(matrix):
            raise NotIngestedError(
                f"search.dense is on but no passage has an embedding in {self.embeddings.directory}: "
                f"run `{EMBED_COMMAND}`, or turn search.dense off"
            )
        searcher = self._index.searcher()
        hits = searcher.search(tantivy.Query.all_query(), max(1, indexed), count=False).hits
        ids = set(searcher.fast_field_values("passage_id", [address for _s, address in hits]))
        missing = len(ids - set(matrix.ids.tolist()))
        if missing:
            log.warning(
                "%d of %d indexed passages have no embedding and are found by the lexical search only: run `%s`",
                missing,
                indexed,
                EMBED_COMMAND,
            )
