"""Reader for NCI's cancer drug information pages (cancer.gov/about-cancer/treatment/drugs/…), as Markdown.

Three kinds of page share one template: a drug ("Abemaciclib": a definition, "US Brand Name(s)",
"FDA Approved", a DailyMed link, then "Use in Cancer"), a drug combination ("ABVD": a table of the
drugs it contains, then "Use in Cancer") and lists of the drugs approved for a cancer or a condition.
Each page is one :class:`~vademecum.records.SourceDocument` of kind DRUG_INFORMATION; its passages are
the page's paragraphs, list items (with their lead-in, so "ABVD is used to treat: Hodgkin lymphoma.")
and tables. The brand names become ``brand_names``, the drug (or the combination's drugs)
``generic_names``; "FDA Approved" and the DailyMed link go to ``extra``.

Left out of the passages: the labelled fields above, the CMS's "Placeholder slot", the pronunciation
line ("(uh-BEH-muh-SY-klib)": a parenthesised run of hyphenated syllables with capitalised stress),
photo credits, in-page navigation, and the template's link sections ("More About …", "Research Results
and Related Resources", "Clinical Trials Accepting Patients").

Example, on a real file of the demo corpus::

    path = corpus / "drug-info/nci/about-cancer-treatment-drugs-abemaciclib.md"
    with path.open("rb") as handle:
        (doc,) = parse(handle, path.name)
    doc.doc_id, doc.brand_names  # ('nci-drug:abemaciclib', ('Verzenio',))
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from vademecum.errors import ReaderError
from vademecum.records import DocumentKind, Passage, SourceDocument, SourceRecord
from vademecum.sources.markdown import (
    Block,
    SectionTracker,
    clean_inline,
    decode_text,
    parse_blocks,
    split_front_matter,
    strip_images,
    table_text,
    with_lead_ins,
)

READER_NAME = "nci_drug"
READER_VERSION = "1"
ISSUER = "National Cancer Institute"
PAGE_PREFIX = "https://www.cancer.gov/about-cancer/treatment/drugs/"

_SNIFF_URL = re.compile(rb"^url:[ \t]*['\"]?https?://www\.cancer\.gov/about-cancer/treatment/drugs/", re.MULTILINE)
_BRANDS = "US Brand Name(s)"
_FDA_APPROVED = "FDA Approved"
_LABELS = (_BRANDS, _FDA_APPROVED)
_PLACEHOLDER = "Placeholder slot"  # an empty slot of the site's page template
_PRONUNCIATION = re.compile(r"\((?:[A-Za-z'-]+|…|\.{3}|\s)+\)")
_STRESSED_SYLLABLE = re.compile(r"(?:^|[-\s(])[A-Z]+(?=[-\s)])")
_TEMPLATE_SECTIONS = re.compile(
    r"^(?:More About\b|Research Results and Related Resources$|Clinical Trials Accepting Patients$)"
)
_DAILYMED = re.compile(r"^\[[^\]]*DailyMed[^\]]*\]\((https?://dailymed\.nlm\.nih\.gov/[^)\s]+)\)$")
_SETID = re.compile(r"[?&]setid=([0-9a-fA-F-]{36})")
_ANCHOR_LINK = re.compile(r"\[[^\]]*\]\(#[^)]*\)")
_CREDIT = re.compile(r"^Credit: ")
_COMBINATION = re.compile(r"^Drugs in the .+ combination:$")
_LINK_TEXT = re.compile(r"\[([^\[\]]+)\]\([^)]*\)")


def sniff(name: str, head: bytes) -> bool:
    """True for Markdown with a YAML header whose url is an NCI drug information page."""
    return head.removeprefix(b"\xef\xbb\xbf").startswith(b"---") and _SNIFF_URL.search(head) is not None


def parse(handle: BinaryIO, source: str) -> Iterator[SourceRecord]:
    """Yield the drug page in ``handle`` as one SourceDocument."""
    text = decode_text(handle.read(), source)
    meta, body, first_line = split_front_matter(text, source)
    yield parse_page(meta, parse_blocks(body, first_line), source)


def is_pronunciation(plain: str) -> bool:
    """Whether a paragraph is a pronunciation guide such as "(uh-BEH-muh-SY-klib)".

    >>> is_pronunciation("(peg-A-spar-jays)"), is_pronunciation("(HER2-)")
    (True, False)
    """
    return _PRONUNCIATION.fullmatch(plain) is not None and "-" in plain and _STRESSED_SYLLABLE.search(plain) is not None


def parse_page(meta: dict[str, Any], blocks: list[Block], source: str) -> SourceDocument:
    """Build the document from the YAML header and the body's blocks."""
    url = meta.get("url")
    if not isinstance(url, str) or not url.startswith(PAGE_PREFIX):
        raise ReaderError(source, f"YAML header has no NCI drug page url (url: {url!r})")
    slug = url.removeprefix(PAGE_PREFIX).split("#")[0].strip("/")
    tracker = SectionTracker()
    titles: list[str] = []
    fields: dict[str, list[str]] = {}
    label: str | None = None
    extra: dict[str, str] = {}
    combination: list[str] = []
    passages: list[Passage] = []
    started = False  # True once the first "##" section opens
    for block, lead in with_lead_ins(blocks):
        if block.kind == "heading":
            heading = clean_inline(block.text)
            if block.level == 1 and not started:
                titles.append(heading)
            else:
                started = True
                tracker.enter(block.level, heading, record=not _TEMPLATE_SECTIONS.match(heading))
            label = None
            continue
        if not tracker.recorded:
            continue
        raw = strip_images(block.text).strip()
        plain = clean_inline(raw)
        if block.kind == "paragraph" and not started:
            if label is not None:  # the value of the label just before
                fields[label] = [clean_inline(line) for line in block.lines if line.strip()]
                label = None
                continue
            if plain in _LABELS:
                label = plain
                continue
            dailymed = _DAILYMED.match(raw)
            if dailymed:
                extra["dailymed_url"] = dailymed.group(1)
                setid = _SETID.search(dailymed.group(1))
                if setid:
                    extra["dailymed_setid"] = setid.group(1).lower()
                continue
        if block.kind == "paragraph" and _skipped(plain):
            continue
        if block.kind == "table":
            rows = [[clean_inline(cell) for cell in row] for row in block.rows]
            text = table_text(rows)
            if lead:
                text = f"{clean_inline(lead)}\n{text}"
                if _COMBINATION.match(clean_inline(lead)):
                    combination.extend(_LINK_TEXT.findall(" ".join(cell for row in block.rows for cell in row)))
            kind = "table"
        else:
            if _ANCHOR_LINK.fullmatch(raw):
                continue
            text = f"{clean_inline(lead)} {plain}" if lead and block.kind == "item" else plain
            kind = "list_item" if block.kind == "item" else "paragraph"
        if len(text) >= 2:
            passages.append(Passage(text=text, section_path=tracker.path, block=kind))
    title = titles[-1] if titles else str(meta.get("title", "")).removesuffix(" - NCI").strip()
    if not title:
        raise ReaderError(source, "no title (no '#' heading and no title in the YAML header)")
    if _FDA_APPROVED in fields:
        extra["fda_approved"] = " ".join(fields[_FDA_APPROVED])
    single_drug = _FDA_APPROVED in fields or _BRANDS in fields
    return SourceDocument(
        doc_id=f"nci-drug:{slug}",
        kind=DocumentKind.DRUG_INFORMATION,
        title=title,
        reader=READER_NAME,
        locator=source,
        passages=tuple(passages),
        issuer=ISSUER if meta.get("source", "NCI") == "NCI" else str(meta["source"]),
        url=url,
        language=str(meta["language"]) if meta.get("language") else None,
        sections=tracker.tree(),
        brand_names=tuple(dict.fromkeys(fields.get(_BRANDS, ()))),
        generic_names=(title,) if single_drug else tuple(dict.fromkeys(combination)),
        extra=extra,
    )


def _skipped(plain: str) -> bool:
    """Template paragraphs that carry no information about the drug."""
    return plain == _PLACEHOLDER or is_pronunciation(plain) or bool(_CREDIT.match(plain)) or not plain
