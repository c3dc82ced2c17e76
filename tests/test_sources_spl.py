"""The SPL reader on the real FDA labels of the demo corpus (labels/spl), read in place."""

from __future__ import annotations

import datetime as dt
import gzip
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from vademecum.errors import ReaderError
from vademecum.records import DocumentKind, Section, SourceDocument
from vademecum.sources import spl
from vademecum.sources.label_sections import parse_section_heading, title_from_code_name

HUMIRA_SET_ID = "608d4f0d-b19f-46d3-749a-7159aa5f933d"
BOXED_WARNING = "WARNING: SERIOUS INFECTIONS AND MALIGNANCY"


def read_label(path: Path) -> SourceDocument:
    with path.open("rb") as handle:
        records = list(spl.parse(handle, path.name))
    assert len(records) == 1
    assert isinstance(records[0], SourceDocument)
    return records[0]


def read_bytes(data: bytes, source: str = "label.xml") -> list:
    return list(spl.parse(io.BytesIO(data), source))


def walk(sections: tuple[Section, ...]) -> list[Section]:
    found = []
    for section in sections:
        found.append(section)
        found.extend(walk(section.children))
    return found


@pytest.fixture(scope="module")
def spl_dir(corpus_dir: Path) -> Path:
    return corpus_dir / "labels" / "spl"


@pytest.fixture(scope="module")
def humira(spl_dir: Path) -> SourceDocument:
    return read_label(spl_dir / "humira.xml")


def test_humira_metadata(humira: SourceDocument) -> None:
    assert humira.doc_id == f"spl:{HUMIRA_SET_ID}"
    assert humira.kind is DocumentKind.DRUG_LABEL
    assert humira.reader == "spl"
    assert humira.version == "1560"
    assert humira.date == dt.date(2013, 9, 30)
    assert humira.year == 2013
    # The product line, without the template's highlights disclaimer and approval line.
    assert humira.title == "HUMIRA (adalimumab) injection, for subcutaneous use"
    assert humira.brand_names == ("Humira",)
    # The kit's alcohol swab is a part, not a product: its generic name is not Humira's.
    assert humira.generic_names == ("Adalimumab",)
    assert humira.manufacturer == humira.issuer == "AbbVie Inc."
    assert humira.url == f"https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={HUMIRA_SET_ID}"
    assert humira.extra == {
        "spl_id": "2c9fb32d-4b1b-b5da-4bdf-6b06908ba8b3",
        "document_type": "HUMAN PRESCRIPTION DRUG LABEL",
        "spl_title": "These highlights do not include all the information needed to use HUMIRA safely and "
        "effectively. See full prescribing information for HUMIRA. HUMIRA (adalimumab) injection, for "
        "subcutaneous use Initial U.S. Approval: 2002",
        "initial_us_approval": "2002",
    }
    assert humira.locator == f"humira.xml#{HUMIRA_SET_ID} version 1560"


def test_humira_indications_have_numbered_subsections(humira: SourceDocument) -> None:
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
    assert ra.section_path == ("INDICATIONS AND USAGE", "Rheumatoid Arthritis")
    # Subsections are "unclassified" in SPL; their passages keep the Indications code.
    assert ra.section_code == "34067-9"
    assert ra.block == "paragraph"
    assert ra.text.startswith("HUMIRA is indicated for reducing signs and symptoms, inducing major clinical response")


def test_humira_dosage_and_coded_subsections(humira: SourceDocument) -> None:
    by_number = {section.number: section for section in walk(humira.sections) if section.number}
    assert by_number["2"].title == "DOSAGE AND ADMINISTRATION"
    assert by_number["2.1"].title == "Rheumatoid Arthritis, Psoriatic Arthritis, and Ankylosing Spondylitis"
    assert by_number["2.7"].title == "General Considerations for Administration"
    assert [by_number[n].code for n in ("8.1", "8.3", "8.4", "8.5")] == ["42228-7", "34080-2", "34081-0", "34082-8"]
    assert "8.2" not in by_number  # the label skips it; numbers are the label's own
    assert (by_number["12.3"].title, by_number["12.3"].code) == ("Pharmacokinetics", "43682-4")
    assert by_number["5.10"].title == "Immunizations"


