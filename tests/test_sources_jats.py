"""The JATS reader on real PubMed Central full texts of ../shared/corpus/research/pmc-oa-rct."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vademecum.errors import ReaderError
from vademecum.evidence.grading import EvidenceLevel, grade
from vademecum.records import DocumentKind, SourceDocument
from vademecum.sources import jats, registry

# NLM Journal Archiving DTD 2.3 (BioMed Central, 2004): tables in the back matter's "Figures and Tables".
CRIT_CARE = "PMC1065065.nxml"
# JATS 1.0 (Wiley, 2015): a randomised trial by its title, CC BY-NC-ND 4.0.
EUR_J_NEUROL = "PMC4676931.nxml"


@pytest.fixture(scope="module")
def folder(corpus_dir: Path) -> Path:
    return corpus_dir / "research" / "pmc-oa-rct"


def read(data: bytes, name: str = CRIT_CARE) -> SourceDocument:
    (document,) = jats.parse(io.BytesIO(data), name)  # type: ignore[arg-type]
    assert isinstance(document, SourceDocument)
    return document


def read_file(folder: Path, name: str) -> SourceDocument:
    return read((folder / name).read_bytes(), name)


@pytest.fixture(scope="module")
def crit_care(folder: Path) -> SourceDocument:
    return read_file(folder, CRIT_CARE)


@pytest.fixture(scope="module")
def neurology(folder: Path) -> SourceDocument:
    return read_file(folder, EUR_J_NEUROL)


def test_front_matter_of_a_dtd_2_3_article(crit_care: SourceDocument):
    doc = crit_care
    assert doc.doc_id == "pmid:15566594"  # the id the MEDLINE reader gives the same paper
    assert doc.kind is DocumentKind.RESEARCH and doc.reader == "jats"
    assert doc.locator == f"{CRIT_CARE}#pmid:15566594"
    assert doc.pmid == "15566594"
    assert doc.extra["pmcid"] == "PMC1065065"
    assert doc.doi == "10.1186/cc2969"
    assert doc.url == "https://pmc.ncbi.nlm.nih.gov/articles/PMC1065065/"
    assert doc.title == "Effects of lornoxicam on the physiology of severe sepsis"
    assert doc.journal == "Critical Care"
    # ppub gives the year alone; the electronic date is the full one.
    assert doc.year == 2004 and doc.date == dt.date(2004, 10, 27)
    assert doc.authors == ("Memiş D", "Karamanlıoğlu B", "Turan A", "Koyuncu O", "Pamukçu Z")
    assert doc.publication_types == ("research-article", "Research")
    assert doc.version == "pmc"


def test_licence_of_a_dtd_2_3_article(crit_care: SourceDocument):
    extra = crit_care.extra
    assert extra["licence"] == "CC BY 2.0"
    assert extra["licence_url"] == "http://creativecommons.org/licenses/by/2.0"
    assert extra["licence_type"] == "open-access"
    # The licence's own words; its empty <ext-link> prints as the address it links to.
    assert extra["licence_text"].startswith(
        "This is an Open Access article distributed under the terms of the Creative Commons Attribution "
        "License (http://creativecommons.org/licenses/by/2.0), which permits"
    )
    assert extra["copyright"] == "Copyright © 2004 Memiş et al., licensee BioMed Central Ltd."


def test_abstract_sections_are_passages_under_their_labels(crit_care: SourceDocument):
    abstract = [p for p in crit_care.passages if p.block == "abstract"]
    assert [p.section_path for p in abstract] == [
        ("Abstract", "Introduction"),
        ("Abstract", "Methods"),
        ("Abstract", "Results"),
        ("Abstract", "Conclusion"),
    ]
    assert abstract[0].text.startswith("The purpose of the present study was to evaluate the effects of intravenous")
    assert crit_care.passages[: len(abstract)] == tuple(abstract)  # the abstract comes first
    assert crit_care.sections[0].title == "Abstract"
    assert [child.title for child in crit_care.sections[0].children] == [
        "Introduction",
        "Methods",
        "Results",
        "Conclusion",
    ]


def test_body_paragraphs_keep_their_headings_and_citation_numbers(crit_care: SourceDocument):
    body = [p for p in crit_care.passages if p.block == "paragraph"]
    assert body[0].section_path == ("Introduction",)
    # <xref> citation numbers stay in place as the article prints them.
    assert body[0].text.startswith("Sepsis is defined as the systemic response to infection [1,2]. ")
    paths = {p.section_path for p in body}
    assert ("Methods", "Patient population and study design") in paths
    methods = next(section for section in crit_care.sections if section.title == "Methods")
    assert [child.title for child in methods.children][:2] == ["Patient population and study design", "Protocol"]
    # Figures' captions and the reference list are no passages.
    assert not any(p.text.startswith("Figure") for p in crit_care.passages)
    assert not any("J Cardiovasc Pharmacol" in p.text for p in crit_care.passages)


def test_tables_are_one_passage_each_under_the_section_that_cites_them(crit_care: SourceDocument):
    tables = [p for p in crit_care.passages if p.block == "table"]
    assert len(tables) == 5
    demographics = tables[1]
    lines = demographics.text.split("\n")
    assert lines[0] == "Table 2 Demographic and clinical characteristics of lornoxicam treated and placebo patients"
    assert lines[1] == "Characteristic | Lornoxicam group (n = 20) | Placebo group (n = 20)"
    assert "Mortality rate (%) | 35 | 40" in lines
    assert lines[-1].startswith("There were no significant differences between the groups.")  # its footnote
    assert demographics.section_path == ("Results", "Patient characteristics")


def test_a_jats_1_0_article_graded_as_a_randomised_trial_by_its_title(neurology: SourceDocument):
    doc = neurology
    assert doc.doc_id == "pmid:25962410"
    assert doc.extra["pmcid"] == "PMC4676931"
    assert doc.doi == "10.1111/ene.12724"
    assert doc.journal == "European Journal of Neurology"
    assert doc.year == 2015 and doc.date == dt.date(2015, 5, 12)
    assert doc.title.startswith("A randomized clinical trial to evaluate the effects of rasagiline")
    assert doc.publication_types == ("research-article", "Original Articles", "Randomized Controlled Trial")
    assert doc.extra["design_from"] == "title"
    assert grade(doc.kind, doc.publication_types).level is EvidenceLevel.RCT
    assert doc.extra["licence"] == "CC BY-NC-ND 4.0"
    assert doc.extra["licence_url"] == "http://creativecommons.org/licenses/by-nc-nd/4.0/"
    assert [p.section_path[-1] for p in doc.passages if p.block == "abstract"] == [
        "Background and purpose",
        "Methods",
        "Results",
        "Conclusions",
    ]
    tables = [p for p in doc.passages if p.block == "table"]
    assert [t.text.split("\n")[0] for t in tables] == [
        "Table 1 Demographics and baseline disease characteristics (safety population)",
        "Table 2 Cognitive battery scores",
        "Table 3 Change from baseline in UPDRS subdomains",
        "Table 4 Change from baseline in PDQ-39 domains",
    ]
    assert tables[0].section_path == ("Results", "Patient disposition")


def test_a_trial_protocol_is_not_graded_as_a_trial(folder: Path):
    doc = read_file(folder, "PMC2845119.nxml")
    assert doc.title.endswith("protocol for a randomised controlled trial")
    assert doc.publication_types == ("research-article", "Study protocol")
    assert "design_from" not in doc.extra
    assert grade(doc.kind, doc.publication_types).level is EvidenceLevel.UNCLASSIFIED


def test_without_pmid_the_pmcid_names_the_document(folder: Path):
    doc = read_file(folder, "PMC3184816.nxml")
    assert doc.doc_id == "pmcid:PMC3184816" and doc.pmid is None
    assert doc.url == "https://pmc.ncbi.nlm.nih.gov/articles/PMC3184816/"
    assert doc.passages and all(p.block == "abstract" for p in doc.passages)  # this file has no body


def test_without_abstract_the_body_still_loads(folder: Path):
    doc = read_file(folder, "PMC3642659.nxml")
    assert not any(p.block == "abstract" for p in doc.passages)
    assert [section.title for section in doc.sections] == ["Introduction", "Methods", "Results", "Conclusion"]


def test_without_license_no_licence_is_inferred(folder: Path):
    doc = read_file(folder, "PMC4674480.nxml")
    assert not {"licence", "licence_url", "licence_text", "licence_type"} & doc.extra.keys()
    assert doc.extra["copyright"] == "© The Author(s) 2015"


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://creativecommons.org/licenses/by/4.0/", "CC BY 4.0"),
        ("https://creativecommons.org/licenses/by-nc-sa/3.0", "CC BY-NC-SA 3.0"),
        ("http://creativecommons.org/licenses/by-nc/2.0/uk/", "CC BY-NC 2.0 UK"),
        ("http://creativecommons.org/licenses/by/3.0/deed.en_GB", "CC BY 3.0"),
        ("http://creativecommons.org/licenses/by/", "CC BY"),
        ("http://creativecommons.org/publicdomain/zero/1.0/", "CC0 1.0"),
        ("http://www.dovepress.com/terms.php", None),
    ],
)
def test_creative_commons_names(url: str, name: str | None):
    assert jats.creative_commons_name(url) == name


def test_every_file_loads_with_an_id_and_sniffs_as_jats(folder: Path):
    licences = 0
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        assert registry.detect_format(path.name, data[:8192], str(path)) == "jats"
        doc = read(data, path.name)
        assert re.fullmatch(r"pmid:\d+|pmcid:PMC\d+", doc.doc_id)
        licences += "licence" in doc.extra
    assert licences == 1198  # 11 files state their terms only in a copyright statement


def test_sniff_accepts_nothing_else_in_the_corpus(corpus_dir: Path, folder: Path):
    others = [p for p in corpus_dir.rglob("*") if p.is_file() and p.parent != folder]
    assert others
    for path in others:
        with path.open("rb") as handle:
            assert not jats.sniff(path.name, handle.read(8192)), path


# --- malformed input: broken copies of real files -------------------------------------------------------


@pytest.fixture(scope="module")
def crit_care_bytes(folder: Path) -> bytes:
    return (folder / CRIT_CARE).read_bytes()


def test_truncated_file_names_the_file_and_line(crit_care_bytes: bytes):
    with pytest.raises(ReaderError, match=r"malformed XML at line \d+") as error:
        read(crit_care_bytes[: len(crit_care_bytes) // 2])
    assert error.value.source == CRIT_CARE


def test_an_article_without_front_matter_is_an_error(crit_care_bytes: bytes):
    start, end = crit_care_bytes.index(b"<front>"), crit_care_bytes.index(b"</front>") + len(b"</front>")
    with pytest.raises(ReaderError, match="without <front>/<article-meta>") as error:
        read(crit_care_bytes[:start] + crit_care_bytes[end:])
    assert error.value.source == CRIT_CARE


def test_an_article_without_any_id_is_an_error(crit_care_bytes: bytes):
    data = re.sub(rb'<article-id pub-id-type="(pmid|pmc)">[^<]*</article-id>', b"", crit_care_bytes)
    with pytest.raises(ReaderError, match="without PMID or PMCID"):
        read(data)


def test_non_xml_and_other_xml_are_errors(corpus_dir: Path):
    pubtator = (corpus_dir / "research" / "pubtator-cdr" / "CDR_TestSet.PubTator.txt").read_bytes()
    with pytest.raises(ReaderError, match="malformed XML"):
        read(pubtator, "CDR_TestSet.PubTator.txt")
    spl = (corpus_dir / "labels" / "spl" / "humira.xml").read_bytes()
    with pytest.raises(ReaderError, match="not a JATS article: root element is <document>"):
        read(spl, "humira.xml")
    with pytest.raises(ReaderError, match="empty file"):
        read(b"")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_a_document_or_reader_error(payload: bytes):
    try:
        read(payload)
    except ReaderError as error:
        assert error.source == CRIT_CARE


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_real_file_gives_a_document_or_reader_error(crit_care_bytes: bytes, data: st.DataObject):
    cut = data.draw(st.integers(min_value=0, max_value=len(crit_care_bytes)))
    garbage = data.draw(st.binary(max_size=16))
    damaged = data.draw(
        st.sampled_from(
            [
                crit_care_bytes[:cut],
                crit_care_bytes[:cut] + garbage + crit_care_bytes[cut + len(garbage) :],
            ]
        )
    )
    try:
        document = read(damaged)
    except ReaderError as error:
        assert error.source == CRIT_CARE
    else:
        assert document.doc_id.startswith(("pmid:", "pmcid:"))
