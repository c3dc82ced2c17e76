"""The local protocol reader, on documents built at test time from the real text of a PDQ summary.

We may not write clinical text, so each test document takes its headings and paragraphs from a real
PDQ file of the corpus (read through the PDQ reader, which gives them as plain text) and only adds a
test-made header ("Test Hospital"). The protocol reader must give those paragraphs back unchanged,
whichever form (Markdown, HTML, plain text) carries them.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vademecum.errors import ReaderError
from vademecum.records import Audience, DocumentKind, SourceDocument
from vademecum.sources import markdown, nci_drug, pdq, protocol

GI = "types-gi-neuroendocrine-tumors-hp-gi-neuroendocrine-treatment-pdq.md"
HEADER = {"issuer": "Test Hospital", "date": "2025-01-02"}
MARKUP = re.compile(r"[\\`*_\[\]<>&|#]")


@dataclass(frozen=True)
class RealText:
    """Headings, paragraphs and one list taken from a real PDQ summary."""

    title: str
    sections: tuple[tuple[str, tuple[str, ...]], ...]  # (heading, paragraphs)
    list_heading: str
    list_lead: str  # the paragraph that introduces the list
    list_items: tuple[str, ...]  # the items' own text


@pytest.fixture(scope="module")
def real(corpus_dir: Path) -> RealText:
    with (corpus_dir / "guidelines" / "nci-pdq" / GI).open("rb") as handle:
        (summary,) = pdq.parse(handle, GI)
    sections = []
    for section in summary.sections[4:9]:  # the per-site treatment sections
        paragraphs = tuple(
            p.text for p in summary.passages if p.section_path == (section.title,) and p.block == "paragraph"
        )
        sections.append((section.title, paragraphs))
    duodenal = [p for p in summary.passages if p.section_path == (summary.sections[5].title,)]
    first_item = next(i for i, p in enumerate(duodenal) if p.block == "list_item")
    lead = duodenal[first_item - 1].text
    prefix = markdown.last_sentence(lead) + " "
    items = tuple(p.text.removeprefix(prefix) for p in duodenal if p.block == "list_item")
    return RealText(summary.title, tuple(sections), summary.sections[5].title, lead, items)


def front_matter(title: str, **fields: str) -> str:
    lines = [f"title: {title}"] + [f"{name}: {value}" for name, value in {**HEADER, **fields}.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n"


def escape_md(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|>~])", r"\\\1", text)


def as_markdown(real: RealText, **fields: str) -> bytes:
    parts = [front_matter(real.title, **fields), f"# {real.title}\n"]
    for heading, paragraphs in real.sections:
        parts.append(f"## {heading}\n")
        parts.extend(escape_md(paragraph) + "\n" for paragraph in paragraphs)
        if heading == real.list_heading:
            parts.append(escape_md(real.list_lead) + "\n")
            parts.append("".join(f"- {escape_md(item)}\n" for item in real.list_items))
    return "\n".join(parts).encode()


def as_html(real: RealText) -> bytes:
    body = [f"<h1>{html.escape(real.title)}</h1>"]
    for heading, paragraphs in real.sections:
        body.append(f"<h2>{html.escape(heading)}</h2>")
        body.extend(f"<p>\n{html.escape(paragraph)}\n</p>" for paragraph in paragraphs)
        if heading == real.list_heading:
            body.append(f"<div><p>{html.escape(real.list_lead)}</p><ul>")
            body.extend(f"<li><span>{html.escape(item)}</span></li>" for item in real.list_items)
            body.append("</ul></div>")
    head = (
        f'<title>{html.escape(real.title)}</title><meta name="issuer" content="{HEADER["issuer"]}">'
        f'<meta content="{HEADER["date"]}" name="date"><meta charset="utf-8">'
    )
    return f"<!DOCTYPE html>\n<html lang='en'><head>{head}</head><body>{''.join(body)}</body></html>".encode()


def plain_paragraphs(real: RealText) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The sections with only the paragraphs plain text can carry (no characters Markdown would read as markup)."""
    return tuple((h, tuple(p for p in ps if not MARKUP.search(p))) for h, ps in real.sections)


