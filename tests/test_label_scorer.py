"""The FDA label and research scorer (``vademecum eval labels``) on the demo corpus.

Conditions are read from the real openFDA labels (avelumab's ``BLA761049.json`` names Merkel cell carcinoma
among its indications); articles are asked through the real ask service over the demo ingest; research
precision is judged on real studies of the store by their MeSH headings and titles.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from vademecum.answer.article import (
    Article,
    Bullet,
    BulletGroup,
    CitedSentence,
    LabelSectionQuote,
    ResearchSection,
    SourceLocation,
)
from vademecum.answer.sentences import split_sentences
from vademecum.cli import app
from vademecum.evaluation import labels
from vademecum.evaluation.labels import Condition
from vademecum.evidence.models import EvidenceDocument
from vademecum.evidence.store import document_passages
from vademecum.records import SourceDocument
from vademecum.services.ask import ask
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings
from vademecum.sources import openfda
from vademecum.vocab.mesh import MeshVocabulary

AVELUMAB_FILE = "labels/openfda-pharmgkb/BLA761049.json"
BAVENCIO = "spl:5cd725a1-2fa4-408a-a651-57a7b84b2118"
# Studies of the demo corpus: MeSH "Breast Neoplasms" (PubMedQA, stored by name only) with a title that
# does not name it; MeSH and title both; MeSH melanoma and skin neoplasms only; a fourth on breast cancer.
MESH_ONLY = "pmid:24160268"
MESH_AND_TITLE = "pmid:31449469"
OFF_TOPIC = "pmid:24434052"
FOURTH = "pmid:26471488"


@pytest.fixture(scope="module")
def module_runtime(demo_settings: Settings) -> Iterator[Runtime]:
    """One runtime over the demo ingest for the module (the vocabularies are opened once)."""
    runtime = open_runtime(demo_settings)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def mesh(module_runtime: Runtime) -> MeshVocabulary:
    return module_runtime.vocabulary.mesh


@pytest.fixture(scope="module")
def indications(module_runtime: Runtime) -> dict[str, list[str]]:
    with module_runtime.session() as session:
        return labels.indication_texts(session)


@pytest.fixture(scope="module")
def named(indications: dict[str, list[str]], mesh: MeshVocabulary) -> dict[str, set[str]]:
    return labels.label_conditions(indications, mesh)


def ui_of(mesh: MeshVocabulary, name: str) -> str:
    (descriptor,) = [d for d in mesh.lookup(name) if d.name == name]
    return descriptor.ui


def condition(
    name: str, named: dict[str, set[str]], indications: dict[str, list[str]], mesh: MeshVocabulary
) -> Condition:
    return labels.make_condition(ui_of(mesh, name), named, mesh, labels.word_counts(indications))


# --- which conditions ------------------------------------------------------------------------------------


def test_the_avelumab_label_file_names_merkel_cell_carcinoma(corpus_dir: Path, mesh: MeshVocabulary):
    path = corpus_dir / AVELUMAB_FILE
    (label,) = openfda.parse(io.BytesIO(path.read_bytes()), str(path))
    assert isinstance(label, SourceDocument) and label.doc_id == BAVENCIO
    texts = [
        " ".join([*passage.section_path[1:], passage.text])
        for passage in label.passages
        if passage.section_code == labels.INDICATIONS
    ]
    found = labels.label_conditions({label.doc_id: texts}, mesh)[label.doc_id]
    names = {labels.descriptor_name(ui, mesh) for ui in found}
    assert {"Carcinoma, Merkel Cell", "Carcinoma, Renal Cell"} <= names
    assert all(labels.is_disease(mesh.tree_numbers(ui)) for ui in found)
    # "Urothelial Carcinoma" is found as the class Carcinoma, which is too general to ask about.
    assert "Carcinoma" not in names


def test_category_heads_general_notions_and_classes_are_not_conditions(mesh: MeshVocabulary):
    for name in ("Neoplasms", "Disease", "Syndrome", "Recurrence"):
        assert not labels.is_disease(mesh.tree_numbers(ui_of(mesh, name))), name
    assert labels.is_disease(mesh.tree_numbers(ui_of(mesh, "Carcinoma, Merkel Cell")))
    carcinoma = ui_of(mesh, "Carcinoma")
    assert labels.is_disease(mesh.tree_numbers(carcinoma))
    assert len(labels.narrower_uis(carcinoma, mesh)) - 1 > labels.MAX_CLASS


def test_the_most_common_conditions_are_counted_once_per_label(
    module_runtime: Runtime, named: dict[str, set[str]], mesh: MeshVocabulary
):
    with module_runtime.session() as session:
        top = labels.top_conditions(session, mesh)
    assert len(top) == labels.TOP_CONDITIONS
    counts = [len(c.label_ids) for c in top]
    assert counts == sorted(counts, reverse=True)
    for found in top:
        assert found.label_ids == tuple(sorted(doc for doc, uis in named.items() if found.ui in uis))
        assert found.question == f"What is the treatment for {found.disease}?"
    # Merkel cell carcinoma is named by the avelumab label, and by fewer labels than the 20th condition.
    merkel = ui_of(mesh, "Carcinoma, Merkel Cell")
    assert merkel in named[BAVENCIO]
    assert 1 <= sum(merkel in uis for uis in named.values()) <= counts[-1]
    with module_runtime.session() as session:
        kinds = set(session.scalars(select(EvidenceDocument.kind).where(EvidenceDocument.id.in_(list(named)))))
    assert kinds == {labels.DRUG_LABEL}


def test_descriptor_names_become_running_text_cased_as_the_labels_write_them(
    indications: dict[str, list[str]], mesh: MeshVocabulary
):
    words = labels.word_counts(indications)
    assert labels.disease_name("Carcinoma, Merkel Cell", words) == "Merkel cell carcinoma"
    assert labels.disease_name("Carcinoma, Non-Small-Cell Lung", words) == "non-small-cell lung carcinoma"
    assert (
        labels.disease_name("Leukemia, Myelogenous, Chronic, BCR-ABL Positive", words)
        == "BCR-ABL positive chronic myelogenous leukemia"
    )


# --- on-label blocks ------------------------------------------------------------------------------------


def test_the_merkel_article_shows_avelumab_with_its_indication_and_dose(
    module_runtime: Runtime, named: dict[str, set[str]], indications: dict[str, list[str]], mesh: MeshVocabulary
):
    merkel = condition("Carcinoma, Merkel Cell", named, indications, mesh)
    assert merkel.question == "What is the treatment for Merkel cell carcinoma?"
    assert BAVENCIO in merkel.label_ids
    article = ask(module_runtime, merkel.question)
    with module_runtime.session() as session:
        score = labels.score_article(merkel, article, session, mesh, ask_ms=1.0)
    (avelumab,) = [block for block in score.blocks if block.document_id == BAVENCIO]
    assert avelumab.indication_names_condition and avelumab.dosage_quoted and avelumab.on_label
    assert score.passes and score.on_label_blocks >= 1
    assert score.labels_indicated == len(merkel.label_ids)
    assert score.body_words > 0
    row = score.to_json()
    assert row["passes"] is True and row["on_label_blocks"] == score.on_label_blocks


def test_an_indication_that_says_the_drug_is_not_for_the_condition_is_not_on_label(
    module_runtime: Runtime, named: dict[str, set[str]], indications: dict[str, list[str]], mesh: MeshVocabulary
):
    # Lenalidomide's label says, under Limitations of Use, that it is not indicated for chronic lymphocytic
    # leukemia; its multiple myeloma indication is a real one.
    with module_runtime.session() as session:
        (document_id,) = session.scalars(
            select(EvidenceDocument.id).where(
                EvidenceDocument.kind == labels.DRUG_LABEL, EvidenceDocument.title.ilike("REVLIMID%")
            )
        )
        passages = document_passages(session, document_id, [labels.INDICATIONS])
    cll = condition("Leukemia, Lymphocytic, Chronic, B-Cell", named, indications, mesh)
    myeloma = condition("Multiple Myeloma", named, indications, mesh)

    def quote_of(term: str) -> LabelSectionQuote:
        passage, span = next(
            (passage, span)
            for passage in passages
            for span in split_sentences(passage.text)
            if term in span.text.casefold()
        )
        location = SourceLocation(passage.id, document_id, tuple(passage.section_path), span.start, span.end)
        return LabelSectionQuote(
            None, "INDICATIONS AND USAGE", labels.INDICATIONS, (CitedSentence(span.text, location),)
        )

    negative = quote_of("not indicated")
    assert cll.terms.named_in(negative.sentences[0].text)
    assert labels.indication_naming(negative, cll.terms) is False
    assert labels.indication_naming(quote_of("multiple myeloma"), myeloma.terms) is True


# --- research precision ---------------------------------------------------------------------------------


def bullet_citing(runtime: Runtime, document_id: str) -> Bullet:
    """A research bullet quoting the first sentence of the study's first passage."""
    with runtime.session() as session:
        passage = document_passages(session, document_id)[0]
        span = split_sentences(passage.text)[0]
        location = SourceLocation(passage.id, document_id, tuple(passage.section_path), span.start, span.end)
    return Bullet((CitedSentence(span.text, location),))


