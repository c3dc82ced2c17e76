"""Extractive composition: ranked passages become the article's sections, sentence by sentence.

Every clinical sentence is cut from a source passage by character offsets and keeps its location.
Sentences that cannot stand alone travel with the sentence before them or are skipped;
near-duplicates are merged and cite every passage that says the same thing. The only text the
program writes is connecting text (the lead naming the guidelines, headings, notes saying what was
searched) and it makes no clinical claim.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from vademecum.answer import dosing, research, sentences
from vademecum.answer.article import (
    Bullet,
    BulletGroup,
    CitedSentence,
    DrugLabelBlock,
    GuidelineSection,
    LabelBasis,
    LabelSectionQuote,
    ResearchSection,
    SourceLocation,
    StudyFacts,
    label_set_id,
)
from vademecum.answer.indications import LabelIndication
from vademecum.answer.outline import Outline, on_intent
from vademecum.answer.retrieve import (
    BOXED_WARNING,
    DOSAGE,
    INDICATIONS,
    ConceptMatcher,
    Evidence,
    LabelEvidence,
    Study,
)
from vademecum.answer.understand import Intent, Question
from vademecum.evidence.grading import EvidenceLevel
from vademecum.evidence.models import EvidenceDocument
from vademecum.vocab.drugs import DrugLexicon
from vademecum.vocab.mesh import MeshVocabulary

KEY_CONSIDERATIONS = 5
KEY_CONSIDERATIONS_WITH_OUTLINE = 3
BULLETS_PER_GROUP = 3
MAX_GROUPS = 6
DRUG_CLASS_TREE = "D27"
# Only the best candidates are clustered and classified: both cost about a millisecond per sentence.
CANDIDATE_POOL = 200
GROUPED_POOL = 80
UNSTATED_DESIGN = "Design not stated"
_DIGIT = re.compile(r"\d")
LABEL_SENTENCES_PER_SECTION = 4
BOXED_WARNING_SENTENCES = 1
DOSAGE_SECTION_NUMBER = "2"

# Headings of the option groups by intent (connecting text: they name a kind of content, not a claim).
GROUPS_HEADING = {
    Intent.MANAGEMENT: "Treatment options",
    Intent.COMPARISON: "Treatment options",
    Intent.DOSING: "Dosing",
    Intent.DIAGNOSIS: "Diagnostic steps",
    Intent.ADVERSE_EFFECTS: "Adverse effects",
    Intent.CONTRAINDICATIONS_INTERACTIONS: "Contraindications and interactions",
    Intent.PROGNOSIS: "Prognostic factors",
    Intent.SCREENING_PREVENTION: "Screening and prevention",
    Intent.MECHANISM: "Mechanism",
}

# Words that say a sentence is about what the intent asks for; they weigh sentences, never add text.
INTENT_WORDS = {
    Intent.MANAGEMENT: ("treatment", "therapy", "treated", "management", "surgery", "resection", "options"),
    Intent.COMPARISON: ("compared", "versus", "than", "superior", "difference", "randomized"),
    Intent.DOSING: ("dose", "dosage", "mg", "administered", "daily", "weeks"),
    Intent.DIAGNOSIS: ("diagnosis", "diagnostic", "imaging", "biopsy", "test", "marker", "detect"),
    Intent.ADVERSE_EFFECTS: ("adverse", "toxicity", "side effects", "reactions", "risk"),
    Intent.CONTRAINDICATIONS_INTERACTIONS: ("contraindicated", "interaction", "avoid", "concomitant"),
    Intent.PROGNOSIS: ("prognosis", "survival", "prognostic", "outcome", "recurrence"),
    Intent.SCREENING_PREVENTION: ("screening", "prevention", "risk", "reduce", "detection"),
    Intent.MECHANISM: ("mechanism", "inhibits", "binds", "pathway", "receptor"),
}

# Words added to the search query per intent, so passages on what is asked rank higher.
RETRIEVAL_WORDS = {
    Intent.MANAGEMENT: "treatment therapy",
    Intent.COMPARISON: "",
    Intent.DOSING: "dose dosage administration",
    Intent.DIAGNOSIS: "diagnosis diagnostic",
    Intent.ADVERSE_EFFECTS: "adverse effects toxicity",
    Intent.CONTRAINDICATIONS_INTERACTIONS: "contraindications interactions",
    Intent.PROGNOSIS: "prognosis survival",
    Intent.SCREENING_PREVENTION: "screening prevention",
    Intent.MECHANISM: "mechanism",
}
# Below this many words a bullet says little on its own (a bare list item); its score is scaled down.
INFORMATIVE_WORDS = 14

_WORD = re.compile(r"[a-z0-9]+")


def retrieval_query(question: Question) -> str:
    """The search query: the question with abbreviations expanded, plus the intent's words."""
    return f"{question.search_text} {RETRIEVAL_WORDS[question.intent]}".strip()


