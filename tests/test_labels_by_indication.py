"""The FDA section by indication and the research section by study, on real questions over the demo corpus.

Labels are the real openFDA records of ``labels/openfda-pharmgkb``; every assertion names the label, the
numbered subsection and the dose the article must quote for the question's condition.
"""

from __future__ import annotations

import datetime as dt

import pytest

from vademecum.answer.article import Article, DrugLabelBlock, LabelBasis, LabelCheck, LabelSectionQuote
from vademecum.answer.indications import LabelIndication, label_indication
from vademecum.answer.render import to_html, to_markdown
from vademecum.answer.retrieve import Retriever
from vademecum.answer.understand import understand
from vademecum.evidence.grading import EvidenceLevel
from vademecum.evidence.store import document_passages
from vademecum.services.ask import ask, indication_matcher
from vademecum.services.runtime import Runtime

INDICATIONS, DOSAGE, BOXED_WARNING = "34067-9", "34068-7", "34066-1"
BAVENCIO = "spl:5cd725a1-2fa4-408a-a651-57a7b84b2118"
AFINITOR = "spl:2150f73a-179b-4afc-b8ce-67c85cc72f04"
LUTATHERA = "spl:72d1a024-00b7-418a-b36e-b2cb48f2ab55"
MERKEL_GUIDELINE = "pdq:types/skin/hp/merkel-cell-treatment-pdq"


@pytest.fixture(scope="module")
def merkel(demo_runtime: Runtime) -> Article:
    return ask(demo_runtime, "What is the treatment for Merkel cell carcinoma?")


@pytest.fixture(scope="module")
def net(demo_runtime: Runtime) -> Article:
    return ask(demo_runtime, "What is the treatment for neuroendocrine tumors?")


def block_of(article: Article, drug: str) -> DrugLabelBlock:
    found = [block for block in article.labels.blocks if block.drug == drug]
    assert found, [block.drug for block in article.labels.blocks]
    return found[0]


def quote_of(block: DrugLabelBlock, code: str) -> LabelSectionQuote:
    (quote,) = [quote for quote in block.quotes if quote.code == code]
    return quote


def test_merkel_shows_the_avelumab_label_for_merkel_cell_carcinoma_and_its_own_dose(merkel: Article):
    block = block_of(merkel, "Avelumab")
    assert block.document_id == BAVENCIO
    assert (block.basis, block.brand, block.label_date) == (LabelBasis.GUIDELINE, "BAVENCIO", dt.date(2023, 10, 12))
    indication = quote_of(block, INDICATIONS)
    assert indication.number == "1.1"
    assert "metastatic Merkel cell carcinoma (MCC)" in indication.sentences[0].text
    # The label's first dose is for Merkel cell carcinoma too; the subsection is chosen by its heading.
    dosage = quote_of(block, DOSAGE)
    assert (dosage.number, dosage.title) == ("2.2", "Recommended Dosage for MCC")
    assert dosage.sentences[0].text.startswith("The recommended dose of BAVENCIO is 800 mg")
    markdown = to_markdown(merkel)
    assert "BAVENCIO label of 2023-10-12; the guideline names this drug." in markdown
    assert "lookup.cfm?setid=5cd725a1-2fa4-408a-a651-57a7b84b2118" in markdown


def test_pembrolizumab_dose_comes_from_the_table_row_that_names_merkel_cell_carcinoma(merkel: Article):
    block = block_of(merkel, "Pembrolizumab")
    assert quote_of(block, INDICATIONS).title == "Merkel Cell Carcinoma"
    dosage = quote_of(block, DOSAGE)
    assert dosage.title == "Table 1: Recommended Dosage"
    (row,) = dosage.sentences
    assert "MCC" in row.text and "200 mg every 3 weeks or 400 mg every 6 weeks" in row.text
    assert "melanoma" not in row.text


def test_the_guidelines_trial_dose_is_checked_against_the_labels_dose_for_the_same_indication(merkel: Article):
    (entry,) = [group for group in merkel.guidelines.agents if group.drug == "Avelumab"]
    notes = [note for bullet in entry.bullets for note in bullet.doses]
    (note,) = [note for note in notes if note.dose.unit == "mg/kg"]
    assert note.dose.text.startswith("10 mg/kg")
    assert note.check is LabelCheck.DIFFERS_FROM_LABEL
    assert note.label_section == "2.2 Recommended Dosage for MCC"
    assert note.label_date == dt.date(2023, 10, 12)
    guideline = next(r for r in merkel.references if r.document_id == MERKEL_GUIDELINE)
    assert note.source_date is not None and note.source_date.year == guideline.year
    assert [dose.amount for dose in note.label_doses] == ["800"]
    assert "differs from the FDA label (2.2 Recommended Dosage for MCC, label of 2023-10-12)" in to_markdown(merkel)


def test_net_shows_everolimus_and_lutathera_with_their_neuroendocrine_indications(net: Article):
    everolimus = block_of(net, "Everolimus")
    # Everolimus has two labels here; the one indicated for the question's condition is quoted.
    assert (everolimus.document_id, everolimus.brand) == (AFINITOR, "Afinitor")
    # The guideline names everolimus (once), so its label comes with the guideline's drugs.
    assert everolimus.basis is LabelBasis.GUIDELINE
    assert quote_of(everolimus, INDICATIONS).number == "1.2"
    assert "neuroendocrine tumors of pancreatic origin" in quote_of(everolimus, INDICATIONS).sentences[0].text
    dosage = quote_of(everolimus, DOSAGE)
    assert (dosage.number, dosage.title) == ("2.3", "Recommended Dosage for Neuroendocrine Tumors (NET)")
    assert "10 mg orally once daily" in dosage.sentences[0].text

    lutathera = block_of(net, "Lutetium Lu 177 dotatate")
    assert lutathera.document_id == LUTATHERA
    indication = quote_of(lutathera, INDICATIONS).sentences[0].text
    assert "gastroenteropancreatic neuroendocrine tumors (GEP-NETs)" in indication
    # A label with one indication: its recommended dosage, not a dose modification table.
    dosage = quote_of(lutathera, DOSAGE)
    assert (dosage.number, dosage.title) == ("2.2", "Recommended Dosage")
    assert "7.4 GBq (200 mCi) every 8 weeks" in dosage.sentences[0].text


