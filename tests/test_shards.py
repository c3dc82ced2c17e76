"""Sharded search: the same passages in one index and split over shards rank alike, with the same scores."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import tantivy

from vademecum.search import shards as shard_search
from vademecum.search.index import PassageIndex
from vademecum.search.scoring import GlobalStatistics, field_ids, global_score, shard_statistics
from vademecum.search.shards import Shard, search_shards
from vademecum.services.ingest import ingest_paths
from vademecum.services.runtime import open_runtime
from vademecum.settings import IndexSettings, Settings

SHARDS = 3
BOOSTS = {"title": 2.0, "section": 1.5}


@pytest.fixture(scope="module")
def passages(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> list:
    """Every passage of the real PubMed sample files and the NCI PDQ guidelines, as the ingest indexes them."""
    settings = Settings(home=tmp_path_factory.mktemp("shards-home"), corpus=corpus_dir)
    runtime = open_runtime(settings)
    try:
        report = ingest_paths(runtime, [corpus_dir / "pubmed", corpus_dir / "guidelines"])
        assert report.ok, report.problems
        index = runtime.index
        searcher = index._index.searcher()
        hits = searcher.search(tantivy.Query.all_query(), searcher.num_docs).hits
        found = [PassageIndex._passage(searcher.doc(address)) for _score, address in hits]
    finally:
        runtime.close()
    assert len(found) > 2000
    return sorted(found, key=lambda passage: passage.passage_id)


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory, passages: list) -> PassageIndex:
    """One index over all the passages."""
    index = PassageIndex(tmp_path_factory.mktemp("single"), IndexSettings())
    index.add(passages)
    index.commit()
    index.close()
    return index


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory, passages: list) -> list[Shard]:
    """The same passages split over three indexes, in unequal contiguous slices (as files would split them)."""
    cuts = [0, len(passages) // 6, len(passages) // 2, len(passages)]
    opened = []
    for number in range(SHARDS):
        index = PassageIndex(tmp_path_factory.mktemp(f"shard{number}"), IndexSettings())
        index.add(passages[cuts[number] : cuts[number + 1]])
        index.commit()
        index.close()
        opened.append(Shard(index._index, field_ids(index.schema)))
    return opened


def bioasq_questions(corpus_dir: Path, count: int) -> list[str]:
    """The first ``count`` question bodies of BioASQ 10b batch 1 (../shared/eval/bioasq)."""
    path = corpus_dir.parent / "eval" / "bioasq" / "10B1_golden.json"
    return [question["body"] for question in json.loads(path.read_text())["questions"][:count]]


def sharded_search(single: PassageIndex, shards: list[Shard], text: str, **options) -> list:
    # The query is built as PassageIndex.search builds it (ShardedIndex._query does the same).
    from vademecum.search.query import content_terms
    from vademecum.search.shards import ShardedIndex

    terms = content_terms(text)
    query = ShardedIndex._query(single, terms, options.get("kinds", ()), options.get("field_boosts"))
    return search_shards(shards, query, options.get("limit", 10), field_ids(single.schema))


def assert_same_ranking(expected: list, got: list) -> None:
    assert len(got) == len(expected)
    for want, hit in zip(expected, got, strict=True):
        assert math.isclose(hit.score, want.score, rel_tol=2e-5), (want, hit)
    # Passages with equal scores may come in either order, and a tie at the cut may keep either passage.
    expected_scores = {hit.passage.passage_id: hit.score for hit in expected}
    for hit in got:
        if hit.passage.passage_id in expected_scores:
            assert math.isclose(hit.score, expected_scores[hit.passage.passage_id], rel_tol=2e-5), hit
        else:
            assert math.isclose(hit.score, expected[-1].score, rel_tol=2e-5), hit


def test_statistics_sum_to_the_single_index(single: PassageIndex, shards: list[Shard]) -> None:
    fields = field_ids(single.schema)
    whole = shard_statistics(single._index, fields)
    parts = [shard_statistics(shard.index, fields) for shard in shards]
    assert sum(part.doc_count for part in parts) == whole.doc_count
    for field, total in whole.field_tokens.items():
        assert math.isclose(sum(part.field_tokens[field] for part in parts), total, rel_tol=1e-6)


def test_shard_scores_differ_from_the_single_index(single: PassageIndex, shards: list[Shard]) -> None:
    # The premise: a shard's own BM25 statistics give other scores than the single index.
    expected = {hit.passage.passage_id: hit.score for hit in single.search("cancer treatment", limit=20)}
    local = PassageIndex.__new__(PassageIndex)
    differing = 0
    for shard in shards:
        searcher = shard.index.searcher()
        query = single._index.parse_query("cancer treatment", default_field_names=["title", "section", "text"])
        for score, address in searcher.search(query, 20).hits:
            passage = local._passage(searcher.doc(address))
            if passage.passage_id in expected and not math.isclose(score, expected[passage.passage_id], rel_tol=1e-3):
                differing += 1
    assert differing > 0


def test_global_rescoring_of_the_single_index_is_its_own_score(single: PassageIndex) -> None:
    fields = field_ids(single.schema)
    searcher = single._index.searcher()
    query = single._index.parse_query("neuroendocrine tumor therapy", default_field_names=["title", "section", "text"])
    stats = GlobalStatistics.combine(
        [shard_statistics(single._index, fields)],
        {(field, term) for field in ("title", "section", "text") for term in ("neuroendocrin", "tumor", "therapi")},
        searcher.doc_freq,
    )
    for score, address in searcher.search(query, 10).hits:
        assert math.isclose(global_score(query.explain(searcher, address), stats, fields), score, rel_tol=1e-5)


@pytest.mark.parametrize("limit", [10, 100])
def test_sharded_search_equals_the_single_index_on_bioasq_questions(
    single: PassageIndex, shards: list[Shard], corpus_dir: Path, limit: int
) -> None:
    questions = bioasq_questions(corpus_dir, 40)
    compared = 0
    for question in questions:
        expected = single.search(question, limit=limit, field_boosts=BOOSTS)
        got = sharded_search(single, shards, question, limit=limit, field_boosts=BOOSTS)
        assert_same_ranking(expected, got)
        compared += len(expected)
    assert compared >= limit * 20


def test_sharded_search_equals_the_single_index_with_a_kinds_filter(
    single: PassageIndex, shards: list[Shard], corpus_dir: Path
) -> None:
    for question in bioasq_questions(corpus_dir, 20):
        for kinds in (["research"], ["guideline"]):
            expected = single.search(question, kinds=kinds, limit=30, field_boosts=BOOSTS)
            got = sharded_search(single, shards, question, kinds=kinds, limit=30, field_boosts=BOOSTS)
            assert_same_ranking(expected, got)
            assert all(hit.passage.kind in kinds for hit in got)


def test_sharded_search_stays_exact_when_it_must_read_deeper(
    single: PassageIndex, shards: list[Shard], corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # First reads far too shallow: the stopping bound alone must bring in every passage of the top.
    monkeypatch.setattr(shard_search, "FIRST_DEPTH_FACTOR", 0.05)
    monkeypatch.setattr(shard_search, "MIN_DEPTH", 1)
    for question in bioasq_questions(corpus_dir, 20):
        expected = single.search(question, limit=50, field_boosts=BOOSTS)
        assert_same_ranking(expected, sharded_search(single, shards, question, limit=50, field_boosts=BOOSTS))
