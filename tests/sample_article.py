"""An article built from real passages of the demo store, for the citation and renderer tests.

Every clinical sentence is cut from a stored passage by offsets (``text[start:end]``); the only text
written here is the program's own (headings, notes, disclaimer), which makes no clinical claim.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vademecum.answer.article import (
    Article,
    Bullet,
    BulletGroup,
    CitedSentence,
    CorpusSnapshot,
    Dose,
    DoseNote,
    DrugLabelBlock,
    GuidelineSection,
    LabelCheck,
    LabelSection,
    LabelSectionQuote,
    QuestionSummary,
    ResearchSection,
    SourceLocation,
    evidence_key,
)
from vademecum.answer.citations import body_keys, number_citations, reference_sources
from vademecum.evidence.models import EvidenceDocument, EvidencePassage

GI_NET = "pdq:types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq"
PEDIATRIC_GI_NET = "pdq:types/gi-neuroendocrine-tumors/hp/pediatric-gi-neuroendocrine-treatment-pdq"
HUMIRA = "spl:608d4f0d-b19f-46d3-749a-7159aa5f933d"
LANREOTIDE_INFO = "nci-drug:lanreotideacetate"
RESEARCH_A = "pmid:18621939"
RESEARCH_B = "pmid:19602546"
GENERATED_AT = dt.datetime(2025, 3, 5, 12, 0, tzinfo=dt.UTC)
DISCLAIMER = "For healthcare professionals; check every statement against its source."
MISSING_LABEL_NOTE = "No FDA label for this drug is in the indexed sources."


@dataclass(frozen=True)
class Sample:
    """The article and the passages it was cut from, named by role."""

    article: Article
    passages: dict[str, EvidencePassage]


def passage(session: Session, document_id: str, ordinal: int | None = None, **where: object) -> EvidencePassage:
    """The first passage of a document (by ordinal) matching the given column values."""
    query = select(EvidencePassage).where(EvidencePassage.document_id == document_id)
    if ordinal is not None:
        query = query.where(EvidencePassage.ordinal == ordinal)
    for column, value in where.items():
        query = query.where(getattr(EvidencePassage, column) == value)
    return session.scalars(query.order_by(EvidencePassage.ordinal).limit(1)).one()


def first_sentence(row: EvidencePassage) -> CitedSentence:
    """The passage's first sentence, located by its offsets in the stored text."""
    end = next((m.start() + 1 for m in re.finditer(r"\.\s", row.text)), len(row.text))
    return whole(row, 0, end)


def whole(row: EvidencePassage, start: int = 0, end: int | None = None) -> CitedSentence:
    """``row.text[start:end]`` as a cited sentence."""
    end = len(row.text) if end is None else end
    location = SourceLocation(row.id, row.document_id, tuple(row.section_path), start, end)
    return CitedSentence(text=row.text[start:end], source=location)


def build_sample(session: Session) -> Sample:
    """The sample article: six documents, numbered 1 (GI NET PDQ) to 6 (second study) by first use."""
    rows = {
        "gi_lead": passage(session, GI_NET, 0),
        "gi_option": passage(session, GI_NET, 1),
        "pediatric": passage(session, PEDIATRIC_GI_NET, 0),
        "humira_1_1": passage(session, HUMIRA, section_number="1.1"),
        "humira_2_1": passage(session, HUMIRA, section_number="2.1"),
        # A dosing table whose text holds "<" and line breaks.
        "humira_table": passage(session, HUMIRA, section_number="2.2", block="table"),
        "lanreotide": passage(session, LANREOTIDE_INFO, 2),
        "study_a": passage(session, RESEARCH_A, 0),
        "study_a_more": passage(session, RESEARCH_A, 4),
        # An abstract section with square brackets in its text.
        "study_b": passage(session, RESEARCH_B, 2),
    }
    guideline = session.get(EvidenceDocument, GI_NET)
    assert guideline is not None

    dose_match = re.search(r"(\d+) (mg)", rows["humira_2_1"].text)
    assert dose_match is not None
    amount = float(dose_match[1])
    dose = Dose(None, dose_match[1], amount, amount, dose_match[2], text=dose_match[0])
    label_note = DoseNote(dose, LabelCheck.MATCHES_LABEL, (dose,), key(rows["humira_2_1"]))

    guidelines = GuidelineSection(
        lead=f"This article draws on {guideline.title} ({guideline.issuer}, {guideline.year}).",
        guideline_keys=(key(rows["gi_lead"]),),
        key_considerations=(Bullet((first_sentence(rows["pediatric"]),)),),
        groups_heading="Treatment options",
        groups=(
            BulletGroup(
                heading=rows["gi_option"].section_path[-1],
                bullets=(Bullet((first_sentence(rows["gi_option"]),), doses=(label_note,)),),
            ),
        ),
    )
    labels = LabelSection(
        blocks=(
            DrugLabelBlock(
                drug=session.get(EvidenceDocument, HUMIRA).brand_names[0],
                document_id=HUMIRA,
                quotes=tuple(
                    LabelSectionQuote(row.section_number, row.section_path[-1], row.section_code, (sentence,))
                    for row, sentence in (
                        (rows["humira_1_1"], first_sentence(rows["humira_1_1"])),
                        (rows["humira_2_1"], first_sentence(rows["humira_2_1"])),
                        (rows["humira_table"], whole(rows["humira_table"])),
                    )
                ),
                summary=(first_sentence(rows["humira_2_1"]),),
            ),
            DrugLabelBlock(
                drug=session.get(EvidenceDocument, LANREOTIDE_INFO).title,
                document_id=None,
                quotes=(),
                summary=(),
                missing_label_note=MISSING_LABEL_NOTE,
                drug_information=(whole(rows["lanreotide"]),),
            ),
        )
    )
    research = ResearchSection(
        groups=(
            BulletGroup(
                heading="Studies",
                bullets=(
                    Bullet((first_sentence(rows["study_a"]),)),
                    # First use order B then A: the bullet must still print its numbers sorted.
                    Bullet((first_sentence(rows["study_b"]), first_sentence(rows["study_a_more"]))),
                ),
            ),
        )
    )
    sources = reference_sources(session, body_keys(guidelines, labels, research))
    citation_numbers, references = number_citations(guidelines, labels, research, sources.get)
    article = Article(
        question=QuestionSummary(text=guideline.title, intent="management", conditions=(), drugs=()),
        title=guideline.title,
        generated_at=GENERATED_AT,
        engine_version="0.1.0",
        corpus=CorpusSnapshot(
            last_ingest_run=1,
            documents=session.scalar(select(func.count()).select_from(EvidenceDocument)) or 0,
            indexed_passages=session.scalar(select(func.count()).select_from(EvidencePassage)) or 0,
        ),
        guidelines=guidelines,
        labels=labels,
        research=research,
        references=references,
        citation_numbers=citation_numbers,
        disclaimer=DISCLAIMER,
    )
    return Sample(article, rows)


def key(row: EvidencePassage) -> str:
    """The evidence key of a stored passage."""
    return evidence_key(row.id)
