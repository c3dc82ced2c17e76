"""Ingest service: source files → records → evidence store → passage index, one transaction per file.

A file is read, graded and stored inside one database transaction, and its index changes reach the
index writer only once that transaction has committed; the writer is committed every few thousand
passages (``ingest.index_commit_passages``) and at the end of the run, since a commit costs more than
reading a small file. Any error in a file rolls back its transaction and drops its index changes, is
recorded against the run with the file (and record) it concerns, and the run goes on with the next
file. Files whose bytes were
already ingested by the same reader version are skipped, so re-ingesting changes nothing. A run that
added, replaced or deleted documents ends by checking approved articles for newer evidence
(:mod:`vademecum.services.freshness`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vademecum.answer.retrieve import quoted_split, read_by_heading
from vademecum.checksums import file_sha256
from vademecum.errors import ReaderError, VademecumError
from vademecum.evidence import store
from vademecum.evidence.models import EvidenceDocument, IngestError, IngestRun, SourceFile, utcnow
from vademecum.records import DeletedDocument, SourceDocument, SourceRecord
from vademecum.search.index import IndexedPassage, PassageIndex
from vademecum.services.freshness import FreshnessReport, check_freshness
from vademecum.services.runtime import Runtime
from vademecum.settings import Settings
from vademecum.sources import registry
from vademecum.sources.archives import check_regular_file, open_source
from vademecum.vocab.compile import compile_vocabulary, needs_compile

# The evidence folders of the demo corpus; other files there (schemas, licences, derived extracts)
# are not documents.
DEMO_SOURCES = (
    "guidelines",
    "drug-info",
    "labels/spl",
    "labels/openfda-pharmgkb",
    "pubmed",
    "pubmedqa/ori_pqal.json",
    "research/pubtator-cdr",
    "research/pmc-oa-rct",
)
DEMO_VOCABULARY = "vocab"
SECTION_SEPARATOR = " › "
# Counts of a run that changed the evidence approved articles may rest on.
DOCUMENT_CHANGES = ("documents_added", "documents_updated", "documents_deleted")


class IngestObserver(Protocol):
    """Receives progress from an ingest run (the CLI draws progress bars from it)."""

    def files_found(self, total: int) -> None:
        """How many files the run will look at."""

    def file_done(self, path: Path, outcome: str, records: int) -> None:
        """A file was ingested, skipped as unchanged, or failed."""


@dataclass(frozen=True, slots=True)
class IngestProblem:
    """A file or record that could not be ingested."""

    source: str
    message: str
    record: str | None = None


@dataclass
class IngestReport:
    """What an ingest run did."""

    run_id: int
    started_at: dt.datetime
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[IngestProblem] = field(default_factory=list)
    seconds: float = 0.0
    # The stale check of approved articles that followed, when the run changed documents.
    freshness: FreshnessReport | None = None

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.problems


def demo_paths(corpus: Path) -> list[Path]:
    """The demo corpus's evidence files and folders under ``corpus``."""
    paths = [corpus / name for name in DEMO_SOURCES]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise VademecumError(f"demo corpus incomplete, missing: {', '.join(missing)} (setting VADEMECUM_CORPUS)")
    return paths


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, and every file below named folders (sorted; hidden files and folders skipped)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    found
                    for found in path.rglob("*")
                    if found.is_file() and not any(part.startswith(".") for part in found.relative_to(path).parts)
                )
            )
        else:
            files.append(path)
    return files


def compile_vocabulary_if_needed(runtime: Runtime, vocab_dir: Path) -> bool:
    """Compile the MeSH, abbreviation and drug-name vocabulary into the data directory unless it is current."""
    if not needs_compile(vocab_dir, runtime.settings.vocab_path):
        return False
    compile_vocabulary(vocab_dir, runtime.settings.vocab_path)
    return True


def ingest_paths(
    runtime: Runtime,
    paths: Sequence[Path],
    observer: IngestObserver | None = None,
    stop: Callable[[], None] | None = None,
) -> IngestReport:
    """Ingest files and folders; every file is its own transaction. Returns the run's report.

    ``stop`` is called before each file and may raise to end the run there, with no file half-written
    (the command line's Ctrl-C and SIGTERM); the run is then recorded as interrupted.

    The index is committed every ``ingest.index_commit_passages`` passages rather than after each
    file (a commit costs tens of milliseconds, more than reading a small file), and at the end of the
    run, also when it is interrupted.
    """
    report, files = start_run(runtime, paths, observer)
    index = _BatchedIndex(runtime.index, runtime.settings.ingest.index_commit_passages)
    with ending_run(runtime, report):
        try:
            for path in files:
                if stop is not None:
                    stop()
                outcome, records = _ingest_file(runtime, index, path, report)
                report.counts[f"files_{outcome}"] += 1
                if observer:
                    observer.file_done(path, outcome, records)
        finally:
            index.commit()
    return finish_run(runtime, report)


