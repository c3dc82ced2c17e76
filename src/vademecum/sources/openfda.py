"""Reader for openFDA drug label JSON: the bulk ``drug-label-*.json`` files and API responses.

Both have the envelope ``{"meta": {...}, "results": [label, ...]}``; each label carries its
SPL set id, version and effective time, harmonised names under ``openfda``, and one field per
SPL section (``indications_and_usage``, ``boxed_warning``...), each an array of strings, with
the section's tables again as HTML in ``<field>_table``. Labels map onto the same model as the
SPL reader, with the same ``spl:<set id>`` document id, so an SPL file and an openFDA record of
one label are versions of one document.

openFDA flattens a section, its title and all its subsections into one string
("1 INDICATIONS AND USAGE 1.1 Rheumatoid Arthritis HUMIRA is indicated ..."), and repeats
coded subsections (``pregnancy``, ``pediatric_use``...) as fields of their own. The reader
splits the string on the label's numbered subsection headings when they are there (1.1, 1.2...
in order), keeps each repeated subsection once (its LOINC code is given to the matching
numbered part), and takes tables from the ``_table`` fields, cutting their run-together cell
text out of the prose.

Bulk files are 100 MB and more, so ``results`` is read one record at a time with
:meth:`json.JSONDecoder.raw_decode` over a sliding buffer; only ``meta`` and the current
record are held in memory.
"""

from __future__ import annotations

import bisect
import codecs
import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import lxml.html
from lxml import etree

from vademecum.errors import ReaderError
from vademecum.records import Passage, Section, SourceDocument, SourceRecord
from vademecum.sources.label_sections import (
    CODE_NAMES,
    FIELD_CODES,
    NON_TEXT_CODES,
    UNCLASSIFIED_CODE,
    dedupe,
    fallback_title,
    flatten_table,
    label_document,
    normalise_space,
    sentences,
)

READER_NAME: str = "openfda"
READER_VERSION: str = "1"


MAX_RECORD_CHARS = 64 << 20
"""A single label larger than this is taken for a malformed file rather than buffered forever."""

_CHUNK = 1 << 20
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_LABEL_KEYS = re.compile(  # fields only drug labels have, unlike other openFDA endpoints
    rb'"(set_id|spl_product_data_elements|indications_and_usage|dosage_and_administration|boxed_warning'
    rb'|package_label_principal_display_panel)"\s*:'
)
_OPENFDA_META = re.compile(rb'"terms"\s*:\s*"https://open\.fda\.gov/terms/"')
_NON_SPACE = re.compile(r"\S+")
_MIN_TABLE_CHARS = 10  # shorter table text could match prose by chance
_TABLE_MARK = re.compile(r"\ue000(\d+)\ue000")
_TOP_NUMBER = re.compile(r"\s*(\d{1,2})\s+(?=\S)")
_PASSAGE_CHARS = 1200
_MAX_TITLE_WORDS = 16
_MINOR_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "than", "the", "to", "with"}
    | {"without", "vs", "vs.", "versus", "&", "-", "–", "/", "and/or"}
)


