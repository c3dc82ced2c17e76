"""Reader for HL7 Structured Product Labeling (SPL) XML: the FDA drug labels DailyMed publishes.

One SPL file is one version of one label. The reader keeps the label's own structure: every
section with its LOINC code, its number and title as the label prints them ("1.2 Juvenile
Idiopathic Arthritis"), nested subsections, the Boxed Warning, and the Highlights that SPL
stores as ``<excerpt><highlight>`` inside each section. Passages are paragraphs, list items
(with their lead-in), and tables flattened to ``cell | cell`` rows.

Example, on a real label from the demo corpus::

    with open("labels/spl/humira.xml", "rb") as handle:
        (label,) = parse(handle, "humira.xml")
    label.doc_id              # 'spl:608d4f0d-b19f-46d3-749a-7159aa5f933d'
    label.sections[2].title   # 'INDICATIONS AND USAGE'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from vademecum.errors import ReaderError
from vademecum.records import Passage, Section, SourceDocument, SourceRecord
from vademecum.sources.label_sections import (
    CODE_NAMES,
    NON_TEXT_CODES,
    UNCLASSIFIED_CODE,
    collect_inline,
    dedupe,
    display_title,
    flatten_table,
    inline_text,
    join_lead_in,
    label_document,
    local_name,
    normalise_space,
    parse_section_heading,
    split_last_sentence,
    title_from_code_name,
)
from vademecum.sources.xml_document import read_xml

READER_NAME: str = "spl"
READER_VERSION: str = "1"

HIGHLIGHTS = "Highlights"

_NS = "urn:hl7-org:v3"
_N = {"v": _NS}
_BLOCK_TAGS = frozenset({"paragraph", "list", "table"})
_EMPHASIS = frozenset({"bold", "underline", "italics"})
_INLINE_IN_HEADING = frozenset({"content", "sup", "sub"})
_MAX_SUBHEADING = 80


def sniff(name: str, head: bytes) -> bool:
    """True for an XML file whose root is an HL7 v3 ``<document>`` (SPL); MEDLINE and others lack both."""
    return b"<document" in head and _NS.encode() in head


def parse(handle: BinaryIO, source: str) -> Iterator[SourceRecord]:
    """Read the one label in an SPL XML file.

    ``handle`` is an open binary file (already decompressed); ``source`` names it in errors
    and locators. Yields exactly one :class:`SourceDocument` of kind ``DRUG_LABEL`` with
    ``doc_id`` ``spl:<set id>``. Raises :class:`ReaderError` for an empty file, malformed XML
    (with the line number), a document that is not SPL, or a label without a set id or sections.
    """
    root = _read_xml(handle, source)
    yield parse_document(root, source)


def _read_xml(handle: BinaryIO, source: str) -> etree._Element:
    root = read_xml(handle, source)
    if root.tag != f"{{{_NS}}}document":
        raise ReaderError(source, f"not an SPL document: root element is <{etree.QName(root).localname}>")
    return root


def parse_document(root: etree._Element, source: str) -> SourceDocument:
    """Build the label record from a parsed SPL ``<document>`` element."""
    set_id = _attr(root, "v:setId", "root")
    if not set_id:
        raise ReaderError(source, "SPL document without a setId")
    version = _attr(root, "v:versionNumber", "value")
    record = f"{set_id} version {version}" if version else set_id
    date = parse_date(_attr(root, "v:effectiveTime", "value"), source, record)
    brands, generics = parse_product_names(root)
    manufacturer = parse_manufacturer(root)
    title_element = root.find("v:title", _N)
    raw_title = inline_text(title_element)[0] if title_element is not None else ""
    title, initial_approval = display_title(raw_title, brands, generics, set_id)
    builder = _LabelBuilder()
    body = root.find("v:component/v:structuredBody", _N)
    if body is not None:
        for section in body.iterfind("v:component/v:section", _N):
            builder.sections.extend(builder.section(section, (), None, None))
    if not builder.highlights and not builder.body:
        raise ReaderError(source, "label without sections", record=record)
    sections = tuple(builder.sections)
    if builder.highlight_sections:
        sections = (Section(HIGHLIGHTS, children=tuple(builder.highlight_sections)), *sections)
    extra: dict[str, str] = {}
    if spl_id := _attr(root, "v:id", "root"):
        extra["spl_id"] = spl_id
    if document_type := _attr(root, "v:code", "displayName"):
        extra["document_type"] = document_type
    if raw_title and raw_title != title:
        extra["spl_title"] = raw_title
    if initial_approval:
        extra["initial_us_approval"] = initial_approval
    return label_document(
        set_id=set_id,
        title=title,
        reader=READER_NAME,
        locator=f"{source}#{record}",
        passages=(*builder.highlights, *builder.body),
        sections=sections,
        version=version,
        date=date,
        brands=brands,
        generics=generics,
        manufacturer=manufacturer,
        extra=extra,
    )


def parse_date(value: str | None, source: str, record: str) -> dt.date | None:
    """An SPL ``effectiveTime`` (``YYYYMMDD``, optionally followed by a time) as a date."""
    if not value:
        return None
    try:
        return dt.datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError as exc:
        raise ReaderError(source, f"bad effectiveTime {value!r}", record=record) from exc


def parse_product_names(root: etree._Element) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Brand and generic names of the label's products, deduplicated, in document order.

    Only the products themselves count, not the parts of a kit (Humira's alcohol swab is
    not a generic name of Humira). Older SPL calls the product ``manufacturedMedicine``.
    """
    brands: list[str] = []
    generics: list[str] = []
    for product in root.xpath(
        "//v:subject/v:manufacturedProduct/v:manufacturedProduct|//v:subject/v:manufacturedProduct/v:manufacturedMedicine",
        namespaces=_N,
    ):
        # " ".join keeps a brand's <suffix> ("TRIAMINIC" + "Childrens Night Time ...") apart.
        brands.extend(" ".join(name.itertext()) for name in product.iterfind("v:name", _N))
        generics.extend(
            " ".join(name.itertext()) for name in product.iterfind("v:asEntityWithGeneric/v:genericMedicine/v:name", _N)
        )
    return dedupe(brands), dedupe(generics)


