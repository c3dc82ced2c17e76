"""A drug label's indication for the question's condition, and the dose the label gives for *that* indication.

A label lists its indications as numbered subsections of section 1 ("1.2 Neuroendocrine Tumors (NET)")
and, for most drugs with several, gives each its own dosage subsection of section 2 ("2.3 Recommended
Dosage for Neuroendocrine Tumors (NET)"); the first dose in the label is often for another indication.
:func:`label_indication` finds the sentence of section 1 that states an indication ("… is indicated for
…") for the condition (by the question's MeSH entry terms and narrower terms), never a Limitations of Use
sentence saying the drug is not for it; then the dose for that indication: the dosage subsection or table
row naming the condition (also by the abbreviation the label defines for it, "Merkel cell carcinoma
(MCC)"), or the one recommended dosage a label gives for all its indications.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from vademecum.answer import dosing
from vademecum.answer.retrieve import BOXED_WARNING, DOSAGE, INDICATIONS, ConceptMatcher, Evidence, LabelEvidence

# An abbreviation a label defines right after naming the condition: "… Merkel cell carcinoma (MCC)".
_DEFINED_ABBREVIATION = re.compile(r"\s*\((?P<abbreviation>[A-Za-z][A-Za-z0-9-]{1,11})\)")
_DIGIT = re.compile(r"\d")
# How far into a subsection's text a heading the reader did not split off may reach.
HEADING_CHARS = 120
# "The recommended dose", "Recommended Dosage", "The recommended LUTATHERA dosage".
_RECOMMENDED_DOSE = re.compile(
    r"\b(?:recommended|usual|initial|starting)\s+(?:[\w®-]+\s+){0,2}?(?:dose|dosage)\b"
    r"|\bdos(?:e|age|ing)\s+(?:recommendations?|information)\b",
    re.IGNORECASE,
)
# An indication is stated as one: "… is indicated for …".
_INDICATED = re.compile(r"\bindicated\b", re.IGNORECASE)
# A sentence or heading saying what the drug is not for.
_NOT_FOR = re.compile(
    r"\bnot\s+(?:been\s+)?(?:indicated|recommended|effective|established|approved)\b|\blimitations?\s+of\s+use\b",
    re.IGNORECASE,
)
_MODIFICATION = re.compile(r"\b(?:modification|adjustment|reduction|impairment|interruption)s?\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LabelIndication:
    """What a label says about the question's condition.

    ``indication`` is the passage of section 1 that names the condition and ``indication_sentence``
    the (start, end) of its first sentence that does; ``dosage`` the passages of the dosage subsection
    for that indication, ``dose_sentence`` the first sentence there stating a dose (in the first of
    ``dosage`` that has one); both empty when the label gives no dose of its own for the indication.
    """

    label: LabelEvidence
    indication: Evidence
    indication_sentence: tuple[int, int]
    dosage: tuple[Evidence, ...]
    dose_passage: Evidence | None
    dose_sentence: tuple[int, int] | None

    @property
    def boxed_warning(self) -> tuple[Evidence, ...]:
        """The label's boxed warning passages (none when it has no boxed warning)."""
        return tuple(p for p in self.label.passages if p.section_code == BOXED_WARNING)


def label_indication(label: LabelEvidence, matcher: ConceptMatcher) -> LabelIndication | None:
    """The label's indication for the condition ``matcher`` stands for and its dose, or None when no
    indication of the label names the condition."""
    if matcher.empty:
        return None
    indications = [p for p in label.passages if p.section_code == INDICATIONS]
    # Subsections (1.1, 1.2 …) state one indication each; section 1's own text is the Highlights summary.
    numbered = [p for p in indications if p.section_number and "." in p.section_number]
    found = _first_naming(numbered, matcher) or _first_naming(indications, matcher)
    if found is None:
        return None
    passage, span = found
    terms = _with_defined_abbreviations(matcher, passage.text)
    dosage, dose_passage, dose_span = _dose_for(label, terms, single=len({p.section_number for p in numbered}) <= 1)
    return LabelIndication(label, passage, span, tuple(dosage), dose_passage, dose_span)


def _first_naming(passages: Sequence[Evidence], matcher: ConceptMatcher) -> tuple[Evidence, tuple[int, int]] | None:
    """The first passage with a sentence that names the condition as an indication, and that sentence:
    a label's Limitations of Use ("… is not indicated for …") name conditions the drug is not for."""
    for passage in passages:
        heading = " ".join(passage.section_path[1:])
        if _NOT_FOR.search(heading) or not matcher.matches(f"{heading} {passage.text}"):
            continue
        spans = passage.sentences
        naming = [s for s in spans if matcher.matches(s.text)]
        if not naming and matcher.matches(heading):
            naming = spans[:1]
        chosen = next((s for s in naming if _INDICATED.search(s.text) and not _NOT_FOR.search(s.text)), None)
        if chosen is not None:
            return passage, (chosen.start, chosen.end)
    return None


