"""Reader for NLM MEDLINE/PubMed XML: baseline and update files, efetch output, old MedlineCitationSet files.

Both document types are read:

* ``PubmedArticleSet`` (the current DTD): ``PubmedArticle`` = ``MedlineCitation`` + ``PubmedData``;
* ``MedlineCitationSet`` (the pre-2017 DTD): ``MedlineCitation`` directly under the root.

``DeleteCitation`` (in either) becomes one :class:`DeletedDocument` per PMID it lists.

Each citation becomes a :class:`SourceDocument` of kind ``research`` with ``doc_id`` ``pmid:<PMID>``;
the evidence layer, not this reader, reclassifies guidelines by publication type. The title is a
field, not a passage (titles are indexed separately); each ``AbstractText`` is one passage, so a
citation without an abstract has no passages.

Example on a real file (the 2024-DTD sample of ../shared/corpus/pubmed)::

    with gzip.open(corpus / "pubmed/pubmed24-sample.xml.gz") as handle:
        first = next(parse(handle, "pubmed24-sample.xml.gz"))
    first.doc_id, first.journal, first.year  # ('pmid:36400559', 'Neurologic clinics', 2023)

Parsing streams with :func:`lxml.etree.iterparse` and frees each finished record, so memory
stays flat on a 30,000-record baseline file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from vademecum.errors import ReaderError
from vademecum.records import DeletedDocument, DocumentKind, MeshHeading, Passage, SourceDocument, SourceRecord
from vademecum.sources.xml_document import calendar_date

READER_NAME: str = "medline"
READER_VERSION: str = "1"

_ROOTS = frozenset({"PubmedArticleSet", "MedlineCitationSet"})
_RECORD_TAGS = ("PubmedArticle", "MedlineCitation", "DeleteCitation")
_SNIFF_MARKERS = (b"<PubmedArticleSet", b"<MedlineCitationSet")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
# A MedlineDate is free text such as "1998 Dec-1999 Jan", "2015 Oct-Dec" or "2019 Sep/Oct":
# the first year, and the month right after it when there is one, give where the span starts.
_MEDLINE_DATE_START = re.compile(r"(\d{4})(?:\s+([A-Za-z]{3}))?")
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
_UNASSIGNED = "UNASSIGNED"


def sniff(name: str, head: bytes) -> bool:
    """True when ``head`` opens a PubmedArticleSet or MedlineCitationSet document (the name is not needed)."""
    return any(marker in head for marker in _SNIFF_MARKERS)


def parse(handle: BinaryIO, source: str) -> Iterator[SourceRecord]:
    """Stream the citations and deletions of one MEDLINE/PubMed XML file.

    Args:
        handle: the file's decompressed bytes.
        source: the file name, used in locators and errors.

    Yields:
        A :class:`SourceDocument` per citation and a :class:`DeletedDocument` per deleted PMID,
        in file order.

    Raises:
        ReaderError: malformed or truncated XML (naming the last PMID seen), a document that is
            not MEDLINE XML, or a citation without a PMID.
    """
    context = etree.iterparse(
        handle,
        events=("end",),
        tag=_RECORD_TAGS,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    last_pmid: str | None = None  # of the last complete record
    root: etree._Element | None = None
    try:
        for _event, element in context:
            if root is None:
                root = element.getroottree().getroot()
                _check_root(root, source)
            tag = element.tag
            if tag == "MedlineCitation":
                parent = element.getparent()
                if parent is not None and parent.tag == "PubmedArticle":
                    continue  # read with its PubmedData when the PubmedArticle ends
                record = parse_citation(element, None, source)
                last_pmid = record.pmid
                yield record
            elif tag == "PubmedArticle":
                citation = element.find("MedlineCitation")
                if citation is None:
                    raise ReaderError(source, "PubmedArticle without MedlineCitation", record=_record(last_pmid))
                record = parse_citation(citation, element.find("PubmedData"), source)
                last_pmid = record.pmid
                yield record
            else:  # DeleteCitation
                for pmid_element in element.iterchildren("PMID"):
                    last_pmid = _pmid_text(pmid_element, source)
                    yield DeletedDocument(
                        doc_id=f"pmid:{last_pmid}", reader=READER_NAME, locator=_locator(source, last_pmid)
                    )
            _release(element)
    except etree.XMLSyntaxError as exc:
        # The record being read when the XML broke is the root's last child, partly built.
        broken = _pmid_in_progress(root)
        if broken:
            where = f"in PMID {broken}"
        else:
            where = f"after PMID {last_pmid}" if last_pmid else "before the first complete record"
        raise ReaderError(
            source, f"malformed or truncated XML {where}: {exc}", record=_record(broken or last_pmid)
        ) from exc
    if root is None:
        _check_root(context.root, source)


def parse_citation(citation: etree._Element, pubmed_data: etree._Element | None, source: str) -> SourceDocument:
    """Build the document for one ``MedlineCitation`` (with its ``PubmedData`` sibling when there is one)."""
    pmid = parse_pmid(citation, source)
    article = citation.find("Article")
    year, date = _publication_date(article)
    status = citation.get("Status")
    extra = {"citation_status": status} if status else {}
    pmcid = _article_id(pubmed_data, "pmc")
    if pmcid:
        extra["pmcid"] = pmcid
    return SourceDocument(
        doc_id=f"pmid:{pmid}",
        kind=DocumentKind.RESEARCH,
        title=parse_title(article),
        reader=READER_NAME,
        locator=_locator(source, pmid),
        passages=parse_abstract(article),
        version=citation.find("PMID").get("Version"),
        date=date,
        year=year,
        journal=parse_journal(article),
        url=PUBMED_URL.format(pmid=pmid),
        doi=parse_doi(article, pubmed_data),
        pmid=pmid,
        language=parse_language(article),
        authors=parse_authors(article),
        publication_types=parse_publication_types(article),
        mesh_headings=parse_mesh_headings(citation),
        extra=extra,
    )


def parse_pmid(citation: etree._Element, source: str) -> str:
    """The citation's PMID (digits); raises :class:`ReaderError` when it is missing or not a number."""
    element = citation.find("PMID")
    if element is None:
        raise ReaderError(source, "MedlineCitation without PMID")
    return _pmid_text(element, source)


