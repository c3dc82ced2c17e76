"""Dose parsing and label checks on real label, guideline and abstract sentences read from the demo store.

Each sentence is found at test time by its document and a short locator; the file holds only the
locators and the expected structured values, never the sentences themselves.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from vademecum.answer.article import Dose, LabelCheck
from vademecum.answer.dosing import (
    LabelDoseSource,
    compare_with_label,
    dose_note,
    extract_label_doses,
    is_dosage_passage,
    label_doses,
    normalise_frequency,
    normalise_route,
    normalise_unit,
    parse_doses,
)
from vademecum.evidence.models import EvidencePassage
from vademecum.records import Passage, SourceDocument
from vademecum.services.runtime import open_runtime
from vademecum.settings import Settings
from vademecum.sources import spl

HUMIRA = "spl:608d4f0d-b19f-46d3-749a-7159aa5f933d"
LIPITOR = "spl:c6e131fe-e7df-4876-83f7-9156fc4e8228"
VIAGRA = "spl:0b0be196-0c62-461c-94f4-9a35339b4501"
HALOPERIDOL = "spl:0027b8a3-73bf-4005-a7e3-b035f451a861"
TRIAMINIC = "spl:00f66f25-3469-4c16-9baf-fba21e9628bd"
BAVENCIO = "spl:5cd725a1-2fa4-408a-a651-57a7b84b2118"
GI_NET = "pdq:types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq"
ANXIETY = "pdq:about-cancer/coping/feelings/anxiety-distress-hp-pdq"
NAUSEA = "pdq:about-cancer/treatment/side-effects/nausea/nausea-hp-pdq"
PRURITUS = "pdq:about-cancer/treatment/side-effects/skin-nail-changes/pruritus-hp-pdq"
SLEEP = "pdq:about-cancer/treatment/side-effects/sleep-disorders-hp-pdq"
HOT_FLASHES = "pdq:about-cancer/treatment/side-effects/hot-flashes-hp-pdq"
COGNITION = "pdq:about-cancer/treatment/side-effects/memory/cognitive-impairment-hp-pdq"
GI_COMPLICATIONS = "pdq:about-cancer/treatment/side-effects/constipation/gi-complications-hp-pdq"
BILE_DUCT = "pdq:types/liver/hp/bile-duct-treatment-pdq"
CERVICAL = "pdq:types/cervical/hp/cervical-treatment-pdq"
ESOPHAGEAL = "pdq:types/esophageal/hp/esophageal-treatment-pdq"
MEN2 = "pdq:publications/pdq/information-summaries/genetics/men2-hp-pdq"
THYMOMA = "pdq:types/thymoma/hp/thymoma-treatment-pdq"
DOCUMENTS = (HUMIRA, LIPITOR, VIAGRA, HALOPERIDOL, TRIAMINIC, BAVENCIO, GI_NET, ANXIETY, NAUSEA, PRURITUS, SLEEP,
             HOT_FLASHES, COGNITION, GI_COMPLICATIONS, BILE_DUCT, CERVICAL, ESOPHAGEAL, MEN2, THYMOMA, "pmid:23415808",
             "pmid:26702257", "pmid:9483814", "pmid:10331115", "pmid:20497146", "pmid:11500608",
             "pmid:24098953")  # fmt: skip
# The demo store keeps the newer openFDA version of this Lipitor label (labels/openfda-pharmgkb); the
# sentences these tests locate are the SPL version's, so its passages are read from that file.
FROM_FILE = {LIPITOR: ("labels", "spl", "lipitor-orig.xml")}
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])|\n")


@pytest.fixture(scope="module")
def passages(demo_settings: Settings, corpus_dir: Path) -> dict[str, list[Passage]]:
    """The passages of the documents these tests read, by document id, as reader records."""
    runtime = open_runtime(demo_settings)
    found: dict[str, list[Passage]] = {}
    try:
        with runtime.session() as session:
            rows = session.scalars(
                select(EvidencePassage)
                .where(EvidencePassage.document_id.in_(DOCUMENTS))
                .order_by(EvidencePassage.document_id, EvidencePassage.ordinal)
            )
            for row in rows:
                passage = Passage(row.text, tuple(row.section_path), row.section_number, row.section_code, row.block)
                found.setdefault(row.document_id, []).append(passage)
    finally:
        runtime.close()
    for document_id, parts in FROM_FILE.items():
        with corpus_dir.joinpath(*parts).open("rb") as handle:
            (label,) = spl.parse(handle, parts[-1])
        assert isinstance(label, SourceDocument) and label.doc_id == document_id
        found[document_id] = [
            Passage(p.text, p.section_path, p.section_number, p.section_code, p.block) for p in label.passages
        ]
    assert set(found) == set(DOCUMENTS)
    return found


def sentence(passages: dict[str, list[Passage]], document_id: str, locator: str) -> str:
    """The sentence (or table row) of a document that contains ``locator``."""
    text = next(p.text for p in passages[document_id] if locator in p.text)
    return next(s for s in SENTENCE_SPLIT.split(text) if locator in s)


@dataclass(frozen=True)
class Expected:
    """A dose's expected values; ``population`` may be a (first words, next words) pair located in the sentence."""

    text: str
    amount: str
    low: float | None
    high: float | None
    unit: str = "mg"
    route: str | None = None
    frequency: str | None = None
    duration: str | None = None
    population: str | tuple[str, str] | None = None
    drug: str | None = None


