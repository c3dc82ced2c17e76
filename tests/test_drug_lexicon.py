"""The drug lexicon compiled into the vocabulary file, against the package read into memory, on real text."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from vademecum.answer.clinical import ClinicalVocabulary
from vademecum.vocab import MeshVocabulary, compile_vocabulary, needs_compile
from vademecum.vocab.categories import MeshCategories
from vademecum.vocab.drug_tables import package_fingerprint
from vademecum.vocab.drugs import DrugLexicon


@pytest.fixture(scope="module")
def compiled(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("vocab") / "vocab.sqlite3"
    compile_vocabulary(corpus_dir / "vocab", target)
    return target


@pytest.fixture(scope="module")
def mesh(compiled: Path) -> Iterator[MeshVocabulary]:
    with MeshVocabulary.open(compiled) as vocabulary:
        yield vocabulary


@pytest.fixture(scope="module")
def lexicons(compiled: Path, mesh: MeshVocabulary) -> Iterator[tuple[DrugLexicon, DrugLexicon]]:
    """(the package read into memory, the compiled tables), both with the same MeSH."""
    compiled_lexicon = DrugLexicon.open(compiled, mesh)
    yield DrugLexicon.load(mesh), compiled_lexicon
    compiled_lexicon.close()


def _texts(corpus_dir: Path) -> list[str]:
    """PubMedQA questions and contexts and the NCI drug pages: about 4,800 real texts."""
    texts = []
    for item in json.loads((corpus_dir / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8")).values():
        texts.append(item["QUESTION"])
        texts.extend(item["CONTEXTS"])
    texts.extend(path.read_text(encoding="utf-8") for path in sorted((corpus_dir / "drug-info" / "nci").glob("*.md")))
    return texts


def test_compiled_lexicon_finds_what_the_package_finds(lexicons, corpus_dir):
    loaded, compiled = lexicons
    assert len(compiled) == len(loaded) == 13_839
    mentions = 0
    names = set()
    for text in _texts(corpus_dir):
        found = compiled.find(text)
        assert found == loaded.find(text), text[:120]
        mentions += len(found)
        names.update(mention.text for mention in found)
    assert mentions > 10_000
    for name in sorted(names):
        assert compiled.names_for(name) == loaded.names_for(name), name
        assert compiled.generic_name(name) == loaded.generic_name(name), name
    assert compiled.names_for("not a drug at all") == () and compiled.generic_name("") is None


def test_compiled_lexicon_on_a_real_label_title(lexicons, corpus_dir):
    _, compiled = lexicons
    label = (corpus_dir / "labels" / "spl" / "humira.xml").read_text(encoding="utf-8")
    title = label[label.index("<title>") : label.index("</title>")]
    mentions = compiled.find(title)
    assert [(m.text, m.name, m.is_brand, m.mesh_id) for m in mentions] == [
        ("HUMIRA", "Adalimumab", True, "D000068879"),
        ("HUMIRA", "Adalimumab", True, "D000068879"),
        ("HUMIRA", "Adalimumab", True, "D000068879"),
        ("adalimumab", "Adalimumab", False, "D000068879"),
    ]
    # Every mention of a drug shares the one tuple of names decoded from the file.
    assert mentions[0].synonyms is mentions[3].synonyms
    assert {"adalimumab", "humira"} <= set(mentions[0].synonyms)


def test_a_vocabulary_from_another_drug_package_needs_compile(compiled, corpus_dir, tmp_path):
    copy = tmp_path / "vocab.sqlite3"
    shutil.copyfile(compiled, copy)
    assert needs_compile(corpus_dir / "vocab", copy) is False
    assert package_fingerprint()["version"]
    with sqlite3.connect(copy) as connection:
        connection.execute("UPDATE meta SET value = '0.0.1' WHERE key = 'drugs:version'")
    connection.close()
    assert needs_compile(corpus_dir / "vocab", copy) is True


def test_medical_words_are_counted_from_the_compiled_word_index(mesh):
    # The module documentation of answer/clinical.py: "fracture" is in the entry terms of 59
    # descriptors, 58 of them clinical.
    using = MeshCategories.of(mesh).descriptors_using("fracture")
    assert len(using) == 59
    assert "Fractures, Bone" in {name for _, name, _ in using}
    vocabulary = ClinicalVocabulary.of(mesh)
    assert vocabulary.medical_word("fractures") is True
    assert vocabulary.medical_word("change") is False
    # A category heading the tree-number file leaves out still counts, with its heading's number.
    using = MeshCategories.of(mesh).descriptors_using("neoplasms")
    assert [trees for _, name, trees in using if name == "Neoplasms"] == [("C04",)]
