"""The openFDA drug label reader, on openFDA JSON built at test time from the real SPL labels.

The corpus has no openFDA JSON, and tests may not write label text, so :func:`spl_to_openfda`
converts a real SPL file the way openFDA's own converter (openfda/spl/spl_to_json.js) does:
one field per SPL section named after its LOINC code, holding the section's whole text
(title, highlights, subsections) run together, coded subsections repeated under their own
field, unclassified subsections not, and each table again as HTML in ``<field>_table``. The
JSON reader must then recover what the SPL reader reads from the XML.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from vademecum.errors import ReaderError
from vademecum.records import Section, SourceDocument
from vademecum.sources import openfda, spl
from vademecum.sources.label_sections import CODE_FIELDS, SECTION_FIELDS

HL7 = "{urn:hl7-org:v3}"
LABELS = ("humira", "lipitor-orig", "lipitor-repack", "viagra", "cough", "no-title")
BLOCK_TAGS = {"title", "paragraph", "item", "tr", "caption"}


def _section_text(element: etree._Element, keep_lines: bool, parts: list[str]) -> None:
    if element.text:
        parts.append(element.text)
    for child in element:
        if isinstance(child.tag, str):
            tag = etree.QName(child).localname
            if tag == "br":
                parts.append(" ")
            else:
                block = keep_lines and tag in BLOCK_TAGS
                parts.append("\n" if block else "")
                _section_text(child, keep_lines, parts)
                parts.append("\n" if block else "")
        if child.tail:
            parts.append(child.tail)


def _table_html(table: etree._Element) -> str:
    table = copy.deepcopy(table)
    for element in table.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
    etree.cleanup_namespaces(table)
    table.tail = None
    return etree.tostring(table, encoding="unicode")


def spl_to_openfda(path: Path, keep_lines: bool = False) -> dict[str, Any]:
    """One openFDA ``results[]`` record made from a real SPL file.

    ``keep_lines`` keeps a line break after each title, paragraph, list item and table row
    (as some openFDA exports do); otherwise every run of whitespace is one space, as in the
    bulk files.
    """
    root = etree.parse(str(path)).getroot()
    with path.open("rb") as handle:
        (label,) = spl.parse(handle, path.name)
    record: dict[str, Any] = {}
    for section in root.iter(f"{HL7}section"):
        code = section.find(f"{HL7}code")
        field = CODE_FIELDS.get(code.get("code", "") if code is not None else "", "spl_unclassified_section")
        parent_section = section.getparent().getparent()
        if field == "spl_unclassified_section" and parent_section.tag == f"{HL7}section":
            continue  # openFDA leaves out unclassified subsections: their text is in the parent's
        parts: list[str] = []
        _section_text(section, keep_lines, parts)
        lines = "".join(parts).split("\n") if keep_lines else ["".join(parts)]
        record.setdefault(field, []).append("\n".join(line for line in (" ".join(li.split()) for li in lines) if line))
        for table in section.iter(f"{HL7}table"):
            record.setdefault(f"{field}_table", []).append(_table_html(table))
    record["set_id"] = root.find(f"{HL7}setId").get("root")
    record["id"] = root.find(f"{HL7}id").get("root")
    record["version"] = root.find(f"{HL7}versionNumber").get("value")
    record["effective_time"] = root.find(f"{HL7}effectiveTime").get("value")
    record["openfda"] = {
        "brand_name": list(label.brand_names),
        "generic_name": list(label.generic_names),
        "manufacturer_name": [label.manufacturer],
        "product_type": [label.extra["document_type"].removesuffix(" LABEL")],
    }
    return record


def envelope(records: list[Any]) -> bytes:
    meta = {"disclaimer": "test", "results": {"skip": 0, "limit": len(records), "total": len(records)}}
    return json.dumps({"meta": meta, "results": records}, ensure_ascii=False).encode()


def read(data: bytes, source: str = "drug-label-0001-of-0001.json") -> list[SourceDocument]:
    return list(openfda.parse(io.BytesIO(data), source))


def walk(sections: tuple[Section, ...]) -> list[Section]:
    found = []
    for section in sections:
        found.append(section)
        found.extend(walk(section.children))
    return found


def squeeze(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def spl_dir(corpus_dir: Path) -> Path:
    return corpus_dir / "labels" / "spl"


@pytest.fixture(scope="module")
def spl_labels(spl_dir: Path) -> dict[str, SourceDocument]:
    labels = {}
    for name in LABELS:
        with (spl_dir / f"{name}.xml").open("rb") as handle:
            (labels[name],) = spl.parse(handle, f"{name}.xml")
    return labels


@pytest.fixture(scope="module")
def bulk(spl_dir: Path) -> bytes:
    """A bulk file of all six labels, whitespace collapsed as in openFDA's downloads (about 1.3 MB)."""
    return envelope([spl_to_openfda(spl_dir / f"{name}.xml") for name in LABELS])


