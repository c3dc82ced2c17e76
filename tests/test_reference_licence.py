"""An open-access source's licence travels with every reference to it: Markdown, HTML, JSON, RIS and BibTeX.

The article here cites one real PMC full text (stored by ingesting its .nxml) and one PDQ summary, which
states no licence; its only sentences are cut from the stored passages by offsets.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lxml import html as lxml_html
from sqlalchemy import select

from vademecum.answer.article import (
    Article,
    Bullet,
    BulletGroup,
    CitedSentence,
    CorpusSnapshot,
    GuidelineSection,
    LabelSection,
    QuestionSummary,
    ResearchSection,
    SourceLocation,
)
from vademecum.answer.citations import body_keys, number_citations, reference_sources
from vademecum.answer.reference_export import to_bibtex, to_ris
from vademecum.answer.render import from_json, md_reference, to_html, to_json, to_markdown
from vademecum.evidence.models import EvidencePassage
from vademecum.services.ingest import ingest_paths
from vademecum.services.runtime import Runtime

FULL_TEXT = "pmid:25962410"  # PMC4676931.nxml, CC BY-NC-ND 4.0
GUIDELINE = "pdq:types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq"
LICENCE_URL = "http://creativecommons.org/licenses/by-nc-nd/4.0/"


def whole_passage(runtime: Runtime, document_id: str) -> CitedSentence:
    """The document's first passage, quoted whole."""
    with runtime.session() as session:
        row = session.scalars(
            select(EvidencePassage).where(EvidencePassage.document_id == document_id).order_by(EvidencePassage.ordinal)
        ).first()
        assert row is not None
        location = SourceLocation(row.id, document_id, tuple(row.section_path), 0, len(row.text))
        return CitedSentence(text=row.text, source=location)


@pytest.fixture
def article(runtime: Runtime, corpus_dir: Path) -> Article:
    report = ingest_paths(
        runtime,
        [
            corpus_dir / "research" / "pmc-oa-rct" / "PMC4676931.nxml",
            corpus_dir
            / "guidelines"
            / "nci-pdq"
            / "types-gi-neuroendocrine-tumors-hp-gi-neuroendocrine-treatment-pdq.md",
        ],
    )
    assert report.ok
    guideline_sentence = whole_passage(runtime, GUIDELINE)
    guidelines = GuidelineSection(
        lead="",
        guideline_keys=(),
        key_considerations=(Bullet((guideline_sentence,)),),
        groups_heading="",
        groups=(),
    )
    labels = LabelSection(blocks=())
    study = whole_passage(runtime, FULL_TEXT)
    research = ResearchSection(
        groups=(BulletGroup(heading=study.source.section_path[-1], bullets=(Bullet((study,)),)),)
    )
    with runtime.session() as session:
        sources = reference_sources(session, body_keys(guidelines, labels, research))
    numbers, references = number_citations(guidelines, labels, research, sources.get)
    return Article(
        question=QuestionSummary(text="", intent="management", conditions=(), drugs=()),
        title="References",
        generated_at=dt.datetime(2025, 3, 5, 12, 0, tzinfo=dt.UTC),
        engine_version="test",
        corpus=CorpusSnapshot(None, 2, runtime.index.count()),
        guidelines=guidelines,
        labels=labels,
        research=research,
        references=references,
        citation_numbers=numbers,
        disclaimer="",
    )


def test_the_reference_carries_the_articles_licence(article: Article):
    guideline, study = article.references
    assert (guideline.document_id, study.document_id) == (GUIDELINE, FULL_TEXT)
    assert study.licence == "CC BY-NC-ND 4.0"
    assert study.licence_url == LICENCE_URL
    assert guideline.licence is None and guideline.licence_url is None
    assert from_json(to_json(article)) == article


def test_markdown_shows_the_licence_linked(article: Article):
    guideline, study = article.references
    line = md_reference(study)
    assert line.endswith(f"Licence: [CC BY-NC-ND 4.0]({LICENCE_URL}).")
    assert "Licence" not in md_reference(guideline)
    assert line in to_markdown(article).splitlines()


def test_html_shows_the_licence_linked(article: Article):
    tree = lxml_html.fromstring(to_html(article))
    (licence,) = tree.xpath("//li[@data-document=$doc]//span[@class='licence']", doc=FULL_TEXT)
    assert " ".join(licence.text_content().split()) == "Licence: CC BY-NC-ND 4.0."
    (link,) = licence.xpath("a")
    assert link.get("href") == LICENCE_URL and "license" in link.get("rel").split()
    assert not tree.xpath("//li[@data-document=$doc]//span[@class='licence']", doc=GUIDELINE)


def test_exports_name_the_licence(article: Article):
    ris = to_ris(article).split("ER  - ")
    assert f"N1  - Licence: CC BY-NC-ND 4.0 ({LICENCE_URL})\r\n" in ris[1]
    assert "Licence" not in ris[0]
    bibtex = to_bibtex(article).split("\n\n")
    assert "  note = {Licence: CC BY-NC-ND 4.0 (http://creativecommons.org/licenses/by-nc-nd/4.0/)}" in bibtex[1]
    assert "Licence" not in bibtex[0]
