"""The vocabulary stage on the real MeSH and ADAM files: compile once, then query real content."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vademecum.errors import NotIngestedError, ReaderError
from vademecum.vocab import (
    MIN_CONFIDENCE,
    AbbreviationDictionary,
    Descriptor,
    MeshVocabulary,
    compile_vocabulary,
    find_definitions,
    needs_compile,
    normalise_term,
)
from vademecum.vocab.compile import ABBREVIATIONS_FILE, SOURCE_FILES, TERMS_FILE, TREE_NUMBERS_FILE

GI_NET_PDQ = "types-gi-neuroendocrine-tumors-hp-gi-neuroendocrine-treatment-pdq.md"
OCTREOTIDE = Descriptor("D015282", "Octreotide")
NEUROENDOCRINE_TUMORS = Descriptor("D018358", "Neuroendocrine Tumors")


@pytest.fixture(scope="session")
def vocab_dir(corpus_dir: Path) -> Path:
    return corpus_dir / "vocab"


@pytest.fixture(scope="session")
def compiled(vocab_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The real TSVs compiled once per session: (path, stats)."""
    target = tmp_path_factory.mktemp("vocab") / "vocab.sqlite3"
    return target, compile_vocabulary(vocab_dir, target)


@pytest.fixture(scope="session")
def mesh(compiled) -> MeshVocabulary:
    with MeshVocabulary.open(compiled[0]) as vocabulary:
        yield vocabulary


@pytest.fixture(scope="session")
def abbreviations(compiled) -> AbbreviationDictionary:
    with AbbreviationDictionary.open(compiled[0]) as dictionary:
        yield dictionary


@pytest.fixture
def small_vocab(vocab_dir: Path, tmp_path: Path) -> Path:
    """The first lines of each real TSV (ADAM: its comment header and some rows), for fast error tests."""
    folder = tmp_path / "vocab"
    folder.mkdir()
    for name in SOURCE_FILES:
        with (vocab_dir / name).open("rb") as source:
            head = [source.readline() for _ in range(80)]
        (folder / name).write_bytes(b"".join(head))
    return folder


def _replace_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[number - 1] = text + "\n"
    path.write_text("".join(lines), encoding="utf-8")


# ------------------------------------------------------------------------------------------ compile


def test_compile_writes_every_row_of_the_real_files(compiled):
    target, stats = compiled
    assert (stats.descriptors, stats.terms, stats.tree_numbers) == (30764, 263936, 64342)
    assert stats.pharmacological_actions == 15128
    # 57,827 ADAM senses, one row per written form of each (e.g. "NET" and "net").
    assert stats.abbreviations == 83340
    assert stats.size_bytes == target.stat().st_size
    assert not list(target.parent.glob("*.tmp"))


def test_needs_compile_is_false_after_compile_and_true_after_a_source_change(compiled, vocab_dir, tmp_path):
    target, _ = compiled
    assert needs_compile(vocab_dir, target) is False
    assert needs_compile(vocab_dir, tmp_path / "absent.sqlite3") is True
    copy = tmp_path / "vocab"
    shutil.copytree(vocab_dir, copy)
    assert needs_compile(copy, target) is False
    with (copy / TREE_NUMBERS_FILE).open("a", encoding="utf-8") as handle:
        handle.write("D015282\tOctreotide\tD12.644.641.999\n")
    assert needs_compile(copy, target) is True


def test_needs_compile_is_true_for_another_schema_version(vocab_dir, tmp_path):
    target = tmp_path / "old.sqlite3"
    with sqlite3.connect(target) as connection:
        connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        connection.execute("INSERT INTO meta VALUES ('schema_version', '0')")
    connection.close()
    assert needs_compile(vocab_dir, target) is True
    with pytest.raises(ReaderError, match="schema 0"):
        MeshVocabulary.open(target)


