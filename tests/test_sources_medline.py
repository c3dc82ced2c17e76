"""The MEDLINE/PubMed XML reader on the real files of ../shared/corpus/pubmed."""

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
from vademecum.records import DeletedDocument, DocumentKind, MeshHeading, SourceDocument, SourceRecord
from vademecum.sources import medline

# (file, citations, deletions), counted with grep on the decompressed files.
FILE_COUNTS = [
    ("medline16n0902-sample.xml.gz", 604, 1),
    ("pubmed24-sample.xml.gz", 4, 0),
    ("pubmedparser-pubmed21n0001.xml.gz", 49, 0),
    ("pubmedparser-pubmed21n1000.xml.gz", 29, 0),
    ("pubmedparser-pubmed21n1001.xml.gz", 37, 0),
    ("pubmedparser-pubmed21n1002.xml.gz", 45, 0),
    ("pubmedparser-pubmed21n1003.xml.gz", 51, 0),
    ("pubmedparser-pubmed21n1004.xml.gz", 88, 0),
    ("pubmedparser-pubmed21n1005.xml.gz", 20, 0),
]


def raw(corpus_dir: Path, name: str) -> bytes:
    with gzip.open(corpus_dir / "pubmed" / name) as handle:
        return handle.read()


def read(corpus_dir: Path, name: str) -> list[SourceRecord]:
    with gzip.open(corpus_dir / "pubmed" / name) as handle:
        return list(medline.parse(handle, name))


def by_pmid(records: list[SourceRecord]) -> dict[str, SourceDocument]:
    return {record.pmid: record for record in records if isinstance(record, SourceDocument)}


@pytest.fixture(scope="module")
def corpus_records(corpus_dir: Path) -> dict[str, list[SourceRecord]]:
    return {name: read(corpus_dir, name) for name, _, _ in FILE_COUNTS}


@pytest.fixture(scope="module")
def documents(corpus_records: dict[str, list[SourceRecord]]) -> dict[str, SourceDocument]:
    found: dict[str, SourceDocument] = {}
    for records in corpus_records.values():
        found.update(by_pmid(records))
    return found


@pytest.mark.parametrize(("name", "citations", "deletions"), FILE_COUNTS)
def test_record_counts_of_each_file(corpus_records, name, citations, deletions):
    records = corpus_records[name]
    assert sum(isinstance(record, SourceDocument) for record in records) == citations
    assert sum(isinstance(record, DeletedDocument) for record in records) == deletions
    assert len({record.doc_id for record in records}) == citations + deletions


def test_every_pubmed_file_is_sniffed_and_nothing_else_in_the_corpus_is(corpus_dir):
    for name, _, _ in FILE_COUNTS:
        assert medline.sniff(name, raw(corpus_dir, name)[:8192])
    others = [p for p in corpus_dir.rglob("*") if p.is_file() and p.parent.name != "pubmed"]
    assert others
    for path in others:
        with path.open("rb") as handle:
            assert not medline.sniff(path.name, handle.read(8192)), path


