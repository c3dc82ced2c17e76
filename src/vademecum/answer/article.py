"""The article: what composition produces, verification checks, and the renderers print.

Every clinical sentence is a :class:`CitedSentence` that carries the exact location of the
source text it repeats (passage id, document, section path, character offsets). Sentences
refer to evidence only by key (``ev-{passage_id}``); :mod:`vademecum.answer.citations` turns
keys into reference numbers, so no number can exist without a reference.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

ARTICLE_SCHEMA_VERSION = "1.4"
SPL_PREFIX = "spl:"
EVIDENCE_KEY_TEMPLATE = "ev-{passage_id}"


def evidence_key(passage_id: int) -> str:
    """The citation key of a passage (one template, easy to grep)."""
    return EVIDENCE_KEY_TEMPLATE.format(passage_id=passage_id)


def label_set_id(document_id: str) -> str | None:
    """The SPL set id of a drug label's document id (``spl:<set id>``); None for other documents."""
    return document_id.removeprefix(SPL_PREFIX) if document_id.startswith(SPL_PREFIX) else None


class ReferenceKind(StrEnum):
    """The reference groups of an article, in the order they are listed."""

    GUIDELINE = "guideline"
    DRUG_LABEL = "drug_label"
    RESEARCH = "research"
    DRUG_INFORMATION = "drug_information"


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where a sentence comes from: a passage of a document, and the character span inside its text."""

    passage_id: int
    document_id: str
    section_path: tuple[str, ...]
    start: int
    end: int

    @property
    def key(self) -> str:
        """The citation key of the passage."""
        return evidence_key(self.passage_id)


@dataclass(frozen=True, slots=True)
class CitedSentence:
    """A sentence taken verbatim from a source passage (``text == passage.text[start:end]``).

    ``supporting`` lists further passages that say the same thing (merged near-duplicates);
    all of them are cited. ``edited`` is True when an editor rewrote the sentence: its text is then
    the editor's, and ``source`` is the passage it was edited from (:mod:`vademecum.articles.edits`).
    """

    text: str
    source: SourceLocation
    supporting: tuple[SourceLocation, ...] = ()
    edited: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """Citation keys of every passage this sentence is cited to, primary first."""
        seen = dict.fromkeys([self.source.key, *(s.key for s in self.supporting)])
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class Dose:
    """A dose statement in structured form; ``None`` where the text does not say."""

    drug: str | None
    amount: str
    amount_low: float | None
    amount_high: float | None
    unit: str
    route: str | None = None
    frequency: str | None = None
    duration: str | None = None
    population: str | None = None
    text: str = ""


class LabelCheck(StrEnum):
    """How a dose read in a guideline or study compares with the drug's label in the corpus."""

    MATCHES_LABEL = "matches_label"
    DIFFERS_FROM_LABEL = "differs_from_label"
    NO_LABEL = "no_label"


@dataclass(frozen=True, slots=True)
class DoseNote:
    """A dose found in an article sentence, and what the label says beside it."""

    dose: Dose
    check: LabelCheck
    label_doses: tuple[Dose, ...] = ()
    label_key: str | None = None
    # Which label text the dose was checked against, and the dates of both sources, so a reader sees
    # which is newer when they differ (a guideline may give a trial's dose, the label a later one).
    label_section: str | None = None
    label_date: dt.date | None = None
    source_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class StudyFacts:
    """What a research bullet's study is, for weighing it: its design (evidence level), year, size as the
    source states it ("412 patients", verbatim) and the section its sentences are quoted from."""

    design: str
    year: int | None = None
    size: str | None = None
    section: str | None = None


@dataclass(frozen=True, slots=True)
class Bullet:
    """One bullet: one or more consecutive source sentences (kept together when one needs the other).

    A bullet quoting an item of a source's list keeps the item's own ``number`` (None for a bulleted
    item), its nesting ``depth`` in the list and the ``levels`` of evidence the source gives it.
    """

    sentences: tuple[CitedSentence, ...]
    doses: tuple[DoseNote, ...] = ()
    number: int | None = None
    depth: int = 0
    levels: tuple[str, ...] = ()
    study: StudyFacts | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """Citation keys of the bullet, in order of first appearance."""
        return tuple(dict.fromkeys(key for sentence in self.sentences for key in sentence.keys))


