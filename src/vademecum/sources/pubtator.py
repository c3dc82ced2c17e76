"""Reader for PubTator text files: PubMed titles and abstracts with their chemical and disease annotations.

A PubTator file (the BioCreative V CDR corpus, NCBI's ``bioconcepts2pubtator`` dumps) holds one
record per article, records separated by a blank line::

    <PMID>|t|<title>
    <PMID>|a|<abstract>
    <PMID>\\t<start>\\t<end>\\t<mention>\\t<type>\\t<concept id>[\\t<individual mentions>]
    <PMID>\\tCID\\t<chemical id>\\t<disease id>

Each record becomes a research :class:`SourceDocument` with ``doc_id`` ``pmid:<PMID>``, the id the
MEDLINE reader gives the same article, with the title as a field and the abstract as one passage
(``section_path`` ``("Abstract",)``, block ``abstract``), as MEDLINE's unlabelled abstracts are.

PubTator carries no year, journal, authors or publication types, so they stay empty. It has no
version either: every record gets version ``"0"``, below any MEDLINE version (PMID versions start
at 1), so the store keeps a MEDLINE copy of the same article, with the metadata PubTator lacks,
whichever of the two is ingested first.

Chemical and disease mentions are kept in ``extra`` (``"chemicals"`` and ``"diseases"``: each
concept once, in order of first mention, as ``"<id> <first mention>"`` joined by ``"; "``). They are
not MeSH headings: a mention is not an indexer's descriptor, and the headings say who a study is
about (the Humans/Animals check tags), which mentions do not.

Example on a real file (../shared/corpus/research/pubtator-cdr)::

    with open(corpus / "research/pubtator-cdr/CDR_TestSet.PubTator.txt", "rb") as handle:
        first = next(parse(handle, "CDR_TestSet.PubTator.txt"))
    first.doc_id, first.title  # ('pmid:8701013', 'Famotidine-associated delirium. A series of six cases.')
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from vademecum.errors import ReaderError
from vademecum.records import DocumentKind, Passage, SourceDocument, SourceRecord

READER_NAME: str = "pubtator"
READER_VERSION: str = "1"

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
VERSION = "0"
ENTITY_TYPES = {"Chemical": "chemicals", "Disease": "diseases"}
_SNIFF = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*\d+\|[ta]\|")
_TEXT_LINE = re.compile(r"([0-9]+)\|([ta])\|(.*)", re.DOTALL)
_NO_CONCEPT = "-1"  # the CDR corpus's id for a mention it could not map to a concept


def sniff(name: str, head: bytes) -> bool:
    """True when ``head`` starts with a PubTator title or abstract line (``<PMID>|t|``)."""
    return _SNIFF.match(head) is not None


def parse(handle: BinaryIO, source: str) -> Iterator[SourceRecord]:
    """Stream the records of one PubTator file, in file order.

    Args:
        handle: the file's bytes (UTF-8).
        source: the file name, used in locators and errors.

    Raises:
        ReaderError: naming the file, the line and the PMID: a line that is neither a title, an
            abstract, an annotation nor blank; an abstract or annotation without a title before it;
            a line whose PMID is not its record's (a title inside a record included); a second
            abstract; a mention line without its five fields; text that is not UTF-8; no record.
    """
    record: _Record | None = None
    count = 0
    line_number = 0
    for line_number, raw in enumerate(handle, start=1):
        try:
            line = raw.decode("utf-8-sig" if line_number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise ReaderError(source, f"line {line_number}: not UTF-8 text", record=_pmid(record)) from exc
        if not line.strip():
            if record is not None:
                count += 1
                yield record.document(source)
                record = None
            continue
        text_line = _TEXT_LINE.fullmatch(line)
        if text_line is not None:
            pmid, part, text = text_line.groups()
            if part == "t":
                if record is not None:
                    raise ReaderError(
                        source,
                        f"line {line_number}: title of PMID {pmid} inside the record of PMID {record.pmid} "
                        f"(title on line {record.line}; records are separated by a blank line)",
                        record=f"pmid:{record.pmid}",
                    )
                record = _Record(pmid, line_number, title=_squash(text))
                continue
            _check_record(record, pmid, "abstract", source, line_number)
            assert record is not None
            if record.abstract is not None:
                raise ReaderError(source, f"line {line_number}: a second abstract", record=f"pmid:{pmid}")
            record.abstract = _squash(text)
            continue
        fields = line.split("\t")
        if len(fields) < 4 or not _is_pmid(fields[0]):
            raise ReaderError(
                source,
                f"line {line_number}: not a PubTator line (expected PMID|t|, PMID|a| or a tab-separated annotation)",
                record=_pmid(record),
            )
        _check_record(record, fields[0], "annotation", source, line_number)
        assert record is not None
        record.annotate(fields, source, line_number)
    if record is not None:
        count += 1
        yield record.document(source)
    if count == 0:
        raise ReaderError(source, "empty file" if line_number == 0 else "no PubTator records")


@dataclass
class _Record:
    """One record as its lines are read."""

    pmid: str
    line: int
    title: str
    abstract: str | None = None
    # entity type → concept id → first mention, in order of first mention
    concepts: dict[str, dict[str, str]] = field(default_factory=dict)

    def annotate(self, fields: list[str], source: str, line_number: int) -> None:
        """Keep a chemical or disease mention; relation lines (``CID``) and other entity types are not kept."""
        if not fields[1].isdigit():
            return  # a relation between two concepts
        if len(fields) < 6 or not fields[2].isdigit():
            raise ReaderError(
                source,
                f"line {line_number}: a mention needs start, end, text, type and concept id",
                record=f"pmid:{self.pmid}",
            )
        mention, kind, concept = fields[3:6]
        name = ENTITY_TYPES.get(kind)
        if name is None:
            return
        # A composite mention ("D002318|D012131") names several concepts.
        for concept_id in concept.split("|"):
            if concept_id and concept_id != _NO_CONCEPT:
                self.concepts.setdefault(name, {}).setdefault(concept_id, _squash(mention))

    def document(self, source: str) -> SourceDocument:
        """The record as a research document."""
        passages = (Passage(text=self.abstract, section_path=("Abstract",), block="abstract"),) if self.abstract else ()
        extra = {
            name: "; ".join(f"{concept_id} {mention}" for concept_id, mention in concepts.items())
            for name, concepts in self.concepts.items()
        }
        return SourceDocument(
            doc_id=f"pmid:{self.pmid}",
            kind=DocumentKind.RESEARCH,
            title=self.title,
            reader=READER_NAME,
            locator=f"{source}#pmid:{self.pmid}",
            passages=passages,
            version=VERSION,
            url=PUBMED_URL.format(pmid=self.pmid),
            pmid=self.pmid,
            extra=extra,
        )


def _check_record(record: _Record | None, pmid: str, what: str, source: str, line_number: int) -> None:
    if record is None:
        raise ReaderError(source, f"line {line_number}: {what} without a title line before it", record=f"pmid:{pmid}")
    if pmid != record.pmid:
        raise ReaderError(
            source,
            f"line {line_number}: {what} for PMID {pmid} inside the record of PMID {record.pmid} "
            f"(title on line {record.line})",
            record=f"pmid:{record.pmid}",
        )


def _is_pmid(text: str) -> bool:
    return text.isdigit() and text.isascii()


def _pmid(record: _Record | None) -> str | None:
    return f"pmid:{record.pmid}" if record is not None else None


def _squash(text: str) -> str:
    return " ".join(text.split())