@pytest.fixture(scope="module")
def bulk_labels(bulk: bytes) -> dict[str, SourceDocument]:
    return dict(zip(LABELS, read(bulk), strict=True))


def test_bulk_file_gives_the_same_labels_as_spl(
    bulk_labels: dict[str, SourceDocument], spl_labels: dict[str, SourceDocument]
) -> None:
    for name in LABELS:
        label, original = bulk_labels[name], spl_labels[name]
        assert label.reader == "openfda"
        assert label.doc_id == original.doc_id  # versions of one document
        assert (label.version, label.date, label.year) == (original.version, original.date, original.year)
        assert (label.brand_names, label.generic_names) == (original.brand_names, original.generic_names)
        assert label.manufacturer == label.issuer == original.manufacturer
        assert label.url == original.url
        # openFDA records carry no title, so nothing is derived from one.
        title_keys = {"spl_title", "initial_us_approval"}
        assert label.extra == {key: value for key, value in original.extra.items() if key not in title_keys}
    humira = bulk_labels["humira"]
    assert humira.doc_id == "spl:608d4f0d-b19f-46d3-749a-7159aa5f933d"
    assert humira.title == "Humira (Adalimumab) label"  # openFDA records carry no title
    assert humira.locator == "drug-label-0001-of-0001.json#results[0]"
    assert bulk_labels["no-title"].title == "Haloperidol label"


def test_numbered_subsections_match_spl(
    bulk_labels: dict[str, SourceDocument], spl_labels: dict[str, SourceDocument]
) -> None:
    for name in LABELS:
        numbers = {passage.section_number for passage in bulk_labels[name].passages}
        spl_numbers = {passage.section_number for passage in spl_labels[name].passages}
        body_numbers = {p.section_number for p in spl_labels[name].passages if p.block != "highlight"}
        # openFDA runs the highlights into the section text, so "1" may have text here only.
        assert body_numbers <= numbers <= spl_numbers, name
    humira = bulk_labels["humira"]
    (indications,) = [section for section in humira.sections if section.code == "34067-9"]
    assert (indications.number, indications.title) == ("1", "INDICATIONS AND USAGE")
    assert [(child.number, child.title) for child in indications.children] == [
        ("1.1", "Rheumatoid Arthritis"),
        ("1.2", "Juvenile Idiopathic Arthritis"),
        ("1.3", "Psoriatic Arthritis"),
        ("1.4", "Ankylosing Spondylitis"),
        ("1.5", "Crohn’s Disease"),
        ("1.6", "Ulcerative Colitis"),
        ("1.7", "Plaque Psoriasis"),
    ]
    (ra,) = [passage for passage in humira.passages if passage.section_number == "1.1"]
    (spl_ra,) = [passage for passage in spl_labels["humira"].passages if passage.section_number == "1.1"]
    assert (ra.text, ra.section_path, ra.section_code) == (spl_ra.text, spl_ra.section_path, spl_ra.section_code)