@dataclass(frozen=True, slots=True)
class Candidate:
    """Consecutive sentences of one passage that may become a bullet, with their score."""

    evidence: Evidence
    spans: tuple[sentences.Span, ...]
    score: float

    @property
    def text(self) -> str:
        """The candidate's text, as in the source."""
        return self.evidence.text[self.spans[0].start : self.spans[-1].end]


@dataclass(frozen=True)
class Composer:
    """Composes the sections of one question's article."""

    question: Question
    matcher: ConceptMatcher
    mesh: MeshVocabulary
    drugs: DrugLexicon

    # -- guidelines -------------------------------------------------------------------------

    def guideline_section(
        self, documents: Sequence[EvidenceDocument], passages: Sequence[Evidence], outline: Outline | None = None
    ) -> GuidelineSection:
        """Bottom line, the guidelines used, key considerations, then the guideline's own structure.

        ``outline`` (:func:`vademecum.answer.outline.build_outline`) gives the bottom line, the option
        lists by setting and the agents; key considerations and the further groups come from the
        on-intent ``passages`` that the outline does not already quote. Groups are named by the
        source's own headings; they are only added when the guideline has no option lists to show.
        """
        heading = GROUPS_HEADING[self.question.intent]
        outline = outline or Outline((), (), (), frozenset())
        usable = [
            p
            for p in passages
            if on_intent(p.section_path, self.question.intent)
            and p.passage_id not in outline.quoted
            and p.block != "list_item"
        ]
        if not usable and not outline.settings and not outline.bottom_line:
            return GuidelineSection("", (), (), heading, ())
        bottom = {s.text for b in outline.bottom_line for s in b.sentences}
        # A key consideration says something about what is asked (a treatment question's bullet names
        # a treatment); definitions and background that only name the disease are left out.
        intent_words = INTENT_WORDS[self.question.intent]
        candidates = [
            group
            for group in self._merged(self._candidates(usable))
            if not any(s.text in bottom for s in group[0].spans)
            and any(word in group[0].text.casefold() for word in intent_words)
        ]
        # The overview's sections already give a statement each; key considerations then add nothing.
        count = 0 if outline.modalities else KEY_CONSIDERATIONS_WITH_OUTLINE if outline.settings else KEY_CONSIDERATIONS
        key_considerations = tuple(self._bullet(group) for group in candidates[:count])
        if outline.modalities:
            heading, groups = outline.modalities_heading or heading, outline.modalities
        elif outline.settings:
            groups = ()
        else:
            groups = self._by_heading(_across_sections(candidates[count:], GROUPED_POOL))
        section = GuidelineSection(
            lead="",
            guideline_keys=(),
            key_considerations=key_considerations,
            groups_heading=heading,
            groups=groups,
            bottom_line=outline.bottom_line,
            settings=outline.settings,
            agents=outline.agents,
        )
        # The lead names only the guidelines the section actually quotes, each cited by its first quote.
        first_key: dict[str, str] = {}
        for sentence in section.sentences:
            first_key.setdefault(sentence.source.document_id, sentence.source.key)
        quoted = [d for d in documents if d.id in first_key]
        return replace(
            section,
            lead=guideline_lead(quoted) if quoted else "",
            guideline_keys=tuple(first_key[d.id] for d in quoted),
        )

    def _by_heading(self, candidates: Sequence[list[Candidate]]) -> tuple[BulletGroup, ...]:
        """Candidates grouped under the source's own section headings, best group first."""
        by_heading: dict[str, list[list[Candidate]]] = defaultdict(list)
        for group in candidates:
            evidence = group[0].evidence
            by_heading[evidence.section_path[-1] if evidence.section_path else evidence.title].append(group)
        ordered = sorted(by_heading.items(), key=lambda item: -item[1][0][0].score)
        return tuple(
            BulletGroup(heading, tuple(self._bullet(g) for g in groups[:BULLETS_PER_GROUP]))
            for heading, groups in ordered[:MAX_GROUPS]
        )

    # -- research ---------------------------------------------------------------------------

    def research_section(self, studies: Sequence[Study]) -> ResearchSection:
        """A bullet per study, from its conclusions or results (:func:`~vademecum.answer.research.study_quote`),
        grouped by design, strongest design first and newest first within one. Only studies whose title or
        MeSH headings name the question's topic are quoted: one that merely mentions it is tangential."""
        chosen = [study for study in studies if study.on_topic]
        question_words = set(_WORD.findall(self.question.search_text.casefold()))
        by_design: dict[tuple[int, str], list[tuple[int, Bullet]]] = defaultdict(list)
        for study in chosen:
            quote = research.study_quote(study, question_words)
            if quote is None:
                continue
            evidence = quote.passage
            level = EvidenceLevel.from_label(evidence.level)
            design = UNSTATED_DESIGN if level is EvidenceLevel.UNCLASSIFIED else level.title
            facts = StudyFacts(design, evidence.year, research.study_size(study), quote.section)
            cited = tuple(CitedSentence(s.text, _location(evidence, s.start, s.end)) for s in quote.spans)
            by_design[level.rank, design].append((evidence.year or 0, Bullet(cited, study=facts)))
        groups = [
            BulletGroup(design, tuple(bullet for _, bullet in sorted(members, key=lambda m: -m[0])))
            for (_, design), members in sorted(by_design.items())
        ]
        return ResearchSection(tuple(groups))

    # -- labels -----------------------------------------------------------------------------

    def label_block(self, label: LabelEvidence) -> DrugLabelBlock:
        """The label's boxed warning, indications and dosage sections quoted with their numbers."""
        quotes = []
        summary: list[CitedSentence] = []
        for code in (BOXED_WARNING, INDICATIONS, DOSAGE):
            passages = [p for p in label.passages if p.section_code == code]
            by_section: dict[tuple[str | None, str], list[Evidence]] = defaultdict(list)
            for passage in passages:
                title = passage.section_path[-1] if passage.section_path else label.document.title
                by_section[passage.section_number, title].append(passage)
            relevant = [key for key, group in by_section.items() if self.matcher.matches(f"{key[1]} {_text(group)}")]
            chosen = relevant or list(by_section)[:1]
            for number, title in chosen:
                cited = [s for p in by_section[number, title] for s in self._sentences_of(p)][
                    :LABEL_SENTENCES_PER_SECTION
                ]
                if cited:
                    quotes.append(LabelSectionQuote(number, title, code, tuple(cited)))
            if code in (INDICATIONS, DOSAGE):
                summary.extend(self._summary_sentence(by_section, chosen, code))
        return DrugLabelBlock(label.drug, label.document.id, tuple(quotes), tuple(summary))

    def indication_block(self, found: LabelIndication, basis: LabelBasis) -> DrugLabelBlock:
        """The label of a drug indicated for the question's condition: its boxed warning (first sentences),
        the indication for the condition and the dose for that indication, each under its own number."""
        label = found.label
        quotes = []
        warning = [s for p in found.boxed_warning for s in self._sentences_of(p)][:BOXED_WARNING_SENTENCES]
        if warning:
            first = found.boxed_warning[0]
            quotes.append(LabelSectionQuote(first.section_number, _label_heading(first), BOXED_WARNING, tuple(warning)))
        start, end = found.indication_sentence
        indication = found.indication
        quotes.append(
            LabelSectionQuote(
                indication.section_number,
                _label_heading(indication),
                INDICATIONS,
                (CitedSentence(indication.text[start:end], _location(indication, start, end)),),
            )
        )
        note = None
        if found.dose_passage is not None and found.dose_sentence is not None:
            start, end = found.dose_sentence
            dose = found.dose_passage
            sentence = CitedSentence(dose.text[start:end], _location(dose, start, end))
            quotes.append(LabelSectionQuote(dose.section_number, _label_heading(dose), DOSAGE, (sentence,)))
        else:
            note = f"The label gives no dose of its own for this indication; see its section {DOSAGE_SECTION_NUMBER}."
        document = label.document
        return DrugLabelBlock(
            label.drug,
            document.id,
            tuple(quotes),
            (),
            basis=basis,
            brand=next(iter(document.brand_names), None),
            label_date=document.date,
            set_id=label_set_id(document.id),
            no_dose_note=note,
        )

    def _summary_sentence(
        self, by_section: dict[tuple[str | None, str], list[Evidence]], chosen: list[tuple[str | None, str]], code: str
    ) -> list[CitedSentence]:
        for key in chosen:
            for passage in by_section[key]:
                for sentence in self._sentences_of(passage):
                    if code == DOSAGE and not dosing.parse_doses(sentence.text):
                        continue
                    return [sentence]
        return []

    def missing_label_block(self, drug: str, drug_information: Sequence[Evidence]) -> DrugLabelBlock:
        """A drug the article names with no label in the corpus; the approvals NCI drug information gives
        for the question's condition, when a page is indexed (approvals for other conditions are left out)."""
        note = f"No FDA drug label for {drug} is in the indexed corpus."
        # A list's lead-in alone ("… is approved to treat:") is left out: each item carries it.
        approvals = [
            s
            for p in drug_information
            for s in self._sentences_of(p)
            if "approved" in s.text.casefold()
            and not sentences.introduces_list(s.text)
            and (self.matcher.empty or self.matcher.matches(s.text))
        ]
        # A page may list one approval twice (under two headings): it is quoted once.
        unique = list({sentence.text: sentence for sentence in reversed(approvals)}.values())
        approvals = sorted(unique, key=approvals.index)[:3]
        return DrugLabelBlock(drug, None, (), (), missing_label_note=note, drug_information=tuple(approvals))

    # -- doses ------------------------------------------------------------------------------

    def with_doses(
        self,
        bullet: Bullet,
        label_doses: Callable[[str], dosing.LabelDoseSource],
        dates: Mapping[str, dt.date | None] = MappingProxyType({}),
    ) -> Bullet:
        """The bullet with a note for each dose it states, checked against the drug's label; ``dates`` gives
        the date of each quoted document (by document id), shown beside a dose that differs."""
        if not any(_DIGIT.search(sentence.text) for sentence in bullet.sentences):
            return bullet  # no amount, no dose
        names = [c.name for c in self.question.drugs]
        names += [m.name for s in bullet.sentences for m in self.drugs.find(s.text)]
        notes = []
        for sentence in bullet.sentences:
            for dose in dosing.parse_doses(sentence.text, names):
                if dose.drug is not None:
                    notes.append(dosing.dose_note(dose, label_doses(dose.drug), dates.get(sentence.source.document_id)))
        return replace(bullet, doses=tuple(notes)) if notes else bullet

    # -- sentences --------------------------------------------------------------------------

    def _candidates(self, passages: Sequence[Evidence]) -> list[Candidate]:
        best = max((p.score for p in passages), default=0.0) or 1.0
        query_words = set(_WORD.findall(self.question.search_text.casefold()))
        intent_words = INTENT_WORDS[self.question.intent]
        found = []
        for passage in passages:
            for group in sentences.group_standalone(passage.sentences, passage.text):
                text = passage.text[group[0].start : group[-1].end]
                if not sentences.is_clinical_statement(group[0].text):
                    continue
                words = set(_WORD.findall(text.casefold()))
                overlap = len(words & query_words) / max(len(query_words), 1)
                concepts = self.matcher.matches(text)
                intent = sum(1 for w in intent_words if w in text.casefold())
                informative = min(1.0, len(words) / INFORMATIVE_WORDS) ** 0.5
                score = (passage.score / best) * (1 + overlap + 0.5 * concepts + 0.25 * min(intent, 2)) * informative
                found.append(Candidate(passage, tuple(group), score))
        found.sort(key=lambda c: -c.score)
        return found

    def _merged(self, candidates: Sequence[Candidate]) -> list[list[Candidate]]:
        """Near-duplicate candidates clustered; each cluster's best candidate first, clusters by score."""
        candidates = candidates[:CANDIDATE_POOL]
        clusters = sentences.cluster_duplicates([c.text for c in candidates])
        groups = [sorted((candidates[i] for i in cluster), key=lambda c: -c.score) for cluster in clusters]
        groups.sort(key=lambda g: -g[0].score)
        return groups

    def _bullet(self, group: Sequence[Candidate]) -> Bullet:
        primary, *others = group
        supporting = tuple(_location(c.evidence, c.spans[0].start, c.spans[-1].end) for c in others)
        cited = tuple(
            CitedSentence(span.text, _location(primary.evidence, span.start, span.end), supporting)
            for span in primary.spans
        )
        return Bullet(cited)

    def _sentences_of(self, passage: Evidence) -> list[CitedSentence]:
        return [CitedSentence(span.text, _location(passage, span.start, span.end)) for span in passage.sentences]