def test_humira_boxed_warning(humira: SourceDocument) -> None:
    boxed = [section for section in humira.sections if section.code == "34066-1"]
    assert [section.title for section in boxed] == [BOXED_WARNING]
    passages = [passage for passage in humira.passages if passage.section_path[:1] == (BOXED_WARNING,)]
    assert len(passages) == 6
    assert {passage.section_code for passage in passages} == {"34066-1"}
    # Bold one-line paragraphs are the warning's own subheadings.
    assert passages[0].section_path == (BOXED_WARNING, "SERIOUS INFECTIONS")
    assert passages[0].text.startswith("Patients treated with HUMIRA are at increased risk for developing serious")
    assert passages[-1].section_path == (BOXED_WARNING, "MALIGNANCY")


def test_humira_highlights(humira: SourceDocument) -> None:
    (highlights, *_) = humira.sections
    assert highlights.title == "Highlights"
    assert [child.title for child in highlights.children][:4] == [
        BOXED_WARNING,
        "Recent Major Changes",
        "INDICATIONS AND USAGE",
        "DOSAGE AND ADMINISTRATION",
    ]
    passages = [passage for passage in humira.passages if passage.block == "highlight"]
    assert len(passages) == 45
    assert all(passage.section_path[0] == "Highlights" for passage in passages)
    assert humira.passages[: len(passages)] == tuple(passages)  # highlights come first, as printed
    ra = [passage for passage in passages if passage.text.startswith("Rheumatoid Arthritis (RA) (1.1): ")]
    assert len(ra) == 1
    assert ra[0].section_path == ("Highlights", "INDICATIONS AND USAGE")
    assert (ra[0].section_number, ra[0].section_code) == ("1", "34067-9")
    assert "Reducing signs and symptoms, inducing major clinical response" in ra[0].text


def test_humira_tables_are_flattened(humira: SourceDocument) -> None:
    tables = [passage for passage in humira.passages if passage.block == "table"]
    assert len(tables) == 18
    (jia,) = [table for table in tables if table.section_number == "2.2"]
    assert jia.section_path == ("DOSAGE AND ADMINISTRATION", "Juvenile Idiopathic Arthritis")
    assert jia.text.splitlines() == [
        "Pediatric Patients (4 to 17 years) | Dose",
        "15 kg (33 lbs) to <30 kg (66 lbs) | 20 mg every other week (20 mg Prefilled Syringe)",
        "≥30 kg (66 lbs) | 40 mg every other week (HUMIRA Pen or 40 mg Prefilled Syringe)",
    ]
    (adverse, *_) = [table for table in tables if table.section_number == "6.1"]
    lines = adverse.text.splitlines()
    assert lines[0].startswith("Table 1. Adverse Reactions Reported by ≥5% of Patients Treated with HUMIRA")
    assert "Upper respiratory infection | 17% | 13%" in lines


def test_list_items_carry_their_lead_in(humira: SourceDocument) -> None:
    items = [p for p in humira.passages if p.block == "list_item" and p.section_number == "5.1"]
    assert [item.text for item in items[:2]] == [
        "Consider the risks and benefits of treatment prior to initiating therapy in patients: "
        "with chronic or recurrent infection;",
        "Consider the risks and benefits of treatment prior to initiating therapy in patients: "
        "who have been exposed to tuberculosis;",
    ]
    subheaded = [p for p in humira.passages if p.section_path[-1:] == ("Tuberculosis",)]
    assert subheaded[0].section_path == ("WARNINGS AND PRECAUTIONS", "Serious Infections", "Tuberculosis")
    assert subheaded[0].text.startswith("Cases of reactivation of tuberculosis")


def test_product_listings_are_not_passages(spl_dir: Path) -> None:
    for path in sorted(spl_dir.glob("*.xml")):
        label = read_label(path)
        codes = {passage.section_code for passage in label.passages} | {s.code for s in walk(label.sections)}
        assert not codes & {"48780-1", "51945-4"}, path.name
        assert all(passage.text == passage.text.strip() and passage.text for passage in label.passages)
        assert not any("  " in passage.text for passage in label.passages)