@dataclass(frozen=True, slots=True)
class BulletGroup:
    """Bullets under a heading: a setting's option list, an agent, a research theme, or a source section.

    ``lead`` quotes what introduces the bullets in the source (a list's lead-in, an agent's description);
    ``drug`` names the agent an agent entry is about (its label block, when one is quoted, has that name);
    ``note`` is connecting text about the group (e.g. that it matches the setting the question names).
    """

    heading: str
    bullets: tuple[Bullet, ...]
    lead: tuple[CitedSentence, ...] = ()
    drug: str | None = None
    note: str | None = None

    @property
    def sentences(self) -> tuple[CitedSentence, ...]:
        """The lead, then the bullets' sentences, in reading order."""
        return (*self.lead, *(sentence for bullet in self.bullets for sentence in bullet.sentences))


@dataclass(frozen=True, slots=True)
class GuidelineSection:
    """*From the Guidelines*, in reading order: the bottom line (the guideline's own statements of what
    is standard or preferred), the lead naming the guidelines used, key considerations, the option lists
    by setting (``settings``, each quoted whole under the guideline's own heading), the agents the
    guideline names with its evidence on them (``agents``), and further groups by source heading.
    """

    lead: str
    guideline_keys: tuple[str, ...]
    key_considerations: tuple[Bullet, ...]
    groups_heading: str
    groups: tuple[BulletGroup, ...]
    empty_note: str | None = None
    bottom_line: tuple[Bullet, ...] = ()
    settings: tuple[BulletGroup, ...] = ()
    agents: tuple[BulletGroup, ...] = ()

    @property
    def all_groups(self) -> tuple[BulletGroup, ...]:
        """Settings, agents, then the other groups, in reading order."""
        return (*self.settings, *self.agents, *self.groups)

    @property
    def bullets(self) -> tuple[Bullet, ...]:
        """Every bullet of the section, in reading order."""
        grouped = (bullet for group in self.all_groups for bullet in group.bullets)
        return (*self.bottom_line, *self.key_considerations, *grouped)

    @property
    def sentences(self) -> tuple[CitedSentence, ...]:
        """Every quoted sentence of the section (group leads included), in reading order."""
        listed = (sentence for bullet in (*self.bottom_line, *self.key_considerations) for sentence in bullet.sentences)
        return (*listed, *(sentence for group in self.all_groups for sentence in group.sentences))


@dataclass(frozen=True, slots=True)
class LabelSectionQuote:
    """A section of a drug label quoted with its own number and title."""

    number: str | None
    title: str
    code: str | None
    sentences: tuple[CitedSentence, ...]


class LabelBasis(StrEnum):
    """Why a drug's label is in the article."""

    QUESTION = "question"  # the question names the drug
    GUIDELINE = "guideline"  # the guideline section names it
    INDICATION = "indication"  # its Indications and Usage names the question's condition


@dataclass(frozen=True, slots=True)
class DrugLabelBlock:
    """*From the FDA Drug Label* for one drug: quoted sections and one cited indication-and-dose line.

    When the label's Indications and Usage names the question's condition, ``quotes`` are its boxed
    warning, the indication for that condition and the dosage subsection for that indication (not the
    first dose of the label), and ``summary`` is empty. ``brand``, ``label_date`` and ``set_id`` say
    which label it is (the DailyMed link is made from the set id); ``basis`` why it is here;
    ``no_dose_note`` says so when the label gives no dose of its own for the indication.
    """

    drug: str
    document_id: str | None
    quotes: tuple[LabelSectionQuote, ...]
    summary: tuple[CitedSentence, ...]
    missing_label_note: str | None = None
    drug_information: tuple[CitedSentence, ...] = ()
    basis: LabelBasis | None = None
    brand: str | None = None
    label_date: dt.date | None = None
    set_id: str | None = None
    no_dose_note: str | None = None

    @property
    def sentences(self) -> tuple[CitedSentence, ...]:
        """Quoted sections, summary line, then NCI drug information, in reading order."""
        quoted = (sentence for quote in self.quotes for sentence in quote.sentences)
        return (*quoted, *self.summary, *self.drug_information)


@dataclass(frozen=True, slots=True)
class LabelSection:
    """*From the FDA Drug Label*: one block per drug that matters to the question."""

    blocks: tuple[DrugLabelBlock, ...]
    empty_note: str | None = None


