"""Store functions: write graded documents and their passages, delete them, read corpus figures.

Every function takes a Session and never opens, commits or rolls one back: the caller owns
the transaction (one per source file during ingest), so a failure loses nothing stored before.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, defer

from vademecum.evidence.grading import Grade, grade
from vademecum.evidence.models import (
    CitedWork,
    EvidenceDocument,
    EvidencePassage,
    HeadingRun,
    IngestRun,
    SourceFile,
)
from vademecum.records import Passage, Section, SourceDocument


class DocumentAction(StrEnum):
    """What storing a record did to the document it names."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    OLDER = "older"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class StoredPassage:
    """A passage as written, with the id the store gave it."""

    passage_id: int
    passage: Passage


@dataclass(frozen=True, slots=True)
class StoredChange:
    """The outcome of storing one record; ``passages`` is filled for added and updated documents."""

    document_id: str
    action: DocumentAction
    record: SourceDocument | None = None
    grade: Grade | None = None
    passages: tuple[StoredPassage, ...] = ()


def content_hash(record: SourceDocument) -> str:
    """A hash of everything a record says, to tell an unchanged re-ingest from a new version."""
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()


def is_older_version(new: str | None, old: str | None) -> bool:
    """True when ``new`` is known to be an older version than ``old`` (numbers compare as numbers)."""
    if new is None or old is None:
        return False
    if new.isdigit() and old.isdigit():
        return int(new) < int(old)
    return new < old


Splitter = Callable[[str, Passage], dict[str, object] | None]
"""What ingest stores of a passage's sentences, given its document's kind (None: nothing)."""

MappedKind = Callable[[str], bool]
"""Whether documents of a kind get a heading map (:func:`passages_under` reads only those)."""


def store_documents(
    session: Session,
    records: Sequence[SourceDocument],
    source_sha256: str,
    split: Splitter | None = None,
    mapped: MappedKind | None = None,
) -> list[StoredChange]:
    """Store a batch of records: add new documents, replace older versions, skip unchanged or older ones.

    With ``split``, each passage written is stored with what it returns for it (its sentences); with
    ``mapped``, the documents of the kinds it accepts are stored with their heading maps."""
    hashes = [content_hash(record) for record in records]
    ids = [record.doc_id for record in records]
    existing = {
        row.id: row
        for row in session.execute(
            select(EvidenceDocument.id, EvidenceDocument.content_hash, EvidenceDocument.version).where(
                EvidenceDocument.id.in_(ids)
            )
        )
    }
    changes: list[StoredChange] = []
    to_write: list[tuple[SourceDocument, str, Grade, DocumentAction]] = []
    for record, digest in zip(records, hashes, strict=True):
        current = existing.get(record.doc_id)
        if current is not None and current.content_hash == digest:
            changes.append(StoredChange(record.doc_id, DocumentAction.UNCHANGED))
            continue
        if current is not None and is_older_version(record.version, current.version):
            changes.append(StoredChange(record.doc_id, DocumentAction.OLDER))
            continue
        action = DocumentAction.ADDED if current is None else DocumentAction.UPDATED
        to_write.append((record, digest, grade(record.kind, record.publication_types), action))
        # A batch may hold two versions of one document: the later one is compared with the earlier.
        existing[record.doc_id] = _Existing(record.doc_id, digest, record.version)

    replaced = [record.doc_id for record, _, _, action in to_write if action is DocumentAction.UPDATED]
    _delete_rows(session, replaced)
    # Keep only the last write per document (a later duplicate in the batch supersedes an earlier one).
    last = {record.doc_id: index for index, (record, *_rest) in enumerate(to_write)}
    to_write = [item for index, item in enumerate(to_write) if last[item[0].doc_id] == index]
    if to_write:
        # Core executemany on the tables: the ORM's bulk path costs more than parsing does here.
        session.execute(
            EvidenceDocument.__table__.insert(),
            [
                _document_row(record, digest, record_grade, source_sha256)
                for record, digest, record_grade, _ in to_write
            ],
        )
        session.execute(
            EvidencePassage.__table__.insert(),
            [
                _passage_row(record.doc_id, ordinal, passage, split(record.kind, passage) if split else None)
                for record, *_rest in to_write
                for ordinal, passage in enumerate(_passages_of(record))
            ],
        )
        run_rows = [
            {"document_id": record.doc_id, **run}
            for record, *_rest in to_write
            if mapped is not None and mapped(record.kind)
            for run in heading_runs(passage.section_path for passage in _passages_of(record))
        ]
        if run_rows:
            session.execute(HeadingRun.__table__.insert(), run_rows)
        cited_rows = [
            {**dataclasses.asdict(work), "authors": list(work.authors), "document_id": record.doc_id}
            for record, *_rest in to_write
            for work in record.cited_works
        ]
        if cited_rows:
            session.execute(CitedWork.__table__.insert(), cited_rows)
        written = [record.doc_id for record, *_rest in to_write]
        passage_ids = {
            (document_id, ordinal): passage_id
            for passage_id, document_id, ordinal in session.execute(
                select(EvidencePassage.id, EvidencePassage.document_id, EvidencePassage.ordinal).where(
                    EvidencePassage.document_id.in_(written)
                )
            )
        }
        for record, _digest, record_grade, action in to_write:
            stored = tuple(
                StoredPassage(passage_ids[record.doc_id, ordinal], passage)
                for ordinal, passage in enumerate(_passages_of(record))
            )
            changes.append(StoredChange(record.doc_id, action, record, record_grade, stored))
    return changes


