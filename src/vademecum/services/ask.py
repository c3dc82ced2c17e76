"""Ask service: a clinical question becomes a cited, verified article.

understand → retrieve (guidelines, research, labels per drug) → compose → number citations →
verify. An unanswerable question still gets an article: one that says plainly which sources were
searched and that they hold nothing relevant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from vademecum import __version__
from vademecum.answer.article import (
    Article,
    BulletGroup,
    CorpusSnapshot,
    Dose,
    DrugLabelBlock,
    GuidelineSection,
    LabelSection,
    QuestionSummary,
    ResearchSection,
)
from vademecum.answer.citations import body_keys, number_citations, reference_sources
from vademecum.answer.compose import Composer, prominent_drugs, retrieval_query
from vademecum.answer.dosing import extract_label_doses, is_dosage_passage
from vademecum.answer.outline import SECTION_WORDS, build_outline
from vademecum.answer.retrieve import ConceptMatcher, Evidence, LabelEvidence, Retriever, make_evidence
from vademecum.answer.understand import Concept, Question, understand
from vademecum.answer.verify import verify_article
from vademecum.errors import VademecumError
from vademecum.evidence.models import EvidenceDocument
from vademecum.evidence.store import document_passages, documents_by_kind, last_ingest_run
from vademecum.services.runtime import Runtime, Vocabulary

MAX_LABEL_DRUGS = 4

DISCLAIMER = (
    "Vademecum quotes published guidelines, FDA drug labels and research abstracts and links every "
    "statement to its source. It is a reference for health professionals, not a substitute for clinical "
    "judgement, and it does not give advice about any individual patient. Check doses against the current "
    "label and local protocols before prescribing."
)


class ArticleVerificationError(VademecumError):
    """A composed article failed verification (a sentence or citation that does not match its source)."""


def ask(runtime: Runtime, text: str) -> Article:
    """Compose the article answering ``text``; raises QuestionRefused for an unusable question."""
    vocabulary = runtime.vocabulary
    question = understand(
        text,
        vocabulary.mesh,
        vocabulary.abbreviations,
        vocabulary.drugs,
        max_chars=runtime.settings.search.max_query_chars,
        corpus_frequency=runtime.index.phrase_count,
    )
    matcher = concept_matcher(question, vocabulary)
    with runtime.session() as session:
        article = _compose(runtime, session, question, matcher, vocabulary)
        problems = verify_article(session, article)
    if problems:
        raise ArticleVerificationError("; ".join(problems[:5]))
    return article


def concept_matcher(question: Question, vocabulary: Vocabulary) -> ConceptMatcher:
    """What a passage must mention to be relevant: one of the conditions and one of the drugs
    (each with its MeSH entry terms and drug names); the procedures when neither is named."""
    groups = [question.conditions, question.drugs] if question.conditions or question.drugs else [question.procedures]
    return _matcher_of(groups, vocabulary)


def topic_matcher(question: Question, vocabulary: Vocabulary) -> ConceptMatcher:
    """What a guideline's title must mention to be about the question: one of its conditions (the
    procedures when it names none). Drugs are left out: a guideline is named for a disease, and a
    question about a drug for that disease is still answered by its structure."""
    return _matcher_of([question.conditions or question.procedures], vocabulary)


def _matcher_of(groups: Sequence[Sequence[Concept]], vocabulary: Vocabulary) -> ConceptMatcher:
    term_sets = []
    for concepts in groups:
        terms: set[str] = set()
        for concept in concepts:
            terms.update((concept.text, concept.name))
            if concept.ui:
                terms.update(vocabulary.mesh.entry_terms(concept.ui))
            if concept.role == "drug":
                terms.update(vocabulary.drugs.names_for(concept.name))
        if terms:
            term_sets.append(terms)
    return ConceptMatcher.from_groups(term_sets)


def _compose(
    runtime: Runtime, session: Session, question: Question, matcher: ConceptMatcher, vocabulary: Vocabulary
) -> Article:
    retriever = Retriever(runtime.index, session, matcher)
    composer = Composer(question, matcher, vocabulary.mesh, vocabulary.drugs)
    # Only what the article records: counting every passage and cited work would put the whole
    # store on the path of each question.
    by_kind = documents_by_kind(session)
    last_run = last_ingest_run(session)
    query = retrieval_query(question)
    topic = topic_matcher(question, vocabulary)
    choice = retriever.guidelines(query, section_words=SECTION_WORDS[question.intent], population=question.population)
    outline = build_outline(
        question.intent,
        question.text,
        # A guideline's whole structure is the answer only when the guideline is about the question's
        # concepts (its title names them); otherwise only the passages the search found are quoted.
        [_whole_document(session, d) for d in choice.documents if not topic.empty and topic.covers(d.title)],
        matcher,
        vocabulary.drugs,
        [c.name for c in question.drugs],
    )
    guidelines = composer.guideline_section(choice.documents, choice.passages, outline)
    research = composer.research_section(retriever.research(query, population=question.population))
    blocks, labels = _label_blocks(question, guidelines, research, retriever, composer, matcher, vocabulary)
    check = LabelDoses(labels)
    guidelines = replace(
        guidelines,
        bottom_line=tuple(composer.with_doses(b, check) for b in guidelines.bottom_line),
        key_considerations=tuple(composer.with_doses(b, check) for b in guidelines.key_considerations),
        settings=_groups_with_doses(guidelines.settings, composer, check),
        agents=_groups_with_doses(guidelines.agents, composer, check),
        groups=_groups_with_doses(guidelines.groups, composer, check),
    )
    research = replace(research, groups=_groups_with_doses(research.groups, composer, check))
    searched = _searched(by_kind)
    guidelines, label_section, research = _with_empty_notes(
        guidelines, LabelSection(tuple(blocks)), research, searched, question
    )
    sources = reference_sources(session, body_keys(guidelines, label_section, research))
    citation_numbers, references = number_citations(guidelines, label_section, research, sources.get)
    return Article(
        question=QuestionSummary(
            question.text,
            question.intent.value,
            tuple(c.name for c in question.conditions),
            tuple(c.name for c in question.drugs),
            dict(question.expansions),
        ),
        title=question.text,
        generated_at=dt.datetime.now(dt.UTC),
        engine_version=__version__,
        corpus=CorpusSnapshot(last_run.id if last_run else None, sum(by_kind.values()), runtime.index.count()),
        guidelines=guidelines,
        labels=label_section,
        research=research,
        references=references,
        citation_numbers=citation_numbers,
        disclaimer=DISCLAIMER,
        sufficient=bool(references),
        searched=tuple(searched),
    )


def _whole_document(session: Session, document: EvidenceDocument) -> list[Evidence]:
    """Every passage of a guideline document, in document order (the outline follows its structure)."""
    return [make_evidence(passage, document, 0.0) for passage in document_passages(session, document.id)]


def _label_blocks(
    question: Question,
    guidelines: GuidelineSection,
    research: ResearchSection,
    retriever: Retriever,
    composer: Composer,
    matcher: ConceptMatcher,
    vocabulary: Vocabulary,
) -> tuple[list[DrugLabelBlock], dict[str, LabelEvidence]]:
    """Label blocks for the drugs the question names and the drugs prominent in the article.

    A prominent drug's label is quoted only when the label itself mentions the question's concepts
    (indicated for the condition according to the label); a drug with no label in the corpus says so.
    """
    bullets = [*guidelines.bullets, *research.bullets]
    named = [c.name for c in question.drugs]
    drugs = list(dict.fromkeys([*named, *prominent_drugs(bullets, vocabulary.drugs, vocabulary.mesh)]))
    blocks: list[DrugLabelBlock] = []
    labels: dict[str, LabelEvidence] = {}
    for drug in drugs[:MAX_LABEL_DRUGS]:
        label = retriever.label_for(drug, vocabulary.drugs.names_for(drug))
        if label is None:
            blocks.append(composer.missing_label_block(drug, retriever.drug_information(drug)))
        elif drug in named or matcher.empty or any(matcher.matches(p.text) for p in label.passages):
            labels[drug.casefold()] = label
            blocks.append(composer.label_block(label))
    return blocks, labels


@dataclass(frozen=True)
class LabelDoses:
    """The doses on the labels quoted in an article, by drug, for checking the doses the article states."""

    labels: dict[str, LabelEvidence]

    def __call__(self, drug: str) -> tuple[tuple[Dose, ...], str | None]:
        """The label's doses for ``drug`` and the key of its dosage passage; empty when it has no label here."""
        label = self.labels.get(drug.casefold())
        if label is None:
            return (), None
        dosage = [p for p in label.passages if is_dosage_passage(p)]
        return tuple(extract_label_doses(label.passages, drug)), (dosage[0].key if dosage else None)


