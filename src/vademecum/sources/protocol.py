"""Reader for an institution's own guidelines and protocols: Markdown, plain text or HTML with a small header.

The header says who issued the document and when. Markdown and plain text start with a YAML block::

    ---
    title: Management of febrile neutropenia      # required
    issuer: Example University Hospital            # required: the institution
    date: 2024-03-01                               # required: YYYY-MM-DD, the date of this version
    url: https://intranet.example.org/fn           # optional: where readers can open it
    id: fn-adult                                   # optional: a stable id (else the title is used)
    version: "3.2"                                 # optional (else the date stands for the version)
    audience: health professional                  # optional: "health professional" or "patient"
    ---

HTML gives the same fields as ``<title>`` and ``<meta name="issuer|date|url|id|version|audience"
content="…">`` in its ``<head>``. A missing or malformed required field is a ReaderError naming it.

The body is read as Markdown (plain text is Markdown without markup: paragraphs separated by blank
lines, ``#`` or underlined headings, ``-``/``1.`` lists) or as HTML (``h1``–``h6``, ``p``, ``ul``/``ol``,
``table``). Passages are paragraphs, list items with their lead-in and their place in their list, and
tables; ``section_path`` follows the headings, leaving out a first heading that repeats the title.
Figure and table captions, abbreviation lists, credit lines and reference strings are no passages (a
table's caption is the first line of its table). The document is a GUIDELINE with
``doc_id`` ``local:<issuer-slug>/<id-or-title-slug>``.

``sniff`` accepts a file only when its header has an ``issuer`` field, so NCI pages (whose YAML has
``source: NCI`` and no issuer) and every other corpus format go to their own readers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import lxml.etree
import lxml.html

from vademecum.errors import ReaderError
from vademecum.records import Audience, DocumentKind, Passage, SourceDocument, SourceRecord
from vademecum.sources.markdown import (
    Block,
    Context,
    SectionTracker,
    clean_inline,
    decode_text,
    is_page_furniture,
    is_table_furniture,
    parse_blocks,
    split_front_matter,
    strip_images,
    table_text,
    with_context,
)

READER_NAME = "protocol"
# 2: list items keep their list (block id, number, depth, lead-in length); figure and table captions,
# abbreviation lists, credit lines and reference strings are no longer passages.
READER_VERSION = "2"
REQUIRED = ("title", "issuer", "date")
OPTIONAL = ("url", "id", "version", "audience", "language")

_SNIFF_FRONT = re.compile(rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n(.*?)^---[ \t]*\r?$", re.DOTALL | re.MULTILINE)
_SNIFF_ISSUER = re.compile(rb"^issuer:[ \t]*\S", re.MULTILINE)
_SNIFF_META = re.compile(rb"<meta\b[^>]*\bname\s*=\s*[\"']?issuer\b", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_HTML_START = re.compile(r"\A\s*(?:<\?xml[^>]*\?>\s*)?<(?:!doctype\s+html|html|head)\b", re.IGNORECASE)
_AUDIENCES = {
    "health professional": Audience.HEALTH_PROFESSIONAL,
    "health-professional": Audience.HEALTH_PROFESSIONAL,
    "health_professional": Audience.HEALTH_PROFESSIONAL,
    "hp": Audience.HEALTH_PROFESSIONAL,
    "professional": Audience.HEALTH_PROFESSIONAL,
    "clinician": Audience.HEALTH_PROFESSIONAL,
    "patient": Audience.PATIENT,
}
_SLUG = re.compile(r"[^a-z0-9]+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")
_BLOCK_TAGS = {"p", "ul", "ol", "table", "pre", "blockquote", "div", "section", "article", "main", "dl", "figure"}
_SKIP_TAGS = {"script", "style", "nav", "noscript", "template"}
_CONTAINERS = {"div", "section", "article", "main", "header", "footer", "aside", "body", "blockquote", "figure"}


def sniff(name: str, head: bytes) -> bool:
    """True for Markdown/text whose YAML header has an ``issuer`` field, or HTML with a ``meta`` issuer."""
    front = _SNIFF_FRONT.match(head)
    if front is not None:
        return _SNIFF_ISSUER.search(front.group(1)) is not None
    return _SNIFF_META.search(head) is not None


def parse(handle: BinaryIO, source: str) -> Iterator[SourceRecord]:
    """Yield the protocol in ``handle`` as one SourceDocument (HTML by name or content, else Markdown/text)."""
    text = decode_text(handle.read(), source)
    if source.lower().endswith((".html", ".htm")) or _HTML_START.match(text):
        meta, blocks = read_html(text, source)
    else:
        meta, body, first_line = split_front_matter(text, source)
        if not meta:
            raise ReaderError(source, "no metadata header (a '---' block with title, issuer and date)")
        blocks = parse_blocks(body, first_line)
    yield build_document(meta, blocks, source)


def build_document(meta: dict[str, Any], blocks: list[Block], source: str) -> SourceDocument:
    """Check the header fields and turn the body's blocks into the document."""
    for name in REQUIRED:
        value = meta.get(name)
        if value is None or not str(value).strip():
            raise ReaderError(source, f"missing required header field '{name}'")
    for name in (*REQUIRED, *OPTIONAL):
        if isinstance(meta.get(name), (list, dict)):
            raise ReaderError(source, f"header field '{name}' must be a single value, not a list or mapping")
    title = clean_inline(str(meta["title"]))
    issuer = clean_inline(str(meta["issuer"]))
    date = _date(meta["date"], source)
    audience = _audience(meta.get("audience"), source)
    tracker = SectionTracker()
    passages: list[Passage] = []
    seen_heading = False
    list_id: int | None = None  # the ordinal of the current list's first item passage
    for block, context in with_context(blocks):
        if block.kind == "heading":
            heading = clean_inline(block.text)
            repeats_title = not seen_heading and not passages and heading.casefold() == title.casefold()
            seen_heading = True
            if not repeats_title:
                tracker.enter(block.level, heading)
            continue
        if context.list_start:
            list_id = None
        passage = _passage(block, context, tracker.path)
        if passage is None:
            continue
        if passage.block == "list_item":
            list_id = len(passages) if list_id is None else list_id
            passage = dataclasses.replace(passage, block_id=list_id)
        passages.append(passage)
    if not passages:
        raise ReaderError(source, "no text after the header")
    key = str(meta["id"]).strip() if meta.get("id") else title
    return SourceDocument(
        doc_id=f"local:{slugify(issuer)}/{slugify(key)}",
        kind=DocumentKind.GUIDELINE,
        title=title,
        reader=READER_NAME,
        locator=source,
        passages=tuple(passages),
        version=str(meta["version"]).strip() if meta.get("version") else date.isoformat(),
        date=date,
        year=date.year,
        issuer=issuer,
        url=str(meta["url"]).strip() if meta.get("url") else None,
        language=str(meta["language"]).strip() if meta.get("language") else None,
        audience=audience,
        sections=tracker.tree(),
    )


