"""The PubMedQA reader on the real ori_pqal.json of ../shared/corpus/pubmedqa."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vademecum.errors import ReaderError
from vademecum.records import DocumentKind, MeshHeading, SourceDocument
from vademecum.sources import pubmedqa

NAME = "ori_pqal.json"


@pytest.fixture(scope="module")
def raw_json(corpus_dir: Path) -> bytes:
    return (corpus_dir / "pubmedqa" / NAME).read_bytes()


@pytest.fixture(scope="module")
def documents(raw_json: bytes) -> list[SourceDocument]:
    return list(pubmedqa.parse(io.BytesIO(raw_json), NAME))


def test_reads_all_1000_instances(documents, raw_json):
    assert len(documents) == 1000
    assert len({doc.doc_id for doc in documents}) == 1000
    assert all(doc.kind is DocumentKind.RESEARCH and doc.reader == "pubmedqa" for doc in documents)
    # 58 instances have "YEAR": null.
    assert sum(doc.year is None for doc in documents) == 58
    assert Counter(doc.extra["final_decision"] for doc in documents) == {"yes": 552, "no": 338, "maybe": 110}
    # Every instance has its contexts plus the long answer as passages.
    source = json.loads(raw_json)
    assert [len(doc.passages) for doc in documents] == [len(v["CONTEXTS"]) + 1 for v in source.values()]


def test_first_instance_21645374(documents, raw_json):
    doc = documents[0]
    source = json.loads(raw_json)["21645374"]
    assert doc.doc_id == "pmid:21645374"  # the id the MEDLINE reader gives the same article
    assert doc.pmid == "21645374"
    assert doc.locator == "ori_pqal.json#pmid:21645374"
    assert doc.url == "https://pubmed.ncbi.nlm.nih.gov/21645374/"
    assert doc.title == "Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?"
    assert doc.extra == {"title_source": "pubmedqa_question", "final_decision": "yes"}
    assert doc.year == 2011
    assert doc.date is None and doc.journal is None and doc.publication_types == ()
    assert doc.mesh_headings == tuple(
        MeshHeading(descriptor=name)
        for name in ("Alismataceae", "Apoptosis", "Cell Differentiation", "Mitochondria", "Plant Leaves")
    )
    assert [(p.section_path, p.section_code, p.block) for p in doc.passages] == [
        (("BACKGROUND",), None, "abstract"),
        (("RESULTS",), None, "abstract"),
        (("CONCLUSIONS",), "CONCLUSIONS", "abstract"),
    ]
    assert doc.passages[0].text.startswith("Programmed cell death (PCD) is the regulated death of cells")
    assert doc.passages[1].text == source["CONTEXTS"][1]
    assert doc.passages[2].text == source["LONG_ANSWER"]
    assert doc.passages[2].text.startswith("Results depicted mitochondrial dynamics in vivo as PCD progresses")


def test_sniff_accepts_pubmedqa_and_nothing_else_in_the_corpus(corpus_dir, raw_json):
    assert pubmedqa.sniff(NAME, raw_json[:8192])
    others = [p for p in corpus_dir.rglob("*") if p.is_file() and p.name != NAME]
    assert others
    for path in others:
        with path.open("rb") as handle:
            assert not pubmedqa.sniff(path.name, handle.read(8192)), path


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "invalid JSON"),
        (b'{"21645374": {"QUESTION": "q"', "invalid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[]", "expected a JSON object"),
        (b"{}", "empty object"),
        (b'{"abc": {"QUESTION": "q"}}', "not a PMID"),
        (b'{"1": []}', "not an object"),
        (b'{"1": {"CONTEXTS": ["c"]}}', "no QUESTION"),
        (b'{"1": {"QUESTION": "q", "CONTEXTS": ["a", "b"], "LABELS": ["L"]}}', "2 CONTEXTS but 1 LABELS"),
        (b'{"1": {"QUESTION": "q", "CONTEXTS": "c"}}', "CONTEXTS is not a list"),
        (b'{"1": {"QUESTION": 5}}', "QUESTION is not a string"),
    ],
)
def test_bad_input_raises_reader_error(payload, message):
    with pytest.raises(ReaderError, match=message) as caught:
        list(pubmedqa.parse(io.BytesIO(payload), "bad.json"))
    assert caught.value.source == "bad.json"


def test_error_names_the_record(raw_json):
    data = json.loads(raw_json)
    data["21645374"]["LABELS"] = data["21645374"]["LABELS"][:1]
    with pytest.raises(ReaderError) as caught:
        list(pubmedqa.parse(io.BytesIO(json.dumps(data).encode()), NAME))
    assert caught.value.record == "pmid:21645374"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_give_records_or_reader_error(payload):
    try:
        for record in pubmedqa.parse(io.BytesIO(payload), "fuzz.json"):
            assert record.doc_id.startswith("pmid:")
    except ReaderError as error:
        assert error.source == "fuzz.json"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.text(alphabet="0123456789", min_size=1, max_size=3) | st.text(max_size=3),
        st.fixed_dictionaries(
            {},
            optional={
                key: json_values | st.text(max_size=8) | st.lists(st.text(max_size=8), max_size=3)
                for key in ("QUESTION", "CONTEXTS", "LABELS", "MESHES", "YEAR", "final_decision", "LONG_ANSWER")
            },
        )
        | json_values,
        max_size=3,
    )
)
def test_arbitrary_json_shapes_give_records_or_reader_error(data):
    try:
        for record in pubmedqa.parse(io.BytesIO(json.dumps(data).encode()), "shapes.json"):
            assert record.title
    except ReaderError as error:
        assert error.source == "shapes.json"