def test_research_precision_is_judged_by_mesh_headings_and_titles(
    module_runtime: Runtime, named: dict[str, set[str]], indications: dict[str, list[str]], mesh: MeshVocabulary
):
    breast = condition("Breast Neoplasms", named, indications, mesh)
    assert ui_of(mesh, "Carcinoma, Ductal, Breast") in breast.terms.uis  # below it in the tree
    with module_runtime.session() as session:
        judged = labels.judge_studies(session, [MESH_ONLY, MESH_AND_TITLE, OFF_TOPIC], breast, mesh)
    assert [(j.mesh_match, j.title_match) for j in judged] == [(True, False), (True, True), (False, False)]
    melanoma = condition("Melanoma", named, indications, mesh)
    with module_runtime.session() as session:
        (off_topic,) = labels.judge_studies(session, [OFF_TOPIC], melanoma, mesh)
    assert off_topic.on_topic

    # An article on breast cancer whose research section cites the four studies: the first three count.
    article: Article = ask(module_runtime, breast.question)
    bullets = tuple(bullet_citing(module_runtime, study) for study in (MESH_AND_TITLE, OFF_TOPIC, MESH_ONLY, FOURTH))
    numbers = dict(article.citation_numbers)
    numbers |= {key: len(article.references) + n for n, b in enumerate(bullets, 1) for key in b.keys}
    article = dataclasses.replace(
        article, research=ResearchSection((BulletGroup("Studies", bullets),)), citation_numbers=numbers
    )
    with module_runtime.session() as session:
        score = labels.score_article(breast, article, session, mesh)
    assert [study.document_id for study in score.studies] == [MESH_AND_TITLE, OFF_TOPIC, MESH_ONLY]
    assert score.research_bullets == 4
    assert score.research_precision == pytest.approx(2 / 3)


