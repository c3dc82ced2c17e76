"""Dose statements in structured form, and how a guideline or study dose compares with the drug's label.

:func:`parse_doses` reads every dose in a sentence ("40 mg every other week", "0.5–2 mg bid–tid",
"500 mg/m(2), administered intravenously every 21 days") into a :class:`~vademecum.answer.article.Dose`
whose unit, route and frequency are in canonical form (:func:`normalise_unit`, :func:`normalise_route`,
:func:`normalise_frequency`, in :mod:`vademecum.answer.dose_forms`), so that two doses written
differently compare equal: "every 28 days", "q4w" and "every four weeks" are all ``"every 4 weeks"``;
"once daily", "QD" and "mg/day" are ``"daily"``.
:func:`extract_label_doses` reads a label's Dosage and Administration passages and
:func:`compare_with_label` tells whether a dose agrees with one of them. The rules are deliberately
conservative: a field the text does not state plainly is ``None``, never guessed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Protocol

from vademecum.answer.article import Dose, DoseNote, LabelCheck
from vademecum.answer.dose_forms import (
    DURATION_RE,
    FREQUENCY_RE,
    NUMBER,
    RANGE_SEP,
    ROUTE_RE,
    ROUTE_WORDS,
    UNIT_PATTERN,
    comparable_unit,
    duration_text,
    format_number,
    normalise_frequency,
    normalise_route,
    normalise_unit,
    number,
    route_family,
)

# -- patterns (compiled once) -------------------------------------------------------------------

DOSE_RE = re.compile(
    r"(?P<qual>\bup\s+to\s+|\bmaximum\s+(?:of\s+)?|≤\s*|<=?\s*|\bat\s+least\s+|\bmore\s+than\s+|≥\s*|>=?\s*)?"
    rf"(?<![\w.,/+-])(?P<low>{NUMBER})"
    rf"(?:{RANGE_SEP}(?P<high>{NUMBER})|(?P<alts>(?:\s*,\s*{NUMBER}){{0,10}},?\s+or\s+{NUMBER}))?"
    rf"\s*{UNIT_PATTERN}"
    rf"(?:{RANGE_SEP}(?P<high_u>{NUMBER})\s*(?P=unit)|\s+or\s+(?P<alt_u>{NUMBER})\s*(?P=unit))?",
    re.IGNORECASE,
)

# A route written before the amount: "intravenous doses of 20 to 50 mg/kg", "oral UFT 300 mg/d".
LEADING_ROUTE_RE = re.compile(
    r"\b(?P<route>oral|intravenous|subcutaneous|intramuscular|sublingual|rectal|topical|transdermal|intrathecal|"
    r"inhaled|intranasal|vaginal)(?:ly)?\s+(?:(?:bolus|infusions?|injections?|doses?|administration|dosing)\s+)?"
    r"(?:(?:of|with|at)\s+)?(?:[\w-]+\s+)?$",
    re.IGNORECASE,
)

# Words that may sit between a dose's parts ("40 mg administered every other week"); "of" may bring one
# word naming the substance ("4 mg of lycopene twice a day") unless that word is a route.
FILLER_RE = re.compile(
    r",|\[[A-Za-z]{1,4}\]|\([A-Za-z]{1,4}\)|\(|(?:administered|given|taken|injected|infused|delivered)\b"
    # How long one infusion runs is not the dose's frequency: "800 mg … over 60 minutes every 2 weeks".
    r"|over\s+\d+(?:\s*(?:to|-|–)\s*\d+)?\s*(?:minutes?|mins?|hours?|hrs?)\b"
    rf"|of\b(?:\s+(?!the\b|an?\b|(?:{ROUTE_WORDS})(?![\w]))[A-Za-z][\w-]*)?",
    re.IGNORECASE,
)
DRUG_PREFIX_RE = re.compile(r"(?:of\s+)?", re.IGNORECASE)
MAX_FILLERS = 3

_POP_NOUN = r"(?:patients|adults|children|adolescents|infants|neonates|newborns|women|men|volunteers|subjects)"
_POP_MOD = (
    r"(?:adult|pediatric|paediatric|geriatric|elderly|older|younger|debilitated|healthy|male|female|pregnant|"
    r"postmenopausal|premenopausal|chronic|resistant|hospitali[sz]ed|\w+-treated|\w+-na[iï]ve|(?-i:[A-Z]{2,6}))"
)
POPULATION_RE = re.compile(
    rf"\b(?:(?P<prep>in|for|among)\s+)?(?P<pop>(?P<mod>{_POP_MOD}\s+(?:(?:or|and)\s+{_POP_MOD}\s+)?)?{_POP_NOUN})\b",
    re.IGNORECASE,
)
# What may follow the population noun and still describe it ("patients with …", "patients ≥ 40 kg").
POPULATION_QUALIFIER_RE = re.compile(
    r"\s*(?:(?:with|who|aged|weighing|older\s+than|younger\s+than|between|not|taking|receiving|treated|"
    r"undergoing|requiring)\b|[≥>≤<]|\d)",
    re.IGNORECASE,
)
POPULATION_STOP_RE = re.compile(
    r"\s+(?:is|are|was|were|should|may|might|can|could|must|will|would|has|have|had|did|does|received|receive|"
    r"showed|achieved|experienced)\b|\s+who\s+(?:\w+ly\s+)?(?:received|took|underwent|were|had)\b"
    r"|[;:|\[]|\s[-–]\s|,\s+(?:therapy|treatment|the|it|this|these)\b",
    re.IGNORECASE,
)
TRAILING_POPULATION_RE = re.compile(rf"\s+in\s+(?P<pop>(?:{_POP_MOD}\s+)?{_POP_NOUN}\b[^,;.()|\n]*)", re.IGNORECASE)
_DANGLING = re.compile(r"(?:\s+(?:with|who|receiving|taking|treated|on|given|of|at|and|or))+\s*$|[\s,(]+$", re.I)
MAX_POPULATION_CHARS = 160
# A bare "patients" says nothing about who; such a match is not a population.
VAGUE_POPULATIONS = frozenset({"patients", "subjects", "volunteers", "individuals"})
# A sentence ends at ". X", "? X", "! X" or a new line (table rows are lines).
SENTENCE_END_RE = re.compile(r"[.!?](?=\s+[A-Z(\[])|\n")
LOOKBACK_CHARS = 400
# How an open amount is written, and whether the number is its upper bound ("up to 100 mg", "≥1,000 mg/day").
AMOUNT_BOUNDS = {
    "up to": ("up to", True), "maximum": ("up to", True), "maximum of": ("up to", True), "≤": ("up to", True),
    "<=": ("up to", True), "<": ("less than", True), "at least": ("at least", False), "≥": ("at least", False),
    ">=": ("at least", False), "more than": ("more than", False), ">": ("more than", False),
}  # fmt: skip
DIGIT_RE = re.compile(r"\d")


@lru_cache(maxsize=256)
def _drug_pattern(names: tuple[str, ...]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One regex for the caller's drug names (longest first, so "atorvastatin calcium" beats "atorvastatin")."""
    by_key: dict[str, str] = {}
    for name in (n.strip() for n in names):
        if name:
            by_key.setdefault(name.casefold(), name)  # the caller's first spelling wins
    if not by_key:
        return None, {}
    alternation = "|".join(re.escape(name) for name in sorted(by_key.values(), key=lambda n: (-len(n), n)))
    return re.compile(rf"(?<![\w-])(?:{alternation})(?![\w-])", re.IGNORECASE), by_key


