"""What the benchmark scripts share: settings in a scratch data directory, timing figures, JSON output."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
from pathlib import Path
from typing import Any

from vademecum import __version__
from vademecum.settings import Settings

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    """The corpus the benchmarks read in place (VADEMECUM_CORPUS, default ../shared/corpus)."""
    return Path(os.environ.get("VADEMECUM_CORPUS", REPO_ROOT.parent / "shared" / "corpus")).resolve()


def bench_settings(name: str) -> Settings:
    """Settings with a data directory of the benchmark's own under bench/results/ (kept between runs)."""
    home = RESULTS_DIR / f"home-{name}"
    return Settings(home=home, corpus=corpus_dir())


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest-rank)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    """Median, p95 and max of durations, in milliseconds."""
    return {
        "p50_ms": round(statistics.median(seconds) * 1000, 3),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 3),
        "max_ms": round(max(seconds) * 1000, 3),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_result(name: str, figures: dict[str, Any]) -> Path:
    """Write ``figures`` with machine details to bench/results/<name>.json and print them."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "vademecum": __version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        **figures,
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(document, indent=2))
    print(f"written to {path}")
    return path