def as_text(real: RealText) -> bytes:
    parts = [front_matter(real.title), real.title, "=" * len(real.title), ""]
    for heading, paragraphs in plain_paragraphs(real):
        parts += [heading, "-" * len(heading), ""]
        for paragraph in paragraphs:
            parts += [textwrap.fill(paragraph, width=72, break_on_hyphens=False, break_long_words=False), ""]
    return "\n".join(parts).encode()


def read(data: bytes, name: str) -> SourceDocument:
    (document,) = protocol.parse(io.BytesIO(data), name)
    return document


def expected_passages(real: RealText, sections: tuple[tuple[str, tuple[str, ...]], ...], with_list: bool) -> list:
    expected = []
    for heading, paragraphs in sections:
        expected += [(heading, "paragraph", paragraph) for paragraph in paragraphs]
        if with_list and heading == real.list_heading:
            lead = markdown.last_sentence(real.list_lead)
            expected.append((heading, "paragraph", real.list_lead))
            expected += [(heading, "list_item", f"{lead} {item}") for item in real.list_items]
    return expected


def shape(document: SourceDocument) -> list:
    return [(p.section_path[-1], p.block, p.text) for p in document.passages]


def test_the_real_text_is_what_we_think(real: RealText) -> None:
    assert len(real.sections) == 5 and sum(len(ps) for _, ps in real.sections) >= 15
    assert len(real.list_items) == 3 and real.list_lead.endswith(":")
    assert sum(len(ps) for _, ps in plain_paragraphs(real)) >= 10


def test_markdown_protocol_gives_back_the_paragraphs(real: RealText) -> None:
    document = read(as_markdown(real), "fn.md")
    assert shape(document) == expected_passages(real, real.sections, with_list=True)
    assert [s.title for s in document.sections] == [heading for heading, _ in real.sections]
    assert all(len(p.section_path) == 1 for p in document.passages)  # the title heading is not a section
    assert document.doc_id == f"local:test-hospital/{protocol.slugify(real.title)}"
    assert document.kind is DocumentKind.GUIDELINE and document.reader == "protocol"
    assert (document.title, document.issuer, document.date) == (real.title, "Test Hospital", dt.date(2025, 1, 2))
    assert (document.version, document.year, document.audience, document.url) == ("2025-01-02", 2025, None, None)


def test_html_protocol_gives_back_the_paragraphs(real: RealText) -> None:
    document = read(as_html(real), "fn.html")
    assert shape(document) == expected_passages(real, real.sections, with_list=True)
    assert (document.title, document.issuer, document.date, document.language) == (
        real.title,
        "Test Hospital",
        dt.date(2025, 1, 2),
        "en",
    )


def test_plain_text_protocol_gives_back_the_paragraphs(real: RealText) -> None:
    document = read(as_text(real), "fn.txt")
    assert shape(document) == expected_passages(real, plain_paragraphs(real), with_list=False)
    assert [s.title for s in document.sections] == [heading for heading, _ in real.sections]


def test_optional_header_fields(real: RealText) -> None:
    fields = {"id": "NET-01", "version": "'3.2'", "url": "https://intranet.example.org/net", "audience": "patient"}
    document = read(as_markdown(real, **fields), "fn.md")
    assert document.doc_id == "local:test-hospital/net-01"
    assert (document.version, document.url, document.audience) == ("3.2", fields["url"], Audience.PATIENT)
    professional = read(as_markdown(real, audience="health professional"), "fn.md")
    assert professional.audience is Audience.HEALTH_PROFESSIONAL