@dataclass(frozen=True, slots=True)
class _Existing:
    id: str
    content_hash: str
    version: str | None


def delete_documents(session: Session, document_ids: Iterable[str]) -> list[str]:
    """Delete documents (and their passages); returns the ids that existed."""
    ids = list(document_ids)
    found = list(session.scalars(select(EvidenceDocument.id).where(EvidenceDocument.id.in_(ids))))
    _delete_rows(session, found)
    return found


def _delete_rows(session: Session, document_ids: list[str]) -> None:
    if not document_ids:
        return
    # Explicit deletes rather than relying on ON DELETE CASCADE, which SQLite only honours per connection.
    for model in (EvidencePassage, HeadingRun, CitedWork):
        session.execute(delete(model).where(model.document_id.in_(document_ids)))
    session.execute(delete(EvidenceDocument).where(EvidenceDocument.id.in_(document_ids)))


def record_year(record: SourceDocument) -> int | None:
    """The publication year: the record's own, or its date's."""
    if record.year is not None:
        return record.year
    return record.date.year if record.date else None


def _passages_of(record: SourceDocument) -> tuple[Passage, ...]:
    # A document with no body (a MEDLINE record without abstract) is still findable by its title.
    return record.passages or (Passage(text=record.title, block="title"),)


def _sections_json(sections: tuple[Section, ...]) -> list[dict[str, object]]:
    return [
        {"title": s.title, "number": s.number, "code": s.code, "children": _sections_json(s.children)} for s in sections
    ]


def _document_row(record: SourceDocument, digest: str, record_grade: Grade, source_sha256: str) -> dict[str, object]:
    return {
        "id": record.doc_id,
        "kind": record_grade.kind.value,
        "level": record_grade.level.label,
        "level_rank": int(record_grade.level),
        "retracted": record_grade.retracted,
        "title": record.title,
        "version": record.version,
        "date": record.date,
        "year": record_year(record),
        "issuer": record.issuer,
        "journal": record.journal,
        "url": record.url,
        "doi": record.doi,
        "pmid": record.pmid,
        "language": record.language,
        "audience": record.audience.value if record.audience else None,
        "manufacturer": record.manufacturer,
        "authors": list(record.authors),
        "publication_types": list(record.publication_types),
        "mesh_headings": [
            {"descriptor": m.descriptor, "ui": m.ui, "major": m.major, "qualifiers": list(m.qualifiers)}
            for m in record.mesh_headings
        ],
        "sections": _sections_json(record.sections),
        "brand_names": list(record.brand_names),
        "generic_names": list(record.generic_names),
        "extra": dict(record.extra),
        "content_hash": digest,
        "reader": record.reader,
        "locator": record.locator,
        "source_sha256": source_sha256,
    }


def _passage_row(
    document_id: str, ordinal: int, passage: Passage, sentences: dict[str, object] | None = None
) -> dict[str, object]:
    return {
        "document_id": document_id,
        "ordinal": ordinal,
        "section_path": list(passage.section_path),
        "section_number": passage.section_number,
        "section_code": passage.section_code,
        "block": passage.block,
        "text": passage.text,
        "citations": list(passage.citations),
        "evidence_levels": list(passage.evidence_levels),
        "block_id": passage.block_id,
        "item_number": passage.item_number,
        "depth": passage.depth,
        "lead_end": passage.lead_end,
        "sentences": sentences,
    }


def find_source_file(session: Session, sha256: str, reader: str) -> SourceFile | None:
    """The record of an earlier ingest of the same bytes by the same reader version, if any."""
    return session.scalar(select(SourceFile).where(SourceFile.sha256 == sha256, SourceFile.reader == reader))


def iter_indexable(session: Session, batch_size: int = 5000) -> Iterator[tuple[EvidenceDocument, EvidencePassage]]:
    """Every passage of every non-retracted document, with its document, for rebuilding the index."""
    statement = (
        select(EvidenceDocument, EvidencePassage)
        .join(EvidencePassage, EvidencePassage.document_id == EvidenceDocument.id)
        .where(EvidenceDocument.retracted.is_(False))
        .order_by(EvidencePassage.id)
        .execution_options(yield_per=batch_size)
    )
    yield from session.execute(statement)  # type: ignore[misc]  # rows unpack as (document, passage)


