"""Treatment modality of real guideline and research sentences, from MeSH and the sources' headings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from vademecum.answer.modality import GIVING, Modality, classify, theme_of, unify
from vademecum.answer.modality_rules import ALIASES, INN_STEMS, LABELS, RULES, UI_RULES
from vademecum.answer.sentences import split_sentences
from vademecum.evidence.models import EvidenceDocument, EvidencePassage
from vademecum.services.runtime import Runtime
from vademecum.settings import Settings
from vademecum.vocab.drugs import DrugLexicon
from vademecum.vocab.mesh import MeshVocabulary

GI_NET = "pdq:types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq"
PNET = "pdq:types/pancreatic/hp/pnet-treatment-pdq"
NSCLC = "pdq:types/lung/hp/non-small-cell-lung-treatment-pdq"
BREAST = "pdq:types/breast/hp/breast-treatment-pdq"

Sentence = tuple[tuple[str, ...], str]


@pytest.fixture(scope="module")
def mesh(demo_settings: Settings) -> Iterator[MeshVocabulary]:
    with MeshVocabulary.open(demo_settings.vocab_path) as vocabulary:
        yield vocabulary


@pytest.fixture(scope="module")
def sentences_of(demo_settings: Settings):
    """(section path, sentence) of every passage of a document, read once per document."""
    from vademecum.services.runtime import open_runtime

    runtime = open_runtime(demo_settings)
    cache: dict[str, list[Sentence]] = {}

    def read(document_id: str) -> list[Sentence]:
        if document_id not in cache:
            with runtime.session() as session:
                rows = session.execute(
                    select(EvidencePassage.section_path, EvidencePassage.text)
                    .where(EvidencePassage.document_id == document_id)
                    .order_by(EvidencePassage.ordinal)
                ).all()
            cache[document_id] = [(tuple(path), span.text) for path, text in rows for span in split_sentences(text)]
            assert cache[document_id], document_id
        return cache[document_id]

    yield read
    runtime.close()


def under(sentences: list[Sentence], heading: str) -> list[Sentence]:
    found = [(path, text) for path, text in sentences if path and path[-1] == heading]
    assert found, heading
    return found


def keys(sentences: list[Sentence], mesh: MeshVocabulary) -> set[str | None]:
    return {(m.key if (m := classify(text, path, mesh)) else None) for path, text in sentences}


def test_rules_name_real_mesh_classes(mesh):
    for rule in RULES:
        assert mesh.descendants_of(rule.tree), rule
        assert rule.key is None or rule.key in LABELS
    uis = [*UI_RULES, *(ui for _, ui in ALIASES), *(ui for _, ui in INN_STEMS)]
    assert all(mesh.descriptor(ui) is not None for ui in uis)
    assert mesh.descriptor("D013514").name == "Surgical Procedures, Operative"


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Surgery", {"surgery"}),
        ("Radionuclides", {"radionuclide"}),
        ("Molecular-Targeted Therapies", {"targeted"}),
        # Supportive care from the heading, except sentences naming octreotide (a drug class wins).
        ("Symptomatic Therapy", {"supportive_care", "hormone"}),
    ],
)
def test_gi_net_therapy_sections(heading, expected, sentences_of, mesh):
    assert keys(under(sentences_of(GI_NET), heading), mesh) == expected


def test_somatostatin_analogue_section_is_grouped_under_the_sources_heading(sentences_of, mesh):
    section = under(sentences_of(GI_NET), "Somatostatin Analogues")
    [somatostatin] = mesh.lookup("somatostatin")
    expected = Modality(f"hormone:{somatostatin.ui}", "Somatostatin Analogues", "hormone")
    # Every sentence, including those naming octreotide or lanreotide, and the one on
    # cholecystectomy for the gallstones these drugs cause (an operation named in passing).
    assert {classify(text, path, mesh) for path, text in section} == {expected}
    assert len(section) > 20 and expected.broad == "hormone"


def test_interferon_section_refines_immunotherapy(sentences_of, mesh):
    section = under(sentences_of(GI_NET), "Interferons")
    found = {text: classify(text, path, mesh) for path, text in section}
    # Sentences that compare interferon with somatostatin analogues stay under the heading; the
    # one on cytotoxic agents is chemotherapy (a drug class named beats the heading).
    cytotoxic = {text for text in found if "chemotherapeutics" in text}
    assert len(cytotoxic) == 1 and {found[text].key for text in cytotoxic} == {"chemotherapy"}
    others = {found[text] for text in found if text not in cytotoxic}
    assert {m.label for m in others} == {"Interferons"} and {m.broad for m in others} == {"immunotherapy"}
    assert sum("somatostatin analogues" in text for text in found) == 2


def test_sentences_outside_therapy_sections(sentences_of, mesh):
    sentences = sentences_of(GI_NET)

    def key_of(contains: str, path: tuple[str, ...] | None = None) -> str | None:
        matches = [(p, t) for p, t in sentences if contains in t]
        assert matches, contains
        section, text = matches[0]
        found = classify(text, section if path is None else path, mesh)
        return found.key if found else None

    # Liver ablation and embolization, with or without the heading.
    assert key_of("The management of hepatic metastases may include") == "liver_directed"
    assert key_of("The management of hepatic metastases may include", ()) == "liver_directed"
    assert key_of("external-beam radiation therapy") == "radiation"
    assert key_of("single-agent chemotherapy or multiple-agent chemotherapy") == "chemotherapy"
    assert key_of("Treatment with radionuclides such as") == "radionuclide"
    # Drugs without any heading: octreotide's MeSH pharmacological action is a hormonal antineoplastic.
    assert key_of("The effect of octreotide (long-acting repeatable", ()) == "hormone"
    # Statements about prognosis name no treatment.
    assert key_of("The prognosis for any patient with progressive or recurrent disease is poor") is None


def test_pancreatic_net_list_items_by_drug_class(sentences_of, mesh):
    items = [
        (path, text)
        for path, text in sentences_of(PNET)
        if path[-1].startswith("Treatment of Recurrent")
        and text.startswith("A variety of systemic agents")
        and not text.endswith(":")
    ]
    found = [classify(text, path, mesh) for path, text in items]
    # Somatostatin analogues; radiolabelled ones; tyrosine kinase inhibitors; temozolomide; VEGF
    # pathway inhibitors; mTOR inhibitors: the radiolabel wins over the analogue it is attached to.
    assert [m.key if m else None for m in found] == [
        "hormone",
        "radionuclide",
        "targeted",
        "chemotherapy",
        "targeted",
        "targeted",
    ]


@pytest.mark.parametrize(
    ("document_id", "heading", "expected"),
    [
        (NSCLC, "Surgery", "surgery"),
        (NSCLC, "Adjuvant chemotherapy", "chemotherapy"),
        (NSCLC, "Stereotactic body radiation therapy (SBRT)", "radiation"),
        (NSCLC, "Conventional radiation therapy", "radiation"),
        (BREAST, "Tamoxifen", "hormone"),
        (BREAST, "Anthracycline-containing chemotherapy", "chemotherapy"),
        (BREAST, "Partial breast irradiation", "radiation"),
    ],
)
def test_other_diseases_without_any_change(document_id, heading, expected, sentences_of, mesh):
    section = under(sentences_of(document_id), heading)
    assert keys(section, mesh) == {expected}


def test_drug_classes_without_headings(sentences_of, mesh):
    breast = [text for _, text in under(sentences_of(BREAST), "Tamoxifen") if "tamoxifen" in text.casefold()]
    assert breast and {classify(text, (), mesh).key for text in breast} == {"hormone"}
    lung = [text for _, text in under(sentences_of(NSCLC), "Adjuvant chemotherapy") if "cisplatin" in text]
    assert len(lung) >= 5
    assert {classify(text, (), mesh).key for text in lung} == {"chemotherapy"}


def test_drug_lexicon_places_drugs_newer_than_mesh(sentences_of, mesh):
    lexicon = DrugLexicon.load()
    section = [
        t for p, t in sentences_of(NSCLC) if p[-1].startswith("Adjuvant targeted therapy") and "osimertinib" in t
    ]
    assert section
    # MeSH alone does not know the drug; its INN stem (-tinib) names the kinase-inhibitor class.
    plain = [text for text in section if "targeted" not in text.casefold()]
    assert plain and all(classify(text, (), mesh) is None for text in plain)
    assert {classify(text, (), mesh, lexicon).key for text in section} == {"targeted"}


def test_unify_folds_broad_groups_into_the_single_refinement(sentences_of, mesh):
    found = [m for path, text in sentences_of(GI_NET) if (m := classify(text, path, mesh)) is not None]
    groups = unify(found)
    refined = {m for m in found if m.family == "hormone"}
    assert len(refined) == 1
    [somatostatin_analogues] = refined
    assert groups[Modality("hormone", "Hormone therapy")] == somatostatin_analogues
    assert groups[Modality("immunotherapy", "Immunotherapy")].label == "Interferons"
    assert groups[Modality("surgery", "Surgery")] == Modality("surgery", "Surgery")


def research_sentences(runtime: Runtime) -> Iterator[Sentence]:
    with runtime.session() as session:
        rows = session.execute(
            select(EvidencePassage.section_path, EvidencePassage.text)
            .join(EvidenceDocument)
            .where(EvidenceDocument.kind == "research")
            .order_by(EvidencePassage.id)
        ).all()
    for path, text in rows:
        for span in split_sentences(text):
            yield tuple(path), span.text


def test_research_themes(demo_runtime, mesh):
    expected = {
        "RESULTS": "Findings",
        "CONCLUSIONS": "Findings",
        "Abstract": "Findings",
        "METHODS": "Methods",
        "DESIGN": "Methods",
        "BACKGROUND": "Background",
        "OBJECTIVE": "Background",
        "LIMITATIONS": "Limitations",
    }
    seen: dict[str, str] = {}
    modality_theme: Modality | None = None
    mention_theme: Modality | None = None
    for path, text in research_sentences(demo_runtime):
        label = path[-1] if path else ""
        found = classify(text, (), mesh)
        if found is None and label in expected and label not in seen:
            seen[label] = theme_of(path, text, mesh).label
        if found is not None and found.key == "chemotherapy":
            # A drug class names the theme only when the sentence is about giving the drug.
            if GIVING.search(text) and modality_theme is None:
                modality_theme = theme_of(path, text, mesh)
            elif not GIVING.search(text) and mention_theme is None and label in expected:
                mention_theme = theme_of(path, text, mesh)
                assert mention_theme.label == expected[label]
        if len(seen) == len(expected) and modality_theme is not None and mention_theme is not None:
            break
    assert seen == expected
    assert modality_theme == Modality("chemotherapy", "Chemotherapy")
    assert mention_theme is not None
    assert theme_of((), "", mesh) == Modality("section:findings", "Findings")
