"""Ingesting the research folders (PubTator, PMC full texts): bad files lose nothing, several files share
one index commit, and the copy of an article kept for a PMID does not depend on the order of ingest."""

from __future__ import annotations

import dataclasses
import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from vademecum.evidence import store
from vademecum.evidence.models import EvidenceDocument, EvidencePassage, IngestError
from vademecum.records import SourceDocument
from vademecum.search.index import PassageIndex
from vademecum.services.ingest import ingest_paths
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings
from vademecum.sources import jats, medline, pubtator

PMC = ("research", "pmc-oa-rct")
PUBTATOR = ("research", "pubtator-cdr")


def table_counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.session() as session:
        documents = session.scalar(select(func.count()).select_from(EvidenceDocument)) or 0
        passages = session.scalar(select(func.count()).select_from(EvidencePassage)) or 0
    return documents, passages


def test_bad_research_files_are_reported_one_each_and_lose_nothing(runtime: Runtime, corpus_dir: Path, tmp_path: Path):
    pmc, tator = corpus_dir.joinpath(*PMC), corpus_dir.joinpath(*PUBTATOR)
    good_first = [pmc / "PMC1065065.nxml", tator / "CDR_DevelopmentSet.PubTator.txt"]
    first = ingest_paths(runtime, good_first)
    assert first.ok and first.counts["documents_added"] == 501
    stored_before = table_counts(runtime)

    bad = tmp_path / "bad"
    bad.mkdir()
    article = (pmc / "PMC4676931.nxml").read_bytes()
    (bad / "truncated.nxml").write_bytes(article[: len(article) // 2])
    start, end = article.index(b"<front>"), article.index(b"</front>") + len(b"</front>")
    (bad / "no-front.nxml").write_bytes(article[:start] + article[end:])
    test_set = (tator / "CDR_TestSet.PubTator.txt").read_bytes()
    lines = test_set.splitlines(keepends=True)
    # The second record's abstract line in the first record: a PMID mismatch on line 2.
    second_abstract = next(line for line in lines if line.startswith(b"439781|a|"))
    (bad / "mismatch.PubTator.txt").write_bytes(b"".join([lines[0], second_abstract, *lines[2:]]))
    # The last record loses its title line: an abstract without a title, after 499 good records.
    last_title = max(i for i, line in enumerate(lines) if b"|t|" in line)
    (bad / "untitled.PubTator.txt").write_bytes(b"".join(lines[:last_title] + lines[last_title + 1 :]))
    good_second = pmc / "PMC3642659.nxml"

    report = ingest_paths(runtime, [bad, good_second])
    failed = {Path(problem.source).name: problem for problem in report.problems}
    assert set(failed) == {"truncated.nxml", "no-front.nxml", "mismatch.PubTator.txt", "untitled.PubTator.txt"}
    assert len(report.problems) == 4  # one clear error per file
    assert "malformed XML at line" in failed["truncated.nxml"].message
    assert "without <front>/<article-meta>" in failed["no-front.nxml"].message
    assert "line 2: abstract for PMID 439781" in failed["mismatch.PubTator.txt"].message
    assert failed["mismatch.PubTator.txt"].record == "pmid:8701013"
    assert f"line {last_title + 1}: abstract without a title" in failed["untitled.PubTator.txt"].message
    assert report.counts["files_failed"] == 4 and report.counts["files_ingested"] == 1
    documents, passages = table_counts(runtime)
    assert documents == stored_before[0] + 1
    assert runtime.index.count() == passages > stored_before[1]
    with runtime.session() as session:
        # Nothing of the 499 good records before the broken one was kept.
        assert session.get(EvidenceDocument, "pmid:8701013") is None
        errors = session.scalars(select(IngestError).where(IngestError.run_id == report.run_id)).all()
        assert {Path(error.source).name for error in errors} == set(failed)


@pytest.fixture
def commits(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of passages visible after each commit of the runtime's index."""
    index = runtime.index
    seen: list[int] = []
    original = PassageIndex.commit

    def counting_commit(self: PassageIndex) -> None:
        original(self)
        seen.append(self.count())

    monkeypatch.setattr(type(index), "commit", counting_commit)
    return seen


def test_several_files_share_one_index_commit(runtime: Runtime, corpus_dir: Path, commits: list[int]):
    files = sorted(corpus_dir.joinpath(*PMC).iterdir())[:10]
    report = ingest_paths(runtime, files)
    assert report.counts["files_ingested"] == 10
    assert commits == [table_counts(runtime)[1]]  # one commit, at the end of the run


@pytest.fixture
def small_commits(settings: Settings) -> Iterator[Runtime]:
    """A runtime whose index is committed every 50 passages, storing records 100 at a time."""
    ingest = settings.ingest.model_copy(update={"index_commit_passages": 50, "batch_size": 100})
    tuned = settings.model_copy(update={"ingest": ingest})
    runtime = open_runtime(tuned)
    yield runtime
    runtime.close()


def test_a_file_larger_than_a_commit_fails_alone(small_commits: Runtime, corpus_dir: Path, tmp_path: Path):
    runtime = small_commits
    pmc = corpus_dir.joinpath(*PMC)
    ingest_paths(runtime, [pmc / "PMC1065065.nxml"])
    stored_before = table_counts(runtime)
    # 500 abstracts, stored 100 at a time: more passages than a commit holds, so they go to the index
    # writer before the broken last record is read.
    lines = corpus_dir.joinpath(*PUBTATOR, "CDR_TestSet.PubTator.txt").read_bytes().splitlines(keepends=True)
    last_title = max(i for i, line in enumerate(lines) if b"|t|" in line)
    broken = tmp_path / "broken.PubTator.txt"
    broken.write_bytes(b"".join(lines[:last_title] + lines[last_title + 1 :]))
    development_set = corpus_dir.joinpath(*PUBTATOR, "CDR_DevelopmentSet.PubTator.txt")  # a large good file
    report = ingest_paths(runtime, [pmc / "PMC3642659.nxml", broken, pmc / "PMC4676931.nxml", development_set])
    assert report.counts["files_ingested"] == 3 and report.counts["files_failed"] == 1
    documents, passages = table_counts(runtime)
    assert documents == stored_before[0] + 2 + 500
    assert runtime.index.count() == passages


# --- which copy of an article is kept -------------------------------------------------------------------


def _one(records: Iterator[object]) -> SourceDocument:
    record = next(records)
    assert isinstance(record, SourceDocument)
    return record


@pytest.fixture
def article_copies(corpus_dir: Path) -> dict[str, SourceDocument]:
    """One real article as each reader would give it: its JATS full text, and MEDLINE and PubTator copies
    of the same PMID (the demo corpus holds no paper in two formats, so those two are made from the real
    records of other articles, given this article's PMID)."""
    with corpus_dir.joinpath(*PMC, "PMC1065065.nxml").open("rb") as handle:
        full_text = _one(jats.parse(handle, "PMC1065065.nxml"))
    with gzip.open(corpus_dir / "pubmed" / "pubmed24-sample.xml.gz") as handle:
        citation = _one(medline.parse(handle, "pubmed24-sample.xml.gz"))
    with corpus_dir.joinpath(*PUBTATOR, "CDR_TestSet.PubTator.txt").open("rb") as handle:
        tator = _one(pubtator.parse(handle, "CDR_TestSet.PubTator.txt"))
    same_paper = {"doc_id": full_text.doc_id, "pmid": full_text.pmid}
    return {
        "jats": full_text,
        "medline": dataclasses.replace(citation, **same_paper),
        "pubtator": dataclasses.replace(tator, **same_paper),
    }


@pytest.mark.parametrize(
    ("order", "kept"),
    [
        (("medline", "jats"), "jats"),
        (("jats", "medline"), "jats"),
        (("pubtator", "medline"), "medline"),
        (("medline", "pubtator"), "medline"),
        (("pubtator", "jats"), "jats"),
        (("jats", "pubtator"), "jats"),
    ],
)
def test_the_richer_copy_is_kept_in_either_order(
    runtime: Runtime, article_copies: dict[str, SourceDocument], order: tuple[str, str], kept: str
):
    assert article_copies["medline"].version == "1"
    with runtime.session() as session:
        for name in order:
            store.store_documents(session, [article_copies[name]], "0" * 64)
        document = session.get_one(EvidenceDocument, "pmid:15566594")
        assert document.reader == kept