@contextmanager
def ending_run(runtime: Runtime, report: IngestReport) -> Iterator[None]:
    """Record a final state for a run that stops early: ``interrupted`` on Ctrl-C (KeyboardInterrupt) or
    a termination signal (SystemExit, from the command line's signal handling), ``failed`` on an unexpected
    error; then let the exception go on. Without it the run would stay ``running`` forever."""
    try:
        yield
    except BaseException as error:
        status = "interrupted" if isinstance(error, KeyboardInterrupt | SystemExit) else "failed"
        report.problems.append(IngestProblem("(run)", f"{status}: {type(error).__name__}: {error}"))
        _record_end(runtime, report, status)
        raise


def start_run(
    runtime: Runtime, paths: Sequence[Path], observer: IngestObserver | None = None
) -> tuple[IngestReport, list[Path]]:
    """Record a new ingest run (status running) and list the files of ``paths``; shared by every way of ingesting."""
    with runtime.session() as session:
        run = IngestRun(started_at=utcnow(), status="running", counts={})
        session.add(run)
        session.flush()
        report = IngestReport(run_id=run.id, started_at=run.started_at)
    files = expand_paths(paths)
    if observer:
        observer.files_found(len(files))
    return report, files


def finish_run(runtime: Runtime, report: IngestReport) -> IngestReport:
    """Record how the run ended, with its problems; when documents changed, flag stale approved articles."""
    _record_end(runtime, report, "completed" if report.ok else "completed_with_errors")
    if any(report.counts[key] for key in DOCUMENT_CHANGES):
        report.freshness = check_freshness(runtime)
    return report


def _record_end(runtime: Runtime, report: IngestReport, status: str) -> None:
    finished = utcnow()
    report.seconds = (finished - report.started_at).total_seconds()
    with runtime.session() as session:
        run = session.get_one(IngestRun, report.run_id)
        run.finished_at = finished
        run.status = status
        run.counts = dict(report.counts)
        session.add_all(
            IngestError(run_id=run.id, source=p.source, record=p.record, message=p.message) for p in report.problems
        )


def _ingest_file(runtime: Runtime, index: _BatchedIndex, path: Path, report: IngestReport) -> tuple[str, int]:
    counts: Counter[str] = Counter()
    try:
        check_regular_file(path)  # before hashing: opening a named pipe would wait for a writer forever
        sha256 = file_sha256(path)
        with open_source(
            path, runtime.settings.ingest.max_archive_bytes, runtime.settings.ingest.max_compression_ratio
        ) as streams:
            formats = [
                registry.detect_format(s.name, s.head, f"{path}!{s.name}" if len(streams) > 1 else str(path))
                for s in streams
            ]
            reader = ",".join(sorted({registry.reader_version(name) for name in formats}))
            with runtime.sessions() as session, session.begin():
                if store.find_source_file(session, sha256, reader) is not None:
                    return "unchanged", 0
                for stream, format_name in zip(streams, formats, strict=True):
                    source = f"{path}!{stream.name}" if len(streams) > 1 else str(path)
                    records = registry.parse(format_name, stream.handle, source)
                    _store_records(session, index, records, sha256, runtime.settings.ingest.batch_size, counts)
                session.add(
                    SourceFile(
                        path=str(path),
                        sha256=sha256,
                        size=path.stat().st_size,
                        reader=reader,
                        documents=counts["records"],
                        run_id=report.run_id,
                    )
                )
                session.flush()
            index.file_done()
    except ReaderError as error:
        index.file_failed()
        report.problems.append(IngestProblem(error.source, error.detail, error.record))
        return "failed", 0
    except (OSError, UnicodeError, ValueError, SQLAlchemyError) as error:
        # The store refused a record (e.g. a value its column cannot hold): the file is rolled back.
        index.file_failed()
        report.problems.append(IngestProblem(str(path), f"{type(error).__name__}: {error}"))
        return "failed", 0
    report.counts.update(counts)
    return "ingested", counts["records"]


