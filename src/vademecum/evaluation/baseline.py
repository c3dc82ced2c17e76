"""The plain BM25 baseline: bm25s with its default parameters, English stop words, Snowball stemmer."""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import Stemmer


class Bm25Baseline:
    """bm25s over a list of passages; a passage's id is its position in the list."""

    def __init__(self, passages: Sequence[str]) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._size = len(passages)
        self._retriever = bm25s.BM25()
        tokens = bm25s.tokenize(list(passages), stopwords="en", stemmer=self._stemmer, show_progress=False)
        self._retriever.index(tokens, show_progress=False)

    def search_many(self, queries: Sequence[str], limit: int) -> list[list[int]]:
        """The ``limit`` best passage ids for each query, best first (fewer if the query has no known word)."""
        limit = min(limit, self._size)
        tokens = bm25s.tokenize(
            list(queries), stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False
        )
        ids, scores = self._retriever.retrieve(tokens, k=limit, show_progress=False, n_threads=1)
        # bm25s fills a short result list with zero-score passages; they are not matches.
        return [
            [int(doc) for doc, score in zip(row, row_scores, strict=True) if score > 0]
            for row, row_scores in zip(ids, scores, strict=True)
        ]