def test_malformed_row_names_file_and_line_and_keeps_the_old_target(small_vocab, tmp_path):
    target = tmp_path / "vocab.sqlite3"
    compile_vocabulary(small_vocab, target)
    before = target.read_bytes()
    _replace_line(small_vocab / TERMS_FILE, 3, "D000001\tCalcimycin\tA-23187")
    with pytest.raises(ReaderError) as raised:
        compile_vocabulary(small_vocab, target)
    assert raised.value.source.endswith(TERMS_FILE)
    assert raised.value.record == "line 3"
    assert "expected 5 tab-separated fields, found 3" in str(raised.value)
    assert target.read_bytes() == before
    assert not list(tmp_path.glob("*.tmp"))


def test_missing_column_and_missing_file_are_reader_errors(small_vocab, tmp_path):
    header = "DescriptorUI\tDescriptorName\tTermName\tConceptPreferredTermYN\tRecordPreferred"
    _replace_line(small_vocab / TERMS_FILE, 1, header)
    with pytest.raises(ReaderError, match=r"missing column.*RecordPreferredTermYN") as raised:
        compile_vocabulary(small_vocab, tmp_path / "vocab.sqlite3")
    assert raised.value.record == "line 1"
    (small_vocab / TERMS_FILE).unlink()
    with pytest.raises(ReaderError, match="missing") as raised:
        compile_vocabulary(small_vocab, tmp_path / "vocab.sqlite3")
    assert raised.value.source.endswith(TERMS_FILE)


def test_malformed_adam_row_names_its_line(small_vocab, tmp_path):
    lines = (small_vocab / ABBREVIATIONS_FILE).read_text(encoding="utf-8").splitlines()
    number = next(index for index, line in enumerate(lines, start=1) if not line.startswith("#"))
    abbr, forms, long_forms, score, _ = lines[number - 1].split("\t")
    _replace_line(small_vocab / ABBREVIATIONS_FILE, number, "\t".join([abbr, forms, long_forms, score, "many"]))
    with pytest.raises(ReaderError, match="not a number") as raised:
        compile_vocabulary(small_vocab, tmp_path / "vocab.sqlite3")
    assert raised.value.source.endswith(ABBREVIATIONS_FILE)
    assert raised.value.record == f"line {number}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(max_size=300))
def test_garbled_tree_file_is_compiled_or_a_reader_error(small_vocab, garbage):
    header = (small_vocab / TREE_NUMBERS_FILE).read_bytes().split(b"\n", 1)[0] + b"\n"
    (small_vocab / TREE_NUMBERS_FILE).write_bytes(header + garbage)
    with tempfile.TemporaryDirectory() as folder:
        try:
            compile_vocabulary(small_vocab, Path(folder) / "vocab.sqlite3")
        except ReaderError as error:
            assert error.source.endswith(TREE_NUMBERS_FILE)


def test_open_is_fast_and_refuses_what_is_not_a_vocabulary(compiled, tmp_path):
    started = time.perf_counter()
    MeshVocabulary.open(compiled[0]).close()
    AbbreviationDictionary.open(compiled[0]).close()
    assert time.perf_counter() - started < 0.5
    with pytest.raises(NotIngestedError):
        MeshVocabulary.open(tmp_path / "absent.sqlite3")
    not_vocab = tmp_path / "other.sqlite3"
    not_vocab.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ReaderError, match="not a compiled vocabulary"):
        AbbreviationDictionary.open(not_vocab)


# --------------------------------------------------------------------------------------------- MeSH


def test_entry_terms_map_to_their_descriptor(mesh):
    assert mesh.lookup("Carcinoid Tumors") == [Descriptor("D002276", "Carcinoid Tumor")]
    assert mesh.lookup("argentaffinoma") == [Descriptor("D002276", "Carcinoid Tumor")]
    assert mesh.lookup("Tumor, Neuroendocrine") == [NEUROENDOCRINE_TUMORS]
    assert mesh.lookup("  neuroendocrine   TUMOR ") == [NEUROENDOCRINE_TUMORS]
    assert mesh.lookup("Sandostatin") == [OCTREOTIDE]
    assert mesh.lookup("sms 201995") == [OCTREOTIDE]
    assert mesh.lookup("SMS 201-995") == mesh.lookup("SMS 201 995") == [OCTREOTIDE]
    assert mesh.lookup("no such entry term") == []
    assert mesh.lookup("  ,; ") == []


