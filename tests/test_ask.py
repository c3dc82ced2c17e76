"""Asking real questions of the demo corpus: which sources are chosen, and that every line is traceable."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from vademecum.answer.article import Article, LabelBasis
from vademecum.answer.render import to_markdown
from vademecum.answer.verify import article_sentences
from vademecum.errors import QuestionRefused
from vademecum.evidence.store import passages_by_id
from vademecum.services.ask import ask
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings

GI_NET = "pdq:types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq"
PANCREATIC_NET = "pdq:types/pancreatic/hp/pnet-treatment-pdq"
HUMIRA = "spl:608d4f0d-b19f-46d3-749a-7159aa5f933d"

# question -> (intent, first guideline document or None, drugs with a label block)
QUESTIONS = {
    "What is the management for neuroendocrine tumors (NETs)?": ("management", GI_NET, None),
    "What is the recommended dose of adalimumab for rheumatoid arthritis?": ("dosing", None, ["Adalimumab"]),
    "How is early-stage breast cancer treated?": ("management", "pdq:types/breast/hp/breast-treatment-pdq", None),
    "Who should be screened for colorectal cancer?": (
        "screening_prevention",
        "pdq:types/colorectal/hp/colorectal-screening-pdq",
        None,
    ),
    "How is pheochromocytoma diagnosed?": (
        "diagnosis",
        "pdq:types/pheochromocytoma/hp/pheochromocytoma-treatment-pdq",
        None,
    ),
    "What is the prognosis of Ewing sarcoma?": ("prognosis", "pdq:types/bone/hp/ewing-treatment-pdq", None),
    "How can lung cancer be prevented?": ("screening_prevention", "pdq:types/lung/hp/lung-prevention-pdq", None),
    "What is the recommended dose of atorvastatin?": ("dosing", None, ["Atorvastatin"]),
    "What is the dose of sildenafil for erectile dysfunction?": ("dosing", None, ["Sildenafil"]),
    "Is surgery or radiation therapy better for localized prostate cancer?": (
        "comparison",
        "pdq:types/prostate/hp/prostate-treatment-pdq",
        None,
    ),
    "How is chemotherapy-induced nausea and vomiting managed?": (
        "management",
        "pdq:about-cancer/treatment/side-effects/nausea/nausea-hp-pdq",
        None,
    ),
    "What is the treatment of hairy cell leukemia?": (
        "management",
        "pdq:types/leukemia/hp/hairy-cell-treatment-pdq",
        None,
    ),
    "How is plantar fasciitis treated?": ("management", None, []),
}


@pytest.fixture(scope="module")
def ask_runtime(demo_settings: Settings) -> Iterator[Runtime]:
    runtime = open_runtime(demo_settings)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def articles(ask_runtime: Runtime) -> dict[str, Article]:
    return {question: ask(ask_runtime, question) for question in QUESTIONS}


def guidelines_used(article: Article) -> list[str]:
    """The guideline documents the article leans on, in the order its "Guidelines used" line names them."""
    return [passage_document(article, key) for key in article.guidelines.guideline_keys]


def passage_document(article: Article, key: str) -> str:
    return next(ref.document_id for ref in article.references if key in ref.keys)


def first_guideline(article: Article) -> str | None:
    return next(iter(guidelines_used(article)), None)


@pytest.mark.parametrize("question", list(QUESTIONS))
def test_intent_guideline_and_labels(articles: dict[str, Article], question: str):
    article = articles[question]
    intent, guideline, label_drugs = QUESTIONS[question]
    assert article.question.intent == intent
    assert first_guideline(article) == guideline
    if label_drugs is not None:
        assert [block.drug for block in article.labels.blocks if block.document_id] == label_drugs


@pytest.mark.parametrize("question", list(QUESTIONS))
def test_every_sentence_is_verbatim_from_the_passage_it_cites(
    articles: dict[str, Article], ask_runtime: Runtime, question: str
):
    sentences = list(article_sentences(articles[question]))
    with ask_runtime.session() as session:
        passages = passages_by_id(session, (s.source.passage_id for s in sentences))
        for sentence in sentences:
            source = passages[sentence.source.passage_id]
            assert source.document_id == sentence.source.document_id
            assert source.text[sentence.source.start : sentence.source.end] == sentence.text
            assert sentence.text in source.text


@pytest.mark.parametrize("question", list(QUESTIONS))
def test_every_citation_resolves_and_every_reference_is_cited(articles: dict[str, Article], question: str):
    markdown = to_markdown(articles[question])
    body, _, references = markdown.partition("\n## References\n")
    cited = {int(n) for group in re.findall(r"\[(\d+(?:, \d+)*)\]", body) for n in group.split(", ")}
    listed = {int(n) for n in re.findall(r"^(\d+)\. ", references, flags=re.MULTILINE)}
    assert cited == listed
    assert listed == set(range(1, len(listed) + 1))
    for heading in ("## From the Guidelines", "## From the FDA Drug Label", "## From the Research"):
        assert heading in body


def test_neuroendocrine_article_covers_the_treatment_modalities(articles: dict[str, Article]):
    article = articles["What is the management for neuroendocrine tumors (NETs)?"]
    assert guidelines_used(article)[:2] == [GI_NET, PANCREATIC_NET]
    assert article.question.expansions == {"NETs": "neuroendocrine tumors"}
    # The sections of the guidelines' treatment overviews, under their own headings.
    headings = {group.heading for group in article.guidelines.groups}
    expected = {
        "Surgery",
        "Somatostatin Analogues",
        "Treatment of Hepatic Metastases",
        "Radionuclides",
        "Surgical Cytoreduction for Metastases",
        "Systemic Therapy for Advanced and Metastatic Disease",
    }
    assert expected <= headings
    guideline_text = " ".join(sentence.text for sentence in article.guidelines.sentences).casefold()
    for word in ("octreotide", "lanreotide", "everolimus", "sunitinib", "lutetium", "temozolomide", "streptozocin"):
        assert word in guideline_text
    assert "embolization" in guideline_text
    assert "Gastrointestinal Neuroendocrine Tumors Treatment (PDQ®)" in article.guidelines.lead
    assert "updated May 2025" in article.guidelines.lead


def test_dosing_question_quotes_the_label_sections_with_their_numbers(articles: dict[str, Article]):
    article = articles["What is the recommended dose of adalimumab for rheumatoid arthritis?"]
    block = article.labels.blocks[0]  # the drug the question names comes first
    assert block.document_id == HUMIRA
    quoted = [(quote.number, quote.title) for quote in block.quotes]
    assert ("1.1", "Rheumatoid Arthritis") in quoted
    assert ("2.1", "Rheumatoid Arthritis, Psoriatic Arthritis, and Ankylosing Spondylitis") in quoted
    assert any(quote.code == "34066-1" for quote in block.quotes)  # the boxed warning
    assert block.basis is LabelBasis.QUESTION and block.brand == "Humira"
    (dosage,) = [quote for quote in block.quotes if quote.code == "34068-7"]
    assert any("40 mg" in sentence.text and "every other week" in sentence.text for sentence in dosage.sentences)
    (reference,) = [ref for ref in article.references if ref.document_id == HUMIRA]
    assert reference.set_id == "608d4f0d-b19f-46d3-749a-7159aa5f933d"


def test_drugs_without_a_label_say_so(articles: dict[str, Article]):
    article = articles["What is the management for neuroendocrine tumors (NETs)?"]
    missing = [block for block in article.labels.blocks if block.document_id is None]
    assert all("No FDA drug label for" in block.missing_label_note for block in missing)
    # NCI drug information fills in with the approval for the question's condition.
    (sunitinib,) = [block for block in missing if block.drug == "Sunitinib"]
    assert [s.text for s in sunitinib.drug_information] == [
        "Sunitinib malate is approved to treat adults with: Pancreatic neuroendocrine tumor."
    ]


def test_unanswerable_question_gets_an_honest_article(articles: dict[str, Article]):
    article = articles["How is plantar fasciitis treated?"]
    assert not article.sufficient
    assert article.references == ()
    assert "searched 249 guideline documents" in article.guidelines.empty_note
    assert "searched 4,636 research articles (abstracts and full texts)" in article.research.empty_note
    assert article.labels.empty_note is not None


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("What is the capital of France?", "does not look like a clinical question"),
        ("x" * (10 * 1024 * 1024), "characters"),
    ],
)
def test_unusable_questions_are_refused(ask_runtime: Runtime, question: str, reason: str):
    with pytest.raises(QuestionRefused, match=reason):
        ask(ask_runtime, question)
