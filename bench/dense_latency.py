"""Fused (lexical + dense) search latency, memory and disk on the demo corpus, beside the lexical search.

Needs the optional dense extra and passage vectors (``vademecum index embed`` on the same data directory;
tens of minutes for the demo corpus's 63k passages on 2 cores, resumable). Queries are the real questions
of search_latency.py, through the search service with ``search.dense`` on and off. Passages without a
vector yet are counted; the exact search over a matrix the size of the whole index is also timed, so the
vector-search figure holds before an embedding run has finished.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from benchlib import bench_settings, peak_rss_mb, summary_ms, write_result
from search_latency import real_questions

from vademecum.search.dense import best_positions
from vademecum.search.hybrid import HybridIndex
from vademecum.services.runtime import open_runtime
from vademecum.services.search import search_passages
from vademecum.settings import SearchSettings, Settings


def timed_searches(settings: Settings, queries: list[str]) -> tuple[list[float], float]:
    """Per-query seconds through the search service (after a warm-up), and the warm-up's seconds."""
    runtime = open_runtime(settings)
    try:
        started = time.perf_counter()
        for query in queries[:50]:
            search_passages(runtime, query, limit=10)
        warm_up = time.perf_counter() - started
        timings = []
        for query in queries:
            started = time.perf_counter()
            search_passages(runtime, query, limit=10)
            timings.append(time.perf_counter() - started)
    finally:
        runtime.close()
    return timings, warm_up


def main() -> None:
    """Report fused and lexical p50/p95, the vector store's size on disk and in memory, and coverage."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--home", type=Path, help="Data directory (default: the one of ingest_demo.py).")
    args = parser.parse_args()
    base = bench_settings("demo")
    if args.home is not None:
        base = base.model_copy(update={"home": args.home})
    queries = real_questions(args.queries)

    index = HybridIndex.for_settings(base)
    indexed = index.count()
    if indexed == 0:
        raise SystemExit("the demo index is empty: run bench/ingest_demo.py first")
    started = time.perf_counter()
    matrix = index.embeddings.load()
    load_seconds = time.perf_counter() - started
    if not len(matrix):
        raise SystemExit(f"no passage vectors in {index.embeddings.directory}: run `vademecum index embed`")
    embedded = len(set(matrix.ids.tolist()) & {p.passage_id for p in index.passages()})
    disk = sum(path.stat().st_size for path in index.embeddings.directory.iterdir())
    # Exact search over a matrix the size of the whole index (random unit rows: only the cost is measured).
    full = np.random.default_rng(0).standard_normal((indexed, matrix.vectors.shape[1]), dtype=np.float32)
    full /= np.linalg.norm(full, axis=1, keepdims=True)
    product = []
    for vector in full[:200]:
        started = time.perf_counter()
        best_positions(full @ vector, 100)
        product.append(time.perf_counter() - started)
    index.close()
    del full

    lexical, _ = timed_searches(base.model_copy(update={"search": SearchSettings(dense=False)}), queries)
    fused, warm_up = timed_searches(base.model_copy(update={"search": SearchSettings(dense=True)}), queries)
    write_result(
        "dense_latency",
        {
            "queries": len(queries),
            "indexed_passages": indexed,
            "embedded_passages": embedded,
            "vectors_disk_mb": round(disk / 1024**2, 1),
            "vectors_memory_mb": round(matrix.vectors.nbytes / 1024**2, 1),
            "vectors_load_s": round(load_seconds, 2),
            "warm_up_50_queries_s (loads the model)": round(warm_up, 2),
            "exact_vector_search_full_index": summary_ms(product),
            "lexical": summary_ms(lexical),
            "fused": summary_ms(fused),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        },
    )


if __name__ == "__main__":
    main()
