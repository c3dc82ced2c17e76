"""FDA label and research quality at the scale of the label corpus (issue 11).

The scorer finds the conditions the drug labels of the store are indicated for, asks "What is the
treatment for <condition>?" for the most common ones through the real ask service, and scores each article
with its own reading of the store and of MeSH, independently of how the composer chooses labels or studies:

- **conditions** (:func:`top_conditions`): the MeSH disease descriptors (tree numbers under ``C``) that
  each label's Indications and Usage (LOINC ``34067-9``) names, counted once per label; category heads
  (a tree number without a dot: "Neoplasms"), general notions filed only under C23, Pathological
  Conditions, Signs and Symptoms ("Disease", "Syndrome", "Recurrence") and classes of more than
  :data:`MAX_CLASS` descriptors ("Carcinoma") are not conditions (:func:`label_conditions`);
- **on-label blocks**: label blocks quoting an indication whose text names the condition (by an entry term
  of it or of a descriptor below it, whole words, :class:`ConditionTerms`) and a dosage quote
  (``34068-7``); an article passes with one or more;
- **dose checks**: the article's dose notes that match or differ from the label;
- **research precision@3**: of the first three research bullets, the share whose study's MeSH headings hold
  the condition or a descriptor below it, or whose title names it;
- **body words** (Markdown before "## References") and the ask latency, warm.

Nothing here names a disease. ``vademecum eval labels`` prints the figures (docs/label-research-quality.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vademecum.answer.article import Article, LabelCheck, LabelSectionQuote
from vademecum.errors import VademecumError
from vademecum.evaluation.articles import QUESTION_TEMPLATE, body_markdown, body_words
from vademecum.evidence.models import EvidenceDocument, EvidencePassage
from vademecum.services.ask import ask
from vademecum.services.runtime import Runtime
from vademecum.vocab.mesh import MeshVocabulary
from vademecum.vocab.normalise import exact_form, normalise_term

INDICATIONS = "34067-9"
DOSAGE = "34068-7"
DRUG_LABEL = "drug_label"
DISEASE_TREE = "C"
# MeSH C23, Pathological Conditions, Signs and Symptoms: general notions ("Disease", "Recurrence",
# "Death") and symptoms, not diseases a label is indicated for.
GENERAL_TREE = "C23"
# A descriptor with more descriptors than this below it is a class of diseases ("Carcinoma",
# "Adenocarcinoma", found where a label names a kind MeSH has no entry term for), not a condition to ask about.
MAX_CLASS = 40
TOP_CONDITIONS = 20
RESEARCH_DEPTH = 3

# What the articles should reach; shown beside the figures. ``on_label_share``: articles passing / articles.
TARGETS: dict[str, float] = {
    "on_label_share": 1.0,
    "research_precision": 0.8,
    "ask_p50_ms": 150,
    "ask_p95_ms": 400,
}

_CAPITALISED = re.compile(r"[A-Z][a-z]+")
# Where a label's indication says a drug is not for a condition (often under "Limitations of Use").
_NEGATION = re.compile(
    r"\bnot\s+(?:been\s+|be\s+)?(?:indicated|effective|recommended|approved|established|used)\b"
    r"|\bnot\s+for\s+(?:use|the\s+treatment)\b",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[•;\n]")


# --- Which conditions --------------------------------------------------------------------------------------


def is_disease(tree_numbers: Sequence[str]) -> bool:
    """Whether a descriptor at these tree numbers is a disease to ask about: it has a ``C`` tree number, none
    of its ``C`` tree numbers is a category head (no dot: "Neoplasms", "Infections") and it is filed
    somewhere outside C23 (general pathological notions and symptoms: "Disease", "Syndrome")."""
    diseases = [number for number in tree_numbers if number.startswith(DISEASE_TREE)]
    return (
        bool(diseases)
        and all("." in number for number in diseases)
        and any(number.split(".")[0] != GENERAL_TREE for number in diseases)
    )


def narrower_uis(ui: str, mesh: MeshVocabulary) -> set[str]:
    """The descriptor and every descriptor below it in the MeSH tree."""
    uis = {ui}
    for tree_number in mesh.tree_numbers(ui):
        uis.update(descriptor.ui for descriptor in mesh.descendants_of(tree_number))
    return uis


def label_conditions(labels: Mapping[str, Sequence[str]], mesh: MeshVocabulary) -> dict[str, set[str]]:
    """The conditions each label's indications name (``labels``: document id → indication texts), as
    descriptor UIs: every MeSH entry term found in the texts whose descriptor is a disease
    (:func:`is_disease`) and no class of more than :data:`MAX_CLASS` descriptors."""
    decided: dict[str, bool] = {}

    def condition(ui: str) -> bool:
        if ui not in decided:
            decided[ui] = is_disease(mesh.tree_numbers(ui)) and len(narrower_uis(ui, mesh)) - 1 <= MAX_CLASS
        return decided[ui]

    return {
        document_id: {
            match.descriptor.ui for text in texts for match in mesh.find_terms(text) if condition(match.descriptor.ui)
        }
        for document_id, texts in labels.items()
    }


def indication_texts(session: Session) -> dict[str, list[str]]:
    """The Indications and Usage text of every drug label in the store, by document id: each passage with
    the subsection headings above it (the section's own heading left out), in document order."""
    rows = session.execute(
        select(EvidencePassage.document_id, EvidencePassage.section_path, EvidencePassage.text)
        .join(EvidenceDocument, EvidenceDocument.id == EvidencePassage.document_id)
        .where(EvidenceDocument.kind == DRUG_LABEL, EvidencePassage.section_code == INDICATIONS)
        .order_by(EvidencePassage.document_id, EvidencePassage.ordinal)
    )
    texts: dict[str, list[str]] = defaultdict(list)
    for document_id, section_path, text in rows:
        texts[document_id].append(" ".join([*section_path[1:], text]))
    return dict(texts)


@dataclass(frozen=True, slots=True)
class ConditionTerms:
    """What names a condition: the entry terms of its descriptor and of every descriptor below it in the
    tree (``folded``: normalised words, any case; ``exact``: terms written in capitals only, "AML", whose
    words must match case), and the UIs of those descriptors."""

    folded: frozenset[str]
    exact: frozenset[str]
    uis: frozenset[str]

    @classmethod
    def of(cls, ui: str, mesh: MeshVocabulary) -> ConditionTerms:
        """The terms of the descriptor ``ui`` and of its descendants."""
        uis = narrower_uis(ui, mesh)
        folded: set[str] = set()
        exact: set[str] = set()
        for each in uis:
            for term in mesh.entry_terms(each):
                if term.upper() == term and any(char.isalpha() for char in term):
                    exact.add(exact_form(term))
                else:
                    folded.add(normalise_term(term))
        return cls(frozenset(folded - {""}), frozenset(exact - {""}), frozenset(uis))

    def named_in(self, text: str) -> bool:
        """Whether ``text`` names the condition: one of its terms as whole words."""
        folded = f" {normalise_term(text)} "
        if any(f" {term} " in folded for term in self.folded):
            return True
        exact = f" {exact_form(text)} "
        return any(f" {term} " in exact for term in self.exact)


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition the labels are indicated for: its MeSH descriptor, how the question names it, the labels
    whose indications name it and its :class:`ConditionTerms`."""

    ui: str
    name: str
    disease: str
    label_ids: tuple[str, ...]
    terms: ConditionTerms

    @property
    def question(self) -> str:
        """The question asked for this condition."""
        return QUESTION_TEMPLATE.format(disease=self.disease)


def disease_name(mesh_name: str, word_counts: Mapping[str, int]) -> str:
    """A MeSH descriptor name in the order of running text, cased as the labels write its words.

    MeSH inverts names at commas ("Carcinoma, Non-Small-Cell Lung", "Leukemia, Myelogenous, Chronic,
    BCR-ABL Positive"); the parts are read last first ("Non-Small-Cell Lung Carcinoma"). A capitalised
    word, or part of a hyphenated word, is lower-cased when ``word_counts`` (words of the labels'
    indications) has it in lower case at least a quarter as often as capitalised, so names ("Merkel",
    "Hodgkin") keep their capitals.
    """
    name = " ".join(part.strip() for part in reversed(mesh_name.split(",")) if part.strip())

    def recase(match: re.Match[str]) -> str:
        word = match.group(0)
        return word.lower() if 4 * word_counts.get(word.lower(), 0) >= word_counts.get(word, 0) else word

    return _CAPITALISED.sub(recase, name)


def word_counts(labels: Mapping[str, Sequence[str]]) -> Counter[str]:
    """How often each word (as written) occurs in the labels' indication texts, for :func:`disease_name`."""
    return Counter(word for texts in labels.values() for text in texts for word in re.findall(r"[A-Za-z]+", text))


def make_condition(ui: str, named: Mapping[str, set[str]], mesh: MeshVocabulary, words: Mapping[str, int]) -> Condition:
    """The condition of descriptor ``ui``, with the labels that name it (``named``: document id → the
    conditions its indications name) and its name cased by ``words`` (:func:`word_counts`)."""
    name = descriptor_name(ui, mesh)
    return Condition(
        ui=ui,
        name=name,
        disease=disease_name(name, words),
        label_ids=tuple(sorted(document_id for document_id, uis in named.items() if ui in uis)),
        terms=ConditionTerms.of(ui, mesh),
    )


def top_conditions(session: Session, mesh: MeshVocabulary, limit: int = TOP_CONDITIONS) -> list[Condition]:
    """The ``limit`` conditions that most labels of the store name in their indications, most labels first
    (ties by descriptor name)."""
    labels = indication_texts(session)
    named = label_conditions(labels, mesh)
    counts = Counter(ui for uis in named.values() for ui in uis)
    names = {ui: descriptor_name(ui, mesh) for ui in counts}
    ranked = sorted(counts, key=lambda ui: (-counts[ui], names[ui]))[:limit]
    words = word_counts(labels)
    return [make_condition(ui, named, mesh, words) for ui in ranked]


def descriptor_name(ui: str, mesh: MeshVocabulary) -> str:
    """The descriptor's MeSH name (its UI when MeSH has none)."""
    descriptor = mesh.descriptor(ui)
    return descriptor.name if descriptor is not None and descriptor.name else ui


# --- Scoring one article -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockScore:
    """One label block of the article: whether it quotes an indication naming the condition and a dose.

    ``negated_indication`` is True when the quoted indication names the condition only to say the drug is
    not for it ("not indicated", "not effective"; :func:`indication_naming`).
    """

    drug: str
    document_id: str | None
    basis: str | None
    indication_names_condition: bool
    dosage_quoted: bool
    negated_indication: bool = False

    @property
    def on_label(self) -> bool:
        """Indication for the condition and dose both quoted."""
        return self.indication_names_condition and self.dosage_quoted


@dataclass(frozen=True, slots=True)
class StudyJudgement:
    """One of the first research bullets: its study and whether its MeSH headings or title name the
    condition."""

    document_id: str
    mesh_match: bool
    title_match: bool

    @property
    def on_topic(self) -> bool:
        """MeSH or title names the condition."""
        return self.mesh_match or self.title_match


@dataclass(frozen=True, slots=True)
class LabelArticleScore:
    """The figures of one condition's article."""

    ui: str
    condition: str
    question: str
    labels_indicated: int
    blocks: tuple[BlockScore, ...]
    doses_agree: int
    doses_differ: int
    doses_unchecked: int
    research_bullets: int
    studies: tuple[StudyJudgement, ...]
    body_words: int
    ask_ms: float
    error: str | None = None

    @property
    def on_label_blocks(self) -> int:
        """Blocks quoting the indication for the condition and its dose."""
        return sum(block.on_label for block in self.blocks)

    @property
    def label_blocks(self) -> int:
        """Blocks quoting a label (not those saying a drug has no label here)."""
        return sum(block.document_id is not None for block in self.blocks)

    @property
    def passes(self) -> bool:
        """At least one on-label block."""
        return self.on_label_blocks > 0

    @property
    def research_precision(self) -> float | None:
        """On-topic studies / judged studies among the first research bullets; None without research."""
        return sum(study.on_topic for study in self.studies) / len(self.studies) if self.studies else None

    def to_json(self) -> dict[str, Any]:
        """The score as plain JSON data."""
        data = dataclasses.asdict(self)
        for block, row in zip(self.blocks, data["blocks"], strict=True):
            row["on_label"] = block.on_label
        for study, row in zip(self.studies, data["studies"], strict=True):
            row["on_topic"] = study.on_topic
        data.update(
            on_label_blocks=self.on_label_blocks,
            label_blocks=self.label_blocks,
            passes=self.passes,
            research_precision=self.research_precision,
        )
        return data


def heading_uis(headings: Iterable[Mapping[str, Any]], mesh: MeshVocabulary) -> set[str]:
    """The descriptor UIs of a document's MeSH headings; a heading stored without its UI (PubMedQA keeps
    names only) is looked up by name."""
    uis: set[str] = set()
    for heading in headings:
        if heading.get("ui"):
            uis.add(str(heading["ui"]))
        elif heading.get("descriptor"):
            uis.update(descriptor.ui for descriptor in mesh.lookup(str(heading["descriptor"]))[:1])
    return uis


def judge_studies(
    session: Session, document_ids: Sequence[str], condition: Condition, mesh: MeshVocabulary
) -> list[StudyJudgement]:
    """Whether each study's MeSH headings hold the condition (or a descriptor below it) and whether its
    title names it; a study missing from the store is judged off topic."""
    rows = session.execute(
        select(EvidenceDocument.id, EvidenceDocument.title, EvidenceDocument.mesh_headings).where(
            EvidenceDocument.id.in_(list(document_ids))
        )
    )
    stored = {document_id: (title, headings or []) for document_id, title, headings in rows}
    judged = []
    for document_id in document_ids:
        title, headings = stored.get(document_id, ("", []))
        judged.append(
            StudyJudgement(
                document_id,
                mesh_match=bool(heading_uis(headings, mesh) & condition.terms.uis),
                title_match=condition.terms.named_in(title),
            )
        )
    return judged


def indication_naming(quote: LabelSectionQuote, terms: ConditionTerms) -> bool | None:
    """How a quoted indication names the condition: True when its heading or one of its clauses (a sentence,
    or a piece of it between bullets and semicolons) names it, False when only clauses that say the drug is
    not for it do (:data:`_NEGATION`: "is not indicated … for … chronic lymphocytic leukemia"), None when
    nothing names it."""
    if terms.named_in(quote.title):
        return True
    clauses = [clause for sentence in quote.sentences for clause in _CLAUSE_BREAK.split(sentence.text)]
    naming = [clause for clause in clauses if terms.named_in(clause)]
    if not naming:
        return None
    return any(not _NEGATION.search(clause) for clause in naming)


def block_scores(article: Article, condition: Condition) -> list[BlockScore]:
    """Every label block of the article, checked for the condition's indication and a dosage quote."""
    scores = []
    for block in article.labels.blocks:
        namings = [indication_naming(q, condition.terms) for q in block.quotes if q.code == INDICATIONS and q.sentences]
        dosage = any(quote.code == DOSAGE and quote.sentences for quote in block.quotes)
        basis = block.basis.value if block.basis is not None else None
        indication = True in namings
        negated = not indication and False in namings
        scores.append(BlockScore(block.drug, block.document_id, basis, indication, dosage, negated))
    return scores


def score_article(
    condition: Condition, article: Article, session: Session, mesh: MeshVocabulary, ask_ms: float = 0.0
) -> LabelArticleScore:
    """Score the article answering ``condition.question`` (``session`` reads the studies it quotes)."""
    checks = Counter(
        note.check for bullet in (*article.guidelines.bullets, *article.research.bullets) for note in bullet.doses
    )
    research = article.research.bullets
    first = [bullet.sentences[0].source.document_id for bullet in research[:RESEARCH_DEPTH] if bullet.sentences]
    return LabelArticleScore(
        ui=condition.ui,
        condition=condition.name,
        question=condition.question,
        labels_indicated=len(condition.label_ids),
        blocks=tuple(block_scores(article, condition)),
        doses_agree=checks[LabelCheck.MATCHES_LABEL],
        doses_differ=checks[LabelCheck.DIFFERS_FROM_LABEL],
        doses_unchecked=checks[LabelCheck.NO_LABEL],
        research_bullets=len(research),
        studies=tuple(judge_studies(session, first, condition, mesh)),
        body_words=body_words(body_markdown(article)),
        ask_ms=ask_ms,
    )


def failed_score(condition: Condition, error: str, ask_ms: float) -> LabelArticleScore:
    """The score of a condition whose question got no article."""
    return LabelArticleScore(
        ui=condition.ui,
        condition=condition.name,
        question=condition.question,
        labels_indicated=len(condition.label_ids),
        blocks=(),
        doses_agree=0,
        doses_differ=0,
        doses_unchecked=0,
        research_bullets=0,
        studies=(),
        body_words=0,
        ask_ms=ask_ms,
        error=error,
    )


# --- The whole run -----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (as the benchmark scripts compute it)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass(frozen=True, slots=True)
class Overall:
    """The run's summary row.

    ``on_label_passing`` counts articles with an on-label block (a failed ask does not pass); the block
    counts pool every article's label blocks: on label, quoting a label at all, quoting the indication
    for the condition without a dose, quoting an indication that says the drug is not for the condition.
    ``research_precision`` is the mean over the articles with research bullets, ``no_research`` how many
    had none. Latencies are warm: a warm-up question is asked, untimed, before the run.
    """

    conditions: int
    failed: int
    on_label_passing: int
    on_label_blocks: int
    label_blocks: int
    indication_without_dose: int
    negated_indications: int
    doses_agree: int
    doses_differ: int
    doses_unchecked: int
    research_precision: float | None
    no_research: int
    median_body_words: float | None
    ask_p50_ms: float | None
    ask_p95_ms: float | None
    targets: dict[str, float] = field(default_factory=lambda: dict(TARGETS))


def overall(scores: Sequence[LabelArticleScore]) -> Overall:
    """The summary row of a run."""
    answered = [score for score in scores if score.error is None]
    precisions = [score.research_precision for score in answered if score.research_precision is not None]
    timings = [score.ask_ms for score in scores]
    blocks = [block for score in scores for block in score.blocks]
    return Overall(
        conditions=len(scores),
        failed=len(scores) - len(answered),
        on_label_passing=sum(score.passes for score in scores),
        on_label_blocks=sum(score.on_label_blocks for score in scores),
        label_blocks=sum(score.label_blocks for score in scores),
        indication_without_dose=sum(block.indication_names_condition and not block.dosage_quoted for block in blocks),
        negated_indications=sum(block.negated_indication for block in blocks),
        doses_agree=sum(score.doses_agree for score in scores),
        doses_differ=sum(score.doses_differ for score in scores),
        doses_unchecked=sum(score.doses_unchecked for score in scores),
        research_precision=statistics.fmean(precisions) if precisions else None,
        no_research=sum(1 for score in answered if not score.studies),
        median_body_words=statistics.median(score.body_words for score in answered) if answered else None,
        ask_p50_ms=statistics.median(timings) if timings else None,
        ask_p95_ms=percentile(timings, 0.95) if timings else None,
    )


@dataclass(frozen=True, slots=True)
class LabelEvaluation:
    """Every condition's score and the summary row."""

    scores: tuple[LabelArticleScore, ...]
    overall: Overall

    def to_json(self) -> dict[str, Any]:
        """The run as plain JSON data (the shape documented in docs/label-research-quality.md)."""
        return {
            "overall": dataclasses.asdict(self.overall),
            "conditions": [score.to_json() for score in self.scores],
        }


def evaluate(
    runtime: Runtime,
    conditions: Sequence[Condition],
    on_done: Callable[[LabelArticleScore], None] | None = None,
) -> LabelEvaluation:
    """Ask every condition's question through the ask service and score its article.

    The first condition's question is asked once untimed before the run, so the vocabularies, the index
    and the store are open and every timing is warm.
    """
    mesh = runtime.vocabulary.mesh
    if conditions:
        with contextlib.suppress(VademecumError):  # the timed ask reports it
            ask(runtime, conditions[0].question)
    scores = []
    for condition in conditions:
        started = time.perf_counter()
        try:
            article = ask(runtime, condition.question)
        except VademecumError as error:
            ask_ms = (time.perf_counter() - started) * 1000
            score = failed_score(condition, f"{type(error).__name__}: {error}", ask_ms)
        else:
            ask_ms = (time.perf_counter() - started) * 1000
            with runtime.session() as session:
                score = score_article(condition, article, session, mesh, ask_ms)
        scores.append(score)
        if on_done is not None:
            on_done(score)
    return LabelEvaluation(tuple(scores), overall(scores))
