"""Whom a question is about: species, age group and pregnancy, and the documents that fit it.

The articles are asked of a small real corpus ingested once for this module: the adult and the
pediatric NCI PDQ summaries on gastrointestinal neuroendocrine tumours, the pancreatic NET summary,
human leukaemia and lymphoma summaries (what questions about cats and dogs used to quote), the
breast cancer during pregnancy summary, and a PubMed file holding veterinary studies.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vademecum.answer.article import Article
from vademecum.answer.population import (
    Population,
    document_population,
    fits,
    fitting_documents,
    question_population,
    research_fits,
)
from vademecum.answer.retrieve import ConceptMatcher, Retriever
from vademecum.answer.understand import understand
from vademecum.answer.verify import article_sentences
from vademecum.evidence.models import EvidenceDocument
from vademecum.evidence.store import documents_by_id
from vademecum.services.ask import ask
from vademecum.services.ingest import DEMO_VOCABULARY, compile_vocabulary_if_needed, ingest_paths
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings

GI_NET = "pdq:types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq"
PEDIATRIC_GI_NET = "pdq:types/gi-neuroendocrine-tumors/hp/pediatric-gi-neuroendocrine-treatment-pdq"
PANCREATIC_NET = "pdq:types/pancreatic/hp/pnet-treatment-pdq"
CLL = "pdq:types/leukemia/hp/cll-treatment-pdq"
PCNSL = "pdq:types/lymphoma/hp/primary-cns-lymphoma-treatment-pdq"
BREAST_PREGNANCY = "pdq:types/breast/hp/pregnancy-breast-treatment-pdq"
PDQ_FILES = (
    "types-gi-neuroendocrine-tumors-hp-gi-neuroendocrine-treatment-pdq.md",
    "types-gi-neuroendocrine-tumors-hp-pediatric-gi-neuroendocrine-treatment-pdq.md",
    "types-pancreatic-hp-pnet-treatment-pdq.md",
    "types-leukemia-hp-cll-treatment-pdq.md",
    "types-lymphoma-hp-primary-cns-lymphoma-treatment-pdq.md",
    "types-breast-hp-pregnancy-breast-treatment-pdq.md",
)
# MEDLINE records tagged Animals (and not Humans): studies in dogs, in cats, in ospreys.
VETERINARY_PUBMED = "pubmedparser-pubmed21n1002.xml.gz"
IN_DOGS = ("pmid:31449448", "pmid:31449450")
IN_CATS = "pmid:31449451"

FELINE = "What is the best treatment for feline leukemia virus in cats?"
CANINE = "What is the treatment for canine lymphoma in dogs?"
NETS = "What is the treatment for neuroendocrine tumors?"
ADULT_NETS = "What is the treatment for gastrointestinal neuroendocrine tumors in adults?"
CHILD_NETS = "What is the treatment for childhood gastrointestinal neuroendocrine tumors?"
BREAST = "How is breast cancer treated?"
BREAST_IN_PREGNANCY = "How is breast cancer treated during pregnancy?"
QUESTIONS = (FELINE, CANINE, NETS, ADULT_NETS, CHILD_NETS, BREAST, BREAST_IN_PREGNANCY)


@pytest.fixture(scope="module")
def population_runtime(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[Runtime]:
    """A runtime over the few real files these tests need, ingested once (about 15 s with the vocabulary)."""
    settings = Settings(home=tmp_path_factory.mktemp("population-home"), corpus=corpus_dir)
    runtime = open_runtime(settings)
    try:
        compile_vocabulary_if_needed(runtime, corpus_dir / DEMO_VOCABULARY)
        pdq = corpus_dir / "guidelines" / "nci-pdq"
        report = ingest_paths(runtime, [*(pdq / name for name in PDQ_FILES), corpus_dir / "pubmed" / VETERINARY_PUBMED])
        assert report.ok, report.problems
        yield runtime
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def articles(population_runtime: Runtime) -> dict[str, Article]:
    return {question: ask(population_runtime, question) for question in QUESTIONS}


def quoted_documents(article: Article) -> set[str]:
    """Every document a sentence of the article is cut from."""
    return {sentence.source.document_id for sentence in article_sentences(article)}


def guideline_references(article: Article) -> list[str]:
    return [ref.document_id for ref in article.references if ref.kind.value == "guideline"]


def understood(runtime: Runtime, text: str):
    vocabulary = runtime.vocabulary
    return understand(text, vocabulary.mesh, vocabulary.abbreviations, vocabulary.drugs)


# Articles ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "animals"), [(FELINE, "cats"), (CANINE, "dogs")])
def test_a_veterinary_question_gets_an_honest_article_without_human_evidence(
    articles: dict[str, Article], question: str, animals: str
):
    # These used to quote the human leukaemia and lymphoma summaries (CLL, primary CNS lymphoma).
    article = articles[question]
    assert quoted_documents(article) == set()
    assert article.references == ()
    assert not article.sufficient
    assert article.guidelines.empty_note == (
        f"No guideline in the indexed sources addresses {animals}; searched 6 guideline documents."
    )
    assert article.labels.blocks == ()
    assert article.labels.empty_note == (
        f"No FDA drug label in the indexed sources addresses {animals}; searched 0 FDA drug labels."
    )
    assert article.research.empty_note == (
        f"No research in the indexed sources addresses this question in {animals}; "
        "searched 45 research articles (abstracts and full texts)."
    )


@pytest.mark.parametrize("question", [NETS, ADULT_NETS])
def test_an_adult_or_unspecified_question_never_quotes_the_pediatric_summary(
    articles: dict[str, Article], question: str
):
    article = articles[question]
    quoted = quoted_documents(article)
    assert PEDIATRIC_GI_NET not in quoted
    assert {GI_NET, PANCREATIC_NET} <= quoted
    assert PEDIATRIC_GI_NET not in guideline_references(article)


def test_a_childhood_question_quotes_the_pediatric_summary_only(articles: dict[str, Article]):
    article = articles[CHILD_NETS]
    assert guideline_references(article) == [PEDIATRIC_GI_NET]
    assert {d for d in quoted_documents(article) if d.startswith("pdq:")} == {PEDIATRIC_GI_NET}


def test_a_pregnancy_summary_answers_only_a_pregnancy_question(articles: dict[str, Article]):
    assert guideline_references(articles[BREAST_IN_PREGNANCY]) == [BREAST_PREGNANCY]
    general = articles[BREAST]
    assert BREAST_PREGNANCY not in quoted_documents(general)
    assert general.guidelines.empty_note == "No relevant guideline passage was found; searched 6 guideline documents."


# Retrieval -----------------------------------------------------------------------------------------


def test_guideline_choice_follows_the_population(population_runtime: Runtime):
    question = understood(population_runtime, NETS)
    vocabulary = population_runtime.vocabulary
    terms = {term for c in question.conditions for term in vocabulary.mesh.entry_terms(c.ui or "")}
    with population_runtime.session() as session:
        retriever = Retriever(population_runtime.index, session, ConceptMatcher.from_groups([terms]))

        def chosen(population: Population | None) -> set[str]:
            return {d.id for d in retriever.guidelines(question.search_text, population=population).documents}

        # Without a population every summary naming the tumours competes, the children's one included.
        assert PEDIATRIC_GI_NET in chosen(None)
        assert chosen(Population()) == {GI_NET, PANCREATIC_NET}
        assert chosen(Population(age="adult")) == {GI_NET, PANCREATIC_NET}
        assert chosen(Population(age="child")) == {PEDIATRIC_GI_NET}
        assert chosen(Population(species="Cats")) == set()


def test_research_about_animals_is_kept_for_that_species_only(population_runtime: Runtime):
    query = "dogs cats"
    with population_runtime.session() as session:
        matcher = ConceptMatcher.from_groups([])
        retriever = Retriever(population_runtime.index, session, matcher)

        def found(population: Population | None) -> set[str]:
            studies = retriever.studies(query, about=matcher, population=population, max_studies=50, relevance_floor=0)
            return {study.document_id for study in studies}

        assert {IN_CATS, *IN_DOGS} <= found(None)
        assert found(Population()) & {IN_CATS, *IN_DOGS} == set()
        assert found(understood(population_runtime, FELINE).population) == {IN_CATS}
        assert found(understood(population_runtime, CANINE).population) == set(IN_DOGS)


def test_research_fits_reads_the_medline_check_tags(population_runtime: Runtime):
    with population_runtime.session() as session:
        documents = documents_by_id(session, [IN_CATS, *IN_DOGS])
        headings = {d.id: [h["descriptor"] for h in d.mesh_headings] for d in documents.values()}
        titles = {d.id: d.title for d in documents.values()}
        human = [
            d for d in session.query(EvidenceDocument).filter_by(kind="research") if "Humans" in _names(d.mesh_headings)
        ]
    cats = Population("Cats", species_terms=("cats", "cat", "feline"))
    assert research_fits(cats, titles[IN_CATS], headings[IN_CATS])
    assert not research_fits(cats, titles[IN_DOGS[0]], headings[IN_DOGS[0]])
    assert not research_fits(Population(), titles[IN_CATS], headings[IN_CATS])
    assert human
    assert all(research_fits(Population(), d.title, _names(d.mesh_headings)) for d in human)
    assert not any(research_fits(cats, d.title, _names(d.mesh_headings)) for d in human)


def _names(headings: list[dict]) -> list[str]:
    return [h["descriptor"] for h in headings]


def test_document_population_of_the_ingested_guidelines(population_runtime: Runtime):
    with population_runtime.session() as session:
        found = {
            d.id: document_population(d.title, d.url)
            for d in session.query(EvidenceDocument).filter_by(kind="guideline")
        }
    assert found == {
        GI_NET: Population(),
        PEDIATRIC_GI_NET: Population(age="child"),
        PANCREATIC_NET: Population(),
        CLL: Population(),
        PCNSL: Population(),
        BREAST_PREGNANCY: Population(pregnancy=True),
    }
    # The id alone tells the same for NCI's paths.
    assert document_population("", PEDIATRIC_GI_NET) == Population(age="child")
    assert document_population("", BREAST_PREGNANCY) == Population(pregnancy=True)


# Reading a question ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "species", "age", "pregnancy"),
    [
        (FELINE, "Cats", None, False),
        (CANINE, "Dogs", None, False),
        (NETS, None, None, False),
        (ADULT_NETS, None, "adult", False),
        (CHILD_NETS, None, "child", False),
        (BREAST_IN_PREGNANCY, None, None, True),
        # Species words that do not name the patient: the animal is the source, or part of a name.
        ("What antibiotics for a dog bite?", None, None, False),
        ("What is the treatment for cow's milk allergy?", None, None, False),
        ("How is cat scratch disease treated?", None, None, False),
        ("What is the dose of equine antithymocyte globulin for aplastic anemia?", None, None, False),
        ("How is murine typhus treated?", None, None, False),
        ("Can pregnant women get toxoplasmosis from cats?", None, None, True),
        # ... and words that do: "Dogs with", "my dog's", "canine" before a disease.
        ("Dogs with lymphoma: how are they treated?", "Dogs", None, False),
        ("How do I treat my dog's ear infection?", "Dogs", None, False),
        ("Treatment of canine distemper", "Dogs", None, False),
        ("What is the treatment of hyperthyroidism in guinea pigs?", "Guinea Pigs", None, False),
        # "Child" of Child-Pugh is an eponym; "non-pregnant" is not pregnancy; ages in years.
        ("What is the dose of sorafenib in Child-Pugh B cirrhosis?", None, None, False),
        ("How is Hodgkin lymphoma treated in non-pregnant women?", None, None, False),
        ("Management of fever in a 3-year-old", None, "child", False),
        ("Management of fever in a 73-year-old", None, "adult", False),
        ("What is the treatment for adolescents and young adults with cancer?", None, None, False),
    ],
)
def test_question_population(population_runtime: Runtime, question: str, species, age, pregnancy):
    population = understood(population_runtime, question).population
    assert (population.species, population.age, population.pregnancy) == (species, age, pregnancy)


def test_question_population_from_words_alone():
    # Without MeSH concepts the species words and adjectives still count.
    assert question_population(CANINE) == Population("Dogs")
    assert question_population(FELINE).species == "Cats"
    assert question_population(CHILD_NETS) == Population(age="child")
    assert question_population("Is there a veterinary treatment?") == Population("Animals")
    assert set(question_population(FELINE).species_terms) >= {"cats", "cat", "feline"}


def test_describe():
    assert Population("Cats").describe() == "cats"
    assert Population("Guinea Pigs").describe() == "guinea pigs"
    assert Population(age="child").describe() == "children"
    assert Population(age="adult").describe() == "adults"
    assert Population(age="adult", pregnancy=True).describe() == "pregnancy"
    assert Population().describe() == "patients"


# Fitting ----------------------------------------------------------------------------------------------

PEOPLE = Population()
CHILDREN = Population(age="child")
ADULTS = Population(age="adult")
PREGNANCY = Population(pregnancy=True)
CATS = Population("Cats")
DOGS = Population("Dogs")
ANIMALS = Population("Animals")


@pytest.mark.parametrize(
    ("question", "document", "expected"),
    [
        (CATS, PEOPLE, False),
        (CATS, CHILDREN, False),
        (PEOPLE, CATS, False),
        (CATS, CATS, True),
        (CATS, DOGS, False),
        (CATS, ANIMALS, True),
        (ANIMALS, DOGS, True),
        (PEOPLE, CHILDREN, False),
        (ADULTS, CHILDREN, False),
        (CHILDREN, CHILDREN, True),
        (CHILDREN, PEOPLE, True),
        (CHILDREN, ADULTS, False),
        (PEOPLE, ADULTS, True),
        (PEOPLE, PREGNANCY, False),
        (ADULTS, PREGNANCY, False),
        (PREGNANCY, PREGNANCY, True),
        (PREGNANCY, PEOPLE, True),
    ],
)
def test_fits(question: Population, document: Population, expected: bool):
    assert fits(question, document) is expected


def test_fitting_documents_prefers_the_questions_own_population():
    documents = {"general": PEOPLE, "children": CHILDREN, "pregnancy": PREGNANCY, "adults": ADULTS}
    assert fitting_documents(PEOPLE, documents) == ["general", "adults"]
    assert fitting_documents(ADULTS, documents) == ["general", "adults"]
    assert fitting_documents(CHILDREN, documents) == ["children"]
    assert fitting_documents(CHILDREN, {"general": PEOPLE, "adults": ADULTS}) == ["general"]
    assert fitting_documents(PREGNANCY, documents) == ["pregnancy"]
    assert fitting_documents(CATS, documents) == []
    # A disease of childhood, on which the corpus has only children's summaries: they are used for a
    # question of unspecified age, never for an adult's.
    assert fitting_documents(PEOPLE, {"children": CHILDREN, "pregnancy": PREGNANCY}) == ["children"]
    assert fitting_documents(ADULTS, {"children": CHILDREN}) == []
