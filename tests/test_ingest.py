"""Ingesting real files: idempotence, versions, deletions, and bad input that loses nothing."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from vademecum.answer.retrieve import LABEL_SECTIONS, make_evidence
from vademecum.answer.sentences import SPLITTER_VERSION, split_sentences, stored_spans
from vademecum.db import MIGRATIONS_DIR, create_db_engine, upgrade_database
from vademecum.evidence import store
from vademecum.evidence.grading import grade
from vademecum.evidence.models import (
    CitedWork,
    EvidenceDocument,
    EvidencePassage,
    HeadingRun,
    IngestError,
    IngestRun,
)
from vademecum.records import DocumentKind, SourceDocument
from vademecum.services.ingest import ingest_paths, rebuild_index
from vademecum.services.runtime import Runtime
from vademecum.services.search import search_passages
from vademecum.sources import pdq

HUMIRA_SET_ID = "608d4f0d-b19f-46d3-749a-7159aa5f933d"


def table_counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.session() as session:
        documents = session.scalar(select(func.count()).select_from(EvidenceDocument))
        passages = session.scalar(select(func.count()).select_from(EvidencePassage))
    return documents, passages


def test_reingesting_the_same_file_changes_nothing(runtime: Runtime, corpus_dir: Path):
    path = corpus_dir / "pubmed" / "pubmedparser-pubmed21n1004.xml.gz"
    first = ingest_paths(runtime, [path])
    assert first.counts["documents_added"] == 88
    before = table_counts(runtime)
    indexed = runtime.index.count()
    second = ingest_paths(runtime, [path])
    assert second.counts["files_unchanged"] == 1
    assert second.counts["documents_added"] == 0
    assert table_counts(runtime) == before
    assert runtime.index.count() == indexed == before[1]


def test_runs_are_recorded_with_counts(runtime: Runtime, corpus_dir: Path):
    report = ingest_paths(runtime, [corpus_dir / "labels" / "spl" / "humira.xml"])
    with runtime.session() as session:
        run = session.get_one(IngestRun, report.run_id)
        assert run.status == "completed"
        assert run.counts["documents_added"] == 1
        assert run.counts["files_ingested"] == 1
        assert run.finished_at is not None


def _bump_spl_version(source: Path, target: Path, version: int) -> Path:
    text = source.read_text(encoding="utf-8")
    target.write_text(re.sub(r'<versionNumber value="\d+"/>', f'<versionNumber value="{version}"/>', text, count=1))
    return target


def test_a_new_version_replaces_the_old_and_an_older_one_does_not(runtime: Runtime, corpus_dir: Path, tmp_path: Path):
    humira = corpus_dir / "labels" / "spl" / "humira.xml"
    ingest_paths(runtime, [humira])
    documents, passages = table_counts(runtime)
    newer = _bump_spl_version(humira, tmp_path / "humira-newer.xml", 9999)
    # Change one passage's text so the new version is distinguishable.
    newer.write_text(newer.read_text().replace("HUMIRA is a tumor necrosis factor", "HUMIRA is a TNF", 1))
    report = ingest_paths(runtime, [newer])
    assert report.counts["documents_updated"] == 1
    assert table_counts(runtime) == (documents, passages)
    with runtime.session() as session:
        assert session.get_one(EvidenceDocument, f"spl:{HUMIRA_SET_ID}").version == "9999"
    assert runtime.index.count() == passages

    older = _bump_spl_version(humira, tmp_path / "humira-older.xml", 1)
    report = ingest_paths(runtime, [older])
    assert report.counts["documents_older"] == 1
    with runtime.session() as session:
        assert session.get_one(EvidenceDocument, f"spl:{HUMIRA_SET_ID}").version == "9999"


def test_delete_citation_removes_a_stored_record(runtime: Runtime, corpus_dir: Path, tmp_path: Path):
    path = corpus_dir / "pubmed" / "pubmed24-sample.xml.gz"
    ingest_paths(runtime, [path])
    documents, passages = table_counts(runtime)
    assert search_passages(runtime, "biopsychosocial back pain")[0].passage.document_id == "pmid:36400559"
    update = tmp_path / "pubmed24n9999.xml.gz"
    update.write_bytes(
        gzip.compress(
            b'<PubmedArticleSet><DeleteCitation><PMID Version="1">36400559</PMID></DeleteCitation></PubmedArticleSet>'
        )
    )
    report = ingest_paths(runtime, [update])
    assert report.counts["documents_deleted"] == 1
    with runtime.session() as session:
        assert session.get(EvidenceDocument, "pmid:36400559") is None
    remaining = table_counts(runtime)
    assert remaining[0] == documents - 1
    assert runtime.index.count() == remaining[1] < passages
    hits = search_passages(runtime, "biopsychosocial back pain")
    assert "pmid:36400559" not in {hit.passage.document_id for hit in hits}


def test_bad_files_are_reported_and_lose_nothing(runtime: Runtime, corpus_dir: Path, tmp_path: Path):
    good_first = corpus_dir / "labels" / "spl" / "viagra.xml"
    ingest_paths(runtime, [good_first])
    stored_before = table_counts(runtime)

    bad = tmp_path / "bad"
    bad.mkdir()
    medline = (corpus_dir / "pubmed" / "pubmedparser-pubmed21n1000.xml.gz").read_bytes()
    (bad / "truncated.xml.gz").write_bytes(medline[: len(medline) // 2])
    xml = gzip.decompress(medline)
    (bad / "malformed.xml").write_bytes(xml[: len(xml) // 2])
    (bad / "empty.xml").write_bytes(b"")
    pdq = corpus_dir / "guidelines" / "nci-pdq" / "types-gi-neuroendocrine-tumors-hp-gi-neuroendocrine-treatment-pdq.md"
    (bad / "latin1.md").write_bytes(pdq.read_text(encoding="utf-8").encode("cp1252", errors="replace"))
    (bad / "unknown.csv").write_bytes((corpus_dir / "labels" / "spl-section-codes.csv").read_bytes())
    good_second = corpus_dir / "pubmed" / "pubmed24-sample.xml.gz"

    report = ingest_paths(runtime, [bad, good_second])
    failed = {Path(problem.source).name: problem for problem in report.problems}
    assert set(failed) == {"truncated.xml.gz", "malformed.xml", "empty.xml", "latin1.md", "unknown.csv"}
    assert "truncated" in failed["truncated.xml.gz"].message
    assert "empty" in failed["empty.xml"].message
    assert "unknown format" in failed["unknown.csv"].message
    assert report.counts["files_failed"] == 5
    assert report.counts["files_ingested"] == 1
    documents, passages = table_counts(runtime)
    assert report.counts["documents_added"] == 4
    assert documents == stored_before[0] + 4
    assert passages > stored_before[1]
    assert runtime.index.count() == passages
    with runtime.session() as session:
        errors = session.scalars(select(IngestError).where(IngestError.run_id == report.run_id)).all()
        assert {Path(error.source).name for error in errors} == set(failed)


def test_a_file_failing_halfway_leaves_no_partial_documents(runtime: Runtime, corpus_dir: Path, tmp_path: Path):
    xml = gzip.decompress((corpus_dir / "pubmed" / "pubmedparser-pubmed21n1004.xml.gz").read_bytes())
    # Cut after most records so the reader has already yielded many of them when the XML breaks.
    cut = xml.rindex(b"</PubmedArticle>") - 50
    path = tmp_path / "broken.xml"
    path.write_bytes(xml[:cut])
    report = ingest_paths(runtime, [path])
    assert report.counts["files_failed"] == 1
    assert table_counts(runtime) == (0, 0)
    assert runtime.index.count() == 0


def test_folders_given_by_relative_path_are_walked(runtime: Runtime, corpus_dir: Path, monkeypatch):
    monkeypatch.chdir(corpus_dir / "labels")
    report = ingest_paths(runtime, [Path("..") / "labels" / "spl"])
    assert report.counts["files_ingested"] == 6
    assert report.counts["documents_added"] == 6


def test_pdq_citations_are_stored_with_the_studies_they_cite(runtime: Runtime, corpus_dir: Path):
    summary = (
        corpus_dir / "guidelines" / "nci-pdq" / "types-gi-neuroendocrine-tumors-hp-gi-neuroendocrine-treatment-pdq.md"
    )
    ingest_paths(runtime, [summary])
    document_id = "pdq:types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq"
    with runtime.session() as session:
        document = session.get_one(EvidenceDocument, document_id)
        assert (document.kind, document.level, document.audience) == ("guideline", "guideline", "health_professional")
        assert document.date.isoformat() == "2025-05-09"
        works = {
            work.label: work.pmid
            for work in session.scalars(select(CitedWork).where(CitedWork.document_id == document_id))
        }
        section = [p for p in document.passages if p.section_path[-1:] == ["Somatostatin Analogues"]]
    assert section
    assert "16630755" in {works[label] for passage in section for label in passage.citations}
    assert not [p for p in document.passages if "About This PDQ Summary" in p.section_path]


def test_rebuilt_index_serves_the_same_passages(runtime: Runtime, corpus_dir: Path):
    ingest_paths(runtime, [corpus_dir / "pubmed" / "pubmed24-sample.xml.gz", corpus_dir / "labels" / "spl"])
    query = "adalimumab tumor necrosis factor blocker"
    before = [(hit.passage, round(hit.score, 4)) for hit in search_passages(runtime, query, limit=5)]
    assert rebuild_index(runtime) == table_counts(runtime)[1] == runtime.index.count()
    after = [(hit.passage, round(hit.score, 4)) for hit in search_passages(runtime, query, limit=5)]
    assert after == before
    assert before[0][0].document_id == f"spl:{HUMIRA_SET_ID}"


MERKEL = "types-skin-hp-merkel-cell-treatment-pdq.md"
BLOCK_FIELDS = ("block", "block_id", "item_number", "depth", "lead_end", "evidence_levels")


def read_pdq(corpus_dir: Path, name: str) -> SourceDocument:
    path = corpus_dir / "guidelines" / "nci-pdq" / name
    with path.open("rb") as handle:
        (document,) = pdq.parse(handle, path.name)
    return document


def block_fields(passage: object) -> tuple[object, ...]:
    """A passage's block fields, alike whether it is a record, a stored row (lists) or an Evidence."""
    values = (getattr(passage, name) for name in BLOCK_FIELDS)
    return tuple(tuple(value) if isinstance(value, list) else value for value in values)


