"""Sharded search: the same passages in one index and split over shards rank alike, with the same scores."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import tantivy

from vademecum.search.index import IndexedPassage, PassageHit, PassageIndex
from vademecum.search.union import UnionError, member_states, open_union
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
def shards(tmp_path_factory: pytest.TempPathFactory, passages: list) -> list[PassageIndex]:
    """The same passages split over three indexes, in unequal contiguous slices (as files would split them).

    The last is written in two commits, so that the shards hold several segments each way.
    """
    cuts = [0, len(passages) // 6, len(passages) // 2, len(passages)]
    written = []
    for number in range(SHARDS):
        index = PassageIndex(tmp_path_factory.mktemp(f"shard{number}"), IndexSettings())
        part = passages[cuts[number] : cuts[number + 1]]
        halves = [part[: len(part) // 2], part[len(part) // 2 :]] if number == SHARDS - 1 else [part]
        for half in halves:
            index.add(half)
            index.commit()
        index.close()
        written.append(index)
    return written


@pytest.fixture(scope="module")
def union(tmp_path_factory: pytest.TempPathFactory, shards: list[PassageIndex]) -> tantivy.Index:
    """The three shards opened as one index."""
    index, _states = open_union([shard.path for shard in shards], tmp_path_factory.mktemp("union"))
    return index


def bioasq_questions(corpus_dir: Path, count: int) -> list[str]:
    """The first ``count`` question bodies of BioASQ 10b batch 1 (../shared/eval/bioasq)."""
    path = corpus_dir.parent / "eval" / "bioasq" / "10B1_golden.json"
    return [question["body"] for question in json.loads(path.read_text())["questions"][:count]]


def sharded_search(single: PassageIndex, union: tantivy.Index, text: str, **options) -> list[PassageHit]:
    """The search ``single.search`` runs, over the union of the shards."""
    query = single.query(text, kinds=options.get("kinds", ()), field_boosts=options.get("field_boosts"))
    assert query is not None
    searcher = union.searcher()
    hits = searcher.search(query, options.get("limit", 10)).hits
    return [PassageHit(PassageIndex._passage(searcher.doc(address)), score) for score, address in hits]


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


def test_the_union_holds_every_segment_of_the_shards(
    single: PassageIndex, shards: list[PassageIndex], union: tantivy.Index
) -> None:
    assert union.searcher().num_docs == single.count() == sum(shard.count() for shard in shards)
    assert union.searcher().num_segments == sum(shard.searcher().num_segments for shard in shards)


def test_shard_scores_differ_from_the_single_index(single: PassageIndex, shards: list[PassageIndex]) -> None:
    # The premise: a shard's own BM25 statistics give other scores than the single index.
    expected = {hit.passage.passage_id: hit.score for hit in single.search("cancer treatment", limit=20)}
    local = PassageIndex.__new__(PassageIndex)
    differing = 0
    for shard in shards:
        searcher = shard.searcher()
        query = single.query("cancer treatment")
        for score, address in searcher.search(query, 20).hits:
            passage = local._passage(searcher.doc(address))
            if passage.passage_id in expected and not math.isclose(score, expected[passage.passage_id], rel_tol=1e-3):
                differing += 1
    assert differing > 0


@pytest.mark.parametrize("limit", [10, 100])
def test_sharded_search_equals_the_single_index_on_bioasq_questions(
    single: PassageIndex, union: tantivy.Index, corpus_dir: Path, limit: int
) -> None:
    questions = bioasq_questions(corpus_dir, 40)
    compared = 0
    for question in questions:
        expected = single.search(question, limit=limit, field_boosts=BOOSTS)
        got = sharded_search(single, union, question, limit=limit, field_boosts=BOOSTS)
        assert_same_ranking(expected, got)
        compared += len(expected)
    assert compared >= limit * 20


def test_sharded_search_equals_the_single_index_with_a_kinds_filter(
    single: PassageIndex, union: tantivy.Index, corpus_dir: Path
) -> None:
    for question in bioasq_questions(corpus_dir, 20):
        for kinds in (["research"], ["guideline"]):
            expected = single.search(question, kinds=kinds, limit=30, field_boosts=BOOSTS)
            got = sharded_search(single, union, question, kinds=kinds, limit=30, field_boosts=BOOSTS)
            assert_same_ranking(expected, got)
            assert all(hit.passage.kind in kinds for hit in got)


def test_sharded_scores_are_the_single_index_scores_to_the_bit(
    single: PassageIndex, union: tantivy.Index, corpus_dir: Path
) -> None:
    # tantivy scores the union with the statistics of all its segments: the very numbers of one index.
    for question in bioasq_questions(corpus_dir, 20):
        expected = single.search(question, limit=20, field_boosts=BOOSTS)
        got = sharded_search(single, union, question, limit=20, field_boosts=BOOSTS)
        assert [hit.score for hit in got] == [hit.score for hit in expected]


def passage_id(passage: IndexedPassage) -> int:
    return passage.passage_id


def small_shards(folder: Path, passages: list, count: int = 2, size: int = 300) -> list[PassageIndex]:
    written = []
    for number in range(count):
        index = PassageIndex(folder / f"shard{number}", IndexSettings())
        index.add(passages[number * size : (number + 1) * size])
        index.commit()
        written.append(index)
    return written


def document_hits(index: tantivy.Index, document_id: str) -> int:
    query = tantivy.Query.term_query(index.schema, "document_id", document_id)
    return index.searcher().search(query, 1, count=True).count


def test_a_new_union_sees_a_deletion_in_a_shard_and_an_open_one_keeps_its_view(tmp_path: Path, passages: list) -> None:
    shards = small_shards(tmp_path, passages)
    folders = [shard.path for shard in shards]
    before, states = open_union(folders, tmp_path / "union")
    document_id = passages[400].document_id
    assert document_hits(before, document_id) > 0
    shards[1].delete_document(document_id)
    shards[1].commit()
    assert member_states(folders) != states
    after, _states = open_union(folders, tmp_path / "union")
    assert document_hits(after, document_id) == 0
    assert after.searcher().num_docs == before.searcher().num_docs - document_hits(before, document_id)
    assert document_hits(before, document_id) > 0


def test_the_union_folder_goes_at_once_and_the_union_outlives_its_members_files(tmp_path: Path, passages: list) -> None:
    shards = small_shards(tmp_path, passages)
    union, _states = open_union([shard.path for shard in shards], tmp_path / "union")
    assert list((tmp_path / "union").iterdir()) == []
    # A member rewritten and its old segment files collected: the union still reads the passages it opened.
    segment_files = {path.name for path in shards[0].path.iterdir() if path.suffix == ".store"}
    shards[0].clear()
    shards[0].commit()
    shards[0].writer.garbage_collect_files()
    assert segment_files and not segment_files & {path.name for path in shards[0].path.iterdir()}
    searcher = union.searcher()
    hits = searcher.search(tantivy.Query.all_query(), 600).hits
    found = sorted((PassageIndex._passage(searcher.doc(address)) for _score, address in hits), key=passage_id)
    assert found == sorted(passages[:600], key=passage_id)


def test_indexes_of_another_schema_are_not_joined(tmp_path: Path, passages: list) -> None:
    (shard,) = small_shards(tmp_path, passages, count=1)
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("text", stored=True)
    (tmp_path / "other").mkdir()
    tantivy.Index(builder.build(), path=str(tmp_path / "other"))
    with pytest.raises(UnionError, match="another schema"):
        open_union([shard.path, tmp_path / "other"], tmp_path / "union")
    assert list((tmp_path / "union").iterdir()) == []