def test_an_article_without_research_is_counted_apart(
    module_runtime: Runtime, named: dict[str, set[str]], indications: dict[str, list[str]], mesh: MeshVocabulary
):
    breast = condition("Breast Neoplasms", named, indications, mesh)
    article = ask(module_runtime, breast.question)
    article = dataclasses.replace(article, research=ResearchSection(()))
    with module_runtime.session() as session:
        score = labels.score_article(breast, article, session, mesh)
    assert score.research_precision is None
    failed = labels.failed_score(breast, "QuestionRefused: no", 2.0)
    total = labels.overall([score, failed])
    assert (total.conditions, total.failed, total.no_research) == (2, 1, 1)
    assert total.research_precision is None
    assert total.on_label_passing == int(score.passes)


# --- the command, end to end -----------------------------------------------------------------------------


def test_eval_labels_asks_scores_and_writes_json(
    demo_settings: Settings, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("VADEMECUM_HOME", str(demo_settings.home))
    monkeypatch.setenv("VADEMECUM_CORPUS", str(corpus_dir))
    out = tmp_path / "labels.json"

    result = CliRunner().invoke(app, ["eval", "labels", "--limit", "2", "--json", str(out)])

    assert result.exit_code == 0, result.output
    assert "overall" in result.output and "target" in result.output
    data = json.loads(out.read_text())
    overall = data["overall"]
    assert (overall["conditions"], overall["failed"]) == (2, 0)
    assert overall["targets"] == labels.TARGETS
    first, second = data["conditions"]
    assert first["labels_indicated"] >= second["labels_indicated"] > 0
    assert first["question"].startswith("What is the treatment for ")
    assert first["ask_ms"] > 0 and first["body_words"] > 0
    assert all(set(block) >= {"drug", "on_label", "negated_indication"} for block in first["blocks"])