def parse_title(article: etree._Element | None) -> str:
    """``ArticleTitle`` as plain text (inner markup such as ``<i>`` kept as text), else ``VernacularTitle``.

    Returns ``""`` when neither has text: a title is not required to index the abstract.
    """
    if article is None:
        return ""
    return _text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle"))


def parse_abstract(article: etree._Element | None) -> tuple[Passage, ...]:
    """One passage per non-empty ``AbstractText`` of the article's ``Abstract``, block ``abstract``.

    A labelled section has ``section_path`` ``(Label,)`` (or the ``NlmCategory`` when there is no label)
    and ``section_code`` the ``NlmCategory``; an unlabelled one has ``("Abstract",)``. Publisher
    translations (``OtherAbstract``) are not read.
    """
    abstract = article.find("Abstract") if article is not None else None
    if abstract is None:
        return ()
    passages = []
    for element in abstract.iterchildren("AbstractText"):
        text = _text(element)
        if not text:
            continue
        category = element.get("NlmCategory") or None
        label = _squash(element.get("Label")) or (category if category != _UNASSIGNED else None)
        passages.append(
            Passage(text=text, section_path=(label or "Abstract",), section_code=category, block="abstract")
        )
    return tuple(passages)


def parse_journal(article: etree._Element | None) -> str | None:
    """The journal's full title (``Journal/Title``)."""
    if article is None:
        return None
    return _squash(article.findtext("Journal/Title")) or None


def parse_year(article: etree._Element | None) -> int | None:
    """Publication year: ``PubDate/Year``, else the first year of ``MedlineDate``, else ``ArticleDate/Year``."""
    return _publication_date(article)[0]


def parse_date(article: etree._Element | None) -> dt.date | None:
    """The most precise publication date the citation gives.

    In order: a full ``PubDate`` (year, month, day); the electronic ``ArticleDate`` (always full, and
    often earlier than the issue, so its year may precede ``year``); the first day of the ``PubDate``
    month, or of the month a ``MedlineDate`` span starts in. A year alone gives no date (``year``
    carries it): no day or month is made up.
    """
    return _publication_date(article)[1]


def _publication_date(article: etree._Element | None) -> tuple[int | None, dt.date | None]:
    """``(year, date)`` as :func:`parse_year` and :func:`parse_date` describe them, reading each element once."""
    if article is None:
        return None, None
    pub_date = article.find("Journal/JournalIssue/PubDate")
    parts = {child.tag: child.text for child in pub_date} if pub_date is not None else {}
    year, month, day = _int(parts.get("Year")), _month(parts.get("Month")), _int(parts.get("Day"))
    if year is None:
        match = _MEDLINE_DATE_START.search(parts.get("MedlineDate") or "")
        if match:
            year, month = int(match.group(1)), _month(match.group(2))
    date = calendar_date(year, month, day)
    if date is None or year is None:
        article_date = article.find("ArticleDate")
        if article_date is not None:
            electronic = {child.tag: child.text for child in article_date}
            electronic_year = _int(electronic.get("Year"))
            year = year if year is not None else electronic_year
            date = calendar_date(electronic_year, _month(electronic.get("Month")), _int(electronic.get("Day")))
    return year, date or calendar_date(year, month, 1)


def parse_authors(article: etree._Element | None) -> tuple[str, ...]:
    """Authors as ``"Last FM"`` (initials), or the ``CollectiveName``; entries marked invalid are skipped."""
    author_list = article.find("AuthorList") if article is not None else None
    if author_list is None:
        return ()
    authors = []
    for author in author_list.iterchildren("Author"):
        if author.get("ValidYN") == "N":
            continue
        # Iterating the few children once is about twice as fast as a findtext per field.
        last = initials = collective = None
        for child in author:
            tag = child.tag
            if tag == "LastName":
                last = _squash(child.text)
            elif tag == "Initials":
                initials = _squash(child.text)
            elif tag == "CollectiveName":
                collective = _text(child)
        if last:
            authors.append(f"{last} {initials}" if initials else last)
        elif collective:
            authors.append(collective)
    return tuple(authors)


