"""Evidence grading from document kind and the real publication types of the corpus's PubMed records."""

from __future__ import annotations

import csv
import doctest
import gzip
import re
from collections import Counter
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from vademecum.evidence import grading
from vademecum.evidence.grading import PUBLICATION_TYPE_LEVELS, EvidenceLevel, Grade, grade, level_of
from vademecum.records import DocumentKind, SourceDocument
from vademecum.sources import medline

L = EvidenceLevel


@pytest.fixture(scope="module")
def pubmed_documents(corpus_dir: Path) -> dict[str, SourceDocument]:
    documents: dict[str, SourceDocument] = {}
    for path in sorted((corpus_dir / "pubmed").glob("*.xml.gz")):
        with gzip.open(path) as handle:
            documents.update(
                (record.pmid, record)
                for record in medline.parse(handle, path.name)
                if isinstance(record, SourceDocument)
            )
    return documents


# (PMID of a real corpus record, its publication types as the reader gives them, level, retracted)
REAL_RECORDS = [
    ("28786991", ("Journal Article", "Meta-Analysis", "Review", "Systematic Review"), L.SYSTEMATIC_REVIEW, False),
    ("31479918", ("Journal Article", "Systematic Review"), L.SYSTEMATIC_REVIEW, False),
    (
        "19368899",
        (
            "Clinical Trial",
            "Journal Article",
            "Randomized Controlled Trial",
            "Research Support, N.I.H., Extramural",
            "Research Support, U.S. Gov't, Non-P.H.S.",
        ),
        L.RCT,
        False,
    ),
    (
        "22508830",
        (
            "Clinical Trial, Phase II",
            "Journal Article",
            "Randomized Controlled Trial",
            "Research Support, Non-U.S. Gov't",
        ),
        L.RCT,
        False,
    ),
    ("25840296", ("Comparative Study", "Journal Article", "Randomized Controlled Trial"), L.RCT, False),
    ("31418855", ("Journal Article", "Randomized Controlled Trial, Veterinary"), L.RCT, False),
    (
        "25440500",
        ("Journal Article", "Multicenter Study", "Research Support, N.I.H., Extramural"),
        L.OTHER_TRIAL_OBSERVATIONAL,
        False,
    ),
    ("31479911", ("Journal Article", "Validation Study"), L.OTHER_TRIAL_OBSERVATIONAL, False),
    # A comparative study with an erratum type: the study design wins over the notice.
    ("8", ("Comparative Study", "Journal Article", "Published Erratum"), L.OTHER_TRIAL_OBSERVATIONAL, False),
    ("25636559", ("Case Reports", "Journal Article", "Research Support, Non-U.S. Gov't"), L.CASE_REPORT, False),
    ("31418832", ("Case Reports", "Journal Article"), L.CASE_REPORT, False),
    ("36400559", ("Journal Article", "Review"), L.NARRATIVE, False),
    ("26432302", ("Comment", "Letter"), L.NARRATIVE, False),
    ("26407462", ("Editorial",), L.NARRATIVE, False),
    ("26407465", ("News",), L.NARRATIVE, False),
    ("26407471", ("English Abstract", "Published Erratum"), L.NARRATIVE, False),
    ("21900593", ("Journal Article",), L.UNCLASSIFIED, False),
    ("31541003", ("Journal Article", "Retracted Publication"), L.UNCLASSIFIED, True),
]


@pytest.mark.parametrize(("pmid", "types", "level", "retracted"), REAL_RECORDS)
def test_real_records_are_graded_by_their_strongest_publication_type(pubmed_documents, pmid, types, level, retracted):
    document = pubmed_documents[pmid]
    assert document.publication_types == types
    assert grade(document.kind, document.publication_types) == Grade(DocumentKind.RESEARCH, level, retracted)


def test_grade_distribution_of_the_whole_pubmed_corpus(pubmed_documents):
    grades = Counter(
        (result.level.label, result.retracted)
        for result in (grade(d.kind, d.publication_types) for d in pubmed_documents.values())
    )
    assert grades == {
        ("unclassified", False): 780,
        ("narrative", False): 114,
        ("other_trial_observational", False): 11,
        ("rct", False): 10,
        ("case_report", False): 9,
        ("systematic_review", False): 2,
        ("unclassified", True): 1,
    }


def test_every_publication_type_in_the_corpus_is_in_the_table(pubmed_documents):
    seen = {name for d in pubmed_documents.values() for name in d.publication_types}
    assert len(seen) == 27
    assert seen <= PUBLICATION_TYPE_LEVELS.keys()


def test_every_table_entry_is_an_nlm_publication_type(corpus_dir):
    # Publication types are the MeSH descriptors of tree V (Publication Characteristics).
    with (corpus_dir / "vocab" / "mesh-tree-numbers.tsv").open(newline="") as handle:
        names = {
            row["DescriptorName"] for row in csv.DictReader(handle, delimiter="\t") if row["tree_location"][:1] == "V"
        }
    assert set(PUBLICATION_TYPE_LEVELS) - names == set()