@dataclass(frozen=True, slots=True)
class ResearchSection:
    """*From the Research*: one bullet per study, grouped by design (strongest first), newest first within
    a design; each bullet quotes the study's conclusions or results and carries its :class:`StudyFacts`."""

    groups: tuple[BulletGroup, ...]
    empty_note: str | None = None

    @property
    def bullets(self) -> tuple[Bullet, ...]:
        """The groups' bullets, in reading order."""
        return tuple(bullet for group in self.groups for bullet in group.bullets)


@dataclass(frozen=True, slots=True)
class Reference:
    """A numbered reference: one source document, with identifiers that link to it.

    ``licence`` and ``licence_url`` are an open-access article's own licence ("CC BY 4.0"), which must be
    shown wherever text quoted from it is; None for sources that state none.
    """

    number: int
    kind: ReferenceKind
    document_id: str
    title: str
    issuer: str | None
    year: int | None
    level: str
    url: str | None = None
    pmid: str | None = None
    doi: str | None = None
    set_id: str | None = None
    keys: tuple[str, ...] = ()
    cited_pmids: tuple[str, ...] = ()
    licence: str | None = None
    licence_url: str | None = None


@dataclass(frozen=True, slots=True)
class QuestionSummary:
    """What the engine understood of the question (shown for transparency, not a clinical claim)."""

    text: str
    intent: str
    conditions: tuple[str, ...]
    drugs: tuple[str, ...]
    expansions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CorpusSnapshot:
    """The corpus an article was built from: enough to tell when newer evidence arrives."""

    last_ingest_run: int | None
    documents: int
    indexed_passages: int


SUMMARY_LABEL = "Summary written by a language model and checked against the cited sources"


class SummaryStatus(StrEnum):
    """What became of an article's language-model summary."""

    SHOWN = "shown"  # enough sentences passed verification to be shown
    TOO_LITTLE_VERIFIED = "too_little_verified"  # generated, but too few sentences passed: nothing is shown
    UNAVAILABLE = "unavailable"  # no endpoint, or the model server failed (timeout, error, unusable answer)


@dataclass(frozen=True, slots=True)
class SentenceVerification:
    """One sentence the model wrote and what the verifier found.

    ``text`` is the sentence without its citation marks; ``cited`` the passage numbers it cited as the
    model wrote them (numbers of the prompt, not of the reference list); ``keys`` the evidence keys of
    those passages that exist; ``reasons`` the checks it failed (empty when accepted), ``details`` says
    what each failure found, in the same order.
    """

    text: str
    cited: tuple[int, ...]
    keys: tuple[str, ...]
    accepted: bool
    reasons: tuple[str, ...] = ()
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Summary:
    """A prose summary written by a language model over the article's quoted passages (opt-in).

    ``sentences`` are the sentences shown: each passed verification against the passages it cites and is
    cited to them (``source`` the first cited passage, ``supporting`` the others; the character span is the
    quoted sentence the model saw, not the summary's words). ``verification`` records every sentence the
    model wrote, shown or not, with the verifier's result. ``model``, ``endpoint`` and ``prompt_hash`` say
    which model, which server and which prompt wrote it; ``note`` says why nothing is shown, when so.
    """

    status: SummaryStatus
    sentences: tuple[CitedSentence, ...] = ()
    verification: tuple[SentenceVerification, ...] = ()
    label: str = SUMMARY_LABEL
    model: str | None = None
    endpoint: str | None = None
    prompt_hash: str | None = None
    latency_ms: int | None = None
    note: str | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """Citation keys of the shown sentences, in order of first appearance."""
        return tuple(dict.fromkeys(key for sentence in self.sentences for key in sentence.keys))


@dataclass(frozen=True, slots=True)
class Article:
    """A composed article. ``references`` are numbered in order of first citation.

    ``citation_numbers`` maps every evidence key used in the body to its reference number.
    ``sufficient`` is False when the indexed sources hold nothing relevant to the question.
    ``summary`` is the optional language-model summary (``synthesis.mode = llm``); None in extractive mode
    and in articles stored before schema 1.4.
    """

    question: QuestionSummary
    title: str
    generated_at: dt.datetime
    engine_version: str
    corpus: CorpusSnapshot
    guidelines: GuidelineSection
    labels: LabelSection
    research: ResearchSection
    references: tuple[Reference, ...]
    citation_numbers: dict[str, int]
    disclaimer: str
    sufficient: bool = True
    searched: tuple[str, ...] = ()
    summary: Summary | None = None
    schema_version: str = ARTICLE_SCHEMA_VERSION