def test_pubmed24_record_36400559_field_by_field(documents):
    doc = documents["36400559"]
    assert doc.doc_id == "pmid:36400559"
    assert doc.kind is DocumentKind.RESEARCH
    assert doc.reader == "medline"
    assert doc.locator == "pubmed24-sample.xml.gz#pmid:36400559"
    assert doc.version == "1"
    assert doc.title == "Back Pain: Differential Diagnosis and Management."
    assert doc.journal == "Neurologic clinics"
    assert doc.year == 2023
    # PubDate is "2023 Feb" (no day); the electronic ArticleDate is the full date.
    assert doc.date == dt.date(2022, 10, 29)
    assert doc.doi == "10.1016/j.ncl.2022.07.002"
    assert doc.pmid == "36400559"
    assert doc.url == "https://pubmed.ncbi.nlm.nih.gov/36400559/"
    assert doc.language == "eng"
    assert doc.authors == ("Gibbs D", "McGahan BG", "Ropper AE", "Xu DS")
    assert doc.publication_types == ("Journal Article", "Review")
    assert doc.extra == {"citation_status": "MEDLINE"}
    assert [(m.descriptor, m.ui, m.major) for m in doc.mesh_headings] == [
        ("Humans", "D006801", False),
        ("Low Back Pain", "D017116", True),
        ("Diagnosis, Differential", "D003937", False),
        ("Back Pain", "D001416", False),
        ("Anti-Inflammatory Agents, Non-Steroidal", "D000894", False),
        ("Cognitive Behavioral Therapy", "D015928", True),
    ]
    assert doc.mesh_headings[1].qualifiers == ("diagnosis", "etiology", "therapy")
    # One unlabelled AbstractText: one passage; the title is not a passage.
    assert len(doc.passages) == 1
    passage = doc.passages[0]
    assert passage.section_path == ("Abstract",)
    assert passage.block == "abstract"
    assert passage.section_code is None
    assert passage.text.startswith("Back pain is a common condition affecting millions of individuals each year.")
    assert "greater than 6 weeks" in passage.text  # &#xa0; normalised to a space
    assert doc.title not in passage.text


def test_major_topic_on_a_qualifier_makes_the_heading_major(documents):
    doc = documents["2930949"]
    back_pain = next(m for m in doc.mesh_headings if m.descriptor == "Back Pain")
    # DescriptorName MajorTopicYN="N", QualifierName physiopathology MajorTopicYN="Y".
    assert back_pain == MeshHeading(
        descriptor="Back Pain",
        ui="D001416",
        major=True,
        qualifiers=(
            "diagnosis",
            "epidemiology",
            "etiology",
            "physiopathology",
            "prevention & control",
            "therapy",
        ),
    )
    assert doc.date == dt.date(1985, 8, 1)  # PubDate "1985 Aug", no ArticleDate: first of the month
    assert doc.extra == {"citation_status": "MEDLINE", "pmcid": "PMC1306303"}


def test_labelled_abstract_sections_become_passages_in_order(documents):
    doc = documents["28786991"]
    assert [(p.section_path, p.section_code) for p in doc.passages] == [
        (("OBJECTIVE",), "OBJECTIVE"),
        (("METHODS",), "METHODS"),
        (("RESULTS",), "RESULTS"),
        (("CONCLUSIONS",), "CONCLUSIONS"),
    ]
    assert doc.passages[0].text.startswith("To synthesize outputs and outcomes of community-based")
    assert doc.publication_types == ("Journal Article", "Meta-Analysis", "Review", "Systematic Review")


def test_label_without_category_and_unassigned_category(documents):
    no_category = documents["31418823"]
    assert [(p.section_path[0], p.section_code) for p in no_category.passages] == [
        ("OBJECTIVES", None),
        ("METHODS", None),
        ("RESULTS", None),
        ("CONCLUSION", None),
    ]
    unassigned = documents["31388332"]
    assert [p.section_path for p in unassigned.passages] == [
        ("Background",),
        ("Methods",),
        ("Results",),
        ("Conclusion",),
    ]
    assert {p.section_code for p in unassigned.passages} == {"UNASSIGNED"}


def test_record_without_abstract_has_no_passages(documents):
    doc = documents["11446611"]
    assert doc.title == "Acute back pain."
    assert doc.passages == ()
    assert doc.year == 2001
    assert doc.date is None  # PubDate has a year only: no day or month is made up
    # No ELocationID: the DOI comes from PubmedData/ArticleIdList.
    assert doc.doi == "10.7861/clinmedicine.1-3-188"


def test_medline_date_gives_the_first_year_and_month(documents):
    doc = documents["18621939"]  # <MedlineDate>2008 Jul-Aug</MedlineDate>
    assert doc.year == 2008
    assert doc.date == dt.date(2008, 7, 1)
    slash = documents["31540998"]  # <MedlineDate>2019 Sep/Oct</MedlineDate> with an ArticleDate
    assert slash.year == 2019
    assert slash.date == dt.date(2019, 10, 22)