def test_subsection_titles_in_one_long_string(
    bulk_labels: dict[str, SourceDocument], spl_labels: dict[str, SourceDocument]
) -> None:
    """Titles run into the first sentence; they are split off only where that is clear-cut."""
    found = {s.number: s.title for s in walk(bulk_labels["humira"].sections) if s.number and "." in s.number}
    expected = {s.number: s.title for s in walk(spl_labels["humira"].sections) if s.number and "." in s.number}
    assert found.keys() == expected.keys()
    right = {number for number in found if found[number] == expected[number]}
    # The rest are left untitled (titled by their number), never given a wrong title.
    assert {number: found[number] for number in found.keys() - right} == {
        "5.4": "5.4",  # "Hepatitis B Virus Reactivation Use of TNF blockers ...": ambiguous
        "5.5": "5.5",
        "5.9": "5.9",
        "17.1": "17.1",
    }
    (hbv, *_) = [passage for passage in bulk_labels["humira"].passages if passage.section_number == "5.4"]
    assert hbv.text.startswith("Hepatitis B Virus Reactivation Use of TNF blockers")  # nothing lost
    assert hbv.section_path == ("WARNINGS AND PRECAUTIONS",)


def test_section_text_matches_spl(
    bulk_labels: dict[str, SourceDocument], spl_labels: dict[str, SourceDocument]
) -> None:
    """Every paragraph the SPL reader finds in a numbered section is in that section here too."""
    for name in LABELS:
        by_number: dict[str | None, str] = {}
        for passage in bulk_labels[name].passages:
            by_number[passage.section_number] = by_number.get(passage.section_number, "") + squeeze(passage.text)
        for passage in spl_labels[name].passages:
            if passage.block == "paragraph" and passage.section_number:
                assert squeeze(passage.text) in by_number[passage.section_number], (name, passage)


def test_tables_come_from_the_table_fields(
    bulk_labels: dict[str, SourceDocument], spl_labels: dict[str, SourceDocument]
) -> None:
    humira = bulk_labels["humira"]
    tables = [passage for passage in humira.passages if passage.block == "table"]
    assert {table.text for table in tables} == {p.text for p in spl_labels["humira"].passages if p.block == "table"}
    (jia,) = [table for table in tables if table.section_number == "2.2"]
    assert jia.section_path == ("DOSAGE AND ADMINISTRATION", "Juvenile Idiopathic Arthritis")
    assert "15 kg (33 lbs) to <30 kg (66 lbs) | 20 mg every other week (20 mg Prefilled Syringe)" in jia.text
    # The table's run-together cells are cut out of the prose around it.
    prose = [p.text for p in humira.passages if p.section_number == "2.2" and p.block == "paragraph"]
    assert len(prose) == 2
    assert not any("Prefilled Syringe" in text for text in prose)
    # Lipitor's Table 2 has a cell "6.3" before "Pain in extremity": not a subsection heading.
    (postmarketing,) = [s for s in walk(bulk_labels["lipitor-orig"].sections) if s.number == "6.2"]
    assert postmarketing.title == "Postmarketing Experience"


def test_repeated_coded_subsections_appear_once_with_their_code(bulk_labels: dict[str, SourceDocument]) -> None:
    humira = bulk_labels["humira"]
    by_number = {section.number: section for section in walk(humira.sections) if section.number}
    assert [by_number[n].code for n in ("8.1", "8.3", "8.4", "8.5")] == ["42228-7", "34080-2", "34081-0", "34082-8"]
    assert [by_number[n].title for n in ("8.1", "8.5", "12.3")] == ["Pregnancy", "Geriatric Use", "Pharmacokinetics"]
    assert [s.code for s in humira.sections] == [
        "34066-1",
        "43683-2",
        "34067-9",
        "34068-7",
        "43678-2",
        "34070-3",
        "43685-7",
        "34084-4",
        "34073-7",
        "43684-0",
        "34088-5",
        "34089-3",
        "34090-1",
        "43680-8",
        "34092-7",
        "34093-5",
        "34069-5",
        "34076-0",
        "42231-1",
    ]
    geriatric = [p for p in humira.passages if p.section_number == "8.5"]
    assert [p.section_code for p in geriatric] == ["34082-8"]
    assert sum(squeeze(geriatric[0].text) in squeeze(p.text) for p in humira.passages) == 1


