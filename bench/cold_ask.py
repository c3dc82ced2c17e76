"""Cold `vademecum ask` and the memory of a serving process, on the demo corpus.

Copies the demo data directory (``ingest_demo.py``'s, or ``--home``) to bench/results/home-cold-ask/,
compiling its vocabulary there if it is not current, then:

1. times ``vademecum ask QUESTION`` in a fresh process for each of ``--runs`` real questions not yet
   asked in that store (BioASQ and PubMedQA; the file pages are in the page cache after the first run,
   so this is a cold process, not a cold disk);
2. splits a cold ask into imports, runtime open, vocabulary open, compose and render, in fresh
   processes running ``cold_ask_phases.py`` (other questions again);
3. starts ``vademecum serve`` on loopback and reads its resident memory (current and peak, from
   /proc) after start-up and after ``--asks`` warm asks of different questions over HTTP, with their
   latency.

Writes bench/results/cold_ask.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
from benchlib import RESULTS_DIR, bench_settings, corpus_dir, summary_ms, write_result
from search_latency import real_questions
from web_load import free_port, start_server

# Questions from the end of the mixed list: the other benchmarks ask from its start.
QUESTION_POOL = 3_000


def memory_mb(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in MiB, and the current split into
    private memory (RssAnon) and mapped file pages (RssFile: the index and libraries, shared through the
    page cache with every other process mapping them)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {
        "current_mb": fields["VmRSS"],
        "peak_mb": fields["VmHWM"],
        "anonymous_mb": fields["RssAnon"],
        "file_mb": fields["RssFile"],
    }


def tree_memory_mb(pid: int) -> dict[str, object]:
    """:func:`memory_mb` of a server and every process under it (its worker and the worker's composer
    processes), and their summed current resident memory."""
    pids = [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    found = {}
    for each in pids:
        try:
            found[str(each)] = memory_mb(each)
        except FileNotFoundError:
            continue
    return {"processes": found, "current_mb": round(sum(m["current_mb"] for m in found.values()), 1)}


def prepare_home(source: Path) -> Path:
    """A fresh copy of ``source`` with a current compiled vocabulary."""
    from vademecum.settings import Settings
    from vademecum.vocab import compile_vocabulary, needs_compile

    home = RESULTS_DIR / "home-cold-ask"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(source, home)
    vocab_path = Settings(home=home, corpus=corpus_dir()).vocab_path
    if needs_compile(corpus_dir() / "vocab", vocab_path):
        compile_vocabulary(corpus_dir() / "vocab", vocab_path)
    return home


def main() -> None:
    """Time cold asks, split them, measure a serving process; write bench/results/cold_ask.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="data directory to copy (default: the demo's)")
    parser.add_argument("--runs", type=int, default=7, help="cold CLI asks, and as many phase splits")
    parser.add_argument("--asks", type=int, default=50, help="warm asks against the server")
    args = parser.parse_args()
    source = args.home or bench_settings("demo").home
    if not (source / "vademecum.sqlite3").is_file():
        raise SystemExit(f"no ingested data in {source}: run bench/ingest_demo.py first")
    home = prepare_home(source)
    environment = {**os.environ, "VADEMECUM_HOME": str(home)}
    environment.pop("VADEMECUM_DATABASE_URL", None)
    questions = real_questions(QUESTION_POOL)[::-1]
    cli_questions = questions[: args.runs]
    phase_questions = questions[args.runs : 2 * args.runs]
    serve_questions = questions[2 * args.runs : 2 * args.runs + args.asks]

    executable = str(Path(sys.executable).with_name("vademecum"))
    cold, exit_codes = [], []
    for question in cli_questions:
        started = time.perf_counter()
        done = subprocess.run([executable, "ask", question], env=environment, capture_output=True, check=False)
        cold.append(time.perf_counter() - started)
        exit_codes.append(done.returncode)
        outcome = f"exit {done.returncode}" + (f", {done.stderr.decode().strip()[-200:]}" if done.returncode else "")
        print(f"cold ask {cold[-1]:.2f} s ({outcome}): {question[:70]}", file=sys.stderr)

    splits = []
    for question in phase_questions:
        done = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("cold_ask_phases.py")), question],
            env=environment,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            print(f"phase run failed: {done.stderr.decode()[-500:]}", file=sys.stderr)
            continue
        splits.append(json.loads(done.stdout.decode().strip().splitlines()[-1]))
    phase_medians = {
        key: round(statistics.median(split[key] for split in splits), 3) for key in splits[0] if key != "cpu"
    }
    phase_medians["cpu"] = {
        key: round(statistics.median(split["cpu"][key] for split in splits), 3) for key in splits[0]["cpu"]
    }

    port = free_port()
    server = start_server(home, port, 1, RESULTS_DIR / "cold-ask-server.log")
    try:
        started_memory = tree_memory_mb(server.pid)
        latencies, statuses = [], []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            for question in serve_questions:
                started = time.perf_counter()
                statuses.append(http.post("/api/ask", json={"question": question}).status_code)
                latencies.append(time.perf_counter() - started)
        after_memory = tree_memory_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    write_result(
        "cold_ask",
        {
            "home": str(source),
            "cold_cli_ask": {
                "runs": len(cold),
                "median_s": round(statistics.median(cold), 2),
                "min_s": round(min(cold), 2),
                "max_s": round(max(cold), 2),
                "exit_codes": exit_codes,
            },
            "cold_ask_phases_median": phase_medians,
            "serve": {
                "process": "vademecum serve --workers 1 (its worker and composer process), SQLite store",
                "after_start": started_memory,
                f"after_{len(serve_questions)}_asks": after_memory,
                "warm_ask_http": summary_ms(latencies[1:]),
                "statuses": {str(code): statuses.count(code) for code in sorted(set(statuses))},
            },
        },
    )


if __name__ == "__main__":
    main()