def _across_sections(groups: Sequence[list[Candidate]], limit: int) -> list[list[Candidate]]:
    """Up to ``limit`` candidate groups taken in turn from each source section, best first in each,
    so every section the guideline devotes to the question is represented."""
    by_section: dict[tuple[str, ...], list[list[Candidate]]] = defaultdict(list)
    for group in groups:
        evidence = group[0].evidence
        by_section[(evidence.document_id, *evidence.section_path)].append(group)
    taken: list[list[Candidate]] = []
    queues = list(by_section.values())
    while queues and len(taken) < limit:
        queues = [queue for queue in queues if queue]
        for queue in queues:
            if len(taken) < limit:
                taken.append(queue.pop(0))
    return sorted(taken, key=lambda g: -g[0].score)


def _label_heading(passage: Evidence) -> str:
    """A label section's title as the reader read it: a table's caption, else the nearest heading."""
    caption = passage.text.split("\n", 1)[0] if passage.block == "table" else ""
    if caption.startswith("Table"):
        return caption
    return passage.section_path[-1] if passage.section_path else ""


def _location(evidence: Evidence, start: int, end: int) -> SourceLocation:
    return SourceLocation(evidence.passage_id, evidence.document_id, evidence.section_path, start, end)


def _text(passages: Iterable[Evidence]) -> str:
    return " ".join(p.text for p in passages)