def sniff(name: str, head: bytes) -> bool:
    """True for a JSON object with a ``results`` array of drug labels (bulk file or API response).

    The first label may not reach a label field within ``head`` (its fields come in alphabetical
    order, and a long "abuse" or "adverse_reactions" field can fill the head), so a file named like
    the bulk downloads (``drug-label-0001-of-0012.json``) or an API response whose ``meta`` names
    openFDA's terms is accepted on its envelope alone; records without label fields fail in parsing.
    """
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{") or b'"results"' not in text:
        return False
    return bool(_LABEL_KEYS.search(text)) or "label" in name.lower() or bool(_OPENFDA_META.search(text))


def parse(handle: BinaryIO, source: str) -> Iterator[SourceRecord]:
    """Stream the labels of an openFDA drug label response, one :class:`SourceDocument` per record.

    ``handle`` is an open binary file (already decompressed); ``source`` names it in errors.
    Raises :class:`ReaderError` for an empty file, malformed JSON or text that is not UTF-8,
    an envelope without a ``results`` array (or an openFDA error response), and a record that
    is not a label: no ``set_id``, a bad ``effective_time``, or no section at all.
    """
    stream = _JsonStream(handle, source)
    first = stream.peek()
    if first is None:
        raise ReaderError(source, "empty file")
    if first != "{":
        raise ReaderError(source, "not an openFDA response: expected a JSON object with a 'results' array")
    stream.take("{")
    found_results = False
    while stream.peek() != "}":
        key = stream.value()
        if not isinstance(key, str):
            raise stream.malformed("expected a property name")
        stream.take(":")
        if key == "results":
            if stream.peek() != "[":
                raise ReaderError(source, "not an openFDA response: 'results' is not an array")
            found_results = True
            for index, record in enumerate(stream.array_items()):
                yield parse_record(record, source, index)
        elif key == "error":
            error = stream.value()
            message = error.get("message") if isinstance(error, dict) else error
            raise ReaderError(source, f"openFDA error response: {message}")
        else:
            stream.value()  # meta: disclaimer, licence, result counts
        if stream.peek() != ",":
            break
        stream.take(",")
    if stream.peek() != "}":
        raise stream.malformed("expected ',' or '}'")
    stream.take("}")
    if stream.peek() is not None:
        raise stream.malformed("unexpected data after the JSON object")
    if not found_results:
        raise ReaderError(source, "not an openFDA response: no 'results' array")


class _JsonStream:
    """Incremental reader of one JSON document: whole values are decoded one at a time with raw_decode."""

    def __init__(self, handle: BinaryIO, source: str) -> None:
        self._handle = handle
        self._source = source
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._json = json.JSONDecoder()
        self._buffer = ""
        self._pos = 0
        self._consumed = 0  # characters dropped from the front of the buffer
        self._eof = False

    def _fill(self, at_least: int = _CHUNK) -> bool:
        """Read more text; False at end of file."""
        if self._eof:
            return False
        data = self._handle.read(max(at_least, _CHUNK))
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise ReaderError(self._source, f"not UTF-8 text near byte {exc.start}: {exc.reason}") from exc
        self._consumed += self._pos
        self._buffer = self._buffer[self._pos :] + text
        self._pos = 0
        self._eof = not data
        return bool(data) or bool(text)

    def peek(self) -> str | None:
        """The next non-whitespace character, without consuming it; None at end of file."""
        while True:
            self._pos = _WHITESPACE.match(self._buffer, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if not self._fill():
                return None

    def take(self, char: str) -> None:
        """Consume ``char`` (after whitespace) or fail."""
        if self.peek() != char:
            raise self.malformed(f"expected {char!r}")
        self._pos += 1

    def value(self) -> Any:
        """Decode the next whole JSON value."""
        self.peek()
        while True:
            try:
                value, end = self._json.raw_decode(self._buffer, self._pos)
            except RecursionError as exc:
                raise self.malformed("values nested too deeply") from exc
            except json.JSONDecodeError as exc:
                if self._eof:
                    raise self.malformed(exc.msg, exc.pos) from exc
                if len(self._buffer) - self._pos > MAX_RECORD_CHARS:
                    raise self.malformed(f"a value longer than {MAX_RECORD_CHARS} characters") from exc
                # Probably cut at the buffer's end: read as much again (so a big record costs
                # a logarithmic number of retries), then retry.
                self._fill(len(self._buffer) - self._pos)
                continue
            if end == len(self._buffer) and self._fill():
                continue  # a number cut at the buffer's end would decode short
            self._pos = end
            return value

    def array_items(self) -> Iterator[Any]:
        """Decode the values of the array that starts here, one at a time."""
        self.take("[")
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            yield self.value()
            if self.peek() == "]":
                self._pos += 1
                return
            self.take(",")

    def malformed(self, message: str, position: int | None = None) -> ReaderError:
        """A ReaderError locating ``position`` (default: the current one) as a character offset."""
        offset = self._consumed + (self._pos if position is None else position)
        return ReaderError(self._source, f"malformed JSON at character {offset}: {message}")


def parse_record(record: Any, source: str, index: int) -> SourceDocument:
    """Map one ``results[]`` record onto the label model."""
    name = f"results[{index}]"
    if not isinstance(record, dict):
        raise ReaderError(source, "record is not a JSON object", record=name)
    harmonised = record.get("openfda") if isinstance(record.get("openfda"), dict) else {}
    set_id = _string(record.get("set_id")) or next(iter(_strings(harmonised.get("spl_set_id"))), None)
    if not set_id:
        raise ReaderError(source, "record without set_id", record=name)
    name = f"{name} set_id {set_id}"
    version = _string(record.get("version"))
    date = _date(_string(record.get("effective_time")), source, name)
    brands = dedupe(_strings(harmonised.get("brand_name")))
    generics = dedupe(_strings(harmonised.get("generic_name")))
    manufacturer = next(iter(dedupe(_strings(harmonised.get("manufacturer_name")))), None)
    passages, sections = _LabelSections(record).build()
    if not passages:
        raise ReaderError(source, "label without sections", record=name)
    extra: dict[str, str] = {}
    if spl_id := _string(record.get("id")):
        extra["spl_id"] = spl_id
    if product_type := next(iter(_strings(harmonised.get("product_type"))), None):
        extra["document_type"] = f"{product_type} LABEL"
    return label_document(
        set_id=set_id,
        title=fallback_title(brands, generics, set_id),
        reader=READER_NAME,
        locator=f"{source}#results[{index}]",
        passages=passages,
        sections=sections,
        version=version,
        date=date,
        brands=brands,
        generics=generics,
        manufacturer=manufacturer,
        extra=extra,
    )


def _string(value: Any) -> str | None:
    if isinstance(value, list):  # some openFDA fields are one-element arrays
        value = value[0] if len(value) == 1 else None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _date(value: str | None, source: str, record: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError as exc:
        raise ReaderError(source, f"bad effective_time {value!r}", record=record) from exc


@dataclass(frozen=True, slots=True)
class _Part:
    """One numbered subsection (or the text before the first one) of a section string."""

    number: str | None
    text: str


class _LabelSections:
    """Turns a record's section fields into passages and a section tree."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.elements: list[tuple[str, str | None, str]] = []  # field, LOINC code, text
        self.tables: dict[str, list[str]] = {}
        self.seen_tables: set[str] = set()
        for key, value in record.items():
            code = FIELD_CODES.get(key)
            if code is None:
                if key.endswith("_table") and key[: -len("_table")] in FIELD_CODES:
                    self.tables[key[: -len("_table")]] = _strings(value)
                continue
            if code in NON_TEXT_CODES:
                continue
            for text in _strings(value):
                if text.strip():
                    # U+E000 marks cut-out tables; a stray one in the data must not be taken for a mark.
                    text = text.replace("\ue000", " ")
                    self.elements.append((key, None if code == UNCLASSIFIED_CODE else code, text))

    def build(self) -> tuple[tuple[Passage, ...], tuple[Section, ...]]:
        """Passages in record order and the section tree."""
        kept, subsection_codes = self._without_repeats()
        passages: list[Passage] = []
        sections: list[Section] = []
        homes: dict[str, tuple[tuple[str, ...], str | None, str | None]] = {}  # field -> where its section is
        for field, code, text in kept:
            # Tables come out first: their cell text would otherwise be read as prose, and a
            # cell such as "6.3" in front of "Pain in extremity" as a subsection heading.
            text, tables = self._cut_tables(text, field)
            number, title, parts = _split_section(text, code)
            path = (title,) if title else ()
            homes.setdefault(field, (path, number, code))
            children = []
            lines = "\n" in text.strip()
            for part in parts:
                where = (path, number, code)
                body = part.text
                if part.number != number:
                    # Subsections are unclassified unless openFDA repeated them under a code of their own.
                    sub_code = subsection_codes.get(part.number or "")
                    sub_title, body = _subsection_title(body, sub_code, lines)
                    children.append(Section(sub_title or part.number or "", part.number, sub_code))
                    where = ((*path, sub_title) if sub_title else path, part.number, sub_code or code)
                for index, segment in enumerate(_TABLE_MARK.split(body)):
                    if index % 2:
                        passages.append(Passage(tables[int(segment)], *where, block="table"))
                    else:
                        passages.extend(Passage(paragraph, *where) for paragraph in _paragraphs(segment))
            if title or children:
                sections.append(Section(title or "", number, code, tuple(children)))
        for field, home in homes.items():
            passages.extend(Passage(table, *home, block="table") for table in self._unplaced_tables(field))
        return tuple(passages), tuple(sections)

    def _without_repeats(self) -> tuple[list[tuple[str, str | None, str]], dict[str, str]]:
        """Drop elements whose text is inside another's (openFDA repeats coded subsections).

        Returns the kept elements and, for dropped ones that start with a subsection number,
        number -> LOINC code, so "8.1 Pregnancy" inside "8 USE IN SPECIFIC POPULATIONS" keeps
        the pregnancy code.
        """
        keys = [_squeeze(text) for _, _, text in self.elements]
        kept = []
        codes: dict[str, str] = {}
        for index, (field, code, text) in enumerate(self.elements):
            # Equal copies keep the first; a shorter text inside a longer one is a repeat.
            inside = any(
                keys[index] in other_key and (len(other_key) > len(keys[index]) or other < index)
                for other, other_key in enumerate(keys)
                if other != index
            )
            if not inside:
                kept.append((field, code, text))
                continue
            match = re.match(r"\s*(\d{1,2}\.\d{1,2})\s", text)
            if match and code:
                codes.setdefault(match.group(1), code)
        return kept, codes

    def _cut_tables(self, text: str, field: str) -> tuple[str, list[str]]:
        """Replace each table of ``field`` found in ``text`` by a mark; return the text and the flattened tables.

        openFDA's section text joins a table's text nodes as they come, so its cells run
        together with or without spaces; tables are therefore looked for with all whitespace
        removed, in document order.
        """
        pending = self.tables.get(field, [])
        if not pending:
            return text, []
        squeezed = _Squeezed(text)
        cuts: list[tuple[int, int, str]] = []
        cursor = 0
        for html in list(pending):
            key = _squeeze(_table_text(html))
            start = squeezed.text.find(key, cursor) if len(key) >= _MIN_TABLE_CHARS else -1
            if start < 0:
                continue
            pending.remove(html)
            cursor = start + len(key)
            cuts.append((squeezed.original(start), squeezed.original(cursor - 1) + 1, html))
        flattened: list[str] = []
        pieces: list[str] = []
        previous = 0
        for start, end, html in cuts:
            pieces.append(text[previous:start])
            flat = _flatten_html(html)
            if flat and flat not in self.seen_tables:
                # A subsection's table is also in its parent section's _table field: keep it once.
                self.seen_tables.add(flat)
                pieces.append(f" \ue000{len(flattened)}\ue000 ")
                flattened.append(flat)
            else:
                pieces.append(" ")
            previous = end
        pieces.append(text[previous:])
        return "".join(pieces), flattened

    def _unplaced_tables(self, field: str) -> Iterator[str]:
        """Flattened tables of ``field`` whose text was not found in the section's prose, once each."""
        for html in self.tables.get(field, ()):
            flat = _flatten_html(html)
            if flat and flat not in self.seen_tables:
                self.seen_tables.add(flat)
                yield flat


def _split_section(text: str, code: str | None) -> tuple[str | None, str | None, list[_Part]]:
    """The section's number, its title, and its parts: the text before the first subsection, then each subsection."""
    lines = "\n" in text.strip()
    number, title, rest = _top_heading(text, code, lines)
    cuts: list[tuple[int, int, str]] = []
    position = 0
    minor = 0
    while number is not None:
        # Headings come in order and may skip a number or two (8.1, 8.3). The next one
        # expected wins even if a later number shows up first: that is a table cell or a
        # cross-reference out of parentheses, as "(1.1)" and "1.1, 5.2" are not headings.
        for candidate in range(minor + 1, minor + 4):
            match = _subsection_heading(number, candidate, lines).search(rest, position)
            if match:
                cuts.append((match.start(), match.end(), f"{number}.{candidate}"))
                position, minor = match.end(), candidate
                break
        else:
            break
    parts = [_Part(number, rest[: cuts[0][0]] if cuts else rest)]
    for index, (_, end, sub_number) in enumerate(cuts):
        stop = cuts[index + 1][0] if index + 1 < len(cuts) else len(rest)
        parts.append(_Part(sub_number, rest[end:stop]))
    return number, title, parts


def _subsection_title(text: str, code: str | None, lines: bool) -> tuple[str | None, str]:
    """Title and body of a subsection's text; the name of its LOINC code, when known, marks the title best."""
    if lines:
        return _line_title(text)
    named = _name_prefix(text, CODE_NAMES[code]) if code else None
    return named or _title_prefix(text)


def _name_prefix(text: str, name: str) -> tuple[str, str] | None:
    """Split ``text`` after its first words if they spell ``name`` ("INDICATIONS AND USAGE" ~ "Indications & Usage")."""
    words = text.split()
    wanted = _comparable(name).split()
    if [_comparable(word) for word in words[: len(wanted)]] != wanted:
        return None
    return " ".join(words[: len(wanted)]), " ".join(words[len(wanted) :])


def _subsection_heading(number: str, minor: int, lines: bool) -> re.Pattern[str]:
    """A heading "<number>.<minor> Title": at a line start if openFDA kept lines, else between a space and a capital."""
    if lines:
        return re.compile(rf"^[ \t]*{number}\.{minor}[ \t]+(?=\S)", re.MULTILINE)
    return re.compile(rf"(?<!\S){number}\.{minor}\s+(?=[A-Z])")


def _top_heading(text: str, code: str | None, lines: bool) -> tuple[str | None, str | None, str]:
    """Number, title and remaining text of a section string; the title falls back to openFDA's section name."""
    default = CODE_NAMES.get(code or "") if code else None
    match = _TOP_NUMBER.match(text)
    number = match.group(1) if match else None
    rest = text[match.end() :] if match else text
    if lines:
        title, body = _line_title(rest)
        if title:
            return number, title, body
    elif number:
        title, body = _upper_prefix(rest)
        if title:
            return number, title, body
    elif default and (named := _name_prefix(rest, default)):
        return None, *named
    return (number, default, rest) if match else (None, default, text)


def _line_title(text: str) -> tuple[str | None, str]:
    """In text that keeps its line breaks, a short first line without a full stop is a heading."""
    first, _, body = text.strip().partition("\n")
    first = normalise_space(first)
    if body.strip() and first and len(first) <= 120 and not first.endswith("."):
        return first, body
    return None, text


def _upper_prefix(text: str) -> tuple[str | None, str]:
    """Split "INDICATIONS AND USAGE HUMIRA is ..." into the capitals title and the rest.

    The run of words without lower-case letters is the title; when the next word is lower
    case, the run's last word began the sentence (the brand name, "HUMIRA is ...").
    """
    words = text.split()
    count = 0
    while count < len(words) and not any(ch.islower() for ch in words[count]) and not words[count][0].isdigit():
        count += 1
    if count < len(words) and count > 1 and _starts_lower(words[count]):
        count -= 1
    if not count or count > _MAX_TITLE_WORDS:
        return None, text
    return " ".join(words[:count]), " ".join(words[count:])


def _title_prefix(text: str) -> tuple[str | None, str]:
    """Split "Rheumatoid Arthritis HUMIRA is indicated ..." into the subsection title and its text.

    openFDA runs a subsection's title into its first sentence. Titles are in title case
    (capitalised words, short joining words, parenthesised groups), so the title ends where
    the first sentence begins: at the capitalised word right before the first lower-case
    word ("HUMIRA is", "The recommended"). Only that clear case is split; otherwise
    ("Use of TNF blockers", a run-in "Absorption:") the title is unknown and the text is
    kept whole, heading words included, so that nothing is lost.
    """
    words = text.split()
    count = 0
    depth = 0
    while count < len(words):
        word = words[count]
        if depth or word.startswith("("):
            depth = max(depth + word.count("(") - word.count(")"), 0)
        elif not (word[0].isupper() or word in _MINOR_WORDS or _is_code(word)):
            break
        count += 1
    if count >= len(words) or not _starts_lower(words[count]):
        return None, text
    start = count - 1  # back from the first lower-case word to the first word of its sentence
    while start > 0 and words[start] in _MINOR_WORDS:
        start -= 1
    title = words[:start]
    if not 0 < start <= _MAX_TITLE_WORDS or not words[start][0].isupper():
        return None, text
    # Not clear-cut: a title ending in a joining word ("Use of" + "TNF blockers"), a run-in
    # heading ("Absorption:", "Pregnancy Category B."), or a title that repeats its first word.
    if title[-1] in _MINOR_WORDS or any(word[-1] in ":.;" for word in title):
        return None, text
    if any(_comparable(word) == _comparable(title[0]) for word in title[1:]):
        return None, text
    return " ".join(title), " ".join(words[start:])


def _is_code(word: str) -> bool:
    """Tokens such as "3A4" or "5-HT3" that belong in a title although they do not start with a capital."""
    return any(ch.isupper() for ch in word) and word[0].isalnum()


def _starts_lower(word: str) -> bool:
    letters = word.lstrip("([\"'“‘")
    return bool(letters) and letters[0].islower()


def _comparable(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower().replace("&", " and ")).split())


def _paragraphs(text: str) -> Iterator[str]:
    """Paragraphs of prose: its lines when openFDA kept them, else sentence-bounded chunks of a long string."""
    for line in text.split("\n"):
        line = normalise_space(line)
        if not line:
            continue
        chunk = ""
        for sentence in sentences(line):
            if chunk and len(chunk) + len(sentence) >= _PASSAGE_CHARS:
                yield chunk
                chunk = ""
            chunk = f"{chunk} {sentence}" if chunk else sentence
        if chunk:
            yield chunk


def _parse_table(html: str) -> etree._Element | None:
    try:
        fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return None
    return next(fragment.iter("table"), None)


def _flatten_html(html: str) -> str:
    element = _parse_table(html)
    return flatten_table(element) if element is not None else ""


def _table_text(html: str) -> str:
    element = _parse_table(html)
    return "".join(element.itertext()) if element is not None else ""


def _squeeze(text: str) -> str:
    return "".join(text.split())


class _Squeezed:
    """A text with its whitespace removed, able to map positions back to the original."""

    def __init__(self, text: str) -> None:
        self.starts: list[int] = []  # where each run of non-space characters starts in the text
        self.offsets: list[int] = []  # ... and in the squeezed text
        runs = []
        offset = 0
        for match in _NON_SPACE.finditer(text):
            self.starts.append(match.start())
            self.offsets.append(offset)
            runs.append(match.group())
            offset += len(runs[-1])
        self.text = "".join(runs)

    def original(self, index: int) -> int:
        """Position in the original text of the squeezed text's character ``index``."""
        run = bisect.bisect_right(self.offsets, index) - 1
        return self.starts[run] + index - self.offsets[run]
