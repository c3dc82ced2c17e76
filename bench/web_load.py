"""Load check: concurrent clients asking and reading against `vademecum serve` on loopback.

Starts the real server (``vademecum serve`` in a subprocess, bound to 127.0.0.1 on a free port) over a
copy of the demo data directory made by ``ingest_demo.py`` (so the articles it creates do not pile up
between runs), then runs N client threads for D seconds. Each client repeatedly either asks a real
question (BioASQ and PubMedQA questions; about one request in four) or reads: the article page of an
article asked so far, its API JSON, the home page, or an article title search. A question the engine
refuses (422, not a clinical question) is an expected answer and counted apart; any other status >= 400,
a timeout or a connection error is an error. Reports requests/s, p50/p95 latency overall and per kind.
"""

from __future__ import annotations

import argparse
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

import httpx
from benchlib import RESULTS_DIR, bench_settings, summary_ms, write_result
from search_latency import real_questions

ASK_SHARE = 0.25


@dataclass
class Tally:
    """What the clients saw; one lock guards it (appends are cheap next to a request)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    refused: int = 0
    article_ids: list[int] = field(default_factory=list)

    def record(self, kind: str, seconds: float, status: int | None, problem: str | None = None) -> None:
        """Count one request."""
        with self.lock:
            self.timings[kind].append(seconds)
            self.statuses[str(status)] += 1
            if status == 422 and kind == "ask":
                self.refused += 1
            elif problem is not None or status is None or status >= 400:
                self.errors.append(f"{kind}: {problem or status}")


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    """``vademecum serve`` on 127.0.0.1:port over ``home``; returns once it answers."""
    environment = {**os.environ, "VADEMECUM_HOME": str(home)}
    environment.pop("VADEMECUM_DATABASE_URL", None)
    command = [str(Path(sys.executable).with_name("vademecum")), "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/corpus", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not answer within 60 s")


def client(base: str, questions: list[str], tally: Tally, stop_at: float, seed: int) -> None:
    """One client: ask or read until ``stop_at``."""
    chance = random.Random(seed)
    with httpx.Client(base_url=base, timeout=60) as http:
        while time.monotonic() < stop_at:
            with tally.lock:
                known = list(tally.article_ids)
            if not known or chance.random() < ASK_SHARE:
                kind, method, url = "ask", "POST", "/api/ask"
                body = {"question": chance.choice(questions)}
            else:
                body = None
                kind, method, url = chance.choice(
                    [
                        ("article_page", "GET", f"/articles/{chance.choice(known)}"),
                        ("article_api", "GET", f"/api/articles/{chance.choice(known)}"),
                        ("home", "GET", "/"),
                        ("title_search", "GET", "/api/articles?q=" + chance.choice(questions).split()[-1].strip("?")),
                    ]
                )
            started = time.perf_counter()
            try:
                response = http.request(method, url, json=body)
            except httpx.HTTPError as error:
                tally.record(kind, time.perf_counter() - started, None, f"{type(error).__name__}: {error}")
                continue
            tally.record(kind, time.perf_counter() - started, response.status_code)
            if kind == "ask" and response.status_code in (200, 201):
                with tally.lock:
                    tally.article_ids.append(response.json()["article_id"])


def main() -> None:
    """Copy the demo data, serve it, run the clients, report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    demo = bench_settings("demo").home
    if not (demo / "vocab.sqlite3").is_file():
        raise SystemExit(f"no demo data in {demo}: run bench/ingest_demo.py first (make bench does)")
    home = RESULTS_DIR / "home-web-load"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(demo, home)
    questions = real_questions(args.questions)
    port = free_port()
    server = start_server(home, port)
    tally = Tally()
    try:
        # One question before the clock starts: the first composition fills per-process caches.
        httpx.post(f"http://127.0.0.1:{port}/api/ask", json={"question": questions[0]}, timeout=120)
        stop_at = time.monotonic() + args.seconds
        started = time.perf_counter()
        threads = [
            threading.Thread(target=client, args=(f"http://127.0.0.1:{port}", questions, tally, stop_at, seed))
            for seed in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    every = [seconds for timings in tally.timings.values() for seconds in timings]
    write_result(
        "web_load",
        {
            "clients": args.clients,
            "seconds": round(elapsed, 1),
            "requests": len(every),
            "requests_per_s": round(len(every) / elapsed, 1),
            **summary_ms(every),
            "errors": len(tally.errors),
            "error_samples": tally.errors[:10],
            "refused_questions": tally.refused,
            "articles_created_or_found": len(set(tally.article_ids)),
            "statuses": dict(tally.statuses),
            "by_kind": {kind: {"requests": len(t), **summary_ms(t)} for kind, t in sorted(tally.timings.items())},
            "server": "vademecum serve (uvicorn, one process) on 127.0.0.1, SQLite store",
        },
    )


if __name__ == "__main__":
    main()