def test_drugs_indicated_for_the_condition_follow_the_guidelines_newest_label_first(net: Article):
    bases = [block.basis for block in net.labels.blocks if block.document_id]
    assert LabelBasis.INDICATION in bases
    first_indication = bases.index(LabelBasis.INDICATION)
    assert all(basis is LabelBasis.INDICATION for basis in bases[first_indication:])
    dates = [block.label_date for block in net.labels.blocks if block.basis is LabelBasis.INDICATION]
    assert dates == sorted(dates, reverse=True)
    # Every label quoted for an indication names the condition in the quoted indication.
    for block in net.labels.blocks:
        if block.basis is LabelBasis.INDICATION:
            assert "neuroendocrine" in quote_of(block, INDICATIONS).sentences[0].text.casefold()


def test_narrower_conditions_count_only_when_they_share_a_distinctive_word(demo_runtime: Runtime):
    vocabulary = demo_runtime.vocabulary
    question = understand(
        "What is the treatment for neuroendocrine tumors?", vocabulary.mesh, vocabulary.abbreviations, vocabulary.drugs
    )
    matcher = indication_matcher(question, vocabulary)
    # MeSH files melanoma and Merkel cell carcinoma under Neuroendocrine Tumors; neither is what the question means.
    assert not matcher.matches("treatment of patients with unresectable or metastatic melanoma")
    assert not matcher.matches("metastatic Merkel cell carcinoma")
    assert matcher.matches("well-differentiated neuroendocrine carcinoma")
    assert matcher.matches("progressive neuroendocrine tumors of pancreatic origin")


def test_html_shows_which_label_and_the_dailymed_link(merkel: Article):
    html = to_html(merkel)
    assert "BAVENCIO label of 2023-10-12; the guideline names this drug." in html
    assert 'href="https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid=5cd725a1-2fa4-408a-a651-57a7b84b2118"' in html


def test_research_is_one_bullet_per_study_strongest_design_first_newest_first(demo_runtime: Runtime, net: Article):
    groups = net.research.groups
    assert groups
    titles = {level.title: level.rank for level in EvidenceLevel}
    ranks = [titles.get(group.heading, EvidenceLevel.UNCLASSIFIED.rank) for group in groups]
    assert ranks == sorted(ranks)
    studies = [bullet.sentences[0].source.document_id for group in groups for bullet in group.bullets]
    assert len(studies) == len(set(studies))
    for group in groups:
        years = [bullet.study.year or 0 for bullet in group.bullets if bullet.study]
        assert years == sorted(years, reverse=True)
    # A study whose abstract has a conclusions part is quoted from it.
    with demo_runtime.session() as session:
        for group in groups:
            for bullet in group.bullets:
                assert bullet.study is not None
                source = bullet.sentences[0].source
                headings = {p.section_path[-1] for p in document_passages(session, source.document_id)}
                if any("conclu" in heading.casefold() for heading in headings):
                    assert "conclu" in (bullet.study.section or "").casefold(), (source.document_id, headings)


def indication_for(runtime: Runtime, question_text: str, drug: str) -> LabelIndication | None:
    """What the label the article would quote for ``drug`` says about the question's condition."""
    vocabulary = runtime.vocabulary
    question = understand(question_text, vocabulary.mesh, vocabulary.abbreviations, vocabulary.drugs)
    matcher = indication_matcher(question, vocabulary)
    with runtime.session() as session:
        retriever = Retriever(runtime.index, session, matcher)
        label = retriever.label_for(drug, vocabulary.drugs.names_for(drug), matcher)
        assert label is not None
        return label_indication(label, matcher)


@pytest.mark.parametrize(
    ("question", "drug", "section", "dose"),
    [
        # Several indications, one recommended dose for them all (Zelboraf: melanoma, Erdheim-Chester).
        (
            "What is the treatment for melanoma?",
            "Vemurafenib",
            "2.2",
            "960 mg (four 240 mg tablets) orally every 12 hours",
        ),
        # A label without numbered subsections states its starting dose in its dosage section (Glynase).
        (
            "What is the treatment for type 2 diabetes?",
            "Glyburide",
            None,
            "starting dose of GLYNASE PresTab is 1.5 mg to 3 mg daily",
        ),
        # The subsection for the indication, read with its "mg/m 2" (Rituxan: NHL, CLL, RA …).
        ("What is the treatment for chronic lymphocytic leukemia?", "Rituximab", "2.3", "375 mg/m 2 the day prior"),
    ],
)
def test_the_dose_is_the_one_the_label_gives_for_the_indication(
    demo_runtime: Runtime, question: str, drug: str, section: str | None, dose: str
):
    found = indication_for(demo_runtime, question, drug)
    assert found is not None and found.dose_passage is not None and found.dose_sentence is not None
    assert found.dose_passage.section_number == section
    start, end = found.dose_sentence
    assert dose in found.dose_passage.text[start:end]


def test_a_limitation_of_use_is_no_indication(demo_runtime: Runtime):
    # Revlimid's label names chronic lymphocytic leukemia only to say it is not indicated for it.
    assert (
        indication_for(demo_runtime, "What is the treatment for chronic lymphocytic leukemia?", "Lenalidomide") is None
    )