@pytest.mark.parametrize("field", ["title", "issuer", "date"])
def test_a_missing_required_field_is_named(field: str) -> None:
    header = {"title": "Test protocol", **HEADER}
    del header[field]
    data = ("---\n" + "".join(f"{k}: {v}\n" for k, v in header.items()) + "---\n\nSome text.\n").encode()
    with pytest.raises(ReaderError, match=rf"x\.md: missing required header field '{field}'"):
        read(data, "x.md")
    tags = {
        "title": "<title>Test protocol</title>",
        "issuer": f"<meta name='issuer' content='{HEADER['issuer']}'>",
        "date": f"<meta name='date' content='{HEADER['date']}'>",
    }
    del tags[field]
    page = f"<html><head>{''.join(tags.values())}</head><body><p>Some text.</p></body></html>"
    with pytest.raises(ReaderError, match=rf"x\.html: missing required header field '{field}'"):
        read(page.encode(), "x.html")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"\n \n", "empty file"),
        (b"---\ntitle: T\nissuer: Test Hospital\ndate: 2025-01-02\n---\nCaf\xe9\n", "not UTF-8"),
        (b"Just text, no header.\n", "no metadata header"),
        (b"---\ntitle: T\nissuer: Test Hospital\ndate: 2025-01-02\n---\n\n", "no text after the header"),
        (b"---\ntitle: T\nissuer: Test Hospital\ndate: 02/01/2025\n---\nx\n", "'date' must be a date YYYY-MM-DD"),
        (b"---\ntitle: T\nissuer: Test Hospital\ndate: 2025-13-01\n---\nx\n", "not valid YAML"),
        (b"---\ntitle: T\nissuer: Test Hospital\ndate: 2025-01-02\naudience: pets\n---\nx\n", "'audience' must be"),
        (b"---\n- a list\n---\nx\n", "not a mapping"),
        (b"---\ntitle: [A, B]\nissuer: Test Hospital\ndate: 2025-01-02\n---\nx\n", "'title' must be a single value"),
    ],
)
def test_bad_input_is_a_reader_error_naming_the_file(data: bytes, message: str) -> None:
    with pytest.raises(ReaderError, match=re.escape(message)) as raised:
        read(data, "bad.md")
    assert raised.value.source == "bad.md"


def test_xhtml_with_an_xml_declaration(real: RealText) -> None:
    data = b'<?xml version="1.0" encoding="UTF-8"?>\n' + as_html(real).replace(b"<!DOCTYPE html>\n", b"")
    assert shape(read(data, "fn.xhtml")) == expected_passages(real, real.sections, with_list=True)


def test_sniff_takes_files_with_an_issuer_only(real: RealText, corpus_dir: Path) -> None:
    assert protocol.sniff("fn.md", as_markdown(real)[:8192])
    assert protocol.sniff("fn.html", as_html(real)[:8192])
    assert protocol.sniff("fn.txt", as_text(real)[:8192])
    assert not protocol.sniff("fn.md", b"---\ntitle: T\ndate: 2025-01-02\n---\nx\n")
    assert not protocol.sniff("fn.md", b"---\ntitle: T\n---\nissuer: in the body, not the header\n")
    for path in sorted((corpus_dir / "guidelines" / "nci-pdq").glob("*.md")):
        assert not protocol.sniff(path.name, path.read_bytes()[:8192]), path.name
    for path in sorted((corpus_dir / "labels" / "spl").iterdir()):
        assert not protocol.sniff(path.name, path.read_bytes()[:8192]), path.name
    built = as_markdown(real)[:8192]
    assert not pdq.sniff("fn.md", built) and not nci_drug.sniff("fn.md", built)


@settings(max_examples=150, deadline=None)
@given(body=st.text(max_size=400), as_html_page=st.booleans())
def test_any_body_gives_a_document_or_a_reader_error(body: str, as_html_page: bool) -> None:
    if as_html_page:
        data = "<html><head><title>T</title><meta name='issuer' content='H'><meta name='date' content='2025-01-02'>"
        data = (data + f"</head><body>{body}</body></html>").encode("utf-8", "surrogatepass")
        name = "h.html"
    else:
        data = ("---\ntitle: T\nissuer: H\ndate: 2025-01-02\n---\n" + body).encode("utf-8", "surrogatepass")
        name = "h.md"
    try:
        (document,) = protocol.parse(io.BytesIO(data), name)
    except ReaderError as error:
        assert error.source == name
    else:
        assert document.passages and all(p.text for p in document.passages)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_give_a_document_or_a_reader_error(data: bytes) -> None:
    for name in ("b.md", "b.html"):
        try:
            list(protocol.parse(io.BytesIO(b"---\ntitle: T\nissuer: H\ndate: 2025-01-02\n---\n" + data), name))
        except ReaderError as error:
            assert error.source == name