def parse_publication_types(article: etree._Element | None) -> tuple[str, ...]:
    """The NLM publication type names, in the record's order (e.g. ``("Journal Article", "Review")``)."""
    type_list = article.find("PublicationTypeList") if article is not None else None
    if type_list is None:
        return ()
    return tuple(text for text in (_squash(e.text) for e in type_list.iterchildren("PublicationType")) if text)


def parse_mesh_headings(citation: etree._Element) -> tuple[MeshHeading, ...]:
    """MeSH headings; a heading is major when its descriptor or any of its qualifiers is a major topic."""
    heading_list = citation.find("MeshHeadingList")
    if heading_list is None:
        return ()
    headings = []
    for heading in heading_list.iterchildren("MeshHeading"):
        name = ui = None
        major = False
        qualifiers = []
        for child in heading:
            tag = child.tag
            if tag == "DescriptorName":
                name, ui = _squash(child.text), child.get("UI")
            elif tag == "QualifierName":
                qualifier = _squash(child.text)
                if qualifier:
                    qualifiers.append(qualifier)
            else:
                continue
            major = major or child.get("MajorTopicYN") == "Y"
        if name:
            headings.append(MeshHeading(descriptor=name, ui=ui, major=major, qualifiers=tuple(qualifiers)))
    return tuple(headings)


def parse_doi(article: etree._Element | None, pubmed_data: etree._Element | None) -> str | None:
    """The DOI: a valid ``ELocationID EIdType="doi"``, else the record's own ``ArticleId IdType="doi"``.

    Only ``PubmedData/ArticleIdList`` is read, never the ArticleIdLists of the reference list,
    which hold the DOIs of cited works.
    """
    if article is not None:
        for location in article.iterchildren("ELocationID"):
            if location.get("EIdType") == "doi" and location.get("ValidYN") != "N":
                doi = _squash(location.text)
                if doi:
                    return doi
    return _article_id(pubmed_data, "doi")


def parse_language(article: etree._Element | None) -> str | None:
    """The first ``Language`` code (ISO 639-2, e.g. ``eng``)."""
    if article is None:
        return None
    return _squash(article.findtext("Language")) or None


def _article_id(pubmed_data: etree._Element | None, id_type: str) -> str | None:
    if pubmed_data is None:
        return None
    for article_id in pubmed_data.iterfind("ArticleIdList/ArticleId"):
        if article_id.get("IdType") == id_type:
            value = _squash(article_id.text)
            if value:
                return value
    return None


def _check_root(root: etree._Element | None, source: str) -> None:
    if root is None or root.tag not in _ROOTS:
        found = "no root element" if root is None else f"root element <{root.tag}>"
        raise ReaderError(source, f"not MEDLINE/PubMed XML ({found}; expected PubmedArticleSet or MedlineCitationSet)")


def _release(element: etree._Element) -> None:
    """Free a finished record and the already-processed siblings before it, keeping memory flat."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is None:
        return
    while element.getprevious() is not None:
        del parent[0]


def _pmid_text(element: etree._Element, source: str) -> str:
    pmid = (element.text or "").strip()
    if not (pmid.isdigit() and pmid.isascii()):
        raise ReaderError(source, f"PMID is not a number: {pmid!r}", record=pmid or None)
    return pmid


def _pmid_in_progress(root: etree._Element | None) -> str | None:
    """PMID of the partly read record at the end of the tree, if its PMID was read before the error."""
    if root is None or len(root) == 0:
        return None
    pmid = (root[-1].findtext(".//PMID") or "").strip()
    return pmid if pmid.isdigit() and pmid.isascii() else None


def _record(pmid: str | None) -> str | None:
    return f"pmid:{pmid}" if pmid else None


def _locator(source: str, pmid: str) -> str:
    return f"{source}#pmid:{pmid}"


def _text(element: etree._Element | None) -> str:
    """Plain text of an element and its inline markup, whitespace collapsed."""
    if element is None:
        return ""
    if len(element) == 0:  # most titles and abstracts have no inline markup: skip itertext
        return _squash(element.text)
    return " ".join("".join(element.itertext()).split())


def _squash(text: str | None) -> str:
    """Whitespace-collapsed text of a leaf element (``findtext`` or ``.text``), ``""`` when there is none."""
    return " ".join(text.split()) if text else ""


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isdigit() and text.isascii() else None


def _month(text: str | None) -> int | None:
    """A month given as a number ("02") or an English abbreviation ("Feb")."""
    if not text:
        return None
    number = _int(text)
    if number is not None:
        return number if 1 <= number <= 12 else None
    return _MONTHS.get(text.strip()[:3].lower())
