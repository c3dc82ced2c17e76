"""The PubTator reader on the real BioCreative V CDR files of ../shared/corpus/research/pubtator-cdr."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vademecum.errors import ReaderError
from vademecum.records import DocumentKind, SourceDocument
from vademecum.sources import pubtator, registry

TEST_SET = "CDR_TestSet.PubTator.txt"


@pytest.fixture(scope="module")
def folder(corpus_dir: Path) -> Path:
    return corpus_dir / "research" / "pubtator-cdr"


@pytest.fixture(scope="module")
def test_set(folder: Path) -> bytes:
    return (folder / TEST_SET).read_bytes()


def read(data: bytes, name: str = TEST_SET) -> list[SourceDocument]:
    return list(pubtator.parse(io.BytesIO(data), name))  # type: ignore[arg-type]


def test_every_file_reads_all_its_records(folder: Path):
    counts = {path.name: len(read(path.read_bytes(), path.name)) for path in sorted(folder.iterdir())}
    assert counts == {
        "CDR_DevelopmentSet.PubTator.txt": 500,
        "CDR_TestSet.PubTator.txt": 500,
        "CDR_TrainingSet.PubTator.txt": 1000,
    }


def test_first_record_of_the_test_set(test_set: bytes):
    first = read(test_set)[0]
    lines = test_set.decode().splitlines()
    assert first.doc_id == "pmid:8701013"  # the id the MEDLINE reader gives the same article
    assert first.kind is DocumentKind.RESEARCH and first.reader == "pubtator"
    assert first.pmid == "8701013"
    assert first.url == "https://pubmed.ncbi.nlm.nih.gov/8701013/"
    assert first.locator == f"{TEST_SET}#pmid:8701013"
    assert first.title == "Famotidine-associated delirium. A series of six cases."
    # The abstract is one passage, exactly the file's text.
    (passage,) = first.passages
    assert passage.text == lines[1].removeprefix("8701013|a|")
    assert (passage.section_path, passage.block) == (("Abstract",), "abstract")
    # PubTator has no year, journal or publication types: none is made up; its version ranks below MEDLINE's.
    assert first.year is None and first.date is None and first.journal is None
    assert first.publication_types == () and first.mesh_headings == ()
    assert first.version == "0"
    # Each concept once, with its first mention; the CID relation line is not an entity.
    assert first.extra == {"chemicals": "D015738 Famotidine", "diseases": "D003693 delirium; D014456 ulcers"}


def test_composite_and_unmapped_mentions(folder: Path):
    documents = {doc.pmid: doc for doc in read((folder / "CDR_TrainingSet.PubTator.txt").read_bytes())}
    # "cardiovascular, and respiratory depression" is annotated D002318|D012131: both concepts are kept.
    diseases = documents["3115150"].extra["diseases"]
    assert "D002318 cardiovascular, and respiratory depression" in diseases
    assert "D012131 cardiovascular, and respiratory depression" in diseases
    # A mention the corpus could not map (id -1) names no concept.
    test_set = {doc.pmid: doc for doc in read((folder / TEST_SET).read_bytes())}
    assert "-1" not in test_set["24220752"].extra.get("chemicals", "")


def test_sniff_accepts_pubtator_and_nothing_else_in_the_corpus(corpus_dir: Path, folder: Path):
    for path in folder.iterdir():
        head = path.read_bytes()[:8192]
        assert pubtator.sniff(path.name, head)
        assert registry.detect_format(path.name, head, str(path)) == "pubtator"
    others = [p for p in corpus_dir.rglob("*") if p.is_file() and p.parent != folder]
    assert others
    for path in others:
        with path.open("rb") as handle:
            assert not pubtator.sniff(path.name, handle.read(8192)), path


def lines_of(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def broken(data: bytes, line: int, replacement: bytes | None) -> bytes:
    """The file with one line (1-based) replaced, or removed when ``replacement`` is None."""
    lines = lines_of(data)
    lines[line - 1 : line] = [] if replacement is None else [replacement]
    return b"".join(lines)


def test_a_line_that_is_no_pubtator_line_names_the_file_line_and_record(test_set: bytes):
    # Line 3 is the first annotation of 8701013: without its tabs it is neither text nor annotation.
    line = lines_of(test_set)[2].replace(b"\t", b" ")
    with pytest.raises(ReaderError, match="line 3: not a PubTator line") as error:
        read(broken(test_set, 3, line))
    assert error.value.source == TEST_SET
    assert error.value.record == "pmid:8701013"


def test_an_abstract_without_a_title_is_an_error(test_set: bytes):
    with pytest.raises(ReaderError, match="line 1: abstract without a title line") as error:
        read(broken(test_set, 1, None))
    assert error.value.record == "pmid:8701013"


def test_a_pmid_mismatch_is_an_error(test_set: bytes):
    # The second record's abstract line, moved into the first record.
    lines = lines_of(test_set)
    second_abstract = next(line for line in lines if line.startswith(b"439781|a|"))
    with pytest.raises(ReaderError, match="line 2: abstract for PMID 439781 inside the record of PMID 8701013"):
        read(broken(test_set, 2, second_abstract))


def test_a_missing_blank_line_between_records_is_an_error(test_set: bytes):
    blank = lines_of(test_set).index(b"\n") + 1
    with pytest.raises(ReaderError, match=f"line {blank}: title of PMID 439781 inside the record of PMID 8701013"):
        read(broken(test_set, blank, None))


def test_a_truncated_mention_line_is_an_error(test_set: bytes):
    cut = test_set.index(b"\tChemical")  # line 3 ends "8701013\t0\t10\tFamotidine"
    with pytest.raises(ReaderError, match="line 3: a mention needs"):
        read(test_set[:cut])


@pytest.mark.parametrize(
    ("payload", "message"),
    [(b"", "empty file"), (b"\n\n", "no PubTator records"), (b"8701013|t|\xff\n", "not UTF-8")],
)
def test_bad_input_raises_reader_error(payload: bytes, message: str):
    with pytest.raises(ReaderError, match=message):
        read(payload)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1024))
def test_arbitrary_bytes_give_records_or_reader_error(payload: bytes):
    try:
        records = read(payload)
    except ReaderError as error:
        assert error.source == TEST_SET
    else:
        assert all(record.doc_id.startswith("pmid:") for record in records)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_real_file_gives_records_or_reader_error(test_set: bytes, data: st.DataObject):
    head = test_set[:20_000]
    cut = data.draw(st.integers(min_value=0, max_value=len(head)))
    garbage = data.draw(st.binary(max_size=8))
    try:
        records = read(head[:cut] + garbage + head[cut + len(garbage) :])
    except ReaderError as error:
        assert error.source == TEST_SET
    else:
        assert all(record.doc_id.startswith("pmid:") for record in records)
