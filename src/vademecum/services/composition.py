"""Bounded composition in a server process: a few questions composed at once, a short queue behind
them, and a refusal past that (:class:`~vademecum.errors.ServiceBusy`) instead of unbounded waiting; and
composition in child processes of lower CPU priority, so that reads never wait behind it.

Composing an article is CPU-bound Python; stored answers and page reads are milliseconds. Composed in a
thread of the serving process, it holds the GIL the reads of that process need (each read waits a GIL
switch interval at every I/O it does) and takes the cores at the same priority as the reads. Composed in
a child process started ``nice``, it shares neither the GIL nor, while reads want the cores, the cores.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from vademecum.answer.article import Article
from vademecum.errors import ServiceBusy
from vademecum.services.articles import Compose
from vademecum.services.ask import ask
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings

# Until a composition has been timed, the wait is estimated from this many seconds per question.
FIRST_ESTIMATE_SECONDS = 2.0
# Weight of the newest composition time in the running estimate.
SMOOTHING = 0.2
MAX_RETRY_AFTER_SECONDS = 60


class CompositionLimit:
    """A :data:`~vademecum.services.articles.Compose` composing at most ``slots`` questions at once, with at
    most ``queue`` more waiting for a slot; one more raises ServiceBusy with the seconds to wait.

    Thread-safe: the web app calls it from the threads its request handlers run in, never on the event loop.
    """

    def __init__(self, slots: int, queue: int, compose: Compose = ask) -> None:
        if slots < 1 or queue < 0:
            raise ValueError(f"slots must be at least 1 and queue at least 0 (got {slots}, {queue})")
        self.slots = slots
        self.queue = queue
        self._compose = compose
        self._running = threading.Semaphore(slots)
        self._lock = threading.Lock()
        self._admitted = 0  # composing or waiting for a slot
        self._seconds = FIRST_ESTIMATE_SECONDS

    def __call__(self, runtime: Runtime, question: str) -> Article:
        """Compose ``question`` once a slot is free; raises ServiceBusy when slots and queue are full."""
        with self._lock:
            if self._admitted >= self.slots + self.queue:
                wait = self._retry_after()
                raise ServiceBusy(f"the server is composing as many answers as it can: ask again in {wait} s", wait)
            self._admitted += 1
        try:
            with self._running:
                started = time.monotonic()
                article = self._compose(runtime, question)
                elapsed = time.monotonic() - started
            with self._lock:
                self._seconds += SMOOTHING * (elapsed - self._seconds)
            return article
        finally:
            with self._lock:
                self._admitted -= 1

    def _retry_after(self) -> int:
        """Seconds until the questions admitted now are likely composed (1 to 60); called holding the lock."""
        rounds = max(1, self._admitted) / self.slots
        return max(1, min(MAX_RETRY_AFTER_SECONDS, math.ceil(rounds * self._seconds)))


# The runtime of a composer process (set by its initializer; one per process, as everywhere).
_composer_runtime: Runtime | None = None


def _start_composer(settings: Settings) -> None:
    """Initializer of a composer process: lower its priority, open its runtime and warm it up."""
    global _composer_runtime
    # Ctrl-C reaches the whole process group: the serving process stops its composers itself, after the
    # compositions under way (a composer interrupted here only printed a traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The scheduler then gives the serving processes (reads, stored answers) the cores first.
    os.nice(settings.web.composer_niceness)
    _composer_runtime = open_runtime(settings, migrate=False)
    if settings.vocab_path.is_file():
        _composer_runtime.vocabulary  # noqa: B018  (opened for its side effect)
        _composer_runtime.index.count()


def _compose_here(question: str) -> Article:
    assert _composer_runtime is not None, "not a composer process"
    return ask(_composer_runtime, question)


def _ready() -> None:
    """A task whose completion says a composer process has started and warmed up."""


class ComposerPool:
    """A :data:`~vademecum.services.articles.Compose` running :func:`~vademecum.services.ask.ask` in
    ``processes`` child processes, each with its own runtime over ``settings``; use it behind a
    :class:`CompositionLimit` with as many slots, which keeps it from queueing work of its own."""

    def __init__(self, settings: Settings, processes: int) -> None:
        self._settings = settings
        self._processes = processes
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # Spawned, not forked: the serving process has threads (uvicorn's, the request handlers').
        return ProcessPoolExecutor(
            self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_composer,
            initargs=(self._settings,),
        )

    def warm_up(self) -> None:
        """Start a composer process and wait until its runtime is open (the rest start on first use)."""
        self._pool.submit(_ready).result()

    def __call__(self, runtime: Runtime, question: str) -> Article:
        """Compose ``question`` in a composer process (``runtime`` is this process's: not used there)."""
        with self._lock:
            pool = self._pool
        try:
            return pool.submit(_compose_here, question).result()
        except BrokenProcessPool:
            # A composer died (killed, out of memory): this question fails, the next ones get new processes.
            with self._lock:
                if self._pool is pool:
                    self._pool = self._new_pool()
            raise

    def close(self) -> None:
        """Stop the composer processes (those composing finish first)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