def parse_manufacturer(root: etree._Element) -> str | None:
    """The labeler: the organisation named as the document's author."""
    name = root.find("v:author/v:assignedEntity/v:representedOrganization/v:name", _N)
    if name is None:
        return None
    return normalise_space(" ".join(name.itertext())) or None


def _attr(element: etree._Element, path: str, attribute: str) -> str | None:
    found = element.find(path, _N)
    value = found.get(attribute) if found is not None else None
    return value.strip() if value and value.strip() else None


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a passage sits: its heading chain, the label's number and the innermost LOINC code."""

    path: tuple[str, ...]
    number: str | None
    code: str | None


@dataclass
class _LabelBuilder:
    """Collects passages and the section tree while walking a label's sections."""

    highlights: list[Passage] = field(default_factory=list)
    body: list[Passage] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    highlight_sections: list[Section] = field(default_factory=list)

    def section(
        self, element: etree._Element, path: tuple[str, ...], number: str | None, code: str | None
    ) -> tuple[Section, ...]:
        """Walk one ``<section>``; return its tree node, or its children when it has no heading."""
        code_element = element.find("v:code", _N)
        own_code = code_element.get("code") if code_element is not None else None
        if own_code in NON_TEXT_CODES:
            return ()
        # "Unclassified" is the code SPL gives to subsections; it carries no meaning, so a
        # passage in "1.1 Rheumatoid Arthritis" keeps the code of "1 INDICATIONS AND USAGE".
        meaningful_code = own_code if own_code and own_code != UNCLASSIFIED_CODE else None
        title_element = element.find("v:title", _N)
        label_title = inline_text(title_element)[0] if title_element is not None else ""
        own_number, title = parse_section_heading(label_title) if label_title else (None, "")
        if not title and meaningful_code:
            display = code_element.get("displayName") if code_element is not None else None
            title = title_from_code_name(display or CODE_NAMES.get(meaningful_code, ""))
        where = _Where(
            path=(*path, title) if title else path,
            number=own_number or number,
            code=meaningful_code or code,
        )

        highlight = element.find("v:excerpt/v:highlight/v:text", _N)
        if highlight is not None:
            before = len(self.highlights)
            heading = title or (path[-1] if path else HIGHLIGHTS)
            highlight_where = _Where((HIGHLIGHTS, heading), where.number, where.code)
            _emit_blocks(_blocks(highlight), highlight_where, self.highlights, block="highlight")
            if len(self.highlights) > before:
                self.highlight_sections.append(Section(heading, own_number, meaningful_code))

        before = len(self.body)
        text = element.find("v:text", _N)
        if text is not None:
            _emit_blocks(_blocks(text), where, self.body, block=None)
        children: list[Section] = []
        for child in element.iterfind("v:component/v:section", _N):
            children.extend(self.section(child, where.path, where.number, where.code))
        if len(self.body) == before and not children and own_number and highlight is None:
            # Some labels put the whole statement in a numbered heading (Lipitor "4.1 Active liver
            # disease, which may include ..."): the heading is then the only text there is.
            # Unnumbered empty headings ("Oral Administration") just introduce their siblings.
            self.body.append(Passage(title, where.path, where.number, where.code, block="heading"))
        if not title:
            return tuple(children)
        if len(self.body) == before and not children:
            # Highlight-only sections (Recent Major Changes) live under the Highlights node.
            return ()
        return (Section(title, own_number, meaningful_code, tuple(children)),)