def test_inline_markup_in_title_is_kept_as_text(documents):
    doc = documents["31388315"]  # ArticleTitle contains <i>RAS</i>
    assert doc.title == (
        "The impact of panitumumab treatment on survival and quality of life in patients with "
        "RAS wild-type metastatic colorectal cancer."
    )


def test_collective_names_are_authors(documents):
    assert documents["25345997"].authors[0] == "Movement Disorder Group"
    assert documents["31418851"].authors[-1] == "participating investigators"
    assert documents["25864598"].authors[:2] == ("Bousman CA", "McKetin R")


def test_delete_citation_yields_deleted_document(corpus_records):
    records = corpus_records["medline16n0902-sample.xml.gz"]
    deleted = [record for record in records if isinstance(record, DeletedDocument)]
    assert deleted == [
        DeletedDocument(doc_id="pmid:26432306", reader="medline", locator="medline16n0902-sample.xml.gz#pmid:26432306")
    ]
    assert records[-1] == deleted[0]  # it is the file's last element
    assert records[0].doc_id == "pmid:17942999"


def test_publication_types_and_retraction_are_read_not_graded(documents):
    retracted = documents["31541003"]
    assert retracted.publication_types == ("Journal Article", "Retracted Publication")
    assert retracted.kind is DocumentKind.RESEARCH


def test_vernacular_title_is_used_when_article_title_is_empty(corpus_dir):
    root = etree.fromstring(raw(corpus_dir, "medline16n0902-sample.xml.gz"))
    citation = next(c for c in root.iterfind("MedlineCitation") if c.findtext("PMID") == "26407462")
    vernacular = citation.findtext("Article/VernacularTitle")
    assert vernacular and vernacular != citation.findtext("Article/ArticleTitle")
    citation.find("Article/ArticleTitle").text = ""
    document = b"<MedlineCitationSet>" + etree.tostring(citation) + b"</MedlineCitationSet>"
    (doc,) = medline.parse(io.BytesIO(document), "edited.xml")
    assert doc.title == vernacular
    assert doc.language == "ita"


def test_reference_list_dois_are_not_the_article_doi(corpus_dir):
    # Recent files give DOIs in each reference's ArticleIdList; the corpus's references only have PMIDs,
    # so move a record's own DOI into its first reference and check it is no longer the record's DOI.
    root = etree.fromstring(raw(corpus_dir, "pubmedparser-pubmed21n1000.xml.gz"))
    article = next(a for a in root.iterfind("PubmedArticle") if a.find("PubmedData/ReferenceList") is not None)
    own = article.xpath(
        "MedlineCitation/Article/ELocationID[@EIdType='doi'] | PubmedData/ArticleIdList/ArticleId[@IdType='doi']"
    )
    assert own
    for element in own:
        element.getparent().remove(element)
    reference_ids = article.find("PubmedData/ReferenceList/Reference/ArticleIdList")
    reference_ids.append(etree.fromstring(b'<ArticleId IdType="doi"/>'))
    reference_ids[-1].text = own[0].text
    document = b"<PubmedArticleSet>" + etree.tostring(article) + b"</PubmedArticleSet>"
    (doc,) = medline.parse(io.BytesIO(document), "edited.xml")
    assert doc.doi is None


def test_truncated_xml_names_the_file_and_the_record_being_read(corpus_dir):
    data = raw(corpus_dir, "pubmedparser-pubmed21n1000.xml.gz")
    cut = data.index(b"<Abstract>", data.index(b'<PMID Version="1">31388333</PMID>'))
    with pytest.raises(ReaderError) as caught:
        list(medline.parse(io.BytesIO(data[:cut]), "pubmed21n1000.xml"))
    error = caught.value
    assert error.source == "pubmed21n1000.xml"
    assert error.record == "pmid:31388333"
    assert "truncated" in str(error) and "31388333" in str(error)


