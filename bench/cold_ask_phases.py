"""One cold ask in this fresh process, split into phases: run by ``cold_ask.py``, one question per process.

Only the standard library is imported before the clock starts, so ``imports_s`` is everything
``vademecum ask`` imports. Each phase is given in wall seconds and in CPU seconds of this process
(``cpu``), which a busy machine disturbs less. Prints the figures as one JSON line.

Usage: python bench/cold_ask_phases.py QUESTION   (VADEMECUM_HOME set to a data directory)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def resident_mb() -> float:
    """Current resident memory of this process (VmRSS), in MiB."""
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    """Time imports, runtime open, vocabulary open, compose and render of ``sys.argv[1]``."""
    marks = [(time.perf_counter(), time.process_time())]
    from vademecum.answer.render import to_markdown
    from vademecum.cli.ask import ask  # noqa: F401  (what the command imports)
    from vademecum.services.ask import ask as ask_service
    from vademecum.services.runtime import open_runtime
    from vademecum.settings import get_settings

    marks.append((time.perf_counter(), time.process_time()))
    runtime = open_runtime(get_settings())
    marks.append((time.perf_counter(), time.process_time()))
    runtime.vocabulary  # noqa: B018  (opened for its timing)
    marks.append((time.perf_counter(), time.process_time()))
    rss_vocabulary = resident_mb()
    try:
        article = ask_service(runtime, sys.argv[1])
        marks.append((time.perf_counter(), time.process_time()))
        to_markdown(article)
    finally:
        runtime.close()
    marks.append((time.perf_counter(), time.process_time()))
    phases = ("imports_s", "runtime_open_s", "vocabulary_open_s", "compose_s", "render_s")
    figures: dict[str, object] = {name: marks[i + 1][0] - marks[i][0] for i, name in enumerate(phases)}
    figures["cpu"] = {name: marks[i + 1][1] - marks[i][1] for i, name in enumerate(phases)}
    figures["rss_after_vocabulary_mb"] = rss_vocabulary
    figures["rss_after_ask_mb"] = resident_mb()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
