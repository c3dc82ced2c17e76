"""Load check: concurrent clients asking and reading against `vademecum serve --workers N` on loopback.

Starts the real server (``vademecum serve`` in a subprocess, bound to 127.0.0.1 on a free port, with N
worker processes, default one per core) over a copy of the demo data directory made by ``ingest_demo.py``
(so the articles it creates do not pile up between runs), then runs C client threads for D seconds (default
20 clients, 60 s). Each client repeatedly either asks a real question (BioASQ and PubMedQA questions; one
request in four) or reads: the article page of an article asked so far, its API JSON, the home page, or an
article title search. A question the engine refuses (422, not a clinical question) is an expected answer
and counted apart, and so is a 503 (every composition slot busy: the client was told to retry later); any
other status >= 400, a timeout or a connection error is an error.

Reports requests/s, p50/p95 latency overall, for reads, for asks (new articles composed, 201, and warm ones
already stored, 200) and per kind, and the peak resident memory of the server's parent and each worker
(sampled every half second).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psutil
from benchlib import RESULTS_DIR, bench_settings, summary_ms, write_result
from search_latency import real_questions

ASK_SHARE = 0.25
READS = ("article_page", "article_api", "home", "title_search")
RSS_SAMPLE_SECONDS = 0.5


@dataclass
class Tally:
    """What the clients saw; one lock guards it (appends are cheap next to a request)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    refused: int = 0
    busy: int = 0
    busy_retry_after: list[int] = field(default_factory=list)
    article_ids: list[int] = field(default_factory=list)
    known: set[int] = field(default_factory=set)

    def add_article(self, article_id: int) -> None:
        """Remember an article to read (each once: the readers pick among articles, not among asks)."""
        with self.lock:
            if article_id not in self.known:
                self.known.add(article_id)
                self.article_ids.append(article_id)

    def some_article(self, chance: random.Random) -> int | None:
        """An article asked so far, at random; None before the first."""
        with self.lock:
            return chance.choice(self.article_ids) if self.article_ids else None

    def record(
        self, kind: str, seconds: float, status: int | None, problem: str | None = None, retry_after: str | None = None
    ) -> None:
        """Count one request; an ask's timing is filed by its outcome (composed, stored, refused, busy)."""
        with self.lock:
            self.statuses[str(status)] += 1
            if kind == "ask":
                kind = {201: "ask_new", 200: "ask_warm", 422: "ask_refused", 503: "ask_busy"}.get(status or 0, kind)
            self.timings[kind].append(seconds)
            if kind == "ask_refused":
                self.refused += 1
            elif kind == "ask_busy":
                self.busy += 1
                if retry_after is not None and retry_after.isdigit():
                    self.busy_retry_after.append(int(retry_after))
                else:
                    self.errors.append("ask: 503 without Retry-After")
            elif problem is not None or status is None or status >= 400:
                self.errors.append(f"{kind}: {problem or status}")