def test_lipitor_original_and_repackager_labels(spl_dir: Path) -> None:
    original = read_label(spl_dir / "lipitor-orig.xml")
    repack = read_label(spl_dir / "lipitor-repack.xml")
    assert original.doc_id == "spl:c6e131fe-e7df-4876-83f7-9156fc4e8228"
    assert repack.doc_id == "spl:17a163ef-b349-4e32-bc8c-b02bac7f65d6"
    assert (original.version, original.date) == ("11", dt.date(2014, 1, 13))
    assert (repack.version, repack.date) == ("8", dt.date(2012, 2, 29))
    assert original.manufacturer == "Parke-Davis Div of Pfizer Inc"
    assert repack.manufacturer == "PD-Rx Pharmaceuticals, Inc."
    assert original.brand_names == repack.brand_names == ("Lipitor",)
    assert original.generic_names == ("atorvastatin calcium",)
    assert repack.generic_names == ("atorvastatin calcium trihydrate",)
    for label in (original, repack):
        # "4.1" has no text: the numbered heading is the contraindication itself.
        (liver,) = [passage for passage in label.passages if passage.section_number == "4.1"]
        assert liver.block == "heading"
        assert liver.text == (
            "Active liver disease, which may include unexplained persistent elevations in hepatic transaminase levels"
        )
        assert liver.section_code == "34070-3"


def test_label_without_title_gets_one_from_its_products(spl_dir: Path) -> None:
    label = read_label(spl_dir / "no-title.xml")
    assert label.title == "Haloperidol label"
    assert (label.brand_names, label.generic_names) == (("Haloperidol",), ("haloperidol",))
    assert label.doc_id == "spl:0027b8a3-73bf-4005-a7e3-b035f451a861"
    assert label.manufacturer == "Contract Pharmacy Services-PA"
    # An untitled coded section is named after its LOINC code.
    assert label.sections[0] == Section("Boxed Warning", None, "34066-1")
    warnings = [section for section in label.sections if section.code == "34071-1"]
    assert [child.title for child in warnings[0].children][:2] == [
        "Increased Mortality in Elderly Patients with Dementia-Related Psychosis",
        "Cardiovascular Effects",
    ]


def test_otc_label(spl_dir: Path) -> None:
    label = read_label(spl_dir / "cough.xml")
    # "Drug Facts" is the OTC panel's heading, so the title comes from the product names.
    assert label.title == "TRIAMINIC Childrens Night Time Cold and Cough (Diphenhydramine HCl, Phenylephrine HCl) label"
    assert label.extra["spl_title"] == "Drug Facts"
    assert label.brand_names == ("TRIAMINIC Childrens Night Time Cold and Cough",)
    assert label.extra["document_type"] == "HUMAN OTC DRUG LABEL"
    do_not_use = [passage for passage in label.passages if passage.section_code == "50570-1"]
    assert [passage.section_path for passage in do_not_use] == [("Warnings", "Do not use")] * 4
    assert do_not_use[0].text == "in a child under 4 years of age"
    (dosing,) = [passage for passage in label.passages if passage.block == "table"]
    assert "children 6 to under 12 years of age | 2 teaspoonfuls (10 mL)" in dosing.text.splitlines()


@pytest.mark.parametrize(
    ("name", "top_sections", "all_sections", "passages"),
    [
        ("humira.xml", 19, 76, 620),
        ("lipitor-orig.xml", 18, 80, 284),
        ("lipitor-repack.xml", 18, 80, 281),
        ("viagra.xml", 17, 60, 317),
        ("cough.xml", 9, 16, 37),
        ("no-title.xml", 11, 40, 92),
    ],
)
def test_section_and_passage_counts(
    spl_dir: Path, name: str, top_sections: int, all_sections: int, passages: int
) -> None:
    label = read_label(spl_dir / name)
    assert (len(label.sections), len(walk(label.sections)), len(label.passages)) == (
        top_sections,
        all_sections,
        passages,
    )