def _passage(block: Block, context: Context, path: tuple[str, ...]) -> Passage | None:
    """One body block as a passage (without its list's id), or None for page furniture and empty blocks."""
    if block.kind == "table":
        rows = []
        for row in block.table_rows:
            cells = [clean_inline(cell) for cell in row.cells]
            filled = [cell for cell in cells if cell]
            if not (len(filled) == 1 and is_table_furniture(filled[0], note=row.note)):
                rows.append(cells)
        text = table_text(rows)
        caption = clean_inline(context.lead) if context.lead else ""
        if caption and text:
            text = f"{caption}\n{text}"
        return Passage(text=text, section_path=path, block="table") if text else None
    text = clean_inline(strip_images(block.text))
    if not text or is_page_furniture(text):
        return None
    if block.kind != "item":
        return Passage(text=text, section_path=path, block="paragraph")
    # The lead-in is cleaned on its own, so lead_end says exactly where the item's own text starts.
    lead = clean_inline(context.lead) if context.lead else ""
    return Passage(
        text=f"{lead} {text}" if lead else text,
        section_path=path,
        block="list_item",
        item_number=block.number if block.ordered else None,
        depth=context.depth,
        lead_end=len(lead) + 1 if lead else 0,
    )


def slugify(text: str) -> str:
    """Lowercase ASCII words joined by hyphens, for ids: ``slugify("St. Mary's Hospital") == "st-mary-s-hospital"``."""
    return _SLUG.sub("-", text.casefold()).strip("-") or "untitled"