def check(doses: Sequence[Dose], source: str, expected: Sequence[Expected]) -> None:
    assert len(doses) == len(expected), [d.text for d in doses]
    for dose, want in zip(doses, expected, strict=True):
        population = want.population
        if isinstance(population, tuple):
            population = source[source.index(population[0]) : source.index(population[1])]
        assert dose.text in source
        got = (dose.text, dose.amount, dose.amount_low, dose.amount_high, dose.unit, dose.route, dose.frequency)
        assert got == (want.text, want.amount, want.low, want.high, want.unit, want.route, want.frequency)
        assert (dose.duration, dose.population, dose.drug) == (want.duration, population, want.drug)


E = Expected
CASES = [
    # An infusion's duration sits between the amount and the frequency (openFDA label of avelumab).
    (BAVENCIO, "The recommended dose of BAVENCIO is 800 mg", ("BAVENCIO",),
     [E("800 mg administered as an intravenous infusion over 60 minutes every 2 weeks", "800", 800, 800,
        route="intravenous", frequency="every 2 weeks", drug="BAVENCIO")]),
    # Labels: the Dosage and Administration sections of Humira, Lipitor, Viagra and haloperidol.
    (HUMIRA, "is 40 mg administered every other", ("HUMIRA", "adalimumab"),
     [E("40 mg administered every other week", "40", 40, 40, frequency="every 2 weeks",
        population=("adult patients", " is 40 mg"), drug="HUMIRA")]),
    (HUMIRA, "frequency of HUMIRA to 40 mg every week", ("HUMIRA",),
     [E("40 mg every week", "40", 40, 40, frequency="weekly", population=("patients not", " may"), drug="HUMIRA")]),
    (HUMIRA, "with Crohn’s disease (CD) is 160 mg", ("HUMIRA",),
     [E(text, text[:-3], float(text[:-3]), float(text[:-3]), population=("adult patients", " is 160"), drug="HUMIRA")
      for text in ("160 mg", "40 mg", "40 mg", "80 mg")]),
    (LIPITOR, "starting dose of LIPITOR is 10 or 20 mg", ("LIPITOR",),
     [E("10 or 20 mg once daily", "10 or 20", 10, 20, frequency="daily", drug="LIPITOR")]),
    (LIPITOR, "may be started at 40 mg", ("LIPITOR",),
     [E("40 mg once daily", "40", 40, 40, frequency="daily", population=("Patients who", " may be"))]),
    (LIPITOR, "The dosage range of LIPITOR", ("LIPITOR",),
     [E("10 to 80 mg once daily", "10-80", 10, 80, frequency="daily", drug="LIPITOR")]),
    (LIPITOR, "maximum recommended dose is 20 mg/day", ("LIPITOR",),
     [E("10 mg/day", "10", 10, 10, frequency="daily", drug="LIPITOR"),
      E("20 mg/day", "20", 20, 20, frequency="daily", drug="LIPITOR"),
      E("20 mg", "20", 20, 20, drug="LIPITOR")]),
    (LIPITOR, "with homozygous FH is", ("LIPITOR",),
     [E("10 to 80 mg daily", "10-80", 10, 80, frequency="daily", population=("patients with", " is 10"),
        drug="LIPITOR")]),
    (VIAGRA, "For most patients, the recommended dose is 50 mg", ("VIAGRA", "sildenafil"),
     [E("50 mg taken, as needed", "50", 50, 50, frequency="as needed")]),
    (VIAGRA, "starting dose of 25 mg in patients >", ("VIAGRA",),
     [E("25 mg", "25", 25, 25, population="patients > 65 years")]),
    (VIAGRA, "for ritonavir-treated patients", ("VIAGRA", "sildenafil"),
     [E("25 mg", "25", 25, 25, population="ritonavir-treated patients")] * 2),
    (HALOPERIDOL, "Geriatric or Debilitated Patients -", ("haloperidol",),
     [E("0.5 mg to 2 mg b.i.d. or t.i.d.", "0.5-2", 0.5, 2, frequency="2-3 times daily",
        population="Geriatric or Debilitated Patients")]),
    (HALOPERIDOL, "Psychotic Disorders -", ("haloperidol",),
     [E("0.05 mg/kg/day to 0.15 mg/kg/day", "0.05-0.15", 0.05, 0.15, unit="mg/kg", frequency="daily")]),
    # PDQ guidelines: prose and table rows.
    (GI_NET, "intramuscularly every 28 days", ("octreotide",),
     [E("30 mg intramuscularly every 28 days", "30", 30, 30, route="intramuscular", frequency="every 4 weeks",
        drug="octreotide")]),
    (ANXIETY, "Haloperidol |", ("haloperidol",),
     [E("0.5–2 mg bid–tid", "0.5-2", 0.5, 2, frequency="2-3 times daily", drug="haloperidol")]),
    (NAUSEA, "Prochlorperazine | 25 mg", ("prochlorperazine",),
     [E("25 mg PR q12h", "25", 25, 25, route="rectal", frequency="every 12 hours", drug="prochlorperazine")]),
    (NAUSEA, "mg PO/IM/IV q6–8h", (),
     [E("5–10 mg PO/IM/IV q6–8h", "5-10", 5, 10, route="oral or intramuscular or intravenous",
        frequency="every 6-8 hours")]),
    (HOT_FLASHES, "venlafaxine, 75 mg", ("venlafaxine", "gabapentin"),
     [E("75 mg once daily", "75", 75, 75, frequency="daily", drug="venlafaxine"),
      E("300 mg 3 times daily", "300", 300, 300, frequency="three times daily", drug="gabapentin")]),
    (COGNITION, "of donepezil once daily", ("donepezil",),
     [E("5 mg of donepezil once daily for 6 weeks", "5", 5, 5, frequency="daily", duration="6 weeks",
        drug="donepezil"),
      E("up to 10 mg once daily for 18 weeks", "up to 10", None, 10, frequency="daily", duration="18 weeks")]),
    (BILE_DUCT, "mg of pemigatinib orally", ("pemigatinib",),
     [E("13.5 mg of pemigatinib orally once daily for 14 consecutive days", "13.5", 13.5, 13.5, route="oral",
        frequency="daily", duration="14 days", drug="pemigatinib")]),
    (CERVICAL, "given intravenously at 50", ("cisplatin",),
     [E("50 mg/m² every 3 weeks", "50", 50, 50, unit="mg/m2", route="intravenous", frequency="every 3 weeks",
        drug="cisplatin")]),
    (ESOPHAGEAL, "every 2 weeks for 16 weeks", ("nivolumab",),
     [E("240 mg every 2 weeks for 16 weeks", "240", 240, 240, frequency="every 2 weeks", duration="16 weeks",
        drug="nivolumab"),
      E("480 mg every 4 weeks", "480", 480, 480, frequency="every 4 weeks", drug="nivolumab")]),
    (MEN2, "reasonable starting dose is", (),
     [E("1.6 µg/kg to 1.8 µg/kg, given once daily", "1.6-1.8", 1.6, 1.8, unit="mcg/kg", frequency="daily",
        population=("healthy adults", ", a reasonable"))]),
    (GI_COMPLICATIONS, "subcutaneously (SC) three times", ("octreotide",),
     [E("100 to 150 μg subcutaneously (SC) three times a day", "100-150", 100, 150, unit="mcg",
        route="subcutaneous", frequency="three times daily", drug="octreotide"),
      E("500 μg three times a day", "500", 500, 500, unit="mcg", frequency="three times daily", drug="octreotide")]),
    # MEDLINE and PubMedQA abstracts.
    ("pmid:23415808", "administered intravenously every 21", ("pemetrexed",),
     [E("500 mg/m(2), administered intravenously every 21 days", "500", 500, 500, unit="mg/m2",
        route="intravenous", frequency="every 3 weeks", drug="pemetrexed")]),
    ("pmid:9483814", "vaginally every", ("gemeprost",),
     [E("1 mg gemeprost vaginally every 6 hours", "1", 1, 1, route="vaginal", frequency="every 6 hours",
        drug="gemeprost")]),
    ("pmid:26702257", "every six hours intravenously", ("IC", "MEM"),
     [E("500 mg every six hours intravenously", "500", 500, 500, route="intravenous", frequency="every 6 hours",
        population="Adult patients", drug="IC"),
      E("2 g per day", "2", 2, 2, unit="g", frequency="daily", population="Adult patients", drug="IC"),
      E("1 g every eight hours", "1", 1, 1, unit="g", frequency="every 8 hours", population="Adult patients",
        drug="MEM"),
      E("3 g per day", "3", 3, 3, unit="g", frequency="daily", population="Adult patients", drug="MEM")]),
    ("pmid:10331115", "mg/day of amoxapine", ("amoxapine",),
     [E("50-250 mg/day of amoxapine for 5 days", "50-250", 50, 250, frequency="daily", duration="5 days",
        population="healthy volunteers", drug="amoxapine")]),
    ("pmid:20497146", "mg od for", ("esomeprazole",),
     [E("10 or 40 mg od for 4 weeks", "10 or 40", 10, 40, frequency="daily", duration="4 weeks",
        population=("adult patients", " ("), drug="esomeprazole")]),
    ("pmid:11500608", "no indication of a rebound", ("lansoprazole",),
     [E("60 mg once daily", "60", 60, 60, frequency="daily", population=("patients with", "."),
        drug="lansoprazole")]),
    ("pmid:24098953", "mg/kg/day iv", (),
     [E("250 mg/kg/day iv for three days", "250", 250, 250, unit="mg/kg", route="intravenous", frequency="daily",
        duration="3 days")]),
]  # fmt: skip