def parse_doses(text: str, drug_names: Sequence[str] = ()) -> list[Dose]:
    """Every dose statement in ``text`` (a sentence, a passage or a table row), in order.

    ``drug_names`` are the names to attribute doses to: a name right after the amount ("40 mg of HUMIRA")
    or else the nearest one before it in the same sentence; the returned ``drug`` is the name as given.
    ``Dose.text`` is the exact substring from the amount to the last part read (unit, route, frequency,
    duration); the population is read from the same sentence but is not part of ``text``.
    """
    if not DIGIT_RE.search(text):  # most sentences state no number at all
        return []
    drug_re, drug_by_key = _drug_pattern(tuple(drug_names))
    boundaries = [m.end() for m in SENTENCE_END_RE.finditer(text)]
    doses = []
    claimed = 0  # a drug name written after an earlier amount is that dose's, not the next one's
    for match in DOSE_RE.finditer(text):
        start = match.start()
        index = bisect_right(boundaries, start)
        sentence_start = max(start - LOOKBACK_CHARS, boundaries[index - 1] if index else 0)
        before = text[sentence_start:start]
        parts, end = _trailing_parts(text, match.end(), drug_re)
        if "drug" in parts:
            claimed = end
        unit = normalise_unit(match["unit"])
        frequency = normalise_frequency(match["rate"]) if match["rate"] else parts.get("frequency")
        route = parts.get("route")
        if route is None and (leading := LEADING_ROUTE_RE.search(before[-60:])):
            route = normalise_route(leading["route"])
        drug_text = parts.get("drug") or _last_drug(text[max(sentence_start, claimed) : start], drug_re)
        amount, low, high = _amount(match)
        doses.append(
            Dose(
                drug=drug_by_key.get(drug_text.casefold(), drug_text) if drug_text else None,
                amount=amount,
                amount_low=low,
                amount_high=high,
                unit=unit,
                route=route,
                frequency=frequency,
                duration=parts.get("duration"),
                population=_trailing_population(text, end) or _population(before),
                text=text[start:end],
            )
        )
    return doses