def test_truncated_file_names_source_and_line(spl_dir: Path) -> None:
    data = (spl_dir / "humira.xml").read_bytes()
    with pytest.raises(ReaderError) as caught:
        read_bytes(data[: len(data) // 2], "humira.xml")
    assert caught.value.source == "humira.xml"
    assert "malformed XML at line" in str(caught.value)
    assert str(caught.value).startswith("humira.xml: ")


def test_empty_input() -> None:
    with pytest.raises(ReaderError, match=r"^empty\.xml: empty file$"):
        read_bytes(b"", "empty.xml")


def test_other_xml_is_refused(corpus_dir: Path) -> None:
    medline = next(iter(sorted((corpus_dir / "pubmed").glob("*.xml.gz"))))
    with gzip.open(medline, "rb") as handle:
        data = handle.read()
    assert not spl.sniff(medline.name, data[:8192])
    with pytest.raises(ReaderError, match="not an SPL document: root element is <"):
        read_bytes(data, medline.name)


def test_label_without_set_id_is_refused(spl_dir: Path) -> None:
    root = etree.parse(str(spl_dir / "cough.xml")).getroot()
    set_id = root.find("{urn:hl7-org:v3}setId")
    root.remove(set_id)
    with pytest.raises(ReaderError, match=r"^cough\.xml: SPL document without a setId$"):
        read_bytes(etree.tostring(root), "cough.xml")


def test_label_without_sections_is_refused(spl_dir: Path) -> None:
    root = etree.parse(str(spl_dir / "cough.xml")).getroot()
    body = root.find("{urn:hl7-org:v3}component/{urn:hl7-org:v3}structuredBody")
    for component in list(body):
        section = component.find("{urn:hl7-org:v3}section")
        code = section.find("{urn:hl7-org:v3}code").get("code")
        if code not in ("48780-1", "51945-4"):  # keep only the product listing and the carton
            body.remove(component)
    with pytest.raises(ReaderError) as caught:
        read_bytes(etree.tostring(root), "cough.xml")
    assert caught.value.record == "00f66f25-3469-4c16-9baf-fba21e9628bd version 1"
    assert caught.value.detail == "label without sections"


def test_sniff(spl_dir: Path, corpus_dir: Path) -> None:
    for path in spl_dir.glob("*.xml"):
        assert spl.sniff(path.name, path.read_bytes()[:8192])
    pdq = next(iter((corpus_dir / "guidelines" / "nci-pdq").glob("*.md")))
    assert not spl.sniff(pdq.name, pdq.read_bytes()[:8192])
    schema = corpus_dir / "labels" / "openfda" / "druglabel_schema.json"
    assert not spl.sniff(schema.name, schema.read_bytes()[:8192])


def test_heading_helpers() -> None:
    assert parse_section_heading("1.2 Juvenile Idiopathic Arthritis") == ("1.2", "Juvenile Idiopathic Arthritis")
    assert parse_section_heading("16 HOW SUPPLIED/STORAGE AND HANDLING") == ("16", "HOW SUPPLIED/STORAGE AND HANDLING")
    assert parse_section_heading("Keep out of reach of children.") == (None, "Keep out of reach of children.")
    assert parse_section_heading("10 mg tablets") == (None, "10 mg tablets")
    assert title_from_code_name("SPL UNCLASSIFIED SECTION") == "SPL Unclassified"
    assert title_from_code_name("PACKAGE LABEL.PRINCIPAL DISPLAY PANEL") == "Package Label: Principal Display Panel"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=512))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    try:
        records = read_bytes(data)
    except ReaderError as error:
        assert error.source == "label.xml"
    else:
        assert all(isinstance(record, SourceDocument) for record in records)


@pytest.fixture(scope="module")
def cough_bytes(spl_dir: Path) -> bytes:
    return (spl_dir / "cough.xml").read_bytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=29_000), garbage=st.binary(max_size=16))
def test_garbled_real_label_gives_a_label_or_a_reader_error(cough_bytes: bytes, cut: int, garbage: bytes) -> None:
    data = cough_bytes[:cut] + garbage + cough_bytes[cut + len(garbage) :]
    try:
        records = read_bytes(data, "cough.xml")
    except ReaderError as error:
        assert error.source == "cough.xml"
    else:
        assert len(records) == 1
        assert records[0].doc_id.startswith("spl:")