def test_truncated_between_records_names_the_last_complete_one(corpus_dir):
    data = raw(corpus_dir, "medline16n0902-sample.xml.gz")
    cut = data.index(b"</MedlineCitation>") + len(b"</MedlineCitation>")
    with pytest.raises(ReaderError) as caught:
        list(medline.parse(io.BytesIO(data[:cut]), "medline16.xml"))
    assert caught.value.record == "pmid:17942999"


def test_truncated_in_the_first_record(corpus_dir):
    data = raw(corpus_dir, "medline16n0902-sample.xml.gz")
    with pytest.raises(ReaderError, match="before the first complete record") as caught:
        list(medline.parse(io.BytesIO(data[:2000]), "medline16.xml"))
    assert caught.value.source == "medline16.xml"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "malformed"),
        (b"not xml at all", "malformed"),
        (b"<PubmedArticleSet><PubmedArticle>", "malformed"),
        (b"<document><title>x</title></document>", "not MEDLINE/PubMed XML"),
        (b"<document><MedlineCitation><PMID>1</PMID></MedlineCitation></document>", "not MEDLINE/PubMed XML"),
        (b"<MedlineCitationSet><MedlineCitation><Article/></MedlineCitation></MedlineCitationSet>", "without PMID"),
        (b"<MedlineCitationSet><MedlineCitation><PMID>12a</PMID></MedlineCitation></MedlineCitationSet>", "PMID"),
        (b"<PubmedArticleSet><PubmedArticle/></PubmedArticleSet>", "without MedlineCitation"),
    ],
)
def test_bad_input_raises_reader_error(payload, message):
    with pytest.raises(ReaderError, match=message) as caught:
        list(medline.parse(io.BytesIO(payload), "bad.xml"))
    assert caught.value.source == "bad.xml"


def test_an_empty_set_has_no_records():
    assert list(medline.parse(io.BytesIO(b"<PubmedArticleSet></PubmedArticleSet>"), "empty.xml")) == []


class CountingReader(io.BytesIO):
    """A handle that remembers how many bytes were read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_parse_streams_instead_of_reading_the_whole_file(corpus_dir):
    data = raw(corpus_dir, "medline16n0902-sample.xml.gz")
    handle = CountingReader(data)
    records = medline.parse(handle, "medline16.xml")
    first = next(records)
    assert first.doc_id == "pmid:17942999"
    assert handle.bytes_read < len(data) / 10


def test_finished_records_are_freed(corpus_dir, monkeypatch):
    data = raw(corpus_dir, "pubmedparser-pubmed21n1004.xml.gz")
    roots = []
    real_release = medline._release

    def spy(element: etree._Element) -> None:
        real_release(element)
        roots.append(element.getroottree().getroot())

    monkeypatch.setattr(medline, "_release", spy)
    count = sum(1 for _ in medline.parse(io.BytesIO(data), "pubmed21n1004.xml"))
    assert count == 88
    # After each record only that (now empty) record is left under the root.
    assert all(len(root) == 1 and len(root[0]) == 0 for root in roots)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_records_or_reader_error(payload):
    try:
        for record in medline.parse(io.BytesIO(payload), "fuzz.xml"):
            assert isinstance(record, SourceDocument | DeletedDocument)
    except ReaderError as error:
        assert error.source == "fuzz.xml"


@pytest.fixture(scope="module")
def small_real_file(corpus_dir: Path) -> bytes:
    return raw(corpus_dir, "pubmed24-sample.xml.gz")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_real_file_gives_records_or_reader_error(small_real_file, data):
    start = data.draw(st.integers(0, len(small_real_file)))
    end = data.draw(st.integers(start, min(len(small_real_file), start + 64)))
    filler = data.draw(st.binary(max_size=16))
    damaged = small_real_file[:start] + filler + small_real_file[end:]
    try:
        for record in medline.parse(io.BytesIO(damaged), "damaged.xml"):
            assert isinstance(record, SourceDocument | DeletedDocument)
            assert record.doc_id.startswith("pmid:")
    except ReaderError as error:
        assert error.source == "damaged.xml"