def test_api_response_with_line_breaks(spl_dir: Path, spl_labels: dict[str, SourceDocument]) -> None:
    data = envelope([spl_to_openfda(spl_dir / "humira.xml", keep_lines=True)])
    (label,) = read(data, "api-response.json")
    original = spl_labels["humira"]
    assert (label.doc_id, label.version) == (original.doc_id, original.version)
    # Line breaks mark every heading, so every subsection title comes back.
    found = {s.number: s.title for s in walk(label.sections) if s.number}
    expected = {s.number: s.title for s in walk(original.sections) if s.number}
    assert found == expected
    # Each line is a paragraph: SPL's paragraphs, list items and subheadings. (An SPL paragraph
    # may be shorter: the lead-in sentence of a list moves to its items.)
    lines = [p.text for p in label.passages if p.section_number == "5.1"]
    assert len(lines) == 18
    assert "who have been exposed to tuberculosis;" in lines
    paragraphs = [p.text for p in original.passages if p.block == "paragraph" and p.section_number == "5.1"]
    assert len(paragraphs) == 10
    assert all(any(text in line for line in lines) for text in paragraphs)


def test_unnumbered_label(bulk_labels: dict[str, SourceDocument]) -> None:
    haloperidol = bulk_labels["no-title"]
    assert [section.title for section in haloperidol.sections] == [
        "Boxed Warning",
        "DESCRIPTION",
        "CLINICAL PHARMACOLOGY",
        "INDICATIONS AND USAGE",
        "CONTRAINDICATIONS",
        "WARNINGS",
        "PRECAUTIONS",
        "ADVERSE REACTIONS",
        "OVERDOSAGE",
        "DOSAGE AND ADMINISTRATION",
        "HOW SUPPLIED",
    ]
    (indications,) = [p for p in haloperidol.passages if p.section_code == "34067-9"]
    assert indications.section_path == ("INDICATIONS AND USAGE",)
    assert indications.text.startswith("Haloperidol is indicated for use in the management of manifestations")


def test_record_without_sections_names_the_record(spl_dir: Path) -> None:
    record = spl_to_openfda(spl_dir / "cough.xml")
    bare = {key: record[key] for key in ("set_id", "id", "version", "effective_time", "openfda")}
    bare["spl_product_data_elements"] = record["spl_product_data_elements"]
    records = iter(read_lazily(envelope([record, bare])))
    assert next(records).doc_id == "spl:00f66f25-3469-4c16-9baf-fba21e9628bd"
    with pytest.raises(ReaderError) as caught:
        next(records)
    assert caught.value.source == "drug-label-0001-of-0001.json"
    assert caught.value.record == "results[1] set_id 00f66f25-3469-4c16-9baf-fba21e9628bd"
    assert caught.value.detail == "label without sections"


def read_lazily(data: bytes):
    return openfda.parse(io.BytesIO(data), "drug-label-0001-of-0001.json")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "x", "indications_and_usage": ["text"]}, "record without set_id"),
        ({"set_id": "x", "effective_time": "2013-09", "indications_and_usage": ["text"]}, "bad effective_time"),
        (["not", "a", "label"], "record is not a JSON object"),
    ],
)
def test_bad_records(record: Any, message: str) -> None:
    with pytest.raises(ReaderError, match=message) as caught:
        read(envelope([record]))
    assert caught.value.record.startswith("results[0]")