@pytest.mark.parametrize(("document_id", "locator", "names", "expected"), CASES, ids=lambda v: str(v)[:40])
def test_parses_real_dose_sentences(passages, document_id, locator, names, expected):
    source = sentence(passages, document_id, locator)
    check(parse_doses(source, names), source, expected)


def test_drug_names_match_case_insensitively_and_come_back_as_given(passages):
    source = sentence(passages, ANXIETY, "Haloperidol |")
    assert [d.drug for d in parse_doses(source, ["HALOPERIDOL"])] == ["HALOPERIDOL"]
    assert [d.drug for d in parse_doses(source)] == [None]


def doses_of_label(passages: dict[str, list[Passage]], document_id: str, drug: str) -> list[Dose]:
    return extract_label_doses(passages[document_id], drug)


def test_label_doses_come_from_dosage_and_administration_only(passages):
    doses = doses_of_label(passages, HUMIRA, "adalimumab")
    assert len(doses) == 19
    assert {d.drug for d in doses} == {"adalimumab"}
    regimens = {(d.amount, d.unit, d.frequency) for d in doses if d.frequency}
    assert regimens == {("40", "mg", "every 2 weeks"), ("40", "mg", "weekly"), ("20", "mg", "every 2 weeks")}
    # The excipients of section 11 (sodium chloride, mannitol…) are not doses of the label.
    assert {d.amount for d in doses} == {"40", "20", "160", "80", "0.8", "0.4"}


