"""The NCI drug information reader on the real drug pages of the demo corpus."""

from __future__ import annotations

import doctest
import io
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vademecum.errors import ReaderError
from vademecum.records import DocumentKind, SourceDocument
from vademecum.sources import markdown, nci_drug, pdq, protocol


@pytest.fixture(scope="module")
def drug_dir(corpus_dir: Path) -> Path:
    return corpus_dir / "drug-info" / "nci"


@pytest.fixture(scope="module")
def pages(drug_dir: Path) -> dict[str, SourceDocument]:
    """Every drug page of the corpus, parsed once, by slug (the file name without its common prefix)."""
    results = {}
    for path in sorted(drug_dir.glob("*.md")):
        with path.open("rb") as handle:
            (document,) = nci_drug.parse(handle, path.name)
        results[path.stem.removeprefix("about-cancer-treatment-drugs-")] = document
    return results


def test_every_page_parses_into_one_document(pages: dict[str, SourceDocument]) -> None:
    assert len(pages) == 436
    assert all(doc.doc_id == f"nci-drug:{slug}" for slug, doc in pages.items())
    assert all(doc.kind is DocumentKind.DRUG_INFORMATION and doc.passages for doc in pages.values())
    assert sum(len(doc.passages) for doc in pages.values()) == 4978
    assert sum(any(s.title == "Use in Cancer" for s in doc.sections) for doc in pages.values()) == 389
    assert sum(bool(doc.brand_names) for doc in pages.values()) == 313
    assert sum("dailymed_setid" in doc.extra for doc in pages.values()) == 245


def test_drug_page(pages: dict[str, SourceDocument]) -> None:
    page = pages["abemaciclib"]
    assert page.title == "Abemaciclib"
    assert page.url == "https://www.cancer.gov/about-cancer/treatment/drugs/abemaciclib"
    assert page.issuer == "National Cancer Institute"
    assert page.brand_names == ("Verzenio",)
    assert page.generic_names == ("Abemaciclib",)
    assert page.extra == {
        "fda_approved": "Yes",
        "dailymed_setid": "be4bc0de-0fdc-4d46-8d25-be43c79e6a06",
        "dailymed_url": "https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=be4bc0de-0fdc-4d46-8d25-be43c79e6a06"
        "&audience=consumer",
    }
    assert [section.title for section in page.sections] == ["Use in Cancer"]
    texts = [p.text for p in page.passages]
    assert "Placeholder slot" not in texts and "Verzenio" not in texts and "Yes" not in texts
    assert not any(text.startswith("(") or "DailyMed" in text for text in texts)
    assert page.passages[0].section_path == () and page.passages[0].text.startswith("Abemaciclib works by")


def test_use_in_cancer_items_keep_their_lead_in(pages: dict[str, SourceDocument], drug_dir: Path) -> None:
    page = pages["abemaciclib"]
    use = [p for p in page.passages if p.section_path == ("Use in Cancer",)]
    raw = (drug_dir / "about-cancer-treatment-drugs-abemaciclib.md").read_text(encoding="utf-8")
    section = raw.split("## Use in Cancer", 1)[1].split("\n## ", 1)[0]
    items = [p for p in use if p.block == "list_item"]
    assert len(items) == len(re.findall(r"^- ", section, re.MULTILINE)) == 6
    lead = use[0].text
    assert lead.endswith("to treat:")
    assert all(item.text.startswith(lead + " ") for item in items)
    # The scrape flattens the sublist under "…It is used:"; its items carry that parent item too.
    parent = items[2].text
    assert parent.endswith("It is used:")
    assert all(item.text.startswith(parent + " ") for item in items[3:])


def test_flattened_sublist_ends_at_the_next_bold_item(pages: dict[str, SourceDocument]) -> None:
    page = pages["bevacizumab"]
    assert page.brand_names == ("Alymsys", "Avastin", "Jobevne", "Mvasi", "Zirabev")
    items = [p.text for p in page.passages if p.block == "list_item"]
    assert len(items) == 12
    colorectal = [text for text in items if "Colorectal cancer" in text]
    assert len(colorectal) == 3
    assert "Glioblastoma" in items[4] and "Colorectal" not in items[4]


