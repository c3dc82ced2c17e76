"""Reader for JATS XML (``.nxml``): full-text articles from the PubMed Central Open Access subset.

One file is one article (NLM Journal Archiving DTD 2.x and JATS 1.x alike). It becomes a research
:class:`SourceDocument` with ``doc_id`` ``pmid:<PMID>`` when the file gives a PMID, the id the MEDLINE
reader gives the same paper, else ``pmcid:<PMCID>``. What is read:

* front matter: PMID, PMCID (``extra["pmcid"]``), DOI, title, journal, authors (``"Surname
  Initials"``, as MEDLINE writes them, or the group's name), year and date (the print or issue
  date first, as MEDLINE's ``PubDate``, then the electronic one), language, the licence;
* the abstract by its own sections: a passage per paragraph, ``section_path`` ``("Abstract",
  <section title>)`` (``("Abstract",)`` when unlabelled), block ``abstract``; the author summaries,
  highlights and teasers some journals add (typed abstracts) are left out when the main abstract
  is there;
* the body: a passage per paragraph under its chain of section titles (a section's ``<label>``
  is ``section_number``), list items as ``list_item`` passages sharing their list's ``block_id``,
  and each table as one ``table`` passage (label and caption, one ``cell | cell`` line per row,
  then its footnotes), placed where the file puts it, or, for tables kept apart from the text
  (``<floats-group>``, or the back matter's "Figures and Tables" in older files), after the body
  under the section that first cites them.

Figures, supplementary material and the reference list never become passages: a caption is not a
finding to quote. Inline markup (italics, ``<xref>`` citation numbers such as ``[12]``) is kept as
text in place, whitespace collapsed, so a passage reads as the article prints it.

Licence: open-access articles carry their own licence, which must travel with what is quoted from
them. ``extra["licence"]`` is its short name ("CC BY 4.0") when the ``<license>`` links or names a
Creative Commons licence, else the licence's own text; ``extra["licence_url"]`` the licence's
address; ``extra["licence_text"]`` the whole statement; ``extra["licence_type"]`` the
``license-type`` attribute. An article without ``<license>`` has none of them (its
``<copyright-statement>`` is kept as ``extra["copyright"]``): no licence is inferred.

Publication types are the file's own words: the ``article-type`` attribute and the
``<article-categories>`` subjects. So that :mod:`vademecum.evidence.grading` can rank the design,
NLM publication type names are added where the file says the same thing in its words:

* an ``article-type`` that is an NLM type under another name (``review-article`` → Review,
  ``case-report`` → Case Reports, ``editorial``, ``letter``, ``correction`` → Published Erratum,
  ``retraction`` → Retraction of Publication);
* "Randomized Controlled Trial" for a primary research report (``research-article``,
  ``brief-report``, ``rapid-communication``, ``abstract``, ``other`` or none) that is not a
  protocol or a review (by its article type, subjects and title) and whose subjects name a
  randomised controlled trial, or whose title, or abstract outside its background, calls the study
  a randomi[sz]ed … trial ("a randomised, double-blind, placebo-controlled trial"; never
  "non-randomised", never the plural "trials" other studies are). ``extra["design_from"]`` says
  which ("subject", "title" or "abstract").

A file without ``<front>``/``<article-meta>``, or with neither PMID nor PMCID, is a
:class:`ReaderError`; one without an abstract or a body still loads what it has.

Version and precedence: the store keeps the newer version of a document (:mod:`vademecum.evidence.store`).
A full text says all a MEDLINE abstract says and more, so its ``version`` is ``"pmc"``, which sorts
after every MEDLINE PMID version ("1", "2"…, numbers) and after PubTator's ``"0"``: ingested in
either order, the full text is the copy kept for a PMID.

Example on a real file (../shared/corpus/research/pmc-oa-rct)::

    with open(corpus / "research/pmc-oa-rct/PMC1065065.nxml", "rb") as handle:
        (article,) = parse(handle, "PMC1065065.nxml")
    article.doc_id, article.extra["licence"]  # ('pmid:15566594', 'CC BY 2.0')
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from vademecum.errors import ReaderError
from vademecum.records import DocumentKind, Passage, Section, SourceDocument, SourceRecord
from vademecum.sources.xml_document import calendar_date, read_xml

READER_NAME: str = "jats"
READER_VERSION: str = "1"

VERSION = "pmc"
PMC_URL = "https://pmc.ncbi.nlm.nih.gov/articles/{pmcid}/"
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
ABSTRACT = "Abstract"
RCT = "Randomized Controlled Trial"

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_MML = "{http://www.w3.org/1998/Math/MathML}"
_SNIFF_ROOT = re.compile(rb"<article[\s>]")

# Never text of a passage: pictures, media, alternative renderings of a formula, identifiers.
_NOT_TEXT = frozenset(
    {
        "fig",
        "fig-group",
        "graphic",
        "inline-graphic",
        "media",
        "supplementary-material",
        "inline-supplementary-material",
        "tex-math",
        f"{_MML}annotation",
        f"{_MML}annotation-xml",
        "alt-text",
        "long-desc",
        "object-id",
        "ref-list",
    }
)
# Blocks that may sit inside a paragraph; each becomes passages of its own, after the paragraph.
_BLOCKS = frozenset({"table-wrap", "table-wrap-group", "list", "disp-quote", "boxed-text", "def-list"})
_PARAGRAPH_SKIP = _NOT_TEXT | _BLOCKS
# In a heading, an <xref> is a footnote mark ("Results*"), not part of the words.
_HEADING_SKIP = _NOT_TEXT | {"xref", "fn"}
# Where tables are kept apart from the text: the floats group, and in older files the back matter's
# "Figures and Tables" section (the references are skipped with the rest of the back matter's text).
_FLOATS = frozenset({"floats-group", "floats-wrap", "back"})
# Links printed as their address when they have no words of their own.
_LINKS = frozenset({"ext-link", "uri"})
# Elements whose words must not run into their neighbours' ("a<break/>b", adjacent cells).
_SPACED = frozenset({"break", "p", "list-item", "title", "label", "td", "th", "tr", "caption", "term", "def", "sec"})

# Article types that are an NLM publication type under another name (JATS tag library → MEDLINE).
ARTICLE_TYPE_NAMES = {
    "review-article": "Review",
    "case-report": "Case Reports",
    "editorial": "Editorial",
    "letter": "Letter",
    "correction": "Published Erratum",
    "retraction": "Retraction of Publication",
}
_PRIMARY_REPORTS = frozenset({None, "research-article", "brief-report", "rapid-communication", "abstract", "other"})
_NOT_A_TRIAL_REPORT = re.compile(r"\bprotocol\b|\breview\b|meta-analys", re.IGNORECASE)
_RCT_SUBJECT = re.compile(r"\brandomi[sz]ed controlled trial", re.IGNORECASE)
# "randomised controlled trial", "randomized, double-blind, placebo-controlled trial": within one clause.
_RCT_PHRASE = re.compile(r"(?<![\w-])randomi[sz]ed\b[^.;:]{0,60}?\btrial\b(?!s)", re.IGNORECASE)
_BACKGROUND = re.compile(r"background|introduction|context|rationale", re.IGNORECASE)

# Print or issue dates first (MEDLINE's PubDate), then electronic ones; pmc-release is PMC's own.
_DATE_TYPES = ("ppub", "epub-ppub", "collection", "epub", "pub")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}

_CC_LICENCE = re.compile(
    r"creativecommons\.org/(?:licenses/(?P<code>(?:by|nc|nd|sa)(?:-(?:by|nc|nd|sa))*)"
    r"(?:/(?P<version>\d+(?:\.\d+)?))?(?:/(?P<port>[a-z]{2})(?![a-z.]))?"
    r"|publicdomain/(?P<domain>zero|mark)/(?P<domain_version>\d+(?:\.\d+)?))",
    re.IGNORECASE,
)
# A licence named in words, as in "… License (CC BY-NC 4.0)".
_CC_NAMED = re.compile(r"\bCC[ -]BY(?:-(?:NC|ND|SA))*(?: \d\.\d)?\b|\bCC0(?: 1\.0)?\b")
_URL = re.compile(r"https?://[^\s<>\"]+")
_URL_TRAILING = ".,;:)]}>）"


def sniff(name: str, head: bytes) -> bool:
    """True for XML whose root is ``<article>`` with JATS front matter (or a ``.nxml`` file with an ``<article>``)."""
    if _SNIFF_ROOT.search(head) is None:
        return False
    return name.lower().endswith(".nxml") or b"<front" in head or b"<!DOCTYPE article" in head


def parse(handle: BinaryIO, source: str) -> Iterator[SourceRecord]:
    """Read the one article in a JATS file.

    Args:
        handle: the file's bytes.
        source: the file name, used in locators and errors.

    Yields:
        One research :class:`SourceDocument`.

    Raises:
        ReaderError: an empty file, malformed XML (with the line), a root other than ``<article>``,
            no ``<front>``/``<article-meta>``, or neither PMID nor PMCID.
    """
    yield parse_article(_read_xml(handle, source), source)


def _read_xml(handle: BinaryIO, source: str) -> etree._Element:
    root = read_xml(handle, source)
    if root.tag != "article":
        raise ReaderError(source, f"not a JATS article: root element is <{etree.QName(root).localname}>")
    return root


def parse_article(root: etree._Element, source: str) -> SourceDocument:
    """Build the document from a parsed JATS ``<article>`` element."""
    front = root.find("front")
    meta = front.find("article-meta") if front is not None else None
    if meta is None:
        raise ReaderError(source, "JATS article without <front>/<article-meta>")
    ids = parse_ids(meta)
    pmid, pmcid = ids.get("pmid"), ids.get("pmcid")
    if pmid:
        doc_id = f"pmid:{pmid}"
    elif pmcid:
        doc_id = f"pmcid:{pmcid}"
    else:
        raise ReaderError(source, "article without PMID or PMCID")
    title = heading_text(meta.find("title-group/article-title"))
    builder = _Builder()
    builder.abstract(meta)
    abstract = tuple(builder.passages)
    builder.body(root)
    year, date = parse_date(meta)
    extra = parse_licence(meta)
    if pmcid:
        extra["pmcid"] = pmcid
    article_type = root.get("article-type") or None
    subjects = parse_subjects(meta)
    design_from = trial_design_source(article_type, subjects, title, abstract)
    if design_from:
        extra["design_from"] = design_from
    types = [t for t in (article_type, *subjects, ARTICLE_TYPE_NAMES.get(article_type or "")) if t]
    if design_from:
        types.append(RCT)
    return SourceDocument(
        doc_id=doc_id,
        kind=DocumentKind.RESEARCH,
        title=title,
        reader=READER_NAME,
        locator=f"{source}#{doc_id}",
        passages=tuple(builder.passages),
        version=VERSION,
        date=date,
        year=year,
        journal=heading_text(front.find("journal-meta//journal-title")) or None,
        url=PMC_URL.format(pmcid=pmcid) if pmcid else PUBMED_URL.format(pmid=pmid),
        doi=ids.get("doi"),
        pmid=pmid,
        language=root.get(XML_LANG) or None,
        authors=parse_authors(meta),
        publication_types=tuple(dict.fromkeys(types)),
        sections=tuple(builder.sections),
        extra=extra,
    )


def parse_ids(meta: etree._Element) -> dict[str, str]:
    """``pmid`` (digits), ``pmcid`` (``PMC`` and digits) and ``doi`` from the ``<article-id>`` elements."""
    ids: dict[str, str] = {}
    for element in meta.iterfind("article-id"):
        kind, value = element.get("pub-id-type"), _squash(element.text)
        if kind == "pmid" and _is_number(value):
            ids.setdefault("pmid", value)
        elif kind in ("pmc", "pmcid"):
            number = value.upper().removeprefix("PMC")
            if _is_number(number):
                ids.setdefault("pmcid", f"PMC{number}")
        elif kind == "doi" and value:
            ids.setdefault("doi", value)
    return ids


def parse_subjects(meta: etree._Element) -> list[str]:
    """The ``<article-categories>`` subjects, in order, each once."""
    subjects = (heading_text(subject) for subject in meta.iterfind("article-categories//subject"))
    return list(dict.fromkeys(subject for subject in subjects if subject))


def trial_design_source(
    article_type: str | None, subjects: Iterable[str], title: str, abstract: Iterable[Passage]
) -> str | None:
    """Where the file calls the article a randomised controlled trial ("subject", "title", "abstract"), if it does.

    Only primary research reports qualify, never a protocol or a review; the abstract's background
    is not read, since it describes other studies.
    """
    subjects = list(subjects)
    if article_type not in _PRIMARY_REPORTS:
        return None
    if _NOT_A_TRIAL_REPORT.search(title) or any(_NOT_A_TRIAL_REPORT.search(subject) for subject in subjects):
        return None
    if any(_RCT_SUBJECT.search(subject) for subject in subjects):
        return "subject"
    if _RCT_PHRASE.search(title):
        return "title"
    for passage in abstract:
        label = passage.section_path[-1] if len(passage.section_path) > 1 else ""
        if not _BACKGROUND.search(label) and _RCT_PHRASE.search(passage.text):
            return "abstract"
    return None


def parse_authors(meta: etree._Element) -> tuple[str, ...]:
    """Authors as ``"Surname Initials"`` (MEDLINE's form), or a group's name; editors and others are left out."""
    authors: list[str] = []
    for group in meta.iterfind("contrib-group"):
        for contrib in group.iterfind("contrib"):
            if contrib.get("contrib-type") not in (None, "author"):
                continue
            name = contrib.find("name")
            if name is None:
                name = contrib.find("name-alternatives/name")
            if name is not None:
                surname = heading_text(name.find("surname"))
                given = name.find("given-names")
                initials = (given.get("initials") if given is not None else None) or _initials(heading_text(given))
                if surname:
                    authors.append(f"{surname} {initials}" if initials else surname)
                    continue
            collab = contrib.find("collab")
            if collab is not None:
                # A group may list its members inside <collab>; its name is the text before them.
                group_name = text_of(collab, _HEADING_SKIP | {"contrib-group"})
                if group_name:
                    authors.append(group_name)
    return tuple(authors)


def parse_date(meta: etree._Element) -> tuple[int | None, dt.date | None]:
    """``(year, date)``: the year of the print or issue date (else the electronic one).

    The date is the first full one (print, then electronic), else the first day of the given
    month; a year alone gives no date: no day or month is made up.
    """
    dates: dict[str, tuple[int | None, int | None, int | None]] = {}
    for element in meta.iterfind("pub-date"):
        kind = element.get("pub-type") or element.get("date-type") or ""
        parts = {child.tag: child.text for child in element if isinstance(child.tag, str)}
        dates.setdefault(kind, (_int(parts.get("year")), _month(parts.get("month")), _int(parts.get("day"))))
    ordered = [dates[kind] for kind in _DATE_TYPES if kind in dates]
    year = next((y for y, _m, _d in ordered if y is not None), None)
    for y, m, d in ordered:
        if (full := calendar_date(y, m, d)) is not None:
            return year, full
    for y, m, _d in ordered:
        if y is not None and y == year and (first := calendar_date(y, m, 1)) is not None:
            return year, first
    return year, None


def parse_licence(meta: etree._Element) -> dict[str, str]:
    """The licence fields of ``extra`` (see the module docstring) and the copyright statement."""
    extra: dict[str, str] = {}
    permissions = meta.find("permissions")
    copyright_statement = heading_text(meta.find(".//copyright-statement"))
    if copyright_statement:
        extra["copyright"] = copyright_statement
    licence = permissions.find("license") if permissions is not None else None
    if licence is None:
        licence = meta.find(".//license")
    if licence is None:
        return extra
    text = text_of(licence, _NOT_TEXT)
    own = (licence.get(XLINK_HREF) or "").strip()
    links = [own] if own else []
    links += [(link.get(XLINK_HREF) or "").strip() for link in licence.iter("ext-link", "uri") if link.get(XLINK_HREF)]
    links += [match.group().rstrip(_URL_TRAILING) for match in _URL.finditer(text)]
    creative_commons = next((link for link in links if _CC_LICENCE.search(link)), None)
    name = creative_commons_name(creative_commons) if creative_commons else None
    if name is None and (named := _CC_NAMED.search(text)):
        name = " ".join(named.group().split())
    url = creative_commons or next((link for link in links if link.startswith(("http://", "https://"))), None)
    if name or text:
        extra["licence"] = name or text
    if url:
        extra["licence_url"] = url
    if text:
        extra["licence_text"] = text
    if licence_type := _squash(licence.get("license-type")):
        extra["licence_type"] = licence_type
    return extra


def creative_commons_name(url: str) -> str | None:
    """The short name of a Creative Commons licence from its address (``…/licenses/by-nc/3.0/`` → "CC BY-NC 3.0")."""
    match = _CC_LICENCE.search(url)
    if match is None:
        return None
    if match.group("domain"):
        if match.group("domain").lower() == "zero":
            return f"CC0 {match.group('domain_version')}"
        return f"Public Domain Mark {match.group('domain_version')}"
    parts = ["CC", match.group("code").upper()]
    if match.group("version"):
        parts.append(match.group("version"))
        if match.group("port"):
            parts.append(match.group("port").upper())
    return " ".join(parts)


@dataclass
class _Builder:
    """Collects passages in reading order (abstract, body, floating tables) and the section tree."""

    passages: list[Passage] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    # id of a floating table → the section path where the text first cites it
    cited_in: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def abstract(self, meta: etree._Element) -> None:
        """Add the main abstract's passages, and an Abstract section listing its labels."""
        abstracts = meta.findall("abstract")
        main = [a for a in abstracts if a.get("abstract-type") in (None, "normal", "main")] or abstracts[:1]
        labels: list[str] = []
        for abstract in main:
            labels += [section.title for section in self.container(abstract, (ABSTRACT,), None, "abstract")]
        if main:
            children = tuple(Section(label) for label in dict.fromkeys(labels))
            self.sections.append(Section(ABSTRACT, children=children))

    def body(self, root: etree._Element) -> None:
        """Add the body's passages and sections, then the tables kept apart in ``<floats-group>``."""
        body = root.find("body")
        if body is not None:
            self.sections.extend(self.container(body, (), None, "paragraph"))
        for part in root:
            if part.tag in _FLOATS:
                for table in part.iter("table-wrap"):
                    self.table(table, self.cited_in.get(table.get("id") or "", ()), None)

    def container(
        self, element: etree._Element, path: tuple[str, ...], number: str | None, block: str
    ) -> list[Section]:
        """Passages of a section-like element's blocks, in order; returns its subsections."""
        sections: list[Section] = []
        for child in element:
            tag = child.tag
            if tag == "sec":
                sections.extend(self.section(child, path, block))
            elif tag == "p":
                self.paragraph(child, path, number, block)
            else:
                sections.extend(self.block(child, path, number, block))
        return sections

    def section(self, sec: etree._Element, path: tuple[str, ...], block: str) -> list[Section]:
        title = heading_text(sec.find("title")).rstrip(":. ").strip()
        number = heading_text(sec.find("label")) or None
        children = self.container(sec, (*path, title) if title else path, number, block)
        # An untitled section is no heading of its own: its subsections belong to the parent.
        return [Section(title, number=number, children=tuple(children))] if title else children

    def block(self, element: etree._Element, path: tuple[str, ...], number: str | None, block: str) -> list[Section]:
        tag = element.tag
        if tag == "table-wrap":
            self.table(element, path, number)
        elif tag == "table-wrap-group":
            for table in element.iter("table-wrap"):
                self.table(table, path, number)
        elif tag == "list":
            self.list(element, path, number, 0, None)
        elif tag in ("disp-quote", "boxed-text"):
            title = heading_text(element.find("caption/title")) or heading_text(element.find("title"))
            return self.container(element, (*path, title) if title else path, number, block)
        # Figures, supplementary material, definition lists and the rest are not passages.
        return []

    def paragraph(self, p: etree._Element, path: tuple[str, ...], number: str | None, block: str) -> None:
        text = text_of(p, _PARAGRAPH_SKIP)
        if text:
            self.passages.append(Passage(text=text, section_path=path, section_number=number, block=block))
        for xref in p.iter("xref"):
            if xref.get("ref-type") == "table":
                for rid in (xref.get("rid") or "").split():
                    self.cited_in.setdefault(rid, path)
        for nested in _nested_blocks(p):
            self.block(nested, path, number, block)

    def list(
        self, element: etree._Element, path: tuple[str, ...], number: str | None, depth: int, block_id: int | None
    ) -> None:
        ordered = element.get("list-type") == "order"
        for position, item in enumerate(element.iterfind("list-item"), start=1):
            text = text_of(item, _PARAGRAPH_SKIP | {"label"})
            if text:
                block_id = len(self.passages) if block_id is None else block_id
                self.passages.append(
                    Passage(
                        text=text,
                        section_path=path,
                        section_number=number,
                        block="list_item",
                        block_id=block_id,
                        item_number=_item_number(heading_text(item.find("label"))) or (position if ordered else None),
                        depth=depth,
                    )
                )
            for nested in _nested_blocks(item):
                if nested.tag == "list":
                    self.list(nested, path, number, depth + 1, block_id)
                else:
                    self.block(nested, path, number, "paragraph")

    def table(self, wrap: etree._Element, path: tuple[str, ...], number: str | None) -> None:
        lines = []
        caption = " ".join(
            part for part in (heading_text(wrap.find("label")), text_of(wrap.find("caption"), _HEADING_SKIP)) if part
        )
        rows = []
        for row in wrap.iter("tr"):
            cells = [text_of(cell, _NOT_TEXT) for cell in row if cell.tag in ("td", "th")]
            if any(cells):
                rows.append(" | ".join(cell for cell in cells if cell))
        if not rows:
            return  # a table given only as a picture: its caption alone is no finding
        if caption:
            lines.append(caption)
        lines += rows
        for foot in wrap.iterfind("table-wrap-foot"):
            lines += [note for note in (text_of(child, _NOT_TEXT) for child in foot) if note]
        self.passages.append(Passage(text="\n".join(lines), section_path=path, section_number=number, block="table"))


def _nested_blocks(element: etree._Element) -> Iterator[etree._Element]:
    """The block elements inside a paragraph or list item (not those inside another block or a figure)."""
    for child in element:
        if not isinstance(child.tag, str) or child.tag in _NOT_TEXT:
            continue
        if child.tag in _BLOCKS:
            yield child
        elif child.tag != "p" or element.tag == "list-item":
            yield from _nested_blocks(child)


def text_of(element: etree._Element | None, skip: frozenset[str]) -> str:
    """The words of an element and its inline markup, without the subtrees named in ``skip``, whitespace collapsed."""
    if element is None:
        return ""
    parts: list[str] = []
    _collect(element, parts, skip)
    return " ".join("".join(parts).split())


def heading_text(element: etree._Element | None) -> str:
    """The words of a title, label or name (footnote marks and pictures left out)."""
    return text_of(element, _HEADING_SKIP)


def _collect(element: etree._Element, parts: list[str], skip: frozenset[str]) -> None:
    if element.text:
        parts.append(element.text)
    for child in element:
        tag = child.tag
        # Unresolved entity references (the DTD is never read) have no words of their own.
        if isinstance(tag, str) and tag not in skip:
            if tag in _LINKS and not child.text and len(child) == 0:
                parts.append(child.get(XLINK_HREF) or "")
            elif tag in _SPACED:
                parts.append(" ")
                _collect(child, parts, skip)
                parts.append(" ")
            else:
                _collect(child, parts, skip)
        if child.tail:
            parts.append(child.tail)


def _initials(given: str) -> str:
    """MEDLINE-style initials of given names: "Chen-Tan" → "CT", "J. Robert" → "JR"."""
    return "".join(word[0].upper() for word in re.split(r"[\s.\-]+", given) if word and word[0].isalpha())


def _item_number(label: str) -> int | None:
    digits = label.strip("()[]. ")
    return int(digits) if _is_number(digits) else None


def _is_number(text: str) -> bool:
    return text.isdigit() and text.isascii()


def _squash(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def _int(text: str | None) -> int | None:
    text = _squash(text)
    return int(text) if _is_number(text) else None


def _month(text: str | None) -> int | None:
    """A month given as a number ("02") or an English name ("Feb", "February")."""
    text = _squash(text)
    if not text:
        return None
    if _is_number(text):
        return int(text) if 1 <= int(text) <= 12 else None
    return _MONTHS.get(text[:3].lower())