def test_label_doses_from_texts_equal_those_from_passages(passages):
    dosage = [p for p in passages[LIPITOR] if is_dosage_passage(p)]
    from_texts = label_doses([p.text for p in dosage], "atorvastatin")
    assert from_texts == doses_of_label(passages, LIPITOR, "atorvastatin")
    assert [(d.amount, d.frequency) for d in from_texts if d.population is None] == [
        ("10-80", "daily"), ("10 or 20", "daily"), ("10", "daily"), ("20", "daily"), ("20", None)
    ]  # fmt: skip


def test_label_dosage_passages_include_miscoded_ones_under_the_heading(passages):
    # The haloperidol label codes some Dosage and Administration paragraphs as a Boxed Warning.
    miscoded = [p for p in passages[HALOPERIDOL] if is_dosage_passage(p) and p.section_code != "34068-7"]
    assert len(miscoded) == 8
    doses = doses_of_label(passages, HALOPERIDOL, "haloperidol")
    assert ("0.05-0.15", "mg/kg", "daily") in {(d.amount, d.unit, d.frequency) for d in doses}
    assert [d.amount for d in doses if d.frequency == "2-3 times daily"] == ["0.5-2", "3-5", "0.5-2", "3-5"]


def test_guideline_dose_matching_the_label(passages):
    (dose,) = parse_doses(sentence(passages, ANXIETY, "Haloperidol |"), ["haloperidol"])
    label = doses_of_label(passages, HALOPERIDOL, "haloperidol")
    assert compare_with_label(dose, label) is LabelCheck.MATCHES_LABEL
    note = dose_note(dose, LabelDoseSource(tuple(label), "ev-1"))
    assert note.check is LabelCheck.MATCHES_LABEL and note.label_key == "ev-1"
    assert [(d.text, d.population) for d in note.label_doses] == [
        ("0.5 mg to 2 mg b.i.d. or t.i.d.", None),
        ("0.5 mg to 2 mg b.i.d. or t.i.d.", "Geriatric or Debilitated Patients"),
    ]
    # A dose stated without a frequency is compared on what it states: within the label's range.
    (bedtime,) = parse_doses(sentence(passages, SLEEP, "haloperidol 0.5"), ["haloperidol"])
    assert compare_with_label(bedtime, label) is LabelCheck.MATCHES_LABEL


