"""Measure which ADAM expansions to trust: precision and coverage per confidence threshold.

Ground truth is the corpus itself: abbreviations that its texts define as "long form (ABBR)" (PubMed
abstracts, PubMedQA contexts, PDQ summaries), found with the Schwartz–Hearst algorithm
(``vademecum.vocab.abbreviations.find_definitions``), the first definition of each abbreviation per
document. For each we take ADAM's best sense of the written form and check whether it is the long form
the author wrote, against every spelling ADAM groups into the sense:
  strict  = same words up to plurals, hyphens, possessives and British spelling, or the shorter (two or
            more words) ends the longer ("confidence interval" / "95% confidence interval");
  lenient = strict, or word overlap (Jaccard) >= 0.5 ("relapse-free survival" / "recurrence-free survival").

For a threshold t and a definition of confidence:
  coverage  = share of in-text definitions whose form has a sense with confidence >= t
  precision = among those, share whose best sense is the author's (strict, and lenient)
Definitions compared, all from ADAM's own numbers for a written form: ``share`` (the sense's count / the
form's total count), ``share+k`` (count / (total + k): k pseudo-definitions of senses ADAM never saw,
which discounts rarely defined forms), ``score`` (ADAM's phrase score) and ``weighted`` (count x score,
normalised over the form's senses).

The definition and threshold are chosen on half of the documents (by a hash of the document id) as
the best coverage whose strict precision, less one standard error, is >= 0.9; they are reported on
the other half and on all.

Usage: python bench/abbreviation_confidence.py [--corpus DIR] [--vocab FILE]
(the vocabulary is compiled into bench/results/home-vocab/ when missing or stale).
Prints a table and writes bench/results/abbreviation_confidence.json.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import math
import re
import sqlite3
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from benchlib import RESULTS_DIR, bench_settings, corpus_dir

from vademecum.vocab.abbreviations import MIN_CONFIDENCE, find_definitions
from vademecum.vocab.compile import CONFIDENCE_PRIOR, compile_vocabulary, needs_compile
from vademecum.vocab.normalise import words

RESULTS = RESULTS_DIR / "abbreviation_confidence.json"
THRESHOLDS = [round(0.01 * step, 2) for step in range(100)]
PRIORS = (0, 5, 10, 20, 50)
TARGET_PRECISION = 0.9

# ---------------------------------------------------------------------------------------------- texts


def pubmed_texts(folder: Path) -> Iterator[tuple[str, str]]:
    """(doc id, abstract paragraph) from MEDLINE XML, by regular expression over the decompressed files."""
    for path in sorted(folder.glob("*.xml.gz")):
        xml = gzip.decompress(path.read_bytes()).decode("utf-8")
        for article in re.split(r"<PubmedArticle>|<MedlineCitation[ >]", xml)[1:]:
            pmid = re.search(r"<PMID[^>]*>(\d+)</PMID>", article)
            if pmid is None:
                continue
            for part in re.findall(r"<AbstractText[^>]*>(.*?)</AbstractText>", article, flags=re.DOTALL):
                yield f"pmid:{pmid.group(1)}", html.unescape(re.sub(r"<[^>]+>", "", part))


def pubmedqa_texts(path: Path) -> Iterator[tuple[str, str]]:
    """(doc id, context paragraph) from PubMedQA's expert-labelled set."""
    for pmid, item in json.loads(path.read_text(encoding="utf-8")).items():
        for context in item["CONTEXTS"]:
            yield f"pmid:{pmid}", context


def pdq_texts(folder: Path) -> Iterator[tuple[str, str]]:
    """(doc id, paragraph) from PDQ Markdown, with links, citations and markup removed."""
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.DOTALL)
        text = re.sub(r"\[\[[^\]]*\]\([^)]*\)\]", "", text)  # inline citations [[4](#cit/...)]
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text
        text = re.sub(r"[*_`#>|]", " ", text)
        for paragraph in re.split(r"\n\s*\n", text):
            yield f"pdq:{path.stem}", " ".join(paragraph.split())


