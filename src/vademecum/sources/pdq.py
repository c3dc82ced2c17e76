"""Reader for NCI PDQ® cancer information summaries, as Markdown pages with a YAML header.

A summary is one :class:`~vademecum.records.SourceDocument`: its sections come from the headings, its
passages from the paragraphs, list items (with their lead-in) and tables, and its inline citations
(``[[4](#cit/section_4.4)]``, ranges such as ``[[3](#cit/section_1.3)-[5](#cit/section_1.5)]``) become
labels ("4.4") of the :class:`~vademecum.records.CitedWork` entries parsed from each section's
``###### References`` list. "Level of evidence" designations leave the text and go to
``Passage.evidence_levels``. List items keep their list: the items of one list share a ``block_id``,
numbered items keep their number, items of a flattened sublist are one level deeper, and ``lead_end``
says where an item's own text starts after its lead-in. The editorial sections that close every summary
("Latest Updates to This Summary", "About This PDQ Summary"), the "Current Clinical Trials" boilerplate
and the board's "Key References" give no passages, and neither does page furniture: figure captions
and "Enlarge" links, table captions (kept as the first line of their table), abbreviation lists,
credit lines and reference strings (footnotes of that kind also leave a table's text). The date of
the "Latest Updates" heading is the document's date and version.

Audience comes from the page's URL (``/hp/``, ``/patient/``) or title ("Health Professional Version"),
never from the YAML ``audienceLevel``, which the scrape sets wrongly. PDQ pages that are not summaries
(editorial boards, processes, listings under ``publications/pdq``, recognised by having no "About This
PDQ Summary" section) yield no document.

Example, on a real file of the demo corpus::

    path = corpus / "guidelines/nci-pdq/types-gi-neuroendocrine-tumors-hp-gi-neuroendocrine-treatment-pdq.md"
    with path.open("rb") as handle:
        (doc,) = parse(handle, path.name)
    doc.doc_id  # 'pdq:types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq'
    doc.date    # datetime.date(2025, 5, 9)
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from vademecum.errors import ReaderError
from vademecum.records import Audience, CitedWork, DocumentKind, Passage, SourceDocument, SourceRecord
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

READER_NAME = "pdq"
# 2: list items keep their list (block id, number, depth, lead-in length); figure and table captions,
# abbreviation lists, credit lines and reference strings are no longer passages.
READER_VERSION = "2"
ISSUER = "National Cancer Institute (PDQ)"
SITE = "https://www.cancer.gov/"

log = logging.getLogger(__name__)

_SNIFF_URL = re.compile(rb"^url:[ \t]*['\"]?https?://www\.cancer\.gov/(\S*?)['\"]?[ \t]*\r?$", re.MULTILINE)
_SNIFF_TITLE = re.compile(r"^title:.*\(PDQ®\)".encode(), re.MULTILINE)

_LEVEL = re.compile(r"\[?\[\s*level of evidence:?\s*([^\]]*?)\s*\]\]?\([^)]*\)\]?", re.IGNORECASE)
_LEVEL_LINE = re.compile(r"level of evidence:?\s*(.+)", re.IGNORECASE)
_CITE = r"\[(\d+)\]\(#cit/(?:section_(\d+)\.(\d+)|citation\.(\d+))\)"
_CITE_ONE = re.compile(_CITE)
_CITE_GROUP = re.compile(rf"\[((?:{_CITE}\s*[,\-–]?\s*)+)\]")
_PUBMED_LINK = re.compile(r"\[\[PUBMED Abstract\]\]?\([^)]*\)\]?", re.IGNORECASE)
_PMID = re.compile(r"(?:list_uids=|/pubmed/(?:\?term=)?|pubmed\.ncbi\.nlm\.nih\.gov/)(\d+)")
_NAVIGATION = re.compile(r"\[Go to [^\]]*Version\]\([^)]*\)")
# "[Enlarge](…)" opens a figure's full-size image; it trails the paragraph the figure sits in.
_ENLARGE = re.compile(r"\[Enlarge\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)")
_LATEST = re.compile(r"^Latest Updates to This (?:PDQ )?Summary \((\d\d)/(\d\d)/(\d{4})\)$", re.IGNORECASE)
# The summary template's own sections: editorial notes, site boilerplate and the board's list of key
# references (reference strings and "Cited in:" links), not clinical content.
_BOILERPLATE = re.compile(
    r"^(?:Latest Updates to This|Changes to This Summary|About This PDQ Summary|Current Clinical Trials"
    r"|Key References\b)",
    re.IGNORECASE,
)
# The same boilerplate, as an aside at the end of a paragraph about trials.
_TRIAL_SEARCH = re.compile(r"\s*\(Use our advanced clinical trial search\b[^()]*\)")
_ABOUT = re.compile(r"^About This PDQ Summary$", re.IGNORECASE)
_REFERENCES = re.compile(r"^References$", re.IGNORECASE)
_BOARD = re.compile(r"maintained by the (PDQ[^.]*?Editorial Board)\b")
_SUMMARY_PMID = re.compile(r"\[PMID:\s*(\d+)\]")
_AUTHOR = re.compile(r"(?:[\w'’.\-]+ )+[A-Z]{1,4}|et al\.?")
_JOURNAL = re.compile(
    r"^(?P<title>.+?[.?!])\s+(?!In:)(?P<journal>[A-Z][^.:;]*?)(?:\s+[\w-]+)?(?:\s*\([^)]*\))?:[^:]*?,\s*"
    r"(?P<year>(?:19|20)\d\d)\b"
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def sniff(name: str, head: bytes) -> bool:
    """True for Markdown with a YAML header whose url is a cancer.gov PDQ page (not an NCI drug page)."""
    if not head.removeprefix(b"\xef\xbb\xbf").startswith(b"---"):
        return False
    url = _SNIFF_URL.search(head)
    if url is None:
        return False
    path = url.group(1)
    return b"-pdq" in path or path.startswith(b"publications/pdq") or _SNIFF_TITLE.search(head) is not None


def parse(handle: BinaryIO, source: str) -> Iterator[SourceRecord]:
    """Yield the summary in ``handle`` as one SourceDocument; a PDQ page that is no summary yields nothing."""
    text = decode_text(handle.read(), source)
    meta, body, first_line = split_front_matter(text, source)
    document = parse_summary(meta, parse_blocks(body, first_line), source)
    if document is not None:
        yield document


@dataclass
class _Draft:
    """A passage before its citations are checked against the reference lists."""

    text: str
    path: tuple[str, ...]
    number: str | None
    block: str
    citations: list[str]
    levels: list[str]
    block_id: int | None = None
    item_number: int | None = None
    depth: int = 0
    lead_end: int = 0


def parse_summary(meta: dict[str, Any], blocks: list[Block], source: str) -> SourceDocument | None:
    """Build the document from the YAML header and the body's blocks; None for a PDQ page that is no summary."""
    url = meta.get("url")
    if not isinstance(url, str) or not url.startswith(SITE):
        raise ReaderError(source, f"YAML header has no cancer.gov url (url: {url!r})")
    slug = url.removeprefix(SITE).split("#")[0].strip("/")
    tracker = SectionTracker()
    drafts: list[_Draft] = []
    cited: dict[str, CitedWork] = {}
    titles: list[str] = []
    editorial: list[str] = []
    top = 0  # ordinal of the current "##" section: the N of its citation labels "N.M"
    in_references = False
    reference_count = 0  # position in the current list, for a list that is not numbered
    date: dt.date | None = None
    has_about = False
    list_id: int | None = None  # the ordinal of the current list's first item passage
    for block, context in with_context(blocks, _plain):
        if block.kind == "heading":
            heading = clean_inline(block.text)
            if block.level == 1:
                if top == 0:
                    titles.append(heading)
                continue
            in_references, reference_count = bool(_REFERENCES.match(heading)), 0
            if in_references:
                continue
            top += block.level == 2
            date = date or _latest_update(heading, source)
            has_about = has_about or bool(_ABOUT.match(heading))
            number = str(top) if block.level == 2 else None
            tracker.enter(block.level, heading, number, record=not _BOILERPLATE.match(heading))
        elif in_references:
            if block.kind == "item":
                reference_count += 1
                work = parse_reference(block.text, f"{top}.{block.number if block.ordered else reference_count}")
                cited[work.label] = work
        elif not tracker.recorded:
            editorial.append(block.text)
        else:
            if context.list_start:
                list_id = None
            draft = _add_passage(drafts, block, context, tracker, top)
            if draft is not None and block.kind == "item":
                list_id = len(drafts) - 1 if list_id is None else list_id
                draft.block_id = list_id
    if not has_about and slug.startswith("publications/pdq"):
        log.info("%s: skipped, a PDQ editorial page (no 'About This PDQ Summary' section)", source)
        return None
    title = titles[-1] if titles else str(meta.get("title", "")).removesuffix(" - NCI").strip()
    if not title:
        raise ReaderError(source, "no title (no '#' heading and no title in the YAML header)")
    passages = tuple(
        Passage(
            text=draft.text,
            section_path=draft.path,
            section_number=draft.number,
            block=draft.block,
            citations=tuple(label for label in dict.fromkeys(draft.citations) if label in cited),
            evidence_levels=tuple(dict.fromkeys(draft.levels)),
            block_id=draft.block_id,
            item_number=draft.item_number,
            depth=draft.depth,
            lead_end=draft.lead_end,
        )
        for draft in drafts
    )
    editorial_text = " ".join(editorial)
    board = _BOARD.search(clean_inline(editorial_text))
    summary_pmid = _SUMMARY_PMID.search(editorial_text)
    return SourceDocument(
        doc_id=f"pdq:{slug}",
        kind=DocumentKind.GUIDELINE,
        title=title,
        reader=READER_NAME,
        locator=source,
        passages=passages,
        version=date.isoformat() if date else None,
        date=date,
        year=date.year if date else None,
        issuer=ISSUER if meta.get("source", "NCI") == "NCI" else str(meta["source"]),
        url=url,
        pmid=summary_pmid.group(1) if summary_pmid else None,
        language=str(meta["language"]) if meta.get("language") else None,
        audience=audience_of(url, title),
        sections=tracker.tree(),
        cited_works=tuple(cited.values()),
        extra={"editorial_board": board.group(1)} if board else {},
    )


