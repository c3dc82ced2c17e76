"""Citation numbering and references, on an article cut from real passages of the demo store."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from sample_article import (
    GI_NET,
    HUMIRA,
    LANREOTIDE_INFO,
    PEDIATRIC_GI_NET,
    RESEARCH_A,
    RESEARCH_B,
    Sample,
    build_sample,
    key,
)
from vademecum.answer.article import (
    Bullet,
    BulletGroup,
    CitedSentence,
    Reference,
    ReferenceKind,
    ResearchSection,
    SourceLocation,
    evidence_key,
)
from vademecum.answer.citations import (
    ReferenceSource,
    body_keys,
    check_citations,
    number_citations,
    passage_id_of,
    reference_sources,
)
from vademecum.errors import CitationError
from vademecum.evidence.models import CitedWork, EvidencePassage
from vademecum.services.runtime import open_runtime
from vademecum.settings import Settings


@pytest.fixture(scope="module")
def sample(demo_settings: Settings) -> Iterator[Sample]:
    runtime = open_runtime(demo_settings)
    try:
        with runtime.session() as session:
            yield build_sample(session)
    finally:
        runtime.close()


def test_body_keys_follow_reading_order(sample):
    p = sample.passages
    article = sample.article
    assert body_keys(article.guidelines, article.labels, article.research) == tuple(
        key(p[role])
        for role in (
            "gi_lead",
            "pediatric",
            "gi_option",
            "humira_2_1",  # the dose note of the option bullet points at the label's dosage passage
            "humira_1_1",
            "humira_table",
            "lanreotide",
            "study_a",
            "study_b",
            "study_a_more",
        )
    )


def test_numbers_go_to_documents_by_first_use(sample):
    p = sample.passages
    assert sample.article.citation_numbers == {
        key(p["gi_lead"]): 1,
        key(p["pediatric"]): 2,
        key(p["gi_option"]): 1,
        key(p["humira_2_1"]): 3,
        key(p["humira_1_1"]): 3,
        key(p["humira_table"]): 3,
        key(p["lanreotide"]): 4,
        key(p["study_a"]): 5,
        key(p["study_b"]): 6,
        key(p["study_a_more"]): 5,
    }
    references = sample.article.references
    assert [(r.number, r.document_id, r.kind) for r in references] == [
        (1, GI_NET, ReferenceKind.GUIDELINE),
        (2, PEDIATRIC_GI_NET, ReferenceKind.GUIDELINE),
        (3, HUMIRA, ReferenceKind.DRUG_LABEL),
        (4, LANREOTIDE_INFO, ReferenceKind.DRUG_INFORMATION),
        (5, RESEARCH_A, ReferenceKind.RESEARCH),
        (6, RESEARCH_B, ReferenceKind.RESEARCH),
    ]


def test_passages_of_one_document_share_one_reference(sample):
    article, rows = sample.article, sample.passages
    humira = article.references[2]
    assert humira.keys == (key(rows["humira_2_1"]), key(rows["humira_1_1"]), key(rows["humira_table"]))
    assert article.references[0].keys == (key(rows["gi_lead"]), key(rows["gi_option"]))
    assert article.references[4].keys == (key(rows["study_a"]), key(rows["study_a_more"]))


def test_references_carry_the_store_metadata(sample):
    gi, _, humira, lanreotide, study_a, _ = sample.article.references
    assert (gi.title, gi.issuer, gi.year, gi.level, gi.pmid, gi.url) == (
        "Gastrointestinal Neuroendocrine Tumors Treatment (PDQ®)–Health Professional Version",
        "National Cancer Institute (PDQ)",
        2025,
        "guideline",
        "26389233",
        "https://www.cancer.gov/types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq",
    )
    assert (humira.title, humira.issuer, humira.year, humira.level, humira.set_id) == (
        "HUMIRA (adalimumab) injection, for subcutaneous use",
        "AbbVie Inc.",
        2013,
        "regulatory",
        "608d4f0d-b19f-46d3-749a-7159aa5f933d",
    )
    assert (lanreotide.issuer, lanreotide.url) == (
        "National Cancer Institute",
        "https://www.cancer.gov/about-cancer/treatment/drugs/lanreotideacetate",
    )
    # Research is cited by its journal.
    assert (study_a.issuer, study_a.year, study_a.pmid, study_a.doi) == (
        "Psychosomatics",
        2008,
        "18621939",
        "10.1176/appi.psy.49.4.332",
    )


def test_pdq_reference_keeps_the_studies_its_passages_cite(sample, demo_runtime):
    rows = sample.passages
    expected: list[str] = []
    with demo_runtime.session() as session:
        for role in ("gi_lead", "gi_option"):
            labels = session.get(EvidencePassage, rows[role].id).citations
            for label in labels:
                pmid = session.scalar(
                    select(CitedWork.pmid).where(CitedWork.document_id == GI_NET, CitedWork.label == label)
                )
                if pmid and pmid not in expected:
                    expected.append(pmid)
    gi = sample.article.references[0]
    assert gi.cited_pmids == tuple(expected)
    assert gi.cited_pmids[0] == "12771556"  # the summary's reference 1.1, cited by its first passage
    # Research abstracts cite nothing of their own.
    assert sample.article.references[4].cited_pmids == ()


def test_a_sound_article_has_no_citation_problems(sample):
    assert check_citations(sample.article) == []


def test_check_citations_reports_each_kind_of_problem(sample):
    article = sample.article
    rows = sample.passages
    dropped = dataclasses.replace(article, references=article.references[:-1])
    assert check_citations(dropped) == [f"citation [6] ({key(rows['study_b'])}) has no reference"]

    extra = Reference(7, ReferenceKind.RESEARCH, "pmid:1", "t", None, None, "unclassified")
    assert check_citations(dataclasses.replace(article, references=(*article.references, extra))) == [
        "reference 7 is never cited"
    ]

    numbers = dict(article.citation_numbers)
    del numbers[key(rows["study_b"])]
    problems = check_citations(dataclasses.replace(article, citation_numbers=numbers))
    assert f"{key(rows['study_b'])} is cited in the body but has no citation number" in problems
    assert "reference 6 is never cited" in problems

    swapped = {k: {1: 2, 2: 1}.get(n, n) for k, n in article.citation_numbers.items()}
    problems = check_citations(dataclasses.replace(article, citation_numbers=swapped))
    assert "citation numbers do not follow first use: body order is [2, 1, 3, 4, 5, 6]" in problems


def test_an_unresolvable_key_raises(sample, demo_runtime):
    article = sample.article
    with demo_runtime.session() as session:
        missing_id = session.scalar(select(func.max(EvidencePassage.id))) + 1
        unknown = CitedSentence("", SourceLocation(missing_id, RESEARCH_A, (), 0, 0))
        research = ResearchSection(groups=(BulletGroup("Studies", (Bullet((unknown,)),)),))
        sources = reference_sources(session, body_keys(article.guidelines, article.labels, research))
    assert evidence_key(missing_id) not in sources
    with pytest.raises(CitationError, match=f"cites {evidence_key(missing_id)},"):
        number_citations(article.guidelines, article.labels, research, sources.get)


def test_resolver_is_called_per_key_and_first_source_names_the_document(sample):
    article = sample.article
    calls: list[str] = []

    def resolve(k: str) -> ReferenceSource:
        calls.append(k)
        return ReferenceSource(f"doc:{k}", ReferenceKind.RESEARCH, k, None, None, "unclassified", cited_pmids=("1",))

    numbers, references = number_citations(article.guidelines, article.labels, article.research, resolve)
    assert calls == list(body_keys(article.guidelines, article.labels, article.research))
    # One document per key here, so ten references numbered in reading order.
    assert list(numbers.values()) == list(range(1, 11))
    assert [r.title for r in references] == calls
    assert references[0].cited_pmids == ("1",)


def test_passage_id_of_reads_only_evidence_keys():
    assert passage_id_of(evidence_key(23292)) == 23292
    assert passage_id_of("ev-") is None
    assert passage_id_of("ev-12a") is None
    assert passage_id_of("pmid:123") is None