def test_guideline_dose_differing_from_the_label_shows_the_label_regimens(passages):
    (dose,) = parse_doses(sentence(passages, NAUSEA, "Haloperidol |"), ["haloperidol"])
    assert (dose.text, dose.frequency) == ("0.5–5 mg q24h", "daily")
    label = doses_of_label(passages, HALOPERIDOL, "haloperidol")
    note = dose_note(dose, LabelDoseSource(tuple(label)))
    assert note.check is LabelCheck.DIFFERS_FROM_LABEL
    shown = [d.amount for d in note.label_doses]
    assert shown == ["0.5-2", "3-5", "0.5-2", "3-5", "0.5", "0.05-0.15", "0.05-0.075", "6"]
    # Diphenhydramine's only label in the corpus is a children's liquid, dosed in mL.
    (antihistamine,) = parse_doses(sentence(passages, PRURITUS, "Diphenhydramine |"), ["diphenhydramine"])
    child_label = doses_of_label(passages, TRIAMINIC, "diphenhydramine")
    assert [(d.amount, d.unit, d.population) for d in child_label] == [
        ("10", "mL", "children 6 to under 12 years of age")
    ]
    assert compare_with_label(antihistamine, child_label) is LabelCheck.DIFFERS_FROM_LABEL


def test_no_label(passages):
    (dose,) = parse_doses(sentence(passages, GI_NET, "intramuscularly every 28 days"), ["octreotide"])
    assert compare_with_label(dose, []) is LabelCheck.NO_LABEL
    assert dose_note(dose, LabelDoseSource()).label_doses == ()


def test_synthetic_comparisons_from_real_doses(passages):
    humira = doses_of_label(passages, HUMIRA, "adalimumab")
    lipitor = doses_of_label(passages, LIPITOR, "atorvastatin")
    assert all(compare_with_label(d, humira) is LabelCheck.MATCHES_LABEL for d in humira)
    every_other_week = next(d for d in humira if d.frequency == "every 2 weeks")
    assert compare_with_label(every_other_week, lipitor) is LabelCheck.DIFFERS_FROM_LABEL
    # 40 mg once daily is inside Lipitor's 10-80 mg daily range but not a Humira regimen.
    (daily_40,) = parse_doses(sentence(passages, LIPITOR, "may be started at 40 mg"))
    assert compare_with_label(dataclasses.replace(daily_40, population=None), lipitor) is LabelCheck.MATCHES_LABEL
    assert compare_with_label(daily_40, humira) is LabelCheck.DIFFERS_FROM_LABEL
    in_grams = dataclasses.replace(daily_40, amount="0.04", amount_low=0.04, amount_high=0.04, unit="g")
    assert compare_with_label(in_grams, lipitor) is LabelCheck.MATCHES_LABEL
    assert compare_with_label(dataclasses.replace(daily_40, frequency="QD"), lipitor) is LabelCheck.MATCHES_LABEL
    twice = dataclasses.replace(daily_40, frequency="twice daily")
    assert compare_with_label(twice, lipitor) is LabelCheck.DIFFERS_FROM_LABEL
    above_range = dataclasses.replace(daily_40, amount="40-100", amount_high=100.0)
    assert compare_with_label(above_range, lipitor) is LabelCheck.DIFFERS_FROM_LABEL