def _groups_with_doses(groups: Sequence[BulletGroup], composer: Composer, check: LabelDoses) -> tuple[BulletGroup, ...]:
    return tuple(replace(g, bullets=tuple(composer.with_doses(b, check) for b in g.bullets)) for g in groups)


KIND_NAMES = {
    "guideline": "guideline documents",
    "drug_label": "FDA drug labels",
    "research": "research abstracts",
    "drug_information": "NCI drug information pages",
}


def _searched(documents_by_kind: dict[str, int]) -> list[str]:
    return [f"{documents_by_kind.get(kind, 0):,} {name}" for kind, name in KIND_NAMES.items()]


def _with_empty_notes(
    guidelines: GuidelineSection,
    labels: LabelSection,
    research: ResearchSection,
    searched: list[str],
    question: Question,
) -> tuple[GuidelineSection, LabelSection, ResearchSection]:
    """Sections with nothing relevant say so, naming what was searched and, when the question is
    about a particular population, that nothing indexed addresses it.

    Retrieval leaves out guidelines and studies written for another population (species, age
    group, pregnancy), so an empty section for such a question means nothing indexed addresses that
    population. The FDA labels are for people: for a question about animals none is quoted.
    """
    population = question.population
    whom = population.describe()
    specific = not population.human or population.age is not None or population.pregnancy
    if not guidelines.sentences:
        note = f"No relevant guideline passage was found; searched {searched[0]}."
        if not population.human:
            note = f"No guideline in the indexed sources addresses {whom}; searched {searched[0]}."
        elif specific:
            note = f"No guideline in the indexed sources addresses this question in {whom}; searched {searched[0]}."
        guidelines = GuidelineSection("", (), (), guidelines.groups_heading, (), empty_note=note)
    if not population.human:
        labels = LabelSection(
            (), empty_note=f"No FDA drug label in the indexed sources addresses {whom}; searched {searched[1]}."
        )
    elif not labels.blocks:
        about = ", ".join(c.name for c in question.drugs) or "the drugs this question concerns"
        labels = LabelSection((), empty_note=f"No FDA drug label for {about} was found; searched {searched[1]}.")
    if not research.groups:
        note = f"No relevant research passage was found; searched {searched[2]}."
        if specific:
            note = f"No research in the indexed sources addresses this question in {whom}; searched {searched[2]}."
        research = ResearchSection((), empty_note=note)
    return guidelines, labels, research