def test_terms_that_normalise_alike_return_every_descriptor_preferred_first(mesh):
    # "Nursing Home" is an entry term of Nursing Homes; "Nursing, Home" a permuted one of Home Nursing.
    assert mesh.lookup("Nursing Home") == [
        Descriptor("D009735", "Nursing Homes"),
        Descriptor("D006701", "Home Nursing"),
    ]


def test_descriptor_and_its_entry_terms(mesh):
    assert mesh.descriptor("D018358") == NEUROENDOCRINE_TUMORS
    assert mesh.descriptor("D999999") is None
    assert mesh.entry_terms("D018358") == [
        "Neuroendocrine Tumors",
        "Neuroendocrine Tumor",
        "Tumor, Neuroendocrine",
        "Tumors, Neuroendocrine",
    ]
    assert mesh.entry_terms("D015282")[:2] == ["Octreotide", "SMS 201-995"]
    assert len(mesh.entry_terms("D015282")) == 20


def test_tree_numbers_and_descendants(mesh):
    assert mesh.tree_numbers("D018358") == ["C04.557.465.625.650", "C04.557.580.625.650"]
    assert mesh.tree_numbers("D015282") == ["D04.345.566.650", "D12.644.641.650"]
    below = mesh.descendants_of("C04.557.465.625.650")
    assert below[0] == NEUROENDOCRINE_TUMORS
    assert Descriptor("D002276", "Carcinoid Tumor") in below
    assert len(below) == len(set(below))
    assert mesh.descendants_of("C04.557.465.625.65") == []  # a number's prefix is not its parent


def test_pharmacological_actions_of_octreotide(mesh):
    assert mesh.pharmacological_actions("D015282") == [
        Descriptor("D018931", "Antineoplastic Agents, Hormonal"),
        Descriptor("D005765", "Gastrointestinal Agents"),
    ]
    assert OCTREOTIDE in mesh.substances_with_action("D018931")


def test_find_terms_in_a_real_pdq_sentence(mesh, corpus_dir):
    text = (corpus_dir / "guidelines" / "nci-pdq" / GI_NET_PDQ).read_text(encoding="utf-8")
    sentence = re.search(r"[^.]*Zollinger-Ellison syndrome \(ZES\)[^.]*\.", text).group()
    matches = mesh.find_terms(sentence)
    by_text = {match.text: match for match in matches}
    zes = by_text["Zollinger-Ellison syndrome"]
    assert zes.descriptor == Descriptor("D015043", "Zollinger-Ellison Syndrome")
    assert sentence[zes.start : zes.end] == "Zollinger-Ellison syndrome"
    assert by_text["ECL-cell"].descriptor == Descriptor("D019861", "Enterochromaffin-like Cells")
    starts = [match.start for match in matches]
    assert starts == sorted(starts)
    assert all(left.end <= right.start for left, right in itertools.pairwise(matches))


def test_find_terms_prefers_the_longest_term(mesh, corpus_dir):
    text = (corpus_dir / "guidelines" / "nci-pdq" / GI_NET_PDQ).read_text(encoding="utf-8")
    sentence = re.search(r"[^.\n]*World Health Organization \(WHO\) classification[^.\n]*\.", text).group()
    names = [(match.text, match.descriptor.ui) for match in mesh.find_terms(sentence)]
    assert ("World Health Organization", "D014944") in names
    assert ("neuroendocrine tumors", "D018358") in names
    assert ("gastrointestinal tract", "D041981") in names
    assert not any(text in ("World", "Health", "Organization") for text, _ in names)


