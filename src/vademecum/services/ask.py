"""Ask service: a clinical question becomes a cited, verified article.

understand → retrieve (guidelines, research, labels per drug) → compose → number citations →
verify, then (``synthesis.mode = llm`` only) a language-model summary whose every sentence is verified
against the passages it cites. An unanswerable question still gets an article: one that says plainly
which sources were searched and that they hold nothing relevant.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from vademecum import __version__
from vademecum.answer.article import (
    Article,
    BulletGroup,
    CorpusSnapshot,
    DrugLabelBlock,
    GuidelineSection,
    LabelBasis,
    LabelSection,
    QuestionSummary,
    ResearchSection,
)
from vademecum.answer.citations import body_keys, check_citations, number_citations, reference_sources
from vademecum.answer.compose import Composer, prominent_drugs, retrieval_query
from vademecum.answer.dosing import LabelDoseSource, extract_label_doses, is_dosage_passage
from vademecum.answer.indications import LabelIndication, label_indication
from vademecum.answer.outline import GIVING, SECTION_WORDS, build_outline
from vademecum.answer.retrieve import ConceptMatcher, Evidence, LabelEvidence, Retriever, make_evidence, words_pattern
from vademecum.answer.understand import Concept, Intent, Question, understand
from vademecum.answer.verify import verify_article
from vademecum.errors import VademecumError
from vademecum.evidence.models import EvidenceDocument
from vademecum.evidence.store import document_passages, documents_by_kind, last_ingest_run
from vademecum.services.runtime import Runtime, Vocabulary
from vademecum.settings import SynthesisMode
from vademecum.synthesis.summary import summarise
from vademecum.synthesis.verify import Verifier

# The drugs the question and the guideline name that are looked up; further drugs whose label is
# indicated for the question's condition; notes on named drugs without a label here.
MAX_ARTICLE_DRUGS = 6
# Questions about giving a treatment, whose research section prefers studies of giving one.
TREATMENT_INTENTS = frozenset({Intent.MANAGEMENT, Intent.COMPARISON, Intent.DOSING})
MAX_INDICATED_LABELS = 3
MAX_MISSING_LABELS = 2
# How many descriptors below a condition MeSH is read for narrower terms, and the words that do not
# tell one condition from another.
MAX_NARROWER = 200
INDICATION_WORD = "indicated"
GENERIC_CONDITION_WORDS = frozenset(
    {"tumor", "tumour", "neoplasm", "cancer", "carcinoma", "disease", "syndrome", "disorder", "malignant", "cell"}
)

DISCLAIMER = (
    "Vademecum quotes published guidelines, FDA drug labels and research articles and links every "
    "statement to its source. It is a reference for health professionals, not a substitute for clinical "
    "judgement, and it does not give advice about any individual patient. Check doses against the current "
    "label and local protocols before prescribing."
)


class ArticleVerificationError(VademecumError):
    """A composed article failed verification (a sentence or citation that does not match its source)."""


def ask(runtime: Runtime, text: str, synthesis: SynthesisMode | None = None) -> Article:
    """Compose the article answering ``text``; raises QuestionRefused for an unusable question.

    ``synthesis`` overrides ``synthesis.mode`` of the settings: with ``llm`` the article gets a
    :class:`~vademecum.answer.article.Summary` (status ``unavailable`` with a note when no endpoint is set
    or the server fails; the quoted article is the same either way).
    """
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
    if (synthesis or runtime.settings.synthesis.mode) != "llm" or not article.sufficient:
        return article
    return with_summary(runtime, article)


def with_summary(runtime: Runtime, article: Article) -> Article:
    """``article`` with a language-model summary written over its passages and verified sentence by sentence;
    the summary's citations are numbered with the article's (they cite passages the body quotes)."""
    verifier = Verifier(runtime.vocabulary.drugs, runtime.vocabulary.mesh)
    summary = summarise(article, runtime.settings.synthesis, verifier)
    with_it = replace(article, summary=summary)
    problems = check_citations(with_it)
    if problems:
        raise ArticleVerificationError("; ".join(problems[:5]))
    return with_it


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
    # Studies whose title is about what the question asks come first among those on its topic.
    prefer = GIVING if question.intent in TREATMENT_INTENTS else words_pattern(SECTION_WORDS[question.intent])
    studies = retriever.studies(query, about=matcher, population=question.population, prefer=prefer)
    research = composer.research_section(studies)
    blocks, check = _label_blocks(question, guidelines, research, retriever, composer, matcher, vocabulary)
    dates = {d.id: d.date for d in choice.documents}
    dates |= {study.document_id: study.passages[0].date for study in studies if study.passages}

    def noted(groups: Sequence[BulletGroup]) -> tuple[BulletGroup, ...]:
        return tuple(replace(g, bullets=tuple(composer.with_doses(b, check, dates) for b in g.bullets)) for g in groups)

    guidelines = replace(
        guidelines,
        bottom_line=tuple(composer.with_doses(b, check, dates) for b in guidelines.bottom_line),
        key_considerations=tuple(composer.with_doses(b, check, dates) for b in guidelines.key_considerations),
        settings=noted(guidelines.settings),
        agents=noted(guidelines.agents),
        groups=noted(guidelines.groups),
    )
    research = replace(research, groups=noted(research.groups))
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


def indication_matcher(question: Question, vocabulary: Vocabulary) -> ConceptMatcher:
    """What a label's Indications and Usage must name to be indicated for the question's condition: one
    of its conditions by any entry term of the condition, or of a MeSH descriptor below it that shares a
    distinctive word with it ("Carcinoma, Neuroendocrine" below "Neuroendocrine Tumors"; MeSH also files
    melanoma there, which no reader of a question on neuroendocrine tumours means)."""
    terms: set[str] = set()
    for concept in question.conditions:
        terms.update((concept.text, concept.name))
        if not concept.ui:
            continue
        terms.update(vocabulary.mesh.entry_terms(concept.ui))
        words = _distinctive_words(concept.name)
        for tree_number in vocabulary.mesh.tree_numbers(concept.ui):
            for descriptor in vocabulary.mesh.descendants_of(tree_number)[:MAX_NARROWER]:
                if words & _distinctive_words(descriptor.name):
                    terms.update(vocabulary.mesh.entry_terms(descriptor.ui))
    return ConceptMatcher.from_groups([terms] if terms else [])


def _distinctive_words(name: str) -> set[str]:
    """The words of a MeSH name that tell it apart (stems, without generic words such as "tumors")."""
    stems = {word.casefold().rstrip("s") for word in re.findall(r"[A-Za-z]{4,}", name)}
    return stems - GENERIC_CONDITION_WORDS


def _label_blocks(
    question: Question,
    guidelines: GuidelineSection,
    research: ResearchSection,
    retriever: Retriever,
    composer: Composer,
    matcher: ConceptMatcher,
    vocabulary: Vocabulary,
) -> tuple[list[DrugLabelBlock], LabelDoses]:
    """Label blocks, in this order: the drugs the question names and the drugs the guideline names that
    have a label here (its agents and prominent drugs, then any other drug it mentions whose label is
    indicated for the condition); when the question names no drug, the other drugs whose label is
    indicated for the question's condition, newest label first; then a few of the drugs named that have no label here
    (those the question names, then those whose NCI drug information lists an approval for the condition,
    then the guideline's agents).

    A label indicated for the condition is quoted for that indication: its boxed warning, the indication
    and the dose for it. A label for other conditions is quoted only for a drug the question names; a
    drug with no label in the corpus says so, with its NCI drug information when indexed.
    """
    indicated = indication_matcher(question, vocabulary)
    named = [c.name for c in question.drugs]
    agents = [g.drug for g in guidelines.agents if g.drug]
    prominent = prominent_drugs([*guidelines.bullets, *research.bullets], vocabulary.drugs, vocabulary.mesh)
    check = LabelDoses()
    labelled: list[DrugLabelBlock] = []
    missing: list[DrugLabelBlock] = []
    used: set[str] = set()
    for drug in list(dict.fromkeys([*named, *agents, *prominent]))[:MAX_ARTICLE_DRUGS]:
        label = retriever.label_for(drug, vocabulary.drugs.names_for(drug), indicated)
        if label is None:
            block = composer.missing_label_block(drug, retriever.drug_information(drug))
            # A drug the article only mentions is worth a note when NCI lists an approval for the condition.
            if drug in named or drug in agents or block.drug_information:
                missing.append(block)
            continue
        if label.document.id in used:
            continue
        found = label_indication(label, indicated)
        basis = LabelBasis.QUESTION if drug in named else LabelBasis.GUIDELINE
        if found is not None:
            labelled.append(composer.indication_block(found, basis))
        elif drug in named:
            labelled.append(composer.label_block(label))
        else:
            # A label for other conditions says nothing about this one: it is left out.
            continue
        used.add(label.document.id)
        check.add(drug, label, found)
    # A question about a named drug is answered about that drug, not every drug for the condition.
    if question.population.human and not named:
        # The condition as asked and as MeSH names it, and the word every indication states.
        named_as = dict.fromkeys(word for c in question.conditions for word in (c.text, c.name))
        query = " ".join([*named_as, INDICATION_WORD]) if named_as else retrieval_query(question)
        # Drugs the guideline mentions once (too few to be prominent) still come before the others.
        mentioned = {m.name.casefold() for s in guidelines.sentences for m in vocabulary.drugs.find(s.text)}
        others: list[DrugLabelBlock] = []
        most = MAX_INDICATED_LABELS + MAX_ARTICLE_DRUGS
        for label in retriever.labels_indicated(query, indicated, most=most, exclude=used):
            found = label_indication(label, indicated)
            if found is None:
                continue
            names = (*label.document.generic_names, *label.document.brand_names)
            in_guideline = any(m.name.casefold() in mentioned for name in names for m in vocabulary.drugs.find(name))
            if in_guideline and len(labelled) < MAX_ARTICLE_DRUGS:
                labelled.append(composer.indication_block(found, LabelBasis.GUIDELINE))
            elif not in_guideline and len(others) < MAX_INDICATED_LABELS:
                others.append(composer.indication_block(found, LabelBasis.INDICATION))
            else:
                continue
            check.add(label.drug, label, found)
        labelled.extend(others)
    # Drugs the question names first, then those with an approval for the condition on record.
    missing.sort(key=lambda block: (block.drug not in named, not block.drug_information, block.drug not in agents))
    return [*labelled, *missing[:MAX_MISSING_LABELS]], check


@dataclass
class LabelDoses:
    """The doses on the labels quoted in an article, by drug, for checking the doses the article states:
    the doses of the dosage subsection for the question's indication when the label has one, else all
    the label's doses."""

    sources: dict[str, LabelDoseSource] = field(default_factory=dict)

    def add(self, drug: str, label: LabelEvidence, found: LabelIndication | None) -> None:
        """Record ``label``'s doses for ``drug`` (for the indication ``found``, when there is one)."""
        passages = found.dosage if found is not None and found.dosage else label.passages
        dosage = [p for p in passages if is_dosage_passage(p)]
        section = None
        if found is not None and found.dosage:
            first = found.dosage[0]
            section = " ".join(part for part in (first.section_number, first.section_path[-1]) if part)
        self.sources[drug.casefold()] = LabelDoseSource(
            tuple(extract_label_doses(dosage, drug)),
            dosage[0].key if dosage else None,
            section,
            label.document.date,
        )

    def __call__(self, drug: str) -> LabelDoseSource:
        """The label's doses for ``drug``; empty when it has no label quoted here."""
        return self.sources.get(drug.casefold(), LabelDoseSource())


KIND_NAMES = {
    "guideline": "guideline documents",
    "drug_label": "FDA drug labels",
    "research": "research articles (abstracts and full texts)",
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