@pytest.mark.parametrize(
    ("types", "kind", "level"),
    [
        # No record in the corpus has a guideline type; these are the NLM names.
        (("Journal Article", "Practice Guideline"), DocumentKind.GUIDELINE, L.GUIDELINE),
        (("Guideline", "Review"), DocumentKind.GUIDELINE, L.GUIDELINE),
        (("Consensus Development Conference",), DocumentKind.GUIDELINE, L.GUIDELINE),
        (("Consensus Development Conference, NIH", "Meta-Analysis"), DocumentKind.GUIDELINE, L.GUIDELINE),
        (("Retraction of Publication",), DocumentKind.RESEARCH, L.NARRATIVE),
        (("Observational Study", "Case Reports"), DocumentKind.RESEARCH, L.OTHER_TRIAL_OBSERVATIONAL),
        (("randomized  controlled TRIAL",), DocumentKind.RESEARCH, L.RCT),
        (("Not A Publication Type",), DocumentKind.RESEARCH, L.UNCLASSIFIED),
        ((), DocumentKind.RESEARCH, L.UNCLASSIFIED),
    ],
)
def test_research_precedence_and_reclassification(types, kind, level):
    assert grade(DocumentKind.RESEARCH, types) == Grade(kind, level, False)


@pytest.mark.parametrize(
    ("kind", "level"),
    [
        (DocumentKind.GUIDELINE, L.GUIDELINE),
        (DocumentKind.DRUG_LABEL, L.REGULATORY),
        (DocumentKind.DRUG_INFORMATION, L.REFERENCE),
    ],
)
def test_non_research_kinds_are_graded_by_kind(kind, level):
    # Publication types do not move them (a PDQ summary is a guideline whatever it cites).
    assert grade(kind, ("Case Reports",)) == Grade(kind, level, False)


def test_retracted_flag_holds_for_any_level():
    result = grade(DocumentKind.RESEARCH, ("Randomized Controlled Trial", "Retracted Publication"))
    assert result == Grade(DocumentKind.RESEARCH, L.RCT, True)


def test_levels_order_by_rank_and_store_lowercase_names():
    ladder = [
        L.GUIDELINE,
        L.SYSTEMATIC_REVIEW,
        L.RCT,
        L.OTHER_TRIAL_OBSERVATIONAL,
        L.CASE_REPORT,
        L.NARRATIVE,
        L.UNCLASSIFIED,
    ]
    assert [int(level) for level in ladder] == [1, 2, 3, 4, 5, 6, 7]
    assert [level.label for level in ladder] == [
        "guideline",
        "systematic_review",
        "rct",
        "other_trial_observational",
        "case_report",
        "narrative",
        "unclassified",
    ]
    assert sorted(reversed(ladder)) == ladder
    assert min(L.CASE_REPORT, L.RCT, L.NARRATIVE) is L.RCT
    assert L.RCT < L.CASE_REPORT and L.UNCLASSIFIED > L.NARRATIVE
    # A label shares rank 1 with guidelines but is a different level.
    assert int(L.REGULATORY) == 1 and L.REGULATORY <= L.GUIDELINE <= L.REGULATORY
    assert L.REGULATORY != L.GUIDELINE
    assert int(L.REFERENCE) == 6 and L.REFERENCE > L.REGULATORY
    assert all(EvidenceLevel.from_label(level.label) is level for level in EvidenceLevel)
    assert len({level.label for level in EvidenceLevel}) == len(EvidenceLevel)
    with pytest.raises(ValueError, match="unknown evidence level"):
        EvidenceLevel.from_label("strong")


def test_level_of_one_type():
    assert level_of("Meta-Analysis") is L.SYSTEMATIC_REVIEW
    assert level_of("Journal Article") is L.UNCLASSIFIED


def test_docs_table_matches_the_data():
    text = (REPO_ROOT / "docs" / "evidence-levels.md").read_text()
    rows = re.findall(r"^\| ([^|`]+?) \| `([a-z_]+)` \| (\d) \|$", text, flags=re.MULTILINE)
    assert {name: (label, int(rank)) for name, label, rank in rows} == {
        name: (level.label, level.rank) for name, level in PUBLICATION_TYPE_LEVELS.items()
    }
    assert len(rows) == len(PUBLICATION_TYPE_LEVELS)
    ladder = dict(re.findall(r"^\| (\d) \| `([a-z_]+)` \|", text, flags=re.MULTILINE))
    documented = {(int(rank), label) for rank, label in re.findall(r"^\| (\d) \| `([a-z_]+)` \|", text, flags=re.M)}
    assert ladder
    assert documented == {(level.rank, level.label) for level in EvidenceLevel}


def test_docstring_examples():
    assert doctest.testmod(grading).failed == 0
