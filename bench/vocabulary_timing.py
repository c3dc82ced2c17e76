"""Vocabulary timings: compile, file size, the skip check, open, and query latency on real questions.

Compiles the corpus vocab/ folder into a fresh file under bench/results/home-vocab-timing/, then times
``needs_compile``, ``MeshVocabulary.open``, ``lookup`` of real entry terms, ``find_terms`` over the
1,000 PubMedQA questions, ``AbbreviationDictionary.expansions`` of the abbreviations those
questions define, and ``DrugLexicon.open`` and ``find`` over the same questions.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

from benchlib import bench_settings, corpus_dir, summary_ms, write_result

from vademecum.vocab import (
    AbbreviationDictionary,
    MeshVocabulary,
    compile_vocabulary,
    find_definitions,
    needs_compile,
)
from vademecum.vocab.compile import TERMS_FILE
from vademecum.vocab.drugs import DrugLexicon


def _timed(action: Callable[[str], object], items: list[str]) -> list[float]:
    durations = []
    for item in items:
        started = time.perf_counter()
        action(item)
        durations.append(time.perf_counter() - started)
    return durations


def main() -> None:
    """Compile, open and query the vocabulary; write bench/results/vocabulary_timing.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opens", type=int, default=50, help="times the file is opened")
    args = parser.parse_args()
    vocab_dir = corpus_dir() / "vocab"
    target = bench_settings("vocab-timing").vocab_path
    target.unlink(missing_ok=True)
    stats = compile_vocabulary(vocab_dir, target)

    started = time.perf_counter()
    stale = needs_compile(vocab_dir, target)
    check_seconds = time.perf_counter() - started

    opens, drug_opens = [], []
    for _ in range(args.opens):
        started = time.perf_counter()
        vocabulary = MeshVocabulary.open(target)
        opens.append(time.perf_counter() - started)
        started = time.perf_counter()
        drugs = DrugLexicon.open(target, vocabulary)
        drug_opens.append(time.perf_counter() - started)
        drugs.close()
        vocabulary.close()

    questions = [
        item["QUESTION"]
        for item in json.loads((corpus_dir() / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8")).values()
    ]
    terms = [line.split("\t")[2] for line in (vocab_dir / TERMS_FILE).read_text(encoding="utf-8").splitlines()[1:]]
    sample = random.Random(0).sample(terms, 1000)
    abbreviations = [definition.short_form for text in questions for definition in find_definitions(text)]

    with MeshVocabulary.open(target) as mesh, AbbreviationDictionary.open(target) as dictionary:
        lookups = _timed(mesh.lookup, sample)
        scans = _timed(mesh.find_terms, questions)
        matches = sum(len(mesh.find_terms(question)) for question in questions)
        expansions = _timed(dictionary.expansions, abbreviations or ["OR"])
        drugs = DrugLexicon.open(target, mesh)
        drug_scans = _timed(drugs.find, questions)
        drug_mentions = sum(len(drugs.find(question)) for question in questions)
        drugs.close()

    write_result(
        "vocabulary_timing",
        {
            "compile_seconds": round(stats.seconds, 2),
            "file_mb": round(stats.size_bytes / 1e6, 1),
            "rows": {
                "descriptors": stats.descriptors,
                "terms": stats.terms,
                "tree_numbers": stats.tree_numbers,
                "pharmacological_actions": stats.pharmacological_actions,
                "abbreviation_forms": stats.abbreviations,
                "drugs": stats.drugs,
                "drug_names": stats.drug_names,
            },
            "needs_compile_ms": round(check_seconds * 1000, 1),
            "needs_compile_after_compile": stale,
            "open": summary_ms(opens),
            "lookup_1000_entry_terms": summary_ms(lookups),
            "find_terms_1000_questions": summary_ms(scans),
            "terms_found_per_question": round(matches / len(questions), 2),
            "expansions": {"abbreviations": len(abbreviations), **summary_ms(expansions)},
            "drug_lexicon_open": summary_ms(drug_opens),
            "drug_find_1000_questions": summary_ms(drug_scans),
            "drugs_found_per_question": round(drug_mentions / len(questions), 2),
        },
    )


if __name__ == "__main__":
    main()