def guideline_lead(documents: Sequence[EvidenceDocument]) -> str:
    """Connecting text naming the guideline documents used (issuer and year); no clinical claim."""
    named = [_guideline_name(d) for d in documents]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    noun = "Guideline used" if len(named) == 1 else "Guidelines used"
    return f"{noun}: {listed}."


def _guideline_name(document: EvidenceDocument) -> str:
    issuer = document.issuer or "issuer not stated"
    when = f"updated {document.date:%B %Y}" if document.date else (str(document.year) if document.year else "undated")
    return f"{document.title} ({issuer}, {when})"


def prominent_drugs(bullets: Iterable[Bullet], drugs: DrugLexicon, mesh: MeshVocabulary, minimum: int = 2) -> list[str]:
    """Drugs named in at least ``minimum`` of the bullets, most often named first.

    Drug classes (MeSH "Chemical Actions and Uses", tree D27) are left out: a label belongs to a drug.
    """
    counts: Counter[str] = Counter()
    for bullet in bullets:
        names = {m.name for s in bullet.sentences for m in drugs.find(s.text) if not _is_drug_class(m.mesh_id, mesh)}
        counts.update(names)
    return [name for name, count in counts.most_common() if count >= minimum]


def _is_drug_class(ui: str | None, mesh: MeshVocabulary) -> bool:
    trees = mesh.tree_numbers(ui) if ui else []
    return bool(trees) and all(tree.startswith(DRUG_CLASS_TREE) for tree in trees)