def test_malformed_json_is_reported_after_the_good_records(bulk: bytes) -> None:
    """Records stream out as they are read; a truncated file fails where the JSON breaks."""
    records = read_lazily(bulk[: len(bulk) - 1000])
    assert [label.version for label in (next(records) for _ in range(5))] == ["1560", "11", "8", "20", "1"]
    with pytest.raises(ReaderError, match=r"^drug-label-0001-of-0001\.json: malformed JSON at character \d+"):
        next(records)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"  \n", "empty file"),
        (b'[{"set_id": "x"}]', "expected a JSON object with a 'results' array"),
        (b'{"meta": {}}', "no 'results' array"),
        (b'{"meta": {}, "results": {"set_id": "x"}}', "'results' is not an array"),
        (
            b'{"error": {"code": "NOT_FOUND", "message": "No matches found!"}}',
            "openFDA error response: No matches found!",
        ),
        (b'{"results": [] "meta": {}}', "malformed JSON at character 15: expected ',' or '}'"),
        (b'{"results": []} {}', "unexpected data after the JSON object"),
        (b'{"results": [{"set_id": "\xff"}]}', "not UTF-8 text"),
    ],
)
def test_wrong_envelopes(data: bytes, message: str) -> None:
    with pytest.raises(ReaderError) as caught:
        read(data, "response.json")
    assert caught.value.source == "response.json"
    assert message in str(caught.value)


def test_empty_results_array() -> None:
    assert read(b'\xef\xbb\xbf{"meta": {"results": {"total": 0}}, "results": []}') == []


def test_sniff(bulk: bytes, corpus_dir: Path, spl_dir: Path) -> None:
    assert openfda.sniff("drug-label-0001-of-0001.json", bulk[:8192])
    assert openfda.sniff("response.json", bulk[:8192])
    assert openfda.sniff("drug-label-0001-of-0012.json", b'{\n  "meta": {"results": {"total": 3}},\n  "results": [')
    schema = corpus_dir / "labels" / "openfda" / "druglabel_schema.json"
    pubmedqa = corpus_dir / "pubmedqa" / "ori_pqal.json"
    for path in (schema, pubmedqa, spl_dir / "humira.xml"):
        assert not openfda.sniff(path.name, path.read_bytes()[:8192]), path.name


def test_sniff_knows_an_api_response_whose_first_label_fields_fill_the_head(corpus_dir: Path) -> None:
    """A label's fields come alphabetically; a long first field ("abuse", "adverse_reactions") leaves no
    label-only key in the head, and the openFDA envelope is enough."""
    path = corpus_dir / "labels" / "openfda-pharmgkb" / "NDA209321.json"
    head = path.read_bytes()[:8192]
    assert not re.search(rb'"(set_id|indications_and_usage|boxed_warning)"', head)
    assert openfda.sniff(path.name, head)
    (label,) = openfda.parse(io.BytesIO(path.read_bytes()), str(path))
    assert isinstance(label, SourceDocument)
    assert label.doc_id.startswith("spl:")


def test_field_table_covers_openfda_sections(corpus_dir: Path) -> None:
    """The module's field table agrees with openFDA's code table and its published schema."""
    with (corpus_dir / "labels" / "spl-section-codes.csv").open(newline="") as handle:
        codes = {row[0]: row[1] for row in csv.reader(handle)}
    table = {code: (field, name) for field, code, name in SECTION_FIELDS}
    assert table.keys() == codes.keys()
    schema = json.loads((corpus_dir / "labels" / "openfda" / "druglabel_schema.json").read_text())["properties"]
    metadata = {"set_id", "id", "version", "effective_time", "openfda"}
    sections = {key for key in schema if not key.endswith("_table") and key not in metadata}
    assert sections <= {field for field, _ in table.values()}
    assert table["34067-9"] == ("indications_and_usage", "Indications & Usage")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=256))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    try:
        records = read(data, "fuzz.json")
    except ReaderError as error:
        assert error.source == "fuzz.json"
    else:
        assert all(isinstance(record, SourceDocument) for record in records)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_fields = st.sampled_from(
    ["set_id", "version", "effective_time", "openfda", "indications_and_usage", "boxed_warning_table", "id"]
)


@settings(max_examples=80, deadline=None)
@given(record=st.dictionaries(_fields, _json_values | st.lists(st.text(max_size=60), max_size=3), max_size=6))
def test_odd_records_give_a_label_or_a_reader_error(record: dict[str, Any]) -> None:
    try:
        records = read(envelope([record]), "fuzz.json")
    except ReaderError as error:
        assert error.source == "fuzz.json"
    else:
        (label,) = records
        assert label.doc_id.startswith("spl:") and label.passages
