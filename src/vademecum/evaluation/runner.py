"""Run Vademecum's passage search and the BM25 baseline on one benchmark, in one process, and score both."""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from vademecum.evaluation.baseline import Bm25Baseline
from vademecum.evaluation.bioasq import Benchmark
from vademecum.evaluation.metrics import score_run
from vademecum.records import DocumentKind
from vademecum.search.dense import DenseEncoder
from vademecum.search.embeddings import EmbeddingStore
from vademecum.search.hybrid import HybridIndex
from vademecum.search.index import IndexedPassage, PassageIndex
from vademecum.settings import IndexSettings

# How many passages each system returns per question: 10 for the @10 metrics, more so that MRR sees past them.
DEPTH = 100
VADEMECUM = "vademecum"
VADEMECUM_DENSE = "vademecum+dense"
BASELINE = "bm25s"


@dataclass(frozen=True, slots=True)
class SystemResult:
    """One system's mean scores, overall and per question type, and its time (indexing, querying)."""

    overall: dict[str, float]
    by_type: dict[str, dict[str, float]]
    index_seconds: float
    query_seconds: float


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    """The systems on one benchmark; ``ratio[system][metric]`` is a Vademecum system / the baseline, overall."""

    benchmark: str
    passages: int
    questions: int
    questions_by_type: dict[str, int]
    systems: dict[str, SystemResult]
    ratio: dict[str, dict[str, float | None]]

    def to_json(self) -> dict:
        """The result as plain JSON data (the shape documented in docs/retrieval-quality.md)."""
        return asdict(self)


def _scores(
    benchmark: Benchmark, rankings: Sequence[Sequence[int]]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    relevants = [question.relevant for question in benchmark.questions]
    types = sorted({question.type for question in benchmark.questions})
    by_type = {
        kind: score_run(
            [ranked for ranked, question in zip(rankings, benchmark.questions, strict=True) if question.type == kind],
            [question.relevant for question in benchmark.questions if question.type == kind],
        )
        for kind in types
    }
    return score_run(rankings, relevants), by_type


def vademecum_rankings(
    benchmark: Benchmark, work_dir: Path, embeddings: EmbeddingStore | None = None, encoder: DenseEncoder | None = None
) -> tuple[list[list[int]], float, float]:
    """Index the pool as research passages in a fresh index in ``work_dir`` and rank every question.

    With ``embeddings`` and an ``encoder`` the index is a :class:`HybridIndex` (the search the answer engine
    uses when ``search.dense`` is on): the pool's missing vectors are embedded into ``embeddings`` first,
    and that time counts as indexing time.
    """
    started = time.perf_counter()
    if embeddings is not None and encoder is not None:
        index: PassageIndex = HybridIndex(work_dir, IndexSettings(), embeddings, encoder=encoder)
    else:
        index = PassageIndex(work_dir, IndexSettings())
    titles = benchmark.titles or ("",) * len(benchmark.passages)
    index.add(
        IndexedPassage(
            passage_id=position,
            document_id=f"eval:{position}",
            kind=DocumentKind.RESEARCH.value,
            title=title,
            section="",
            text=text,
            year=None,
            level="",
            level_rank=0,
            audience=None,
        )
        for position, (text, title) in enumerate(zip(benchmark.passages, titles, strict=True))
    )
    index.commit()
    index.close()
    if isinstance(index, HybridIndex):
        index.embed()
    indexed = time.perf_counter()
    rankings = [
        [
            hit.passage.passage_id
            for hit in index.search(question.text, kinds=[DocumentKind.RESEARCH.value], limit=DEPTH)
        ]
        for question in benchmark.questions
    ]
    return rankings, indexed - started, time.perf_counter() - indexed


def pool_embeddings(benchmark: Benchmark, directory: Path) -> EmbeddingStore:
    """The embedding store of a benchmark's pool under ``directory``, named by the pool's texts and the model.

    Kept between runs when ``directory`` is (the CLI uses the data directory), so only the first dense
    run on a pool pays for embedding it.
    """
    digest = hashlib.sha256("\0".join(benchmark.passages).encode()).hexdigest()[:12]
    model = DenseEncoder.model_id()
    return EmbeddingStore(directory / f"eval-{benchmark.name}-{digest}-{model}", model)


def baseline_rankings(benchmark: Benchmark) -> tuple[list[list[int]], float, float]:
    """Index the pool with the bm25s baseline and rank every question."""
    started = time.perf_counter()
    baseline = Bm25Baseline(benchmark.passages)
    indexed = time.perf_counter()
    rankings = baseline.search_many([question.text for question in benchmark.questions], DEPTH)
    return rankings, indexed - started, time.perf_counter() - indexed


def run(benchmark: Benchmark, encoder: DenseEncoder | None = None, cache_dir: Path | None = None) -> EvaluationResult:
    """Score Vademecum's lexical search and the baseline on ``benchmark``, and with an ``encoder`` also
    Vademecum's fused search (lexical + dense, the hybrid index), all in this process.

    Vademecum's indexes live in a temporary directory; the pool's vectors are kept under ``cache_dir``
    (default: the temporary directory), and the fused system's times include embedding what was not there.
    """
    systems: dict[str, SystemResult] = {}
    with tempfile.TemporaryDirectory(prefix="vademecum-eval-") as work_dir:
        rankings, index_seconds, query_seconds = vademecum_rankings(benchmark, Path(work_dir) / "lexical")
        systems[VADEMECUM] = SystemResult(*_scores(benchmark, rankings), index_seconds, query_seconds)
        if encoder is not None:
            embeddings = pool_embeddings(benchmark, cache_dir or Path(work_dir))
            rankings, index_seconds, query_seconds = vademecum_rankings(
                benchmark, Path(work_dir) / "hybrid", embeddings, encoder
            )
            systems[VADEMECUM_DENSE] = SystemResult(*_scores(benchmark, rankings), index_seconds, query_seconds)
    rankings, index_seconds, query_seconds = baseline_rankings(benchmark)
    systems[BASELINE] = SystemResult(*_scores(benchmark, rankings), index_seconds, query_seconds)
    theirs = systems[BASELINE].overall
    counts: dict[str, int] = {}
    for question in benchmark.questions:
        counts[question.type] = counts.get(question.type, 0) + 1
    return EvaluationResult(
        benchmark=benchmark.name,
        passages=len(benchmark.passages),
        questions=len(benchmark.questions),
        questions_by_type=dict(sorted(counts.items())),
        systems=systems,
        ratio={
            name: {metric: (ours.overall[metric] / theirs[metric] if theirs[metric] else None) for metric in theirs}
            for name, ours in systems.items()
            if name != BASELINE
        },
    )