def audience_of(url: str, title: str) -> Audience | None:
    """Who a PDQ page is for, from its URL and title (PDQ publishes a patient and a professional version)."""
    if "/hp/" in url or "/hp-" in url or "-hp-pdq" in url or "Health Professional Version" in title:
        return Audience.HEALTH_PROFESSIONAL
    if "/patient/" in url or "Patient Version" in title:
        return Audience.PATIENT
    return None


def _latest_update(heading: str, source: str) -> dt.date | None:
    match = _LATEST.match(heading)
    if match is None:
        return None
    month, day, year = (int(part) for part in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise ReaderError(source, f"bad date in heading {heading!r}") from exc


def _add_passage(
    drafts: list[_Draft], block: Block, context: Context, tracker: SectionTracker, top: int
) -> _Draft | None:
    """Turn one body block into a draft passage, and return it.

    A lone level-of-evidence note goes to the passage before; page furniture (figure and table
    captions, abbreviation lists, credit lines, reference strings) gives no passage. A list item's text
    is its lead-in and its own text, each cleaned on its own so ``lead_end`` says exactly where the
    item's own text starts.
    """
    lead_end = 0
    if block.kind == "table":
        text, citations, levels = _table(block, context.lead, top)
        kind = "table"
    else:
        raw = _ENLARGE.sub("", strip_images(block.text))
        if _NAVIGATION.fullmatch(raw.strip()):
            return None
        text, citations, levels = extract(raw, top)
        text = _TRIAL_SEARCH.sub("", text)
        kind = "list_item" if block.kind == "item" else "paragraph"
        level_line = _LEVEL_LINE.fullmatch(text)
        if level_line and kind == "paragraph":  # a few notes are plain text, not the usual link
            text, levels = "", (*levels, level_line.group(1))
        elif is_page_furniture(text):
            return None
        if kind == "list_item" and context.lead and len(text) >= 2:
            lead, lead_citations, lead_levels = extract(_ENLARGE.sub("", context.lead), top)
            if lead:
                text, lead_end = f"{lead} {text}", len(lead) + 1
            citations, levels = (*lead_citations, *citations), (*lead_levels, *levels)
    if len(text) < 2:
        if levels and drafts:
            drafts[-1].levels.extend(levels)
        return None
    draft = _Draft(text, tracker.path, tracker.number, kind, list(citations), list(levels))
    if kind == "list_item":
        draft.item_number = block.number if block.ordered else None
        draft.depth = context.depth
        draft.lead_end = lead_end
    drafts.append(draft)
    return draft


def _table(block: Block, caption: str | None, top: int) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """A table's text (its caption, then one line per row), citations and levels of evidence.

    Rows that are furniture (abbreviation lists, credit lines, references) leave the text but keep their
    citations: they name the works the table comes from. A cell that opens with an "Enlarge" link is
    the description of a drawing, not table content.
    """
    citations: list[str] = []
    levels: list[str] = []
    lines: list[list[str]] = []
    for row in block.table_rows:
        cells = [extract("" if cell.startswith("[Enlarge](") else cell, top) for cell in row.cells]
        citations.extend(label for _, labels, _ in cells for label in labels)
        levels.extend(level for _, _, found in cells for level in found)
        filled = [plain for plain, _, _ in cells if plain]
        if len(filled) == 1 and is_table_furniture(filled[0], note=row.note):
            continue
        lines.append([plain for plain, _, _ in cells])
    text = table_text(lines)
    if caption and text:
        title, caption_citations, caption_levels = extract(_ENLARGE.sub("", caption), top)
        if title:
            text = f"{title}\n{text}"
        citations[:0], levels[:0] = caption_citations, caption_levels
    return text, tuple(citations), tuple(levels)


def extract(raw: str, top: int) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Split raw Markdown into plain text, the citation labels it cites and its levels of evidence.

    ``top`` is the ordinal of the enclosing ``##`` section, for the few ``#cit/citation.N`` anchors.

    >>> extract("Rare.[[3](#cit/section_1.3)-[5](#cit/section_1.5)][[Level of evidence C2](/x)]", 1)
    ('Rare.', ('1.3', '1.4', '1.5'), ('C2',))
    """
    levels = tuple(level for level in _LEVEL.findall(raw) if level)
    raw = _LEVEL.sub("", raw)
    labels: list[str] = []

    def group(match: re.Match[str]) -> str:
        labels.extend(_expand(match.group(1), top))
        return ""

    raw = _CITE_GROUP.sub(group, raw)
    raw = _CITE_ONE.sub(group, raw)
    return clean_inline(raw), tuple(dict.fromkeys(labels)), levels


def _expand(group: str, top: int) -> list[str]:
    """The labels of one citation group; ``a-b`` is the range of a section's references a to b."""
    labels: list[str] = []
    previous: tuple[int, int] | None = None
    for match in _CITE_ONE.finditer(group):
        section = int(match.group(2) or top)
        number = int(match.group(3) or match.group(4))
        between = group[match.start() - 1] if match.start() else ""
        if previous and between in "-–" and previous[0] == section:
            labels.extend(f"{section}.{n}" for n in range(previous[1] + 1, number))
        labels.append(f"{section}.{number}")
        previous = (section, number)
    return labels


def _plain(raw: str) -> str:
    return extract(raw, 0)[0]


def parse_reference(raw: str, label: str) -> CitedWork:
    """One entry of a ``###### References`` list: "Authors: Title. Journal Vol (Issue): pages, Year." + PubMed link.

    >>> work = parse_reference("Taal BG, Visser O: Epidemiology of neuroendocrine tumours. "
    ...     "Neuroendocrinology 80 (Suppl 1): 3-7, 2004. [[PUBMED Abstract](http://x?list_uids=15477707)]", "1.2")
    >>> work.authors, work.title, work.journal, work.year, work.pmid
    (('Taal BG', 'Visser O'), 'Epidemiology of neuroendocrine tumours.', 'Neuroendocrinology', 2004, '15477707')
    """
    pmid = _PMID.search(raw)
    text = clean_inline(_PUBMED_LINK.sub("", raw))
    authors: tuple[str, ...] = ()
    rest = text
    head, colon, tail = text.partition(": ")
    if colon and all(_AUTHOR.fullmatch(name.strip()) for name in head.split(",")):
        authors = tuple(name.strip() for name in head.split(",") if not name.strip().startswith("et al"))
        rest = tail
    journal = _JOURNAL.match(rest)
    if journal:
        title, journal_name, year = journal.group("title"), journal.group("journal"), int(journal.group("year"))
    else:
        title = rest.split(". ")[0].rstrip(".") + "." if rest else None
        journal_name = None
        years = _YEAR.findall(rest)
        year = int(years[-1]) if years else None
    return CitedWork(
        label=label,
        text=text,
        pmid=pmid.group(1) if pmid else None,
        title=title,
        authors=authors,
        journal=journal_name,
        year=year,
    )