def test_acronyms_match_case_and_function_words_never_match(mesh, corpus_dir):
    text = (corpus_dir / "guidelines" / "nci-pdq" / GI_NET_PDQ).read_text(encoding="utf-8")
    upper = re.search(r"[^.\n]*\bthe WHO classification[^.\n]*\.", text).group()
    assert any(match.text == "WHO" and match.descriptor.ui == "D014944" for match in mesh.find_terms(upper))
    lower = re.search(r"[^.\n]*\bpatients who\b[^.\n]*\.", text).group()
    assert all(match.text.casefold() != "who" for match in mesh.find_terms(lower))
    assert mesh.lookup("WHO") == [Descriptor("D014944", "World Health Organization")]


def test_normalise_term_folds_case_punctuation_accents_and_greek():
    assert normalise_term("Parkinson's Disease") == normalise_term("parkinson's disease") == "parkinson s disease"
    assert normalise_term("Sjögren's Syndrome") == "sjogren s syndrome"
    assert normalise_term("TNF-α") == normalise_term("TNF-alpha") == "tnf alpha"


# ------------------------------------------------------------------------------------ abbreviations


def test_confident_expansion_with_adam_figures(abbreviations):
    # ADAM files "odds ratio" under "or"; the form "OR" was defined 1,897 times, 1,694 as odds ratio.
    (odds,) = abbreviations.expansions("OR")
    assert odds.long_form == "odds ratio"
    assert odds.variants == ("odds ratio", "odds ratios", "odds-ratio")
    assert odds.count == 1694
    assert odds.confidence == pytest.approx(1694 / (1897 + 5))
    assert odds.score == pytest.approx(0.9866)


def test_net_senses_are_all_below_the_threshold(compiled, abbreviations):
    assert abbreviations.min_confidence == MIN_CONFIDENCE
    assert abbreviations.expansions("NET") == []
    with AbbreviationDictionary.open(compiled[0], min_confidence=0.0) as everything:
        senses = everything.expansions("NET")
    assert [sense.long_form for sense in senses] == [
        "norepinephrine transporter",
        "norethisterone",
        "norethindrone",
        "neuroendocrine tumors",
        "nerve excitability test",
        "norethisterone acetate",
    ]
    tumors = senses[3]
    assert tumors.count == 47
    assert tumors.variants == ("neuroendocrine tumors", "neuroendocrine tumours", "Neuroendocrine Tumor")
    assert tumors.confidence == pytest.approx(47 / (426 + 5))  # "NET" was defined 426 times


def test_threshold_drops_the_low_confidence_sense(compiled):
    with AbbreviationDictionary.open(compiled[0], min_confidence=0.1) as lenient:
        assert [(e.long_form, e.count) for e in lenient.expansions("NETs")] == [
            ("neuroendocrine tumors", 50),
            ("norepinephrine transporters", 7),
        ]
    with AbbreviationDictionary.open(compiled[0], min_confidence=0.5) as stricter:
        (tumors,) = stricter.expansions("NETs")
    assert tumors.confidence == pytest.approx(50 / 62)
    assert tumors.confidence < MIN_CONFIDENCE


def test_find_definitions_in_a_real_pubmedqa_context(corpus_dir):
    data = json.loads((corpus_dir / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    context = data["21645374"]["CONTEXTS"][0]
    (definition, *_) = find_definitions(context)
    assert (definition.short_form, definition.long_form) == ("PCD", "Programmed cell death")
    assert context[definition.long_start : definition.long_end] == "Programmed cell death"
    assert context[definition.short_start : definition.short_end] == "PCD"


def test_find_definitions_skips_a_hyphenated_prefix(corpus_dir):
    text = (corpus_dir / "guidelines" / "nci-pdq" / GI_NET_PDQ).read_text(encoding="utf-8")
    sentence = re.search(r"[^.]*Zollinger-Ellison syndrome \(ZES\)[^.]*\.", text).group()
    assert [(d.short_form, d.long_form) for d in find_definitions(sentence)] == [("ZES", "Zollinger-Ellison syndrome")]
