"""Search latency over the demo corpus: 1,000 varied queries through the search service.

Queries are real questions no one here wrote: BioASQ question bodies and PubMedQA questions,
cycled until there are enough. Uses the data directory of ``ingest_demo.py`` (run it first;
``make bench`` does).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

from benchlib import bench_settings, corpus_dir, summary_ms, write_result

from vademecum.services.runtime import open_runtime
from vademecum.services.search import search_passages


def real_questions(limit: int) -> list[str]:
    """Questions from ../shared/eval (BioASQ) and the PubMedQA set, interleaved."""
    eval_dir = corpus_dir().parent / "eval"
    bioasq = [
        question["body"]
        for path in sorted((eval_dir / "bioasq").glob("*.json"))
        for question in json.loads(path.read_text())["questions"]
    ]
    pubmedqa = [
        item["QUESTION"] for item in json.loads((corpus_dir() / "pubmedqa" / "ori_pqal.json").read_text()).values()
    ]
    mixed = [q for pair in itertools.zip_longest(bioasq, pubmedqa) for q in pair if q]
    return mixed[:limit]


def main() -> None:
    """Time each query (after a warm-up) and report p50/p95."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    queries = real_questions(args.queries)
    runtime = open_runtime(bench_settings("demo"))
    try:
        if runtime.index.count() == 0:
            raise SystemExit("the demo index is empty: run bench/ingest_demo.py first")
        for query in queries[:50]:
            search_passages(runtime, query)
        timings = []
        for query in queries:
            started = time.perf_counter()
            search_passages(runtime, query, limit=10)
            timings.append(time.perf_counter() - started)
        indexed = runtime.index.count()
    finally:
        runtime.close()
    write_result(
        "search_latency",
        {"queries": len(queries), "indexed_passages": indexed, "limit": 10, **summary_ms(timings)},
    )


if __name__ == "__main__":
    main()