def test_pdq_list_structure_is_stored_and_retrieved(runtime: Runtime, corpus_dir: Path):
    record = read_pdq(corpus_dir, MERKEL)
    ingest_paths(runtime, [corpus_dir / "guidelines" / "nci-pdq" / MERKEL])
    with runtime.session() as session:
        document = session.get_one(EvidenceDocument, record.doc_id)
        stored = list(document.passages)
        evidence = [make_evidence(passage, document, 0.0) for passage in stored]
    assert [p.text for p in stored] == [p.text for p in record.passages]
    assert [block_fields(p) for p in stored] == [block_fields(p) for p in record.passages]
    assert [block_fields(e) for e in evidence] == [block_fields(p) for p in record.passages]
    numbered = [e for e in evidence if e.item_number is not None]
    assert numbered and all(e.block == "list_item" and e.block_id is not None for e in numbered)
    # Evidence splits a list item into its lead-in and its own text the way the reader did.
    for item, passage in zip(evidence, record.passages, strict=True):
        assert item.text[item.lead_end :] == passage.text[passage.lead_end :]


def test_a_new_reader_version_reads_an_unchanged_file_again(
    runtime: Runtime, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    path = corpus_dir / "guidelines" / "nci-pdq" / MERKEL
    assert ingest_paths(runtime, [path]).counts["files_ingested"] == 1
    assert ingest_paths(runtime, [path]).counts["files_unchanged"] == 1
    monkeypatch.setattr(pdq, "READER_VERSION", f"{pdq.READER_VERSION}-next")
    again = ingest_paths(runtime, [path])
    assert again.counts["files_ingested"] == 1 and again.counts["files_unchanged"] == 0


def test_passages_stored_before_revisions_0004_and_0006_read_as_blocks_without_a_list_split_when_read(
    database_url: str, corpus_dir: Path
):
    record = read_pdq(corpus_dir, MERKEL)
    engine = create_db_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    # The passages table as revision 0003 made it (the model's table would write the new columns too).
    new_columns = {"block_id", "item_number", "depth", "lead_end", "sentences"}
    old_passages = table(
        "passages",
        *(column(c.name, c.type) for c in EvidencePassage.__table__.columns if c.name not in new_columns | {"id"}),
    )
    with engine.begin() as connection:
        document_grade = grade(record.kind, record.publication_types)
        connection.execute(
            EvidenceDocument.__table__.insert(), [store._document_row(record, "0" * 64, document_grade, "0" * 64)]
        )
        rows = [store._passage_row(record.doc_id, ordinal, p) for ordinal, p in enumerate(record.passages)]
        connection.execute(
            old_passages.insert(), [{k: v for k, v in row.items() if k not in new_columns} for row in rows]
        )
    upgrade_database(engine)
    with Session(engine) as session:
        stored = store.document_passages(session, record.doc_id)
        assert [p.text for p in stored] == [p.text for p in record.passages]
        assert {(p.block_id, p.item_number, p.depth, p.lead_end) for p in stored} == {(None, None, 0, 0)}
        assert {p.sentences is None for p in stored} == {True}
        documents = store.documents_by_id(session, [record.doc_id])
        evidence = [make_evidence(p, documents[record.doc_id], 0.0) for p in stored]
        assert [e.sentences for e in evidence] == [split_sentences(p.text) for p in stored]
        assert sum(len(e.sentences) > 1 for e in evidence) > 10
    engine.dispose()


def test_ingest_stores_the_sentences_of_the_passages_articles_quote(runtime: Runtime, corpus_dir: Path):
    guideline = (
        corpus_dir / "guidelines" / "nci-pdq" / "types-gi-neuroendocrine-tumors-hp-gi-neuroendocrine-treatment-pdq.md"
    )
    ingest_paths(
        runtime,
        [
            guideline,
            corpus_dir / "labels" / "spl" / "humira.xml",
            corpus_dir / "pubmed" / "pubmedparser-pubmed21n1004.xml.gz",
        ],
    )
    with runtime.session() as session:
        rows = session.execute(select(EvidencePassage, EvidenceDocument).join(EvidenceDocument)).all()
        split_by_kind: dict[str, list[bool]] = {}
        for passage, document in rows:
            split_by_kind.setdefault(document.kind, []).append(passage.sentences is not None)
            if passage.sentences is None:
                continue
            evidence = make_evidence(passage, document, 0.0)
            # The stored split is the one the splitter gives now, sentence for sentence.
            assert evidence.sentences == split_sentences(passage.text)
        humira_sections = {
            passage.section_code for passage, document in rows if document.kind == "drug_label" and passage.sentences
        }
        multi = [
            passage
            for passage, document in rows
            if document.kind == "guideline" and passage.sentences and len(passage.sentences["bounds"]) > 2
        ]
    assert all(split_by_kind["guideline"])
    assert not any(split_by_kind["research"])
    assert humira_sections == set(LABEL_SECTIONS)
    assert len(multi) > 100
    # A split stored by another version of the splitter is not trusted: the text is split again.
    passage = multi[0]
    stale = {**passage.sentences, "splitter": SPLITTER_VERSION + 1, "bounds": [0, len(passage.text)]}
    assert stored_spans(passage.text, stale) == split_sentences(passage.text)
    assert len(stored_spans(passage.text, passage.sentences)) == len(passage.sentences["bounds"]) // 2 > 1


def test_the_heading_map_written_at_ingest_finds_the_passages_under_a_heading(runtime: Runtime, corpus_dir: Path):
    guideline = corpus_dir / "guidelines" / "nci-pdq" / "types-skin-hp-merkel-cell-treatment-pdq.md"
    ingest_paths(runtime, [guideline, corpus_dir / "labels" / "spl" / "humira.xml"])
    with runtime.session() as session:
        kinds = dict(session.execute(select(EvidenceDocument.id, EvidenceDocument.kind)).all())
        documents = sorted(kinds)
        for document_id in documents:
            passages = store.document_passages(session, document_id)
            runs = session.scalars(
                select(HeadingRun).where(HeadingRun.document_id == document_id).order_by(HeadingRun.first_ordinal)
            ).all()
            if kinds[document_id] != DocumentKind.GUIDELINE.value:
                assert runs == []  # articles read only guidelines by heading
                continue
            # The runs cover every passage once, in order, each under its own path.
            covered = [ordinal for run in runs for ordinal in range(run.first_ordinal, run.last_ordinal + 1)]
            assert covered == [p.ordinal for p in passages]
            assert all(passages[run.first_ordinal].section_path == run.section_path for run in runs)
            assert len(runs) < len(passages)
        guideline = [d for d in documents if kinds[d] == DocumentKind.GUIDELINE.value]
        treatment = store.passages_under(session, documents, lambda path: "Treatment Option" in " ".join(path))
        expected = [
            p.id
            for document_id in guideline
            for p in store.document_passages(session, document_id)
            if "Treatment Option" in " ".join(p.section_path)
        ]
        assert treatment == expected
        assert len(treatment) > 10
        # Replacing a document replaces its heading map.
        before = session.scalar(select(func.count()).select_from(HeadingRun))
        store.delete_documents(session, guideline)
        assert session.scalar(select(func.count()).select_from(HeadingRun)) < before