def test_combination_page(pages: dict[str, SourceDocument]) -> None:
    page = pages["abvd"]
    assert page.title == "ABVD"
    assert page.brand_names == ()
    assert page.generic_names == ("Doxorubicin Hydrochloride", "Bleomycin", "Vinblastine Sulfate", "Dacarbazine")
    (table,) = [p for p in page.passages if p.block == "table"]
    lines = table.text.splitlines()
    assert lines[0] == "Drugs in the ABVD combination:"
    assert lines[1] == "A | = Doxorubicin Hydrochloride (Adriamycin)"
    assert len(lines) == 5
    (item,) = [p for p in page.passages if p.block == "list_item"]
    assert item.text == "ABVD is used to treat: Hodgkin lymphoma."
    assert item.section_path == ("Use in Cancer",)


def test_drugs_for_a_cancer_page(pages: dict[str, SourceDocument]) -> None:
    page = pages["anal"]
    assert page.title == "Drugs Approved for Anal Cancer"
    assert page.generic_names == () and page.brand_names == ()
    items = [p for p in page.passages if p.block == "list_item"]
    assert len(items) == 4
    assert {p.section_path for p in items} == {("Drugs Approved to Prevent Anal Cancer",)}
    # Empty "##" headings take their title from the next line.
    assert [s.title for s in pages["bladder"].sections] == [
        "Drugs Approved for Bladder Cancer",
        "Drug Combinations Used in Bladder Cancer",
    ]


def test_template_sections_and_navigation_are_left_out(pages: dict[str, SourceDocument]) -> None:
    for doc in pages.values():
        for passage in doc.passages:
            assert not (passage.section_path and passage.section_path[0].startswith("More About")), doc.doc_id
            assert passage.section_path[:1] not in (("Research Results and Related Resources",),)
            assert passage.section_path[:1] != ("Clinical Trials Accepting Patients",)
            assert passage.text != "Placeholder slot" and not nci_drug.is_pronunciation(passage.text)
            assert not passage.text.startswith("Credit:")
            assert len(passage.text) > 1 and not re.search(r"\]\(|\*\*", passage.text), doc.doc_id
    a_to_z = pages["cancer-drugs"]
    assert a_to_z.passages[1].section_path == ("A",)  # the letter index above it is navigation


def test_every_pronunciation_line_of_the_corpus_is_recognised(drug_dir: Path) -> None:
    found = 0
    for path in sorted(drug_dir.glob("*.md")):
        for paragraph in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            plain = markdown.clean_inline(paragraph.strip())
            if plain.startswith("(") and plain.endswith(")") and len(plain.split()) <= 12:
                found += nci_drug.is_pronunciation(plain)
    assert found == 342


def test_sniff_takes_drug_pages_only(drug_dir: Path, corpus_dir: Path) -> None:
    for path in sorted(drug_dir.glob("*.md")):
        head = path.read_bytes()[:8192]
        assert nci_drug.sniff(path.name, head), path.name
        assert not pdq.sniff(path.name, head) and not protocol.sniff(path.name, head), path.name
    for path in sorted((corpus_dir / "guidelines" / "nci-pdq").glob("*.md")):
        assert not nci_drug.sniff(path.name, path.read_bytes()[:8192]), path.name


def test_bad_input_is_a_reader_error() -> None:
    with pytest.raises(ReaderError, match="empty file"):
        list(nci_drug.parse(io.BytesIO(b"  \n"), "empty.md"))
    with pytest.raises(ReaderError, match=r"latin\.md.*not UTF-8"):
        list(nci_drug.parse(io.BytesIO(b"---\ntitle: caf\xe9\n---\n"), "latin.md"))
    with pytest.raises(ReaderError, match="no NCI drug page url"):
        list(nci_drug.parse(io.BytesIO(b"---\nurl: https://www.cancer.gov/types\n---\n# x\n"), "other.md"))


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=0, max_value=8000), noise=st.binary(max_size=40))
def test_truncated_or_garbled_pages_give_a_record_or_a_reader_error(drug_dir: Path, cut: int, noise: bytes) -> None:
    data = (drug_dir / "about-cancer-treatment-drugs-bevacizumab.md").read_bytes()
    try:
        records = list(nci_drug.parse(io.BytesIO(data[:cut] + noise + data[cut:]), "garbled.md"))
    except ReaderError as error:
        assert error.source == "garbled.md"
    else:
        assert len(records) == 1


def test_docstring_examples() -> None:
    assert doctest.testmod(nci_drug).failed == 0
