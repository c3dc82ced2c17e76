"""Markdown helpers shared by the readers of Markdown sources (PDQ summaries, NCI drug pages, local protocols).

The sources are Markdown as scraped from web pages, not hand-written CommonMark: nested lists come out
flat, some headings are an empty ``##`` followed by their text on the next line, tables are pipe tables
with stray separator rows. These helpers parse that dialect into a flat list of :class:`Block` s
(headings, paragraphs, list items, tables), give list items and tables their lead-in and list items
their place in their list, turn inline markup into plain text, tell page furniture (captions,
abbreviation lists, credit lines, reference strings) from content and build the section tree from the
headings.

>>> [(b.kind, b.text) for b in parse_blocks("## Dosage\\n\\nGive it:\\n\\n- once a day\\n")]
[('heading', 'Dosage'), ('paragraph', 'Give it:'), ('item', 'once a day')]
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from vademecum.errors import ReaderError
from vademecum.records import Section

BlockKind = Literal["heading", "paragraph", "item", "table"]


@dataclass(frozen=True, slots=True)
class Block:
    """One block of a Markdown body; ``text`` keeps its inline markup (clean it with :func:`clean_inline`).

    ``lines`` are the block's source lines (a table's rows), ``line`` the 1-based line where it starts,
    ``level`` a heading's level or a list item's indent, ``ordered`` whether a list item is numbered
    and ``number`` its number.
    """

    kind: BlockKind
    lines: tuple[str, ...]
    line: int
    level: int = 0
    ordered: bool = False
    number: int = 0

    @property
    def text(self) -> str:
        """The block's lines joined into one line of raw Markdown."""
        return " ".join(part.strip() for part in self.lines if part.strip())

    @property
    def rows(self) -> tuple[tuple[str, ...], ...]:
        """A table's rows as raw cells, without separator rows and rows with no text."""
        return tuple(row.cells for row in self.table_rows)

    @property
    def table_rows(self) -> tuple[TableRow, ...]:
        """A table's rows (as :attr:`rows`), each marked when it is a row of the table's footer.

        The NCI scrapes write a table's footer (its abbreviations, credits and footnotes) as rows after
        the first empty row, each with text in its first cell only, before the body rows start.
        """
        rows = []
        zone = "head"  # head, then footer (after the first empty row), then body
        for line in self.lines:
            cells = tuple(cell.strip() for cell in _CELL_SPLIT.split(line.strip().strip("|")))
            if all(_SEPARATOR_CELL.fullmatch(cell) for cell in cells):
                if zone == "head" and not any(cells):
                    zone = "footer"
                continue
            note = zone == "footer" and len(cells) > 1 and bool(cells[0]) and not any(cells[1:])
            if zone == "footer" and not note:
                zone = "body"
            rows.append(TableRow(cells, note))
        return tuple(rows)


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row of a table: its raw cells, and whether it is a footer row (a note under the table)."""

    cells: tuple[str, ...]
    note: bool = False


def decode_text(data: bytes, source: str) -> str:
    """Decode a UTF-8 text file with its line ends made ``\\n`` (some scraped pages use CRLF).

    A byte-order mark is dropped; empty or non-UTF-8 input is a ReaderError.
    """
    if not data.strip():
        raise ReaderError(source, "empty file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReaderError(source, f"not UTF-8 text (invalid byte at offset {exc.start})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^---[ \t]*(?:\n|\Z)", re.DOTALL | re.MULTILINE)


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str, int]:
    """Split a ``---`` YAML front matter block off ``text``.

    Returns the metadata (empty if there is no block), the body, and the line number (1-based)
    where the body starts. A block that is not a YAML mapping is a ReaderError.
    """
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text, 1
    try:
        meta = yaml.safe_load(match.group(1))
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a well-formed but impossible date
        raise ReaderError(source, f"front matter is not valid YAML: {exc}") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ReaderError(source, "front matter is not a mapping of fields")
    return {str(key): value for key, value in meta.items()}, text[match.end() :], match.group(0).count("\n") + 1


_HEADING = re.compile(r"^(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$")
_ITEM = re.compile(r"^([ \t]*)([-*+]|(\d{1,3})[.)])[ \t]+(\S.*)$")
_TABLE_ROW = re.compile(r"^[ \t]*\|")
_SETEXT = re.compile(r"^(=+|-+)[ \t]*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_SEPARATOR_CELL = re.compile(r":?-*:?")


@dataclass
class _Open:
    """The block being accumulated while scanning lines."""

    kind: BlockKind
    line: int
    lines: list[str] = field(default_factory=list)
    level: int = 0
    ordered: bool = False
    number: int = 0


def parse_blocks(body: str, first_line: int = 1) -> list[Block]:
    """Parse a Markdown body into blocks; ``first_line`` is the file line number of the body's first line.

    An ordered-list marker only starts an item where CommonMark would let it interrupt text (the number 1,
    or the next number of a numbered list), so a wrapped line that begins with a year is not an item. The
    next number of a numbered list also starts an item after a paragraph under the same heading: the
    scrapes write an item's own later paragraphs, and bullets nested in it, flat between its items.
    An empty heading (``##``) takes its title from the next line, as the NCI scrapes write them.
    """
    blocks: list[Block] = []
    current: _Open | None = None
    last_number = 0  # the number of the last numbered item under the current heading

    def flush() -> None:
        nonlocal current
        if current is not None and any(part.strip() for part in current.lines):
            blocks.append(
                Block(current.kind, tuple(current.lines), current.line, current.level, current.ordered, current.number)
            )
        current = None

    lines = body.splitlines()
    index = 0
    while index < len(lines):
        raw = lines[index]
        number = first_line + index
        index += 1
        if not raw.strip():
            flush()
            continue
        heading = _HEADING.match(raw)
        if heading:
            flush()
            last_number = 0
            title = (heading.group(2) or "").strip()
            while not title and index < len(lines):
                candidate = lines[index]
                if candidate.strip() and (_HEADING.match(candidate) or _ITEM.match(candidate)):
                    break
                title = candidate.strip()
                index += 1
            if title:
                blocks.append(Block("heading", (title,), number, len(heading.group(1))))
            continue
        if _TABLE_ROW.match(raw):
            if current is None or current.kind != "table":
                flush()
                current = _Open("table", number)
            current.lines.append(raw)
            continue
        if current is not None and current.kind == "table":
            flush()
        if current is not None and current.kind == "paragraph" and len(current.lines) == 1 and _SETEXT.match(raw):
            level = 1 if raw.strip()[0] == "=" else 2
            blocks.append(Block("heading", (current.lines[0].strip(),), current.line, level))
            current = None
            continue
        item = _ITEM.match(raw)
        if item and _starts_item(item, current, last_number):
            flush()
            ordered = item.group(3) is not None
            current = _Open("item", number, [item.group(4)], len(item.group(1).expandtabs(4)), ordered)
            current.number = int(item.group(3)) if ordered else 0
            last_number = current.number or last_number
            continue
        if current is None:
            current = _Open("paragraph", number)
        current.lines.append(raw)
    flush()
    return blocks


def _starts_item(item: re.Match[str], current: _Open | None, last_number: int) -> bool:
    """Whether a line that looks like a list item starts one, rather than continuing text."""
    if item.group(3) is None or current is None:
        return True
    number = int(item.group(3))
    return number == 1 or (last_number > 0 and number == last_number + 1)


_IMAGE = re.compile(r"!\[[^\]]*\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)")
_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])|(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_SPACE = re.compile(r"\s+")
# A space the removed markup left before a word-ending comma or full stop ("cancer [[1](…)].");
# ".05" in "P < .05" is not word-ending and keeps its space.
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])(?=\s|$)")
# Escaped characters are swapped for private-use code points so the markup patterns cannot see them.
_PROTECT = {char: chr(0xE000 + offset) for offset, char in enumerate("\\`*_{}[]()#+-.!|>~")}
_UNPROTECT = str.maketrans({code: char for char, code in _PROTECT.items()})


def strip_images(text: str) -> str:
    """Remove Markdown images (``![alt](src)``); their alt text describes a picture we do not keep."""
    return _IMAGE.sub("", text)


def clean_inline(text: str) -> str:
    """Turn one line of Markdown into plain text: links keep their text, images, emphasis and tags go.

    >>> clean_inline("**[Breast cancer](/x)** that is *HER2* negative \\\\*")
    'Breast cancer that is HER2 negative *'
    """
    escaped = "\\" in text
    if escaped:
        text = _ESCAPE.sub(lambda match: _PROTECT[match.group(1)], text)
    if "[" in text:
        text = strip_images(text)
        previous = None
        while previous != text:  # links inside link text ("[[NCT01](/x)]") unwrap from the inside out
            previous = text
            text = _LINK.sub(r"\1", text)
    if "*" in text or "_" in text:
        text = _STRONG.sub(r"\2", text)
        text = _EMPHASIS.sub(lambda match: match.group(1) or match.group(2), text)
    if "<" in text:
        text = _TAG.sub("", text)
    if escaped:
        text = text.translate(_UNPROTECT)
    if "&" in text:
        text = html.unescape(text)
    text = _SPACE.sub(" ", text).strip()
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def table_text(rows: Iterable[Iterable[str]]) -> str:
    """Flatten cleaned table rows into readable text: non-empty cells joined by `` | ``, one row a line."""
    lines = []
    for row in rows:
        cells = [cell for cell in row if cell]
        if cells:
            lines.append(" | ".join(cells))
    return "\n".join(lines)


# Page furniture: text that sits on a page beside the content but says nothing a reader would quote.
_FIGURE_CAPTION = re.compile(r"Figure \d+[A-Z]?[.:](?:\s|$)")
_TABLE_CAPTION = re.compile(r"Table \d+[A-Z]?[.:](?:\s|$)")
# "ABBR = expansion": a short term (no brackets or commas) and an expansion that starts with a letter,
# so statistics ("P = .01", "(N = 418)") are not taken for one.
_GLOSSARY_PAIR = re.compile(r"[A-Za-z0-9][\w/+\-.'’ ]{0,24}? = [^\W\d_][^=;]*")
_GLOSSARY_SPLIT = re.compile(r";\s*")
# "Surname AB, Surname CD, et al.: Title…" or "Surname J et al: Title…"
_REFERENCE = re.compile(r"(?P<authors>[^:]{3,300}?)\.?:\s*(?P<rest>\S.*)", re.DOTALL)
_AUTHOR_NAME = re.compile(r"(?:[A-Z][\w'’\-]*\s)+[A-Z]{1,3}")
_ET_AL = re.compile(r",?\s*\bet al\.?$")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_CREDIT = re.compile(
    r"(?:Reprinted|Adapted|Reproduced|Modified|Excerpted)\b.{0,200}?\b(?:with permission|from)\b"
    r"|(?:Data )?[Ff]rom [A-Z][\w'’\-]+(?: [A-Z]{1,3})?,? et al\.?$",
    re.DOTALL,
)
_CREDIT_ANYWHERE = re.compile(
    r"\b(?:Reprinted|Reproduced|Used) with permission\b|\b(?:Reprinted|Adapted|Reproduced) from\b|©", re.IGNORECASE
)
# A footnote's superscript letter, glued to the note by the scrape ("aReprinted with permission…").
_FOOTNOTE_MARK = re.compile(r"^[a-z](?=[A-Z])")


def is_glossary(plain: str, minimum: int = 2) -> bool:
    """Whether plain text is a list of abbreviations: at least ``minimum`` ``ABBR = expansion`` pairs
    separated by semicolons, making up nearly all of the text.

    >>> is_glossary("No. = number; N/A = not applicable."), is_glossary("A = 1; B = 2 (P = .04).")
    (True, False)
    """
    body = plain.strip().rstrip(".")
    pairs = [part for part in _GLOSSARY_SPLIT.split(body) if _GLOSSARY_PAIR.fullmatch(part.strip())]
    return len(pairs) >= minimum and sum(len(pair) for pair in pairs) >= 0.8 * len(body)


def is_reference(plain: str) -> bool:
    """Whether plain text is a bibliographic reference: an author list ("Surname AB, Surname CD, et al.:"
    or "Surname J et al:") followed by a title.

    >>> is_reference("Doe J, Roe RA, et al.: A title. J Test 1 (2): 3-4, 2020."), is_reference("Group A: all.")
    (True, False)
    """
    match = _REFERENCE.match(plain)
    if match is None:
        return False
    authors = match.group("authors")
    et_al = _ET_AL.search(authors) is not None
    names = [name.strip() for name in _ET_AL.sub("", authors).split(",")]
    if not all(_AUTHOR_NAME.fullmatch(name) for name in names):
        return False
    # Two names before a colon could be a label ("Serum LDH: …"); a reference also has a year.
    return et_al or (len(names) >= 2 and _YEAR.search(match.group("rest")) is not None)


def is_credit(plain: str, anywhere: bool = False) -> bool:
    """Whether plain text is a credit line ("Reprinted with permission from …", "Adapted from …",
    "From Surname et al."); with ``anywhere``, a credit phrase anywhere in the text is enough.
    """
    if _CREDIT.match(plain):
        return True
    return anywhere and _CREDIT_ANYWHERE.search(plain) is not None


def is_page_furniture(plain: str) -> bool:
    """Whether a paragraph or list item (plain text) is page furniture, never a passage: a figure's or
    a table's caption, a list of abbreviations, a bibliographic reference or a credit line.

    A table's caption is kept as the first line of its table (:func:`with_lead_ins`).
    """
    return bool(
        _FIGURE_CAPTION.match(plain)
        or _TABLE_CAPTION.match(plain)
        or is_glossary(plain)
        or is_reference(plain)
        or is_credit(plain)
    )


def is_table_furniture(plain: str, note: bool = False) -> bool:
    """Whether a table row with one filled cell (plain text) is furniture to leave out of the table's text.

    Any such row that lists abbreviations or is a reference or credit line goes. A footer row
    (``note``, see :attr:`Block.table_rows`) is a footnote, so one ``ABBR = expansion`` pair or a
    credit phrase anywhere in it is enough; in the body one pair may be the table's content.
    """
    plain = _FOOTNOTE_MARK.sub("", plain.replace("*", ""))
    if note:
        return is_glossary(plain, minimum=1) or is_reference(plain) or is_credit(plain, anywhere=True)
    return is_glossary(plain) or is_reference(plain) or is_credit(plain)


def is_table_caption(plain: str) -> bool:
    """Whether a paragraph (plain text) is a numbered table caption ("Table 2. …")."""
    return _TABLE_CAPTION.match(plain) is not None


_SENTENCE_BREAK = re.compile(r"[.!?]\S*\s+(?=[A-Z\"“(\[*])")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|et al|vs|Dr|No|Fig|approx|St|U\.S)|(?<![\w.])[A-Z])\.$")
_LINK_TARGET = re.compile(r"\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)")
_TERMINAL = re.compile(r"[.!?][\"”')\]*]*$")


def last_sentence(text: str) -> str:
    """The last sentence of a paragraph of raw Markdown (a list's lead-in is the sentence that introduces it).

    >>> last_sentence("It is rare.[[1](#cit/section_1.1)] See [a](/x.aspx?id=1) (e.g. this) for:")
    'See [a](/x.aspx?id=1) (e.g. this) for:'
    """
    # Link targets are blanked (same length) so the full stops of URLs do not end sentences.
    masked = _LINK_TARGET.sub(lambda match: "](" + "_" * (len(match.group(0)) - 3) + ")", text)
    start = 0
    for match in _SENTENCE_BREAK.finditer(masked):
        if not _ABBREVIATION.search(masked[: match.start() + 1]):
            start = match.end()
    return text[start:].strip()


def is_lead_in(plain: str) -> bool:
    """Whether a paragraph (plain text) introduces what follows: it ends with a colon or with no full stop."""
    plain = plain.rstrip()
    return bool(plain) and (plain.endswith(":") or not _TERMINAL.search(plain))


@dataclass(frozen=True, slots=True)
class Context:
    """What a reader needs to know about a block's neighbours (see :func:`with_context`).

    ``lead`` is the raw Markdown of the block's lead-in, or None. For a list item, ``depth`` is how
    deeply it is nested (0 at the top level, one more for each item it sits in) and ``list_start``
    whether it is the first item of a list.
    """

    lead: str | None = None
    depth: int = 0
    list_start: bool = False


def with_lead_ins(
    blocks: Iterable[Block], plain: Callable[[str], str] = clean_inline
) -> Iterator[tuple[Block, str | None]]:
    """Pair each block with the raw Markdown of its lead-in, or None (see :func:`with_context`)."""
    for block, context in with_context(blocks, plain):
        yield block, context.lead


def with_context(
    blocks: Iterable[Block], plain: Callable[[str], str] = clean_inline
) -> Iterator[tuple[Block, Context]]:
    """Pair each block with its :class:`Context`: its lead-in and, for a list item, its place in its list.

    A list's lead-in is the last sentence of the paragraph just before it when that paragraph introduces
    it (:func:`is_lead_in`); a table's lead-in is that whole paragraph (its caption), as is a numbered
    caption ("Table 2. …") that ends with a full stop. A nested (indented) item also gets the text of
    the items it is nested in. The NCI scrapes flatten nested lists, so there an item ending with a
    colon is taken as the parent of the items after it, until an item shaped like the parent (same
    marker and, where the parent starts in bold, bold too) comes back; the items under it are one
    level deeper. ``plain`` turns raw Markdown into the plain text the colon test looks at.

    >>> body = "Give:\\n\\n- one of:\\n- a\\n- b\\n\\nThen.\\n\\n1. first\\n   - inner\\n"
    >>> [(b.text, c.lead, c.depth, c.list_start) for b, c in with_context(parse_blocks(body)) if b.kind == "item"]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('one of:', 'Give:', 0, True), ('a', 'Give: one of:', 1, False), ('b', 'Give: one of:', 1, False),
     ('first', None, 0, True), ('inner', 'first', 1, False)]
    """
    previous: Block | None = None
    list_lead: str | None = None
    nested: list[Block] = []  # the items an indented item sits in
    parent: Block | None = None  # the colon-ended item of a flattened sublist
    child_ordered: bool | None = None
    for block in blocks:
        if block.kind == "item":
            list_start = previous is None or previous.kind != "item"
            if previous is None or previous.kind != "item":
                list_lead = _lead_sentence(previous, plain)
                nested, parent, child_ordered = [], None, None
            else:
                while nested and block.level <= nested[-1].level:
                    nested.pop()
                if block.level > previous.level:
                    nested.append(previous)
                if parent is not None and parent.level != block.level:
                    parent, child_ordered = None, None
                elif parent is not None:
                    if child_ordered is None:
                        child_ordered = block.ordered
                    if _ends_sublist(block, parent, child_ordered):
                        parent, child_ordered = None, None
            leads = [list_lead, *(item.text for item in nested), parent.text if parent else None]
            depth = len(nested) + (parent is not None)
            yield block, Context(" ".join(part for part in leads if part) or None, depth, list_start)
            if parent is None and ":" in block.text and plain(block.text).endswith(":"):
                parent, child_ordered = block, None
        elif block.kind == "table":
            caption = previous.text if previous and previous.kind == "paragraph" else None
            if caption and (is_lead_in(plain(caption)) or is_table_caption(plain(caption))):
                yield block, Context(caption)
            else:
                yield block, Context()
        else:
            yield block, Context()
        previous = block


def _lead_sentence(block: Block | None, plain: Callable[[str], str]) -> str | None:
    if block is None or block.kind != "paragraph" or not is_lead_in(plain(block.text)):
        return None
    return last_sentence(block.text)


def _ends_sublist(item: Block, parent: Block, child_ordered: bool) -> bool:
    """Whether ``item`` is a sibling of ``parent`` again (the flattened sublist under it has ended)."""
    if item.ordered != parent.ordered:
        return False
    if child_ordered != parent.ordered:
        return True
    return parent.text.startswith("**") and item.text.startswith("**")


@dataclass
class _Node:
    title: str
    number: str | None
    level: int
    recorded: bool
    children: list[_Node] = field(default_factory=list)

    def freeze(self) -> Section:
        return Section(self.title, self.number, None, tuple(child.freeze() for child in self.children))


class SectionTracker:
    """Follows the headings of a document: the current section path, and the tree of the sections kept.

    >>> tracker = SectionTracker()
    >>> tracker.enter(2, "Treatment", "4"); tracker.enter(3, "Surgery"); tracker.path
    ('Treatment', 'Surgery')
    >>> tracker.enter(2, "Prognosis"); tracker.path, tracker.number
    (('Prognosis',), None)
    """

    def __init__(self) -> None:
        self._roots: list[_Node] = []
        self._stack: list[_Node] = []

    def enter(self, level: int, title: str, number: str | None = None, *, record: bool = True) -> None:
        """Open a section at heading ``level``; ``record=False`` keeps it (and its subsections) out of the tree."""
        while self._stack and self._stack[-1].level >= level:
            self._stack.pop()
        recorded = record and all(node.recorded for node in self._stack)
        node = _Node(title, number, level, recorded)
        if recorded:
            (self._stack[-1].children if self._stack else self._roots).append(node)
        self._stack.append(node)

    @property
    def path(self) -> tuple[str, ...]:
        """Titles of the open sections, outermost first."""
        return tuple(node.title for node in self._stack)

    @property
    def number(self) -> str | None:
        """The number of the innermost open section that has one."""
        return next((node.number for node in reversed(self._stack) if node.number), None)

    @property
    def recorded(self) -> bool:
        """Whether the current section is kept in the tree (False inside a section entered with record=False)."""
        return all(node.recorded for node in self._stack)

    def tree(self) -> tuple[Section, ...]:
        """The recorded sections as a tree."""
        return tuple(root.freeze() for root in self._roots)
