"""PubMed scale: N MEDLINE records through one process and through a local Dask cluster, then search and ask.

The demo corpus has about 930 real MEDLINE records, so the benchmark re-ingests them under new PMIDs, as
medline_throughput.py does: every record is renumbered from 900,000,000 upwards and written into gzip files
of 10,000 records. The text is the real records' text, repeated (each abstract about N / 930 times).

Each mode runs in its own process, into its own PostgreSQL database (the cluster path needs PostgreSQL;
the single-process run uses it too so that both write to the same kind of store):
- ``single``: ``ingest_paths`` in one process, one index;
- ``cluster``: ``ingest_on_cluster`` on a LocalCluster of --workers processes (one thread each, on 127.0.0.1),
  one index shard per --files-per-shard files, searched as one index (exact global BM25).
Reported per mode: records/s, peak memory of each process, index and store size, and p50/p95 latency of
passage search (BioASQ and PubMedQA questions) and of ``ask`` at that size. When both modes run, the cluster
process also opens the single run's index and times the same searches on the shards and on that one index,
alternating query by query in the one process, and checks that their scores agree (``sharded_vs_one_index``).

Needs a PostgreSQL server URL whose user may create databases, in VADEMECUM_BENCH_DATABASE_URL or
VADEMECUM_TEST_DATABASE_URL (``make bench-scale`` starts a private one with scripts/with-test-postgres).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import RESULTS_DIR, corpus_dir, peak_rss_mb, summary_ms, write_result
from medline_throughput import real_records, write_files
from search_latency import real_questions
from sqlalchemy import create_engine, make_url, text

from vademecum.errors import QuestionRefused
from vademecum.search.index import PassageIndex
from vademecum.services.ask import ask
from vademecum.services.ingest import DEMO_VOCABULARY, compile_vocabulary_if_needed, ingest_paths
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import ClusterSettings, Settings

FILES_DIR = RESULTS_DIR / "scale-files"


def admin_url() -> str:
    url = os.environ.get("VADEMECUM_BENCH_DATABASE_URL") or os.environ.get("VADEMECUM_TEST_DATABASE_URL")
    if not url:
        sys.exit("set VADEMECUM_BENCH_DATABASE_URL (or run through scripts/with-test-postgres: make bench-scale)")
    return url


def fresh_database(name: str) -> str:
    """Drop and create database ``name``; return its URL."""
    admin = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url()).set(database=name).render_as_string(hide_password=False)


def database_mb(runtime: Runtime) -> float:
    with runtime.engine.connect() as connection:
        return connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one() / 2**20


def folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 2**20


def latencies(runtime: Runtime, queries: list[str], questions: list[str]) -> dict[str, Any]:
    """p50/p95 of passage search (limit 10, the settings' boosts) and of ask, after one warm-up of each."""
    boosts = {"title": runtime.settings.search.title_boost, "section": runtime.settings.search.section_boost}
    index = runtime.index
    index.search(queries[0], limit=10, field_boosts=boosts)
    search_times = []
    for query in queries:
        started = time.perf_counter()
        index.search(query, limit=10, field_boosts=boosts)
        search_times.append(time.perf_counter() - started)
    started = time.perf_counter()
    ask(runtime, questions[0])
    first_ask = time.perf_counter() - started
    ask_times, refused = [], 0
    for question in questions:
        started = time.perf_counter()
        try:
            ask(runtime, question)
        except QuestionRefused:
            refused += 1
        ask_times.append(time.perf_counter() - started)
    return {
        "search": {"queries": len(queries), **summary_ms(search_times)},
        "ask": {
            "questions": len(questions),
            "refused": refused,
            "first_s": round(first_ask, 2),
            **summary_ms(ask_times),
        },
    }


def sharded_vs_one_index(sharded: PassageIndex, one: PassageIndex, queries: list[str], boosts: dict) -> dict[str, Any]:
    """Search p50/p95 of the sharded index and of one index over the same records, timed alternately in this
    process after a warm-up pass over every query, and how many queries got the same top-10 scores."""
    for query in queries:
        sharded.search(query, limit=10, field_boosts=boosts)
        one.search(query, limit=10, field_boosts=boosts)
    times: dict[str, list[float]] = {"sharded": [], "one_index": []}
    same_scores = same_bits = 0
    for number, query in enumerate(queries):
        # Alternate which goes first, so that neither always finds the other's pages in the cache.
        order = [("sharded", sharded), ("one_index", one)][:: 1 if number % 2 else -1]
        scores = {}
        for name, index in order:
            started = time.perf_counter()
            hits = index.search(query, limit=10, field_boosts=boosts)
            times[name].append(time.perf_counter() - started)
            scores[name] = [hit.score for hit in hits]
        same_bits += scores["sharded"] == scores["one_index"]
        same_scores += len(scores["sharded"]) == len(scores["one_index"]) and all(
            math.isclose(a, b, rel_tol=2e-5) for a, b in zip(scores["sharded"], scores["one_index"], strict=True)
        )
    figures = {name: summary_ms(values) for name, values in times.items()}
    return {
        "queries": len(queries),
        **figures,
        "p50_ratio": round(figures["sharded"]["p50_ms"] / figures["one_index"]["p50_ms"], 2),
        "p95_ratio": round(figures["sharded"]["p95_ms"] / figures["one_index"]["p95_ms"], 2),
        "same_top10_scores": same_scores,
        "same_top10_scores_to_the_bit": same_bits,
    }


def mode_home(mode: str) -> Path:
    return RESULTS_DIR / f"home-scale-{mode}"


def run_mode(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """Ingest the generated files in one mode and measure; runs in a process of its own."""
    files = sorted(FILES_DIR.glob("*.xml.gz"))
    home = mode_home(mode)
    shutil.rmtree(home, ignore_errors=True)
    settings = Settings(
        home=home,
        corpus=corpus_dir(),
        database_url=fresh_database(f"vademecum_scale_{mode}"),
        cluster=ClusterSettings(n_workers=args.workers, files_per_shard=args.files_per_shard),
    )
    runtime = open_runtime(settings)
    figures: dict[str, Any] = {"mode": mode}
    try:
        compile_vocabulary_if_needed(runtime, corpus_dir() / DEMO_VOCABULARY)
        started = time.perf_counter()
        if mode == "single":
            report = ingest_paths(runtime, files)
            seconds = time.perf_counter() - started
            figures["peak_rss_mb"] = {"ingest_process": round(peak_rss_mb(), 1)}
        else:
            from vademecum.cluster.ingest import cluster_client, ingest_on_cluster
            from vademecum.cluster.tasks import worker_summary

            with cluster_client(settings) as client:
                started = time.perf_counter()  # the cluster's start-up (a few seconds) is not ingest time
                report = ingest_on_cluster(runtime, files, client=client)
                seconds = time.perf_counter() - started
                workers = client.run(worker_summary)
            figures["peak_rss_mb"] = {
                "client_process": round(peak_rss_mb(), 1),
                "workers": [round(worker["peak_rss_mb"], 1) for worker in workers.values()],
            }
            figures["shards"] = report.counts["shards_written"]
        figures.update(
            records=report.counts["records"],
            files=len(files),
            failed_files=[problem.source for problem in report.problems],
            seconds=round(seconds, 1),
            records_per_s=round(report.counts["records"] / seconds, 1),
            passages_indexed=runtime.index.count(),
            index_mb=round(folder_mb(settings.index_dir), 1),
            store_mb=round(database_mb(runtime), 1),
        )
        print(json.dumps(figures), flush=True)
        queries = real_questions(args.queries)
        figures.update(latencies(runtime, queries, real_questions(args.questions)))
        figures["peak_rss_mb"]["after_search_and_ask"] = round(peak_rss_mb(), 1)
        one_index = Settings(home=mode_home("single"), corpus=corpus_dir()).index_dir
        if mode == "cluster" and "single" in args.modes.split(",") and one_index.is_dir():
            boosts = {"title": settings.search.title_boost, "section": settings.search.section_boost}
            comparison = sharded_vs_one_index(runtime.index, PassageIndex(one_index, settings.index), queries, boosts)
            figures["sharded_vs_one_index"] = comparison
            print(json.dumps({"sharded_vs_one_index": comparison}), flush=True)
    finally:
        runtime.close()
    return figures


def main() -> None:
    """Generate the files, run each mode in a child process, write bench/results/scale.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--files-per-shard", type=int, default=8)
    parser.add_argument("--queries", type=int, default=300, help="passage searches timed per mode")
    parser.add_argument("--questions", type=int, default=30, help="asks timed per mode")
    parser.add_argument("--modes", default="single,cluster")
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        (RESULTS_DIR / f"scale-{args.mode}.json").write_text(json.dumps(run_mode(args.mode, args)))
        return
    source = real_records(corpus_dir() / "pubmed")
    note = (
        f"{len(source)} real MEDLINE records re-ingested under new PMIDs (from 900,000,000) to make "
        f"{args.records:,}: the text is real, each abstract repeated about {args.records // len(source):,} times"
    )
    print(note, flush=True)
    started = time.perf_counter()
    files = write_files(source, args.records, FILES_DIR)
    print(f"wrote {len(files)} files in {time.perf_counter() - started:.0f} s", flush=True)
    results = {}
    for mode in args.modes.split(","):
        command = [sys.executable, __file__, "--mode", mode, *sys.argv[1:]]
        subprocess.run(command, check=True)
        results[mode] = json.loads((RESULTS_DIR / f"scale-{mode}.json").read_text())
    name = "scale" if args.records == 1_000_000 else f"scale-{args.records}"
    write_result(name, {"note": note, "records_requested": args.records, **results})
    shutil.rmtree(FILES_DIR, ignore_errors=True)
    if not args.keep:
        for mode in args.modes.split(","):
            shutil.rmtree(mode_home(mode), ignore_errors=True)


if __name__ == "__main__":
    main()