def _amount(match: re.Match[str]) -> tuple[str, float | None, float | None]:
    low = number(match["low"])
    alternatives = match["alts"] or (f" or {match['alt_u']}" if match["alt_u"] else None)
    high_text = match["high"] or match["high_u"]
    if alternatives:
        values = [low, *(number(v) for v in re.findall(NUMBER, alternatives))]
        return " or ".join(format_number(v) for v in values), min(values), max(values)
    high = number(high_text) if high_text else low
    amount = format_number(low) if high == low else f"{format_number(low)}-{format_number(high)}"
    qualifier = " ".join((match["qual"] or "").lower().split())
    if bound := AMOUNT_BOUNDS.get(qualifier):
        words, is_upper = bound
        return f"{words} {amount}", (None if is_upper else low), (high if is_upper else None)
    return amount, low, high


def _trailing_parts(text: str, pos: int, drug_re: re.Pattern[str] | None) -> tuple[dict[str, str], int]:
    """Route, frequency, duration (and a drug name right after the amount) following a dose, and where they end."""
    parts: dict[str, str] = {}
    end = scan = pos
    fillers = 0
    while True:
        while scan < len(text) and text[scan] in " \t":
            scan += 1
        found = None
        # A drug name counts only straight after the amount ("40 mg HUMIRA", "40 mg of HUMIRA"): after a
        # comma it is the next drug of a list ("tamsulosin 400 μg, nifedipine 30 mg").
        if drug_re and not parts and scan == _skip_spaces(text, pos):
            found = drug_re.match(text, DRUG_PREFIX_RE.match(text, scan).end())
            kind = "drug"
        for candidate, pattern in (("route", ROUTE_RE), ("frequency", FREQUENCY_RE), ("duration", DURATION_RE)):
            if found is None and candidate not in parts and (found := pattern.match(text, scan)):
                kind = candidate
        if found is not None:
            parts[kind] = _PART_VALUE[kind](found)
            end = scan = found.end()
            fillers = 0
            continue
        filler = FILLER_RE.match(text, scan)
        if filler is None or fillers >= MAX_FILLERS:
            return parts, end
        scan = filler.end()
        fillers += 1


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


_PART_VALUE = {
    "drug": lambda m: m[0],
    "route": lambda m: normalise_route(m[0]),
    "frequency": lambda m: normalise_frequency(m[0]),
    "duration": duration_text,
}


def _last_drug(before: str, drug_re: re.Pattern[str] | None) -> str | None:
    if drug_re is None:
        return None
    last = None
    for last in drug_re.finditer(before):  # noqa: B007 - the nearest name is the last one found
        pass
    return last[0] if last else None


def _population(before: str) -> str | None:
    """The last population named earlier in the sentence, if it is plainly one ("in adults", "for adult patients
    with …", "patients who …", "Geriatric or Debilitated Patients - 0.5 mg")."""
    for found in reversed(list(POPULATION_RE.finditer(before))):
        rest = before[found.end() :]
        qualified = POPULATION_QUALIFIER_RE.match(rest) is not None
        if not (found["prep"] or found["mod"] or qualified or re.fullmatch(r"\s*[-–:]\s*", rest)):
            continue
        population = found["pop"]
        if qualified:
            stop = POPULATION_STOP_RE.search(rest)
            extension = rest[: stop.start()] if stop else rest
            # Commas belong to the population only in a list ending "…, or X"; otherwise the first ends it.
            segments = extension.split(",")
            if len(segments) > 1 and (
                len(extension) > MAX_POPULATION_CHARS or not re.match(r"\s*(?:or|and)\b", segments[-1])
            ):
                extension = segments[0]
            population = _DANGLING.sub("", population + extension).strip()
        if population.casefold() not in VAGUE_POPULATIONS:
            return population
    return None


def _trailing_population(text: str, end: int) -> str | None:
    """A population right after the dose: "25 mg in patients > 65 years, …" → ``"patients > 65 years"``."""
    found = TRAILING_POPULATION_RE.match(text, end)
    if found is None:
        return None
    return _DANGLING.sub("", found["pop"]).strip()[:MAX_POPULATION_CHARS] or None


# -- the label ----------------------------------------------------------------------------------