def in_text_definitions(corpus: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """First definition of each abbreviation per document: (doc, abbr) -> (long form, source kind)."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    sources = (
        ("pubmed", pubmed_texts(corpus / "pubmed")),
        ("pubmedqa", pubmedqa_texts(corpus / "pubmedqa" / "ori_pqal.json")),
        ("pdq", pdq_texts(corpus / "guidelines" / "nci-pdq")),
    )
    for kind, texts in sources:
        for doc, text in texts:
            for definition in find_definitions(text):
                found.setdefault((doc, definition.short_form), (definition.long_form, kind))
    return found


# ------------------------------------------------------------------------------------------ matching


def sense_words(text: str) -> tuple[str, ...]:
    """Comparison words of a long form: normalised, possessive "s" dropped, British spelling folded."""
    return tuple(
        word.key.replace("ae", "e").replace("oe", "e").replace("our", "or") for word in words(text) if word.key != "s"
    )


def _same_word(left: str, right: str) -> bool:
    short, long = sorted((left, right), key=len)
    return long in (short, short + "s", short + "es")


def same_sense(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    """Strict sense match (see the module docstring)."""
    if not left or not right:
        return False
    if "".join(left) == "".join(right):
        return True
    short, long = sorted((left, right), key=len)
    if len(short) < len(long) and len(short) < 2:
        return False
    return all(_same_word(a, b) for a, b in zip(short, long[len(long) - len(short) :], strict=True))


def overlapping(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    """Lenient sense match: strict, or at least half the words in common."""
    union = set(left) | set(right)
    return same_sense(left, right) or (bool(union) and len(set(left) & set(right)) / len(union) >= 0.5)


# ---------------------------------------------------------------------------------------- confidence


def load_senses(vocab: Path) -> dict[str, list[dict]]:
    """ADAM senses per written form, with every candidate confidence."""
    connection = sqlite3.connect(f"{vocab.resolve().as_uri()}?mode=ro", uri=True)
    senses: dict[str, list[dict]] = defaultdict(list)
    for form, long_forms, score, count in connection.execute(
        "SELECT form, long_forms, score, count FROM abbreviations"
    ):
        variants = long_forms.split("|")
        senses[form].append({"long_form": variants[0], "variants": variants, "score": score, "count": count})
    connection.close()
    for rows in senses.values():
        total = sum(row["count"] for row in rows)
        weight = sum(row["count"] * row["score"] for row in rows) or 1.0
        for row in rows:
            row["weighted"] = row["count"] * row["score"] / weight
            for prior in PRIORS:
                row[_share_name(prior)] = row["count"] / (total + prior)
    return senses


def _share_name(prior: int) -> str:
    return f"share+{prior}" if prior else "share"


def build_cases(definitions: dict, senses: dict[str, list[dict]]) -> list[dict]:
    """One case per in-text definition, with which ADAM senses match it strictly and leniently."""
    cases = []
    for (doc, abbr), (long_form, kind) in definitions.items():
        key = sense_words(long_form)
        rows = senses.get(abbr, [])
        variant_words = [[sense_words(variant) for variant in row["variants"]] for row in rows]
        cases.append(
            {
                "doc": doc,
                "abbr": abbr,
                "long_form": long_form,
                "kind": kind,
                "half": zlib.crc32(doc.encode()) % 2,
                "rows": rows,
                "strict": [any(same_sense(key, v) for v in variants) for variants in variant_words],
                "lenient": [any(overlapping(key, v) for v in variants) for variants in variant_words],
            }
        )
    return cases


def _top(case: dict, name: str, threshold: float) -> int | None:
    """Index of the case's best sense under confidence ``name`` if it reaches ``threshold``."""
    best = None
    for index, row in enumerate(case["rows"]):
        if row[name] >= threshold and (
            best is None or (row[name], row["count"]) > (case["rows"][best][name], case["rows"][best]["count"])
        ):
            best = index
    return best


def evaluate(cases: list[dict], name: str, threshold: float) -> dict:
    """Coverage and precision of one (confidence, threshold) on ``cases``."""
    covered = strict = lenient = 0
    for case in cases:
        top = _top(case, name, threshold)
        if top is not None:
            covered += 1
            strict += case["strict"][top]
            lenient += case["lenient"][top]
    return {
        "threshold": threshold,
        "cases": len(cases),
        "covered": covered,
        "coverage": covered / len(cases) if cases else 0.0,
        "precision": strict / covered if covered else 0.0,
        "precision_lenient": lenient / covered if covered else 0.0,
    }


def _lower_bound(row: dict) -> float:
    """Precision minus one standard error, so that the choice is not a lucky draw of the selection half."""
    precision = row["precision"]
    return precision - math.sqrt(precision * (1 - precision) / row["covered"])


def measure(cases: list[dict]) -> dict:
    """Tables per confidence definition, the choice made on one half, and its figures on the other."""
    selection = [case for case in cases if case["half"] == 0]
    held_out = [case for case in cases if case["half"] == 1]
    names = [_share_name(prior) for prior in PRIORS] + ["score", "weighted"]
    table = {name: [evaluate(cases, name, t) for t in THRESHOLDS] for name in names}
    candidates = []
    for name in names:
        for threshold in THRESHOLDS:
            row = evaluate(selection, name, threshold)
            if row["covered"] and _lower_bound(row) >= TARGET_PRECISION:
                candidates.append((row["coverage"], -threshold, name, threshold))
    best_per_definition = {}
    for coverage, _, name, threshold in sorted(candidates, reverse=True):
        best_per_definition.setdefault(name, {"threshold": threshold, "selection_coverage": coverage})
    chosen = None
    if candidates:
        _, _, name, threshold = max(candidates)
        chosen = {
            "confidence": name,
            "threshold": threshold,
            "selection": evaluate(selection, name, threshold),
            "held_out": evaluate(held_out, name, threshold),
            "all": evaluate(cases, name, threshold),
        }
    return {"table": table, "best_per_definition": best_per_definition, "chosen": chosen}


def misses(cases: list[dict], name: str, threshold: float, limit: int = 50) -> list[dict]:
    """Cases where the best sense above the threshold is not the author's (strict), for inspection."""
    wrong = []
    for case in cases:
        top = _top(case, name, threshold)
        if top is not None and not case["strict"][top]:
            adam = case["rows"][top]["long_form"]
            wrong.append({"abbr": case["abbr"], "in_text": case["long_form"], "adam": adam, "doc": case["doc"]})
    return wrong[:limit]


def main() -> None:
    """Compile the vocabulary if needed, measure, print the table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=corpus_dir(), help="corpus directory")
    parser.add_argument(
        "--vocab", type=Path, default=bench_settings("vocab").vocab_path, help="compiled vocabulary file"
    )
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    if needs_compile(corpus / "vocab", args.vocab):
        stats = compile_vocabulary(corpus / "vocab", args.vocab)
        print(f"compiled {args.vocab} in {stats.seconds:.1f} s")
    started = time.perf_counter()
    cases = build_cases(in_text_definitions(corpus), load_senses(args.vocab))
    results = measure(cases)
    by_source: dict[str, int] = defaultdict(int)
    for case in cases:
        by_source[case["kind"]] += 1
    in_adam = sum(1 for case in cases if case["rows"])
    sense_in_adam = sum(1 for case in cases if any(case["strict"]))
    compiled = f"share+{CONFIDENCE_PRIOR}" if CONFIDENCE_PRIOR else "share"
    results.update(
        definitions_found=len(cases),
        by_source=dict(by_source),
        form_in_adam=in_adam,
        sense_in_adam=sense_in_adam,
        compiled_confidence=compiled,
        min_confidence=MIN_CONFIDENCE,
        at_min_confidence=evaluate(cases, compiled, MIN_CONFIDENCE),
        at_min_confidence_by_source={
            kind: evaluate([case for case in cases if case["kind"] == kind], compiled, MIN_CONFIDENCE)
            for kind in by_source
        },
        misses_at_min_confidence=misses(cases, compiled, MIN_CONFIDENCE),
        seconds=time.perf_counter() - started,
    )
    print(
        f"{len(cases)} in-text definitions {dict(by_source)}; form in ADAM: {in_adam}, "
        f"author's sense in ADAM (strict): {sense_in_adam}"
    )
    shown = [name for name in results["table"] if name in ("share", compiled, "score", "weighted")]
    print(f"{'t':>5} " + " ".join(f"{name:>28}" for name in shown))
    print(f"{'':>5} " + " ".join(f"{'P':>8} {'P lenient':>10} {'cov':>8}" for _ in shown))
    for index, threshold in enumerate(THRESHOLDS):
        if round(threshold * 100) % 5:
            continue
        cells = []
        for name in shown:
            row = results["table"][name][index]
            cells.append(f"{row['precision']:>8.3f} {row['precision_lenient']:>10.3f} {row['coverage']:>8.3f}")
        print(f"{threshold:>5.2f} " + " ".join(cells))
    for name, best in results["best_per_definition"].items():
        print(f"best {name}: t={best['threshold']} (coverage {best['selection_coverage']:.3f} on the selection half)")
    chosen = results["chosen"]
    if chosen:
        for part in ("selection", "held_out", "all"):
            row = chosen[part]
            print(
                f"chosen {chosen['confidence']} t={chosen['threshold']} on {part}: P={row['precision']:.3f} "
                f"(lenient {row['precision_lenient']:.3f}) coverage={row['coverage']:.3f} of {row['cases']}"
            )
    row = results["at_min_confidence"]
    print(
        f"compiled {compiled} at MIN_CONFIDENCE={MIN_CONFIDENCE}: P={row['precision']:.3f} "
        f"(lenient {row['precision_lenient']:.3f}) coverage={row['coverage']:.3f}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