@dataclass(frozen=True, slots=True)
class _Block:
    """A paragraph or subheading (``text``), or a list or table still to be read (``element``)."""

    kind: str
    text: str = ""
    element: etree._Element | None = None


def _blocks(container: etree._Element) -> list[_Block]:
    """Split a ``<text>``, ``<paragraph>`` or ``<item>`` into paragraphs (text), lists and tables (elements)."""
    blocks: list[_Block] = []
    parts: list[str] = [container.text or ""]
    notes: list[str] = []

    def flush() -> None:
        text = " ".join(part for part in (normalise_space("".join(parts)), *dedupe(notes)) if part)
        if text:
            blocks.append(_Block("paragraph", text))
        parts.clear()
        notes.clear()

    for child in container:
        tag = local_name(child) if isinstance(child.tag, str) else ""
        if tag in _BLOCK_TAGS:
            flush()
            heading = _subheading(child) if tag == "paragraph" else None
            if heading:
                blocks.append(_Block("subheading", heading))
            elif tag == "paragraph":
                blocks.extend(_blocks(child))
            else:
                blocks.append(_Block(tag, element=child))
            parts.append(child.tail or "")
        else:
            collect_inline(child, parts, notes)
    flush()
    return blocks


def _subheading(paragraph: etree._Element) -> str | None:
    """The text of a paragraph that is only a short emphasised phrase, which labels use as a subheading.

    Humira's "5.1 Serious Infections" runs on under bold "Tuberculosis", "Monitoring" and
    "Invasive Fungal Infections"; those belong in the passages' section path, not in a passage.
    """
    styled = [child for child in paragraph if isinstance(child.tag, str)]
    if len(styled) != 1 or local_name(styled[0]) != "content" or (paragraph.text or "").strip():
        return None
    if not _EMPHASIS & set(styled[0].get("styleCode", "").lower().split()) or (styled[0].tail or "").strip():
        return None
    if any(isinstance(node.tag, str) and local_name(node) not in _INLINE_IN_HEADING for node in styled[0].iter()):
        return None
    text = inline_text(styled[0])[0]
    if not text or len(text) > _MAX_SUBHEADING or text[-1] in ".:;,!?" or text.startswith(("Figure", "Table")):
        return None
    return text


def _emit_blocks(
    blocks: list[_Block], where: _Where, out: list[Passage], *, block: str | None, lead: str | None = None
) -> None:
    """Turn blocks into passages; ``block=None`` gives each its own kind, else all get ``block`` (highlights).

    A paragraph ending in ":" right before a list is the list's lead-in: its last sentence is
    prepended to every item and the paragraph itself is kept only for what precedes that sentence.
    ``lead`` is the lead-in for a list that opens the blocks (a nested list inside an item).
    """
    base = where
    for index, current in enumerate(blocks):
        following = blocks[index + 1].kind if index + 1 < len(blocks) else None
        if current.kind == "subheading" and following:
            where = _Where((*base.path, current.text), base.number, base.code)
            lead = None
        elif current.element is None:  # a paragraph, or a subheading with nothing under it
            text = current.text
            lead = None
            if following == "list" and text.endswith(":"):
                text, lead = split_last_sentence(text)
            if text:
                out.append(Passage(text, where.path, where.number, where.code, block or "paragraph"))
        elif current.kind == "table":
            text = flatten_table(current.element)
            if text:
                out.append(Passage(text, where.path, where.number, where.code, block or "table"))
            lead = None
        else:
            _emit_list(current.element, where, out, block, lead)
            lead = None


def _emit_list(element: etree._Element, where: _Where, out: list[Passage], block: str | None, lead: str | None) -> None:
    caption = element.find("v:caption", _N)
    if lead is None and caption is not None:
        lead = inline_text(caption)[0] or None
    for item in element.iterfind("v:item", _N):
        blocks = _blocks(item)
        texts = []
        while blocks and blocks[0].kind == "paragraph":
            texts.append(blocks.pop(0).text)
        item_text = " ".join(texts)
        text = join_lead_in(lead, item_text) if item_text else lead
        if item_text:
            out.append(Passage(text, where.path, where.number, where.code, block or "list_item"))
        # A list nested in an item elaborates that item, so the whole item is its lead-in.
        _emit_blocks(blocks, where, out, block=block, lead=text)