def _date(value: object, source: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ReaderError(source, f"header field 'date' must be a date YYYY-MM-DD, not {value!r}") from exc


def _audience(value: object, source: str) -> Audience | None:
    if value is None or not str(value).strip():
        return None
    audience = _AUDIENCES.get(str(value).strip().casefold())
    if audience is None:
        raise ReaderError(source, f"header field 'audience' must be 'health professional' or 'patient', not {value!r}")
    return audience


def read_html(text: str, source: str) -> tuple[dict[str, Any], list[Block]]:
    """The header fields (``<title>``, ``<meta name=…>``) and the body blocks of an HTML protocol."""
    # lxml refuses str input that declares an encoding; the text is already decoded from UTF-8.
    text = _XML_DECLARATION.sub("", text, count=1)
    try:
        root = lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ReaderError(source, f"not readable HTML: {exc}") from exc
    meta: dict[str, Any] = {}
    title = root.find(".//title")
    if title is not None and title.text_content().strip():
        meta["title"] = _normalise(title.text_content())
    for element in root.iter("meta"):
        name = (element.get("name") or "").strip().casefold()
        if name in (*REQUIRED, *OPTIONAL) and element.get("content") is not None:
            meta.setdefault(name, element.get("content"))
    if not meta.get("language") and root.get("lang"):
        meta["language"] = root.get("lang")
    body = root.find("body")
    blocks: list[Block] = []
    if body is not None:
        _html_blocks(body, blocks)
    return meta, blocks


def _html_blocks(element: lxml.html.HtmlElement, blocks: list[Block]) -> None:
    """Append the blocks of ``element``'s children (HTML text is escaped, so it reads back as plain text)."""
    loose: list[str] = [element.text or ""]
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag in _SKIP_TAGS or not tag:
            loose.append(child.tail or "")
            continue
        if re.fullmatch(r"h[1-6]", tag):
            _flush(loose, blocks)
            blocks.append(Block("heading", (_escape(child.text_content()),), child.sourceline or 0, int(tag[1])))
        elif tag in ("ul", "ol"):
            _flush(loose, blocks)
            _list_blocks(child, blocks, 0)
        elif tag == "table":
            _flush(loose, blocks)
            rows = [
                "| " + " | ".join(_escape(cell.text_content()) for cell in row.iterchildren("td", "th")) + " |"
                for row in child.iter("tr")
            ]
            if rows:
                blocks.append(Block("table", tuple(rows), child.sourceline or 0))
        elif tag in _CONTAINERS and any(isinstance(c.tag, str) and c.tag in _BLOCK_TAGS for c in child):
            _flush(loose, blocks)
            _html_blocks(child, blocks)
        elif tag in _BLOCK_TAGS or tag in ("dt", "dd", "li", "caption", "figcaption"):
            _flush(loose, blocks)
            blocks.append(Block("paragraph", (_escape(child.text_content()),), child.sourceline or 0))
        else:  # inline markup (b, a, span...) between blocks: part of a loose paragraph
            loose.append(child.text_content())
        loose.append(child.tail or "")
    _flush(loose, blocks)


def _list_blocks(element: lxml.html.HtmlElement, blocks: list[Block], depth: int) -> None:
    """One item block per ``li``, its nested lists one level deeper (the indent Markdown would give them).

    Items of an ``ol`` are numbered as a browser shows them: from its ``start``, or an item's ``value``.
    """
    ordered = element.tag == "ol"
    number = _integer(element.get("start"), 1)
    for item in element.iterchildren("li"):
        number = _integer(item.get("value"), number)
        text = (_escape(_own_text(item)),)
        blocks.append(Block("item", text, item.sourceline or 0, depth, ordered, number if ordered else 0))
        number += 1
        for sublist in item.iterchildren("ul", "ol"):
            _list_blocks(sublist, blocks, depth + 1)


def _integer(value: str | None, default: int) -> int:
    """An HTML attribute read as an integer, or ``default`` when it is missing or not a number."""
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _flush(loose: list[str], blocks: list[Block]) -> None:
    text = _normalise("".join(loose))
    if text:
        blocks.append(Block("paragraph", (_escape(text),), 0))
    loose.clear()


def _own_text(item: lxml.html.HtmlElement) -> str:
    """A list item's text without the lists nested in it."""
    parts = [item.text or ""]
    for child in item:
        if isinstance(child.tag, str) and child.tag in ("ul", "ol"):
            parts.append(child.tail or "")
        else:
            parts.append(child.text_content() + (child.tail or "") if isinstance(child.tag, str) else child.tail or "")
    return "".join(parts)


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _escape(text: str) -> str:
    """Escape Markdown syntax in HTML text, so :func:`clean_inline` gives the text back unchanged."""
    text = _normalise(text).replace("&", "&amp;").replace("<", "&lt;")
    return _MD_SPECIAL.sub(r"\\\1", text)
