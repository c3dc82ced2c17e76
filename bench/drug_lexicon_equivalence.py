"""Drug matching: the compiled lexicon against the package read into memory, on real corpus text.

Compiles the corpus vocab/ folder (with the drug names) into bench/results/home-drug-equivalence/ unless
it is current, then runs :meth:`DrugLexicon.find` of both lexicons (both given the same MeSH) over the
PubMedQA questions and contexts, the paragraphs of the PDQ guidelines and the PubTator CDR titles and
abstracts, and ``names_for`` / ``generic_name`` over every name found. Any difference is printed and
makes the script exit non-zero; the figures (texts, mentions, timings) go to
bench/results/drug_lexicon_equivalence.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from benchlib import bench_settings, corpus_dir, summary_ms, write_result

from vademecum.vocab import MeshVocabulary, compile_vocabulary, needs_compile
from vademecum.vocab.drugs import DrugLexicon


def corpus_texts(corpus: Path) -> Iterator[tuple[str, str]]:
    """(source, text) pairs: PubMedQA questions and contexts, PDQ paragraphs, PubTator titles and abstracts."""
    for item in json.loads((corpus / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8")).values():
        yield "pubmedqa", item["QUESTION"]
        for context in item["CONTEXTS"]:
            yield "pubmedqa", context
    for path in sorted((corpus / "guidelines" / "nci-pdq").glob("*.md")):
        for paragraph in path.read_text(encoding="utf-8").split("\n\n"):
            if paragraph.strip():
                yield "pdq", paragraph
    for path in sorted((corpus / "research" / "pubtator-cdr").glob("*.PubTator.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("|", 2)
            if len(parts) == 3 and parts[1] in ("t", "a"):
                yield "pubtator", parts[2]


def main() -> None:
    """Compare both lexicons; write bench/results/drug_lexicon_equivalence.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args()
    vocab_dir = corpus_dir() / "vocab"
    target = bench_settings("drug-equivalence").vocab_path
    if needs_compile(vocab_dir, target):
        compile_vocabulary(vocab_dir, target)
    texts = list(corpus_texts(corpus_dir()))
    with MeshVocabulary.open(target) as mesh:
        loaded, compiled = DrugLexicon.load(mesh), DrugLexicon.open(target, mesh)
        differences = []
        timings: dict[str, list[float]] = {"memory": [], "compiled": []}
        mentions: dict[str, int] = {}
        names: set[str] = set()
        for source, text in texts:
            started = time.perf_counter()
            old = loaded.find(text)
            timings["memory"].append(time.perf_counter() - started)
            started = time.perf_counter()
            new = compiled.find(text)
            timings["compiled"].append(time.perf_counter() - started)
            if old != new:
                differences.append({"source": source, "text": text[:200], "memory": len(old), "compiled": len(new)})
            mentions[source] = mentions.get(source, 0) + len(new)
            names.update(mention.text for mention in new)
        for name in sorted(names):
            old_names, new_names = (
                (loaded.names_for(name), loaded.generic_name(name)),
                (
                    compiled.names_for(name),
                    compiled.generic_name(name),
                ),
            )
            if old_names != new_names:
                differences.append({"name": name})
        drugs = (len(loaded), len(compiled))
        compiled.close()
    for difference in differences[:20]:
        print("DIFFERENT:", difference, file=sys.stderr)
    write_result(
        "drug_lexicon_equivalence",
        {
            "texts": {source: sum(1 for s, _ in texts if s == source) for source in ("pubmedqa", "pdq", "pubtator")},
            "mentions": mentions,
            "distinct_names_resolved": len(names),
            "drugs_memory_compiled": drugs,
            "differences": len(differences),
            "find_memory": summary_ms(timings["memory"]),
            "find_compiled": summary_ms(timings["compiled"]),
        },
    )
    if differences or drugs[0] != drugs[1]:
        sys.exit(1)


if __name__ == "__main__":
    main()