DOSAGE_AND_ADMINISTRATION_CODE = "34068-7"  # LOINC section code of a label's Dosage and Administration


class LabelPassage(Protocol):
    """What :func:`extract_label_doses` reads of a passage (store rows and reader records both have it)."""

    @property
    def text(self) -> str: ...
    @property
    def section_path(self) -> Sequence[str]: ...
    @property
    def section_code(self) -> str | None: ...


def is_dosage_passage(passage: LabelPassage) -> bool:
    """True for a passage of the label's Dosage and Administration section (coded, or under that heading)."""
    return passage.section_code == DOSAGE_AND_ADMINISTRATION_CODE or any(
        "dosage and administration" in heading.casefold() for heading in passage.section_path
    )


def extract_label_doses(passages: Iterable[LabelPassage], drug: str | None) -> list[Dose]:
    """The doses of a label's Dosage and Administration passages (others are skipped), attributed to ``drug``."""
    return label_doses((p.text for p in passages if is_dosage_passage(p)), drug)


def label_doses(texts: Iterable[str], drug: str | None = None) -> list[Dose]:
    """The doses stated in a label's dosage texts, attributed to ``drug``, without repeats (the Highlights
    repeat the full section)."""
    seen: dict[tuple[object, ...], Dose] = {}
    for text in texts:
        for dose in parse_doses(text):
            key = (dose.amount, dose.unit, dose.route, dose.frequency, dose.duration, dose.population)
            seen.setdefault(key, dataclasses.replace(dose, drug=drug))
    return list(seen.values())


def _intervals(dose: Dose) -> list[tuple[float, float]]:
    """The amounts a dose allows, in the common unit: one interval, or one point per alternative ("10 or 20")."""
    factor = comparable_unit(dose.unit)[1]
    if " or " in dose.amount:
        return [(number(v) * factor,) * 2 for v in re.findall(NUMBER, dose.amount)]
    low = 0.0 if dose.amount_low is None else dose.amount_low
    high = math.inf if dose.amount_high is None else dose.amount_high
    return [(low * factor, high * factor)]


def _agrees(dose: Dose, label: Dose) -> bool:
    if comparable_unit(dose.unit)[0] != comparable_unit(label.unit)[0]:
        return False
    # Compare only what the dose states: a frequency it gives must be the label's; a route only if both give one.
    if dose.frequency and normalise_frequency(dose.frequency) != normalise_frequency(label.frequency or ""):
        return False
    if dose.route and label.route and not route_family(dose.route) & route_family(label.route):
        return False
    # A relative tolerance, so 0.1 mg and 100 mcg (float products) still compare equal.
    slack = 1e-9
    return all(
        any(lo >= l_lo * (1 - slack) and hi <= l_hi * (1 + slack) for l_lo, l_hi in _intervals(label))
        for lo, hi in _intervals(dose)
    )


def compare_with_label(dose: Dose, label_doses: Sequence[Dose]) -> LabelCheck:
    """MATCHES_LABEL when one label dose has the same unit, an amount (or range) containing the dose's, the same
    frequency (when the dose states one) and a compatible route (when both state one); DIFFERS_FROM_LABEL
    otherwise; NO_LABEL when there are no label doses."""
    if not label_doses:
        return LabelCheck.NO_LABEL
    return (
        LabelCheck.MATCHES_LABEL
        if any(_agrees(dose, label) for label in label_doses)
        else LabelCheck.DIFFERS_FROM_LABEL
    )


@dataclasses.dataclass(frozen=True, slots=True)
class LabelDoseSource:
    """The doses a label gives for a drug (for the question's indication when the label has one for it),
    the key of the passage they are quoted from, that passage's section ("2.2 Recommended Dosage for
    MCC") and the label's date."""

    doses: tuple[Dose, ...] = ()
    key: str | None = None
    section: str | None = None
    date: dt.date | None = None


def dose_note(dose: Dose, label: LabelDoseSource, source_date: dt.date | None = None) -> DoseNote:
    """The note shown beside a dose: the matching label doses, or, when it differs, the label's regimens
    (doses that state a frequency, else all) so a reader sees what the label says, with the label's
    section and date and the date of the source that states the dose."""
    label_doses = label.doses
    check = compare_with_label(dose, label_doses)
    if check is LabelCheck.MATCHES_LABEL:
        shown = [label for label in label_doses if _agrees(dose, label)]
    else:
        shown = [label for label in label_doses if label.frequency] or list(label_doses)
    return DoseNote(
        dose=dose,
        check=check,
        label_doses=tuple(shown),
        label_key=label.key,
        label_section=label.section,
        label_date=label.date,
        source_date=source_date,
    )