@dataclass
class MemoryWatch:
    """Peak memory of the server, each of its workers and their composer processes (the workers' children),
    sampled in a thread: resident (RSS) and proportional (PSS, which divides a page shared by several
    processes, the index and vocabulary files mapped by every worker, among them)."""

    server: psutil.Process
    peaks_mb: dict[int, float] = field(default_factory=dict)
    pss_peaks_mb: dict[int, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        """Record the memory of the server and its children until ``stop`` is set."""
        while not self.stop.wait(RSS_SAMPLE_SECONDS):
            for process in [self.server, *self.server.children(recursive=True)]:
                try:
                    memory = process.memory_full_info()
                except psutil.NoSuchProcess:
                    continue
                self.peaks_mb[process.pid] = max(memory.rss / 1024**2, self.peaks_mb.get(process.pid, 0.0))
                self.pss_peaks_mb[process.pid] = max(memory.pss / 1024**2, self.pss_peaks_mb.get(process.pid, 0.0))

    def of_worker(self, pid: int, composers: list[int]) -> dict[str, object]:
        """A worker's peak memory: its serving process, its composers and their sum, as RSS and PSS."""
        return {
            "serving": round(self.peaks_mb[pid], 1),
            "composers": [round(self.peaks_mb[c], 1) for c in composers],
            "total": round(self.peaks_mb[pid] + sum(self.peaks_mb[c] for c in composers), 1),
            "total_pss": round(self.pss_peaks_mb[pid] + sum(self.pss_peaks_mb[c] for c in composers), 1),
        }

    def workers(self) -> dict[int, list[int]]:
        """The server's workers (its children running the app, not multiprocessing's helpers), each with
        its composer processes."""
        return {
            child.pid: [c.pid for c in child.children() if not _helper(c) and c.pid in self.peaks_mb]
            for child in self.server.children()
            if not _helper(child) and child.pid in self.peaks_mb
        }


def _helper(process: psutil.Process) -> bool:
    """Whether ``process`` is multiprocessing's resource tracker rather than a worker or composer."""
    return "resource_tracker" in " ".join(process.cmdline())


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(home: Path, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    """``vademecum serve --workers N`` on 127.0.0.1:port over ``home``; returns once every worker has
    started (uvicorn logs each worker's "Application startup complete" to ``log``)."""
    environment = {**os.environ, "VADEMECUM_HOME": str(home)}
    environment.pop("VADEMECUM_DATABASE_URL", None)
    command = [
        str(Path(sys.executable).with_name("vademecum")),
        *("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
    ]
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {log.read_text()}")
        if log.read_text().count("Application startup complete") >= workers:
            return server
        time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"the server's workers did not all start within 300 s: {log.read_text()}")


class Connection:
    """One client's keep-alive connection to the server (reopened after an error).

    The standard library's client, not httpx: the load runs on the same cores as the server, and httpx
    spent 1.3 ms of CPU per request here against 0.35 ms, a third of the machine at full load.
    """

    def __init__(self, port: int, timeout: float) -> None:
        self.port = port
        self.timeout = timeout
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, url: str, body: dict[str, str] | None = None) -> tuple[int, bytes, str | None]:
        """Status, body and Retry-After of one request; raises OSError or HTTPException (then reconnects)."""
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            self.http.request(method, url, body=payload, headers=headers)
            response = self.http.getresponse()
            return response.status, response.read(), response.getheader("retry-after")
        except (OSError, http.client.HTTPException):
            self.http.close()
            self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            raise


def client(port: int, questions: list[str], tally: Tally, stop_at: float, seed: int) -> None:
    """One client: ask or read until ``stop_at``."""
    chance = random.Random(seed)
    connection = Connection(port, timeout=60)
    while time.monotonic() < stop_at:
        article = tally.some_article(chance)
        if article is None or chance.random() < ASK_SHARE:
            kind, method, url = "ask", "POST", "/api/ask"
            body = {"question": chance.choice(questions)}
        else:
            body = None
            word = quote(chance.choice(questions).split()[-1].strip("?"))
            kind, method, url = chance.choice(
                [
                    ("article_page", "GET", f"/articles/{article}"),
                    ("article_api", "GET", f"/api/articles/{article}"),
                    ("home", "GET", "/"),
                    ("title_search", "GET", f"/api/articles?q={word}"),
                ]
            )
        started = time.perf_counter()
        try:
            status, content, retry_after = connection.request(method, url, body)
        except (OSError, http.client.HTTPException) as error:
            tally.record(kind, time.perf_counter() - started, None, f"{type(error).__name__}: {error}")
            continue
        tally.record(kind, time.perf_counter() - started, status, None, retry_after)
        if kind == "ask" and status in (200, 201):
            tally.add_article(json.loads(content)["article_id"])


def main() -> None:
    """Copy the demo data, serve it, run the clients, report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), help="default: the cores")
    args = parser.parse_args()
    demo = bench_settings("demo").home
    if not (demo / "vocab.sqlite3").is_file():
        raise SystemExit(f"no demo data in {demo}: run bench/ingest_demo.py first (make bench does)")
    home = RESULTS_DIR / "home-web-load"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(demo, home)
    questions = real_questions(args.questions)
    port = free_port()
    server = start_server(home, port, args.workers, RESULTS_DIR / "web-load-server.log")
    tally = Tally()
    memory = MemoryWatch(psutil.Process(server.pid))
    watcher = threading.Thread(target=memory.sample, daemon=True)
    watcher.start()
    try:
        # One question before the clock starts: the first composition fills per-process caches.
        Connection(port, timeout=120).request("POST", "/api/ask", {"question": questions[0]})
        stop_at = time.monotonic() + args.seconds
        started = time.perf_counter()
        threads = [
            threading.Thread(target=client, args=(port, questions, tally, stop_at, seed))
            for seed in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        workers = memory.workers()
    finally:
        memory.stop.set()
        watcher.join()
        server.terminate()
        server.wait(timeout=30)
    every = [seconds for timings in tally.timings.values() for seconds in timings]
    reads = [seconds for kind in READS for seconds in tally.timings.get(kind, [])]
    asks = [seconds for kind in ("ask_new", "ask_warm") for seconds in tally.timings.get(kind, [])]
    asked = len(asks) + tally.busy
    write_result(
        "web_load",
        {
            "clients": args.clients,
            "seconds": round(elapsed, 1),
            "requests": len(every),
            "requests_per_s": round(len(every) / elapsed, 1),
            **summary_ms(every),
            "reads": {"requests": len(reads), **summary_ms(reads)},
            "asks": {"requests": len(asks), **summary_ms(asks)},
            "errors": len(tally.errors),
            "error_samples": tally.errors[:10],
            "busy_503": tally.busy,
            "busy_share_of_asks": round(tally.busy / asked, 4) if asked else 0.0,
            "busy_retry_after_s": sorted(set(tally.busy_retry_after)),
            "refused_questions": tally.refused,
            "articles_created_or_found": len(tally.article_ids),
            "statuses": dict(tally.statuses),
            "by_kind": {kind: {"requests": len(t), **summary_ms(t)} for kind, t in sorted(tally.timings.items())},
            "workers": args.workers,
            "server_parent_peak_rss_mb": round(memory.peaks_mb.get(server.pid, 0.0), 1),
            "worker_peak_memory_mb": [memory.of_worker(pid, composers) for pid, composers in workers.items()],
            "server": f"vademecum serve --workers {args.workers} (uvicorn) on 127.0.0.1, SQLite store",
        },
    )


if __name__ == "__main__":
    main()
