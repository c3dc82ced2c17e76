"""Stored rows of the evidence store: documents, passages, cited works, source files, ingest runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vademecum.db import Base


def utcnow() -> dt.datetime:
    """Timezone-aware now, for timestamps."""
    return dt.datetime.now(dt.UTC)


class EvidenceDocument(Base):
    """One document of any kind, at its newest ingested version."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(32))
    level_rank: Mapped[int] = mapped_column(Integer)
    retracted: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(Text)
    date: Mapped[dt.date | None] = mapped_column(Date)
    year: Mapped[int | None] = mapped_column(Integer)
    issuer: Mapped[str | None] = mapped_column(Text)
    journal: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(Text)
    pmid: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(Text)
    audience: Mapped[str | None] = mapped_column(String(32))
    manufacturer: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    publication_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    mesh_headings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    brand_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    generic_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    extra: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    reader: Mapped[str] = mapped_column(String(64))
    locator: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    passages: Mapped[list[EvidencePassage]] = relationship(
        back_populates="document", order_by="EvidencePassage.ordinal", cascade="all, delete-orphan"
    )


class EvidencePassage(Base):
    """A retrievable passage of a document, with where it sits in the document."""

    __tablename__ = "passages"
    # The unique (document_id, ordinal) index also serves lookups by document.
    __table_args__ = (UniqueConstraint("document_id", "ordinal"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    section_path: Mapped[list[str]] = mapped_column(JSON, default=list)
    section_number: Mapped[str | None] = mapped_column(Text)
    section_code: Mapped[str | None] = mapped_column(String(32))
    block: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[str]] = mapped_column(JSON, default=list)
    evidence_levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A list item's place in its list and where its own text starts (see records.Passage); rows stored
    # before revision 0004 have no list and lead_end 0 until their file is read again.
    block_id: Mapped[int | None] = mapped_column(Integer)
    item_number: Mapped[int | None] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lead_end: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The passage split into sentences at ingest ({"splitter": version, "bounds": [start, end, ...]}), for
    # the passages an article quotes sentence by sentence; null for the others and for rows stored
    # before revision 0006 (see vademecum.answer.sentences.stored_split).
    sentences: Mapped[dict[str, object] | None] = mapped_column(JSON(none_as_null=True), nullable=True)

    document: Mapped[EvidenceDocument] = relationship(back_populates="passages")


class HeadingRun(Base):
    """A run of consecutive passages of a document under one heading path: the document's heading map.

    Written at ingest with the passages, so that an article can pick a guideline's passages by heading
    ("… Treatment Options …") without reading the path of every passage of the guideline.
    """

    __tablename__ = "heading_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    section_path: Mapped[list[str]] = mapped_column(JSON, default=list)
    first_ordinal: Mapped[int] = mapped_column(Integer)
    last_ordinal: Mapped[int] = mapped_column(Integer)


class CitedWork(Base):
    """An entry of a document's own reference list (e.g. the studies a PDQ summary cites)."""

    __tablename__ = "cited_works"
    __table_args__ = (UniqueConstraint("document_id", "label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    pmid: Mapped[str | None] = mapped_column(String(20), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    journal: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)


class SourceFile(Base):
    """A file (or archive member) that was ingested, by content hash, so unchanged files are skipped."""

    __tablename__ = "source_files"
    __table_args__ = (Index("ix_source_files_sha256_reader", "sha256", "reader", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    reader: Mapped[str] = mapped_column(String(64))
    documents: Mapped[int] = mapped_column(Integer, default=0)
    run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id"))
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IngestRun(Base):
    """One run of ``vademecum ingest``: what it was given, what it did, and how it ended."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(32), default="running")
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)

    errors: Mapped[list[IngestError]] = relationship(back_populates="run", order_by="IngestError.id")


class IngestError(Base):
    """A file or record that a run could not ingest, and why."""

    __tablename__ = "ingest_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(Text)
    record: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)

    run: Mapped[IngestRun] = relationship(back_populates="errors")