def _with_defined_abbreviations(matcher: ConceptMatcher, text: str) -> ConceptMatcher:
    """``matcher`` widened by the abbreviations ``text`` defines for the terms it matches."""
    defined = []
    for pattern in matcher.patterns:
        for match in pattern.finditer(text):
            abbreviation = _DEFINED_ABBREVIATION.match(text, match.end())
            if abbreviation is not None:
                defined.append(abbreviation.group("abbreviation"))
    if not defined:
        return matcher
    extra = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(a) for a in defined) + r")(?!\w)")
    return ConceptMatcher((*matcher.patterns, extra))


def _dose_for(
    label: LabelEvidence, terms: ConceptMatcher, *, single: bool
) -> tuple[list[Evidence], Evidence | None, tuple[int, int] | None]:
    """The dosage subsection for the indication, the passage stating its dose and the dose's span.

    In order: the subsection whose heading names the condition; a row naming it in a dosage table
    ("Indication | Recommended Dosage"); for a label with a single recommended dosage subsection, that
    one (its dose is for every indication); the subsection whose text opens by naming the condition (a
    heading read into the text); the Highlights' line for it; for a label with a single indication, the
    first recommended, usual or starting dose anywhere in its dosage section (older labels number none).
    """
    by_number: dict[str, list[Evidence]] = {}
    highlights: list[Evidence] = []
    for passage in label.passages:
        if passage.section_code != DOSAGE or not passage.section_number:
            continue
        if "." in passage.section_number:
            by_number.setdefault(passage.section_number, []).append(passage)
        else:
            highlights.append(passage)
    groups = list(by_number.values())
    for group in groups:
        if any(terms.matches(" ".join(p.section_path[1:])) for p in group):
            passage, span = _first_dose(group)
            if passage is not None:
                return group, passage, span
    for group in groups:
        for passage in group:
            caption = passage.text.split("\n", 1)[0]
            if passage.block == "table" and _RECOMMENDED_DOSE.search(caption) and not _MODIFICATION.search(caption):
                row = _table_row(passage.text, terms)
                if row is not None:
                    return group, passage, row
    recommended = [
        group
        for group in groups
        if _RECOMMENDED_DOSE.search(" ".join(group[0].section_path[1:]) or group[0].text[:HEADING_CHARS])
        and not _modifies(group)
    ]
    if len(recommended) == 1:
        # Within it, a sentence naming the condition is the dose for it when doses differ by indication.
        group = recommended[0]
        passage, span = _first_dose(group, terms)
        # The text states the dose; a table beside it often breaks it down by weight or titration step.
        for candidates in ([p for p in group if p.block != "table"], group):
            if passage is None:
                passage, span = _first_dose(candidates)
        if passage is not None:
            return group, passage, span
    for group in groups:
        if terms.matches(group[0].text[:HEADING_CHARS]) and not _modifies(group):
            passage, span = _first_dose(group)
            if passage is not None:
                return group, passage, span
    passage, span = _first_dose(highlights, terms)
    if passage is None and single:
        unnumbered = [p for p in label.passages if p.section_code == DOSAGE]
        passage, span = _first_dose(unnumbered, recommended=True)
    return ([passage] if passage else []), passage, span


def _modifies(group: Sequence[Evidence]) -> bool:
    """True for a subsection on changing a dose (for adverse reactions, impairment, interactions)."""
    return bool(_MODIFICATION.search(" ".join(group[0].section_path[1:]) or group[0].text[:HEADING_CHARS]))


def _table_row(text: str, terms: ConceptMatcher) -> tuple[int, int] | None:
    """The span of the first line of a table's text that names the condition and states a dose."""
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        if "|" in line and terms.matches(line) and dosing.parse_doses(line):
            return start, end
        start = end + 1
    return None


def _first_dose(
    passages: Sequence[Evidence], terms: ConceptMatcher | None = None, *, recommended: bool = False
) -> tuple[Evidence | None, tuple[int, int] | None]:
    """The first sentence stating a dose (naming the condition too, with ``terms``; saying it is the
    recommended, usual or starting one, with ``recommended``)."""
    for passage in passages:
        # Splitting into sentences costs more than these checks of the whole passage.
        if not _DIGIT.search(passage.text) or (terms is not None and not terms.matches(passage.text)):
            continue
        if recommended and not _RECOMMENDED_DOSE.search(passage.text):
            continue
        for span in passage.sentences:
            if (
                dosing.parse_doses(span.text)
                and (terms is None or terms.matches(span.text))
                and (not recommended or _RECOMMENDED_DOSE.search(span.text))
            ):
                return passage, (span.start, span.end)
    return None, None