class _BatchedIndex:
    """The index as one run writes it: several files per commit, and nothing of a file that fails.

    A file's changes (deletions and additions, in order) are held until its store transaction has
    committed, then handed to the index writer; the writer is committed once ``commit_passages``
    passages are waiting. A file that fails is dropped before it reaches the writer, so the files
    before it keep their passages. A file that alone holds more than ``commit_passages`` passages
    is not held in memory: the files before it are committed, its changes go straight to the writer,
    and it is committed (or rolled back) on its own.
    """

    def __init__(self, index: PassageIndex, commit_passages: int) -> None:
        self.index = index
        self.commit_passages = commit_passages
        self._held: list[str | list[IndexedPassage]] = []  # a document id to delete, or passages to add
        self._held_passages = 0
        self._uncommitted = 0
        self._streaming = False

    def add(self, passages: Iterable[IndexedPassage]) -> int:
        """Queue passages of the current file; returns how many."""
        if self._streaming:
            return self.index.add(passages)
        batch = list(passages)
        self._held.append(batch)
        self._held_passages += len(batch)
        if self._held_passages > self.commit_passages:
            self._stream()
        return len(batch)

    def delete_document(self, document_id: str) -> None:
        """Queue the removal of a document's passages (replaced or deleted by the current file)."""
        if self._streaming:
            self.index.delete_document(document_id)
        else:
            self._held.append(document_id)

    def file_done(self) -> None:
        """The current file's transaction committed: its changes go to the writer."""
        if self._streaming:
            self._streaming = False
            self.index.commit()
            return
        self._uncommitted += self._write(self._held)
        self._reset()
        if self._uncommitted >= self.commit_passages:
            self.commit()

    def file_failed(self) -> None:
        """The current file was rolled back: none of its changes may reach the index."""
        if self._streaming:
            self._streaming = False
            self.index.rollback()  # only this file's changes: the files before it are committed
        self._reset()

    def commit(self) -> None:
        """Commit the files the writer holds (when enough is waiting, and at the end of a run).

        A file still being written when the run stops (an unexpected error, an interrupt) did not
        commit its store transaction, so its changes are dropped first.
        """
        if self._streaming:
            self.file_failed()
        if self._uncommitted:
            self.index.commit()
            self._uncommitted = 0

    def _stream(self) -> None:
        self.commit()
        self._streaming = True
        held = self._held
        self._reset()
        self._write(held)

    def _write(self, changes: list[str | list[IndexedPassage]]) -> int:
        """Hand changes to the writer in their order (a replaced document is deleted before it is re-added)."""
        written = 0
        for change in changes:
            if isinstance(change, str):
                self.index.delete_document(change)
                written += 1
            else:
                written += self.index.add(change)
        return written

    def _reset(self) -> None:
        self._held = []
        self._held_passages = 0


def _store_records(
    session: Session,
    index: PassageIndex | _BatchedIndex,
    records: Iterator[SourceRecord],
    sha256: str,
    batch_size: int,
    counts: Counter[str],
) -> None:
    while batch := list(itertools.islice(records, batch_size)):
        documents = [record for record in batch if isinstance(record, SourceDocument)]
        deletions = [record.doc_id for record in batch if isinstance(record, DeletedDocument)]
        counts["records"] += len(batch)
        for change in store.store_documents(session, documents, sha256, split=quoted_split, mapped=read_by_heading):
            counts[f"documents_{change.action.value}"] += 1
            if change.record is None or change.grade is None:
                continue
            if change.action is store.DocumentAction.UPDATED:
                index.delete_document(change.document_id)
            if not change.grade.retracted:
                counts["passages_indexed"] += index.add(_indexed(change))
        for document_id in store.delete_documents(session, deletions):
            index.delete_document(document_id)
            counts["documents_deleted"] += 1


@dataclass(frozen=True, slots=True)
class _GradedRecord:
    """A record as graded during ingest, with the fields of a stored document the index keeps."""

    id: str
    kind: str
    title: str
    year: int | None
    level: str
    level_rank: int
    audience: str | None


def _index_entry(
    document: _GradedRecord | EvidenceDocument, passage_id: int, section_path: Sequence[str], text: str
) -> IndexedPassage:
    return IndexedPassage(
        passage_id=passage_id,
        document_id=document.id,
        kind=document.kind,
        title=document.title,
        section=SECTION_SEPARATOR.join(section_path),
        text=text,
        year=document.year,
        level=document.level,
        level_rank=document.level_rank,
        audience=document.audience,
    )


