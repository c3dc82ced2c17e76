"""Ranking metrics with binary relevance, one question at a time.

Every function takes the ranked passage ids a system returned (best first) and the set of relevant ids.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence


def ndcg_at(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """Normalised discounted cumulative gain of the first ``k`` results (gain 1 per relevant passage)."""
    if not relevant:
        return 0.0
    gain = sum(1.0 / math.log2(rank + 2) for rank, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(relevant), k)))
    return gain / ideal


def recall_at(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """Share of the relevant passages found in the first ``k`` results."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def reciprocal_rank_at(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """1 / rank of the first relevant passage within the first ``k`` results; 0 when there is none."""
    for rank, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


# Name -> function of (ranked, relevant). "mrr" looks as deep as a run retrieves (see runner.DEPTH).
METRICS = {
    "ndcg@10": lambda ranked, relevant: ndcg_at(ranked, relevant, 10),
    "recall@10": lambda ranked, relevant: recall_at(ranked, relevant, 10),
    "mrr@10": lambda ranked, relevant: reciprocal_rank_at(ranked, relevant, 10),
    "recall@1": lambda ranked, relevant: recall_at(ranked, relevant, 1),
    "recall@5": lambda ranked, relevant: recall_at(ranked, relevant, 5),
    "mrr": lambda ranked, relevant: reciprocal_rank_at(ranked, relevant, len(ranked)),
}


def score_run(rankings: Sequence[Sequence[int]], relevants: Sequence[Collection[int]]) -> dict[str, float]:
    """Mean of every metric in :data:`METRICS` over questions (``rankings[i]`` answers ``relevants[i]``)."""
    if len(rankings) != len(relevants):
        raise ValueError(f"{len(rankings)} rankings for {len(relevants)} questions")
    if not rankings:
        return {name: 0.0 for name in METRICS}
    return {
        name: sum(metric(ranked, relevant) for ranked, relevant in zip(rankings, relevants, strict=True))
        / len(rankings)
        for name, metric in METRICS.items()
    }
