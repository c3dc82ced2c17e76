"""Typed records that every source reader yields.

Readers turn a real file format into these records and nothing else; the evidence store
grades and stores them, the search index indexes their passages. Records are frozen, use
``None`` for a missing value and tuples for lists, and carry the locator of where they came
from so a reader of an article can open the exact passage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class DocumentKind(StrEnum):
    """The kind of evidence a document is; stored as these lowercase strings."""

    GUIDELINE = "guideline"
    DRUG_LABEL = "drug_label"
    RESEARCH = "research"
    DRUG_INFORMATION = "drug_information"


class Audience(StrEnum):
    """Who a document is written for (PDQ publishes both versions of most summaries)."""

    HEALTH_PROFESSIONAL = "health_professional"
    PATIENT = "patient"


@dataclass(frozen=True, slots=True)
class CitedWork:
    """A work that a document cites in its own reference list (e.g. a PDQ summary's references).

    ``label`` is the document's own citation anchor ("4.4" for ``#cit/section_4.4``).
    """

    label: str
    text: str
    pmid: str | None = None
    title: str | None = None
    authors: tuple[str, ...] = ()
    journal: str | None = None
    year: int | None = None


@dataclass(frozen=True, slots=True)
class Passage:
    """One retrievable unit of text: a paragraph, a list item with its lead-in, a table, an abstract part.

    ``section_path`` is the chain of headings from the top of the document to the passage.
    ``section_number`` and ``section_code`` are the label's own numbering ("2.1") and LOINC code.
    ``citations`` are labels of the document's :class:`CitedWork` entries cited by this passage.
    ``evidence_levels`` are the source's own level-of-evidence designations for the passage, in order
    (PDQ's "Level of evidence C2" gives ``("C2",)``), kept out of ``text``.

    List items keep the structure of the list they come from, so an answer can quote a list whole and
    in order: ``block_id`` is shared by every item of one list (the ordinal, within the document, of
    the list's first item passage; None for paragraphs and tables), ``item_number`` is the source's
    own number of a numbered item ("3." gives 3; None for bullets) and ``depth`` how deeply the item
    is nested (0 at the top level). An item's ``text`` is its lead-in followed by its own text:
    ``text[lead_end:]`` is the item's own text and ``text[:lead_end].rstrip()`` the lead-in
    (``lead_end`` is 0 when there is none).
    """

    text: str
    section_path: tuple[str, ...] = ()
    section_number: str | None = None
    section_code: str | None = None
    block: str = "paragraph"
    citations: tuple[str, ...] = ()
    evidence_levels: tuple[str, ...] = ()
    block_id: int | None = None
    item_number: int | None = None
    depth: int = 0
    lead_end: int = 0


@dataclass(frozen=True, slots=True)
class Section:
    """A node of a document's section tree, kept for display and navigation."""

    title: str
    number: str | None = None
    code: str | None = None
    children: tuple[Section, ...] = ()


@dataclass(frozen=True, slots=True)
class MeshHeading:
    """A MeSH descriptor attached to a research record; ``major`` is the MajorTopicYN flag."""

    descriptor: str
    ui: str | None = None
    major: bool = False
    qualifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """A whole document from any source, in the one evidence model all readers share.

    ``doc_id`` is stable across versions (``pmid:…``, ``spl:<set id>``, ``pdq:<slug>``…);
    ``version`` tells newer from older copies of the same document. ``locator`` says where
    in the source file the record was found (a PMID, an SPL set id and version, a path).
    """

    doc_id: str
    kind: DocumentKind
    title: str
    reader: str
    locator: str
    passages: tuple[Passage, ...]
    version: str | None = None
    date: dt.date | None = None
    year: int | None = None
    issuer: str | None = None
    journal: str | None = None
    url: str | None = None
    doi: str | None = None
    pmid: str | None = None
    language: str | None = None
    audience: Audience | None = None
    authors: tuple[str, ...] = ()
    publication_types: tuple[str, ...] = ()
    mesh_headings: tuple[MeshHeading, ...] = ()
    sections: tuple[Section, ...] = ()
    cited_works: tuple[CitedWork, ...] = ()
    brand_names: tuple[str, ...] = ()
    generic_names: tuple[str, ...] = ()
    manufacturer: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeletedDocument:
    """A source's instruction to remove a document (MEDLINE ``DeleteCitation``)."""

    doc_id: str
    reader: str
    locator: str


SourceRecord = SourceDocument | DeletedDocument