def items_of(document: SourceDocument) -> list:
    return [p for p in document.passages if p.block == "list_item"]


@pytest.mark.parametrize("form", ["markdown", "html"])
def test_list_items_keep_their_list_and_lead_in(real: RealText, form: str) -> None:
    document = read(as_markdown(real), "fn.md") if form == "markdown" else read(as_html(real), "fn.html")
    items = items_of(document)
    first = document.passages.index(items[0])
    assert [p.block_id for p in items] == [first] * len(real.list_items)
    assert [(p.item_number, p.depth) for p in items] == [(None, 0)] * len(real.list_items)
    assert [p.text[p.lead_end :] for p in items] == list(real.list_items)
    assert {p.text[: p.lead_end].rstrip() for p in items} == {markdown.last_sentence(real.list_lead)}
    assert all(p.block_id is None and p.lead_end == 0 for p in document.passages if p.block != "list_item")


def test_numbered_and_nested_lists_keep_numbers_and_depth(real: RealText) -> None:
    one, two, three = real.list_items
    lead = markdown.last_sentence(real.list_lead)
    html_body = (
        f"<p>{html.escape(real.list_lead)}</p><ol start='3'><li>{html.escape(one)}<ul><li>{html.escape(two)}</li>"
        f"</ul></li><li value='7'>{html.escape(three)}</li></ol>"
    )
    page = (
        f"<html><head><title>{html.escape(real.title)}</title><meta name='issuer' content='Test Hospital'>"
        f"<meta name='date' content='2025-01-02'></head><body>{html_body}</body></html>"
    )
    markdown_body = (
        f"{escape_md(real.list_lead)}\n\n3. {escape_md(one)}\n   - {escape_md(two)}\n4. {escape_md(three)}\n"
    )
    expected_numbers = {"fn.html": 7, "fn.md": 4}
    for name, data in (("fn.html", page.encode()), ("fn.md", (front_matter(real.title) + markdown_body).encode())):
        items = items_of(read(data, name))
        assert [(p.item_number, p.depth) for p in items] == [(3, 0), (None, 1), (expected_numbers[name], 0)], name
        assert [p.text[p.lead_end :] for p in items] == [one, two, three], name
        assert [p.text[: p.lead_end].rstrip() for p in items] == [lead, f"{lead} {one}", lead], name
        assert len({p.block_id for p in items}) == 1, name


def test_page_furniture_of_a_real_page_gives_no_passages(corpus_dir: Path) -> None:
    # A protocol built from a real PDQ page's figure caption and captioned table with its footnotes.
    source = corpus_dir / "guidelines" / "nci-pdq" / "types-skin-hp-merkel-cell-treatment-pdq.md"
    _meta, body, _line = markdown.split_front_matter(source.read_text(encoding="utf-8"), source.name)
    blocks = markdown.parse_blocks(body)
    figure = next(b for b in blocks if b.kind == "paragraph" and re.match(r"Figure \d+\. .*Reprinted", b.text))
    table = next(b for b in blocks if b.kind == "table")
    caption = blocks[blocks.index(table) - 1]
    assert caption.text.startswith("Table 1. ")
    data = front_matter("Test protocol") + "\n\n".join([figure.text, caption.text, "\n".join(table.lines)]) + "\n"
    document = read(data.encode(), "furniture.md")
    assert [p.block for p in document.passages] == ["table"]
    lines = document.passages[0].text.splitlines()
    assert lines[0] == markdown.clean_inline(caption.text)
    # The body rows stay; the abbreviation list and the credit under the table go.
    body_rows = [row for row in table.table_rows if sum(bool(cell) for cell in row.cells) > 1]
    assert len(lines) == 1 + len(body_rows)
    assert not any(" = " in line or "permission" in line for line in lines)