def test_routes_compare_by_family(passages):
    octreotide, *_ = parse_doses(sentence(passages, THYMOMA, "mg every day subcutaneously"), ["octreotide"])
    assert (octreotide.text, octreotide.route, octreotide.frequency) == (
        "1.5 mg every day subcutaneously",
        "subcutaneous",
        "daily",
    )
    deep = dataclasses.replace(octreotide, route=normalise_route("by deep subcutaneous injection"))
    muscle = dataclasses.replace(octreotide, route="intramuscular")
    assert compare_with_label(deep, [octreotide]) is LabelCheck.MATCHES_LABEL
    assert compare_with_label(muscle, [octreotide]) is LabelCheck.DIFFERS_FROM_LABEL
    assert compare_with_label(dataclasses.replace(octreotide, route=None), [muscle]) is LabelCheck.MATCHES_LABEL


@pytest.mark.parametrize(
    ("canonical", "written"),
    [
        ("every 4 weeks", ["every 4 weeks", "q4w", "every four weeks", "every 28 days", "Q4W"]),
        ("daily", ["once daily", "daily", "QD", "q.d.", "once a day", "every day", "q24h", "/day", "per day"]),
        ("every 2 weeks", ["every other week", "every 2 weeks", "q2w", "every 14 days", "every two weeks"]),
        ("twice daily", ["bid", "b.i.d.", "BID", "twice a day", "2 times a day", "two times daily"]),
        ("three times daily", ["tid", "t.i.d.", "three times daily", "3 times a day", "thrice daily"]),
        ("2-3 times daily", ["bid–tid", "b.i.d. or t.i.d.", "2-3 times daily"]),
        ("weekly", ["weekly", "once weekly", "every week", "once a week"]),
        ("every 6-8 hours", ["q6–8h", "every 6 to 8 hours", "every 6-8 hours"]),
        ("every 12 hours", ["q12h", "every 12 hours"]),
        ("as needed", ["as needed", "prn", "p.r.n."]),
    ],
)
def test_frequency_forms(canonical, written):
    assert {normalise_frequency(w) for w in written} == {canonical}
    assert normalise_frequency(canonical) == canonical


@pytest.mark.parametrize(
    ("canonical", "written"),
    [
        ("oral", ["orally", "by mouth", "PO", "p.o.", "oral"]),
        ("subcutaneous", ["SC", "SQ", "subcutaneously", "by subcutaneous injection"]),
        ("deep subcutaneous", ["deep subcutaneous injection", "by deep subcutaneous injection"]),
        ("intravenous", ["IV", "intravenously", "intravenous infusion", "i.v."]),
        ("intramuscular", ["IM", "intramuscularly", "i.m."]),
    ],
)
def test_route_forms(canonical, written):
    assert {normalise_route(w) for w in written} == {canonical}


@pytest.mark.parametrize(
    ("canonical", "written"),
    [
        ("mcg", ["mcg", "µg", "μg", "micrograms", "ug"]),
        ("mg/m2", ["mg/m2", "mg/m²", "mg/m(2)"]),
        ("mg/kg", ["mg/kg", "mg/kg/day", "mg per kg"]),
        ("IU", ["IU", "international units"]),
    ],
)
def test_unit_forms(canonical, written):
    assert {normalise_unit(w) for w in written} == {canonical}


DOSE_TOKENS = ["40", "0.5", "1,200", " ", "mg", "µg", "g", "U", "/kg", "/m2", "/day", "/mL", "every", "other",
               "week", "weeks", "q4w", "q6–8h", "–", "-", "to", "or", ",", "(", ")", "[IV]", "bid", "tid",
               "orally", "IV", "SC", "deep subcutaneous injection", "for", "5", "days", "up to", "≥", "<", ".",
               "\n", "|", "HUMIRA", "in patients with", "Adults", "of", "given", "once daily"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), st.lists(st.sampled_from(DOSE_TOKENS), max_size=40).map("".join)))
def test_parse_never_raises_and_text_is_a_substring(text):
    for dose in parse_doses(text, ["HUMIRA", "adalimumab", "(", ""]):
        assert dose.text and dose.text in text
        assert dose.amount_low is None or dose.amount_high is None or dose.amount_low <= dose.amount_high
        assert compare_with_label(dose, [dose]) is LabelCheck.MATCHES_LABEL
