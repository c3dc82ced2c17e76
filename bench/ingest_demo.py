"""Demo-corpus ingest time: the whole of ../shared/corpus into a fresh data directory, then a re-ingest."""

from __future__ import annotations

import shutil
import time

from benchlib import bench_settings, peak_rss_mb, write_result

from vademecum.services.ingest import DEMO_VOCABULARY, compile_vocabulary_if_needed, demo_paths, ingest_paths
from vademecum.services.runtime import open_runtime


def main() -> None:
    """Ingest the demo corpus from scratch, then again (everything unchanged), and report both."""
    settings = bench_settings("demo")
    shutil.rmtree(settings.home, ignore_errors=True)
    runtime = open_runtime(settings)
    try:
        started = time.perf_counter()
        compile_vocabulary_if_needed(runtime, settings.corpus / DEMO_VOCABULARY)
        vocab_seconds = time.perf_counter() - started
        started = time.perf_counter()
        first = ingest_paths(runtime, demo_paths(settings.corpus))
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = ingest_paths(runtime, demo_paths(settings.corpus))
        second_seconds = time.perf_counter() - started
    finally:
        runtime.close()
    write_result(
        "ingest_demo",
        {
            "vocabulary_compile_s": round(vocab_seconds, 2),
            "ingest_s": round(first_seconds, 2),
            "reingest_unchanged_s": round(second_seconds, 2),
            "counts": dict(first.counts),
            "reingest_counts": dict(second.counts),
            "failed_files": [problem.source for problem in first.problems],
            "peak_rss_mb": round(peak_rss_mb(), 1),
        },
    )


if __name__ == "__main__":
    main()