def _indexed(change: store.StoredChange) -> Iterator[IndexedPassage]:
    record, grade = change.record, change.grade
    assert record is not None and grade is not None
    document = _GradedRecord(
        id=record.doc_id,
        kind=grade.kind.value,
        title=record.title,
        year=store.record_year(record),
        level=grade.level.label,
        level_rank=int(grade.level),
        audience=record.audience.value if record.audience else None,
    )
    for stored in change.passages:
        yield _index_entry(document, stored.passage_id, stored.passage.section_path, stored.passage.text)


def rebuild_index(runtime: Runtime) -> int:
    """Rebuild the passage index from the store; returns the number of passages indexed."""
    index = runtime.index
    index.clear()
    with runtime.session() as session:
        count = index.add(
            _index_entry(document, passage.id, passage.section_path, passage.text)
            for document, passage in store.iter_indexable(session)
        )
    index.commit()
    return count


# Cluster path (vademecum.cluster): one shard of files in one store transaction --------------------


@dataclass
class ShardOutcome:
    """What storing one shard's files did: counts, problems, the source_files rows written, and which
    documents were replaced or deleted (their older passages may sit in other shards)."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[IngestProblem] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    source_files: dict[int, str] = field(default_factory=dict)
    replaced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class _PassageBuffer:
    """Collects one file's index changes, so a failed file adds nothing to its shard's index."""

    def __init__(self) -> None:
        self.passages: list[IndexedPassage] = []
        self.removed: list[str] = []

    def add(self, passages: Iterable[IndexedPassage]) -> int:
        before = len(self.passages)
        self.passages.extend(passages)
        return len(self.passages) - before

    def delete_document(self, document_id: str) -> None:
        self.removed.append(document_id)


def store_shard(
    session: Session, index: PassageIndex, settings: Settings, run_id: int, files: Sequence[Path]
) -> ShardOutcome:
    """Store ``files`` in the caller's transaction and add their passages to ``index`` (not committed).

    Each file runs in a savepoint: a file that fails is rolled back and reported, and its passages never
    reach the index; the others stay. Files already ingested by the same reader version are skipped.
    """
    outcome = ShardOutcome()
    for path in files:
        buffer = _PassageBuffer()
        counts: Counter[str] = Counter()
        try:
            check_regular_file(path)  # before hashing: opening a named pipe would wait for a writer forever
            sha256 = file_sha256(path)
            with open_source(path, settings.ingest.max_archive_bytes, settings.ingest.max_compression_ratio) as streams:
                formats = [
                    registry.detect_format(s.name, s.head, f"{path}!{s.name}" if len(streams) > 1 else str(path))
                    for s in streams
                ]
                reader = ",".join(sorted({registry.reader_version(name) for name in formats}))
                if store.find_source_file(session, sha256, reader) is not None:
                    outcome.outcomes[str(path)] = "unchanged"
                    continue
                with session.begin_nested():
                    for stream, format_name in zip(streams, formats, strict=True):
                        source = f"{path}!{stream.name}" if len(streams) > 1 else str(path)
                        records = registry.parse(format_name, stream.handle, source)
                        _store_records(session, buffer, records, sha256, settings.ingest.batch_size, counts)  # type: ignore[arg-type]
                    row = SourceFile(
                        path=str(path),
                        sha256=sha256,
                        size=path.stat().st_size,
                        reader=reader,
                        documents=counts["records"],
                        run_id=run_id,
                    )
                    session.add(row)
                    session.flush()
        except ReaderError as error:
            outcome.problems.append(IngestProblem(error.source, error.detail, error.record))
            outcome.outcomes[str(path)] = "failed"
            continue
        except (OSError, UnicodeError, ValueError, SQLAlchemyError) as error:
            outcome.problems.append(IngestProblem(str(path), f"{type(error).__name__}: {error}"))
            outcome.outcomes[str(path)] = "failed"
            continue
        index.add(buffer.passages)
        outcome.source_files[row.id] = sha256
        outcome.outcomes[str(path)] = "ingested"
        outcome.counts.update(counts)
        # Replaced documents are re-added by this shard; deleted ones are gone everywhere.
        added = {passage.document_id for passage in buffer.passages}
        outcome.replaced.extend(document_id for document_id in buffer.removed if document_id in added)
        outcome.deleted.extend(document_id for document_id in buffer.removed if document_id not in added)
    return outcome