@dataclass(frozen=True, slots=True)
class CorpusStats:
    """Figures about the stored corpus."""

    documents_by_kind: dict[str, int]
    documents_by_level: dict[str, int]
    passages: int
    cited_works: int
    source_files: int
    retracted: int
    last_run: IngestRun | None

    @property
    def documents(self) -> int:
        """Total number of documents."""
        return sum(self.documents_by_kind.values())


def documents_by_kind(session: Session) -> dict[str, int]:
    """Number of documents of each kind."""
    return dict(session.execute(select(EvidenceDocument.kind, func.count()).group_by(EvidenceDocument.kind)).all())


def last_ingest_run(session: Session) -> IngestRun | None:
    """The newest ingest run, if any."""
    return session.scalar(select(IngestRun).order_by(IngestRun.id.desc()).limit(1))


def corpus_stats(session: Session) -> CorpusStats:
    """Count documents per kind and level, passages, files, and find the last ingest run."""
    by_kind = documents_by_kind(session)
    by_level = dict(
        session.execute(select(EvidenceDocument.level, func.count()).group_by(EvidenceDocument.level)).all()
    )
    return CorpusStats(
        documents_by_kind=by_kind,
        documents_by_level=by_level,
        passages=session.scalar(select(func.count()).select_from(EvidencePassage)) or 0,
        cited_works=session.scalar(select(func.count()).select_from(CitedWork)) or 0,
        source_files=session.scalar(select(func.count()).select_from(SourceFile)) or 0,
        retracted=session.scalar(select(func.count()).where(EvidenceDocument.retracted.is_(True))) or 0,
        last_run=last_ingest_run(session),
    )


def documents_by_id(session: Session, document_ids: Iterable[str]) -> dict[str, EvidenceDocument]:
    """Documents by id (missing ids are left out)."""
    ids = list(dict.fromkeys(document_ids))
    if not ids:
        return {}
    # The section tree and MeSH list are large and only needed when a document is shown whole.
    statement = (
        select(EvidenceDocument)
        .where(EvidenceDocument.id.in_(ids))
        .options(defer(EvidenceDocument.sections), defer(EvidenceDocument.mesh_headings))
    )
    return {doc.id: doc for doc in session.scalars(statement)}


def passages_by_id(session: Session, passage_ids: Iterable[int]) -> dict[int, EvidencePassage]:
    """Passages by id (missing ids are left out)."""
    ids = list(dict.fromkeys(passage_ids))
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(EvidencePassage).where(EvidencePassage.id.in_(ids)))}


def document_passages(session: Session, document_id: str, section_codes: Sequence[str] = ()) -> list[EvidencePassage]:
    """A document's passages in order, optionally only those of some LOINC-coded sections."""
    statement = select(EvidencePassage).where(EvidencePassage.document_id == document_id)
    if section_codes:
        statement = statement.where(EvidencePassage.section_code.in_(list(section_codes)))
    return list(session.scalars(statement.order_by(EvidencePassage.ordinal)))


def heading_runs(paths: Iterable[Sequence[str]]) -> list[dict[str, object]]:
    """The heading map of a document whose passages have the section ``paths``, in order: one row per run
    of consecutive passages under the same path."""
    runs: list[dict[str, object]] = []
    for ordinal, path in enumerate(paths):
        if runs and runs[-1]["section_path"] == list(path):
            runs[-1]["last_ordinal"] = ordinal
        else:
            runs.append({"section_path": list(path), "first_ordinal": ordinal, "last_ordinal": ordinal})
    return runs


def passages_under(
    session: Session, document_ids: Iterable[str], heading: Callable[[Sequence[str]], bool]
) -> list[int]:
    """The ids of the passages of some documents whose section path ``heading`` accepts, in document and
    passage order, found through the documents' heading maps."""
    ids = list(dict.fromkeys(document_ids))
    if not ids:
        return []
    ordinals: dict[str, list[int]] = {}
    for document_id, path, first, last in session.execute(
        select(HeadingRun.document_id, HeadingRun.section_path, HeadingRun.first_ordinal, HeadingRun.last_ordinal)
        .where(HeadingRun.document_id.in_(ids))
        .order_by(HeadingRun.document_id, HeadingRun.first_ordinal)
    ):
        if heading(path):
            ordinals.setdefault(document_id, []).extend(range(first, last + 1))
    found: list[int] = []
    for document_id in sorted(ordinals):
        found.extend(
            session.scalars(
                select(EvidencePassage.id)
                .where(EvidencePassage.document_id == document_id, EvidencePassage.ordinal.in_(ordinals[document_id]))
                .order_by(EvidencePassage.ordinal)
            )
        )
    return found
