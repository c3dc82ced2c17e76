"""Measure which ADAM expansions to trust: precision and coverage per confidence threshold.

Ground truth is the corpus itself: abbreviations that its texts define as "long form (ABBR)" (PubMed
abstracts, PubMedQA contexts, PDQ summaries), found with the Schwartz–Hearst algorithm. For each such
definition we ask ADAM for the abbreviation's best sense and check whether it is the long form the
author wrote (compared after normalisation, against every spelling ADAM groups into the sense).

For a threshold t and a confidence definition:
  coverage  = share of in-text definitions whose abbreviation has at least one sense with confidence >= t
  precision = among those, share whose top sense is the author's long form
Three definitions of confidence are compared: ``share`` (the sense's count / the abbreviation's total
count, what the compiler stores), ``score`` (ADAM's phrase score) and ``weighted`` (count x score,
normalised over the abbreviation's senses).

Usage: python bench/abbreviation_confidence.py [--corpus DIR] [--vocab FILE]
Prints a table and writes bench/results/abbreviation_confidence.json.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import re
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from vademecum.settings import get_settings
from vademecum.vocab.abbreviations import MIN_CONFIDENCE, find_definitions
from vademecum.vocab.compile import compile_vocabulary, needs_compile
from vademecum.vocab.normalise import words

RESULTS = Path(__file__).resolve().parent / "results" / "abbreviation_confidence.json"
THRESHOLDS = [round(0.05 * step, 2) for step in range(20)] + [0.98]
DEFINITIONS = ("share", "score", "weighted")
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
        word.key.replace("ae", "e").replace("oe", "e").replace("our", "or")
        for word in words(text)
        if word.key != "s"
    )


def _same_word(left: str, right: str) -> bool:
    short, long = sorted((left, right), key=len)
    return long in (short, short + "s", short + "es")


def same_sense(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    """Whether two long forms name the same thing.

    Equal up to plurals, hyphenation ("knock-out" / "knockout"), possessives and British spelling; or
    the shorter one, of at least two words, ends the longer ("confidence interval" / "95% confidence
    interval"), because authors and ADAM disagree on leading modifiers more than on senses.
    """
    if not left or not right:
        return False
    if "".join(left) == "".join(right):
        return True
    short, long = sorted((left, right), key=len)
    if len(short) < len(long) and len(short) < 2:
        return False
    return all(_same_word(a, b) for a, b in zip(short, long[len(long) - len(short) :], strict=True))


def load_senses(vocab: Path) -> dict[str, list[dict]]:
    """All ADAM senses per abbreviation, with the three candidate confidences."""
    connection = sqlite3.connect(f"{vocab.resolve().as_uri()}?mode=ro", uri=True)
    senses: dict[str, list[dict]] = defaultdict(list)
    for abbr, long_forms, score, count in connection.execute(
        "SELECT form, long_forms, score, count FROM abbreviations"
    ):
        keys = [sense_words(variant) for variant in long_forms.split("|")]
        senses[abbr].append({"long_form": long_forms.split("|")[0], "keys": keys, "score": score, "count": count})
    connection.close()
    for rows in senses.values():
        total = sum(row["count"] for row in rows)
        weight = sum(row["count"] * row["score"] for row in rows) or 1.0
        for row in rows:
            row["share"] = row["count"] / total
            row["weighted"] = row["count"] * row["score"] / weight
    return senses


def measure(definitions: dict, senses: dict[str, list[dict]]) -> dict:
    """Precision, coverage and counts per (confidence definition, threshold)."""
    cases = []
    for (doc, abbr), (long_form, kind) in definitions.items():
        key = sense_words(long_form)
        rows = senses.get(abbr, [])
        cases.append({"abbr": abbr, "long_form": long_form, "kind": kind, "doc": doc, "key": key, "rows": rows})
    total = len(cases)
    in_adam = sum(1 for case in cases if case["rows"])
    for case in cases:
        case["matches"] = [any(same_sense(case["key"], keys) for keys in row["keys"]) for row in case["rows"]]
    sense_known = sum(1 for case in cases if any(case["matches"]))
    table: dict[str, list[dict]] = {}
    for name in DEFINITIONS:
        table[name] = []
        for threshold in THRESHOLDS:
            covered = correct = offered = 0
            for case in cases:
                top = _top(case, name, threshold)
                if top is None:
                    continue
                covered += 1
                offered += sum(1 for row in case["rows"] if row[name] >= threshold)
                correct += case["matches"][top]
            table[name].append(
                {
                    "threshold": threshold,
                    "covered": covered,
                    "correct": correct,
                    "coverage": covered / total if total else 0.0,
                    "precision": correct / covered if covered else 0.0,
                    "mean_offered": offered / covered if covered else 0.0,
                }
            )
    best = {name: choose(rows) for name, rows in table.items()}
    by_kind: dict[str, int] = defaultdict(int)
    for case in cases:
        by_kind[case["kind"]] += 1
    return {
        "definitions_found": total,
        "by_source": dict(by_kind),
        "abbreviation_in_adam": in_adam,
        "sense_in_adam": sense_known,
        "table": table,
        "best": best,
        "misses_at_chosen": misses(cases, "share", MIN_CONFIDENCE),
    }


def _top(case: dict, name: str, threshold: float) -> int | None:
    """Index of the case's best sense under confidence ``name`` if it reaches ``threshold``."""
    above = [index for index, row in enumerate(case["rows"]) if row[name] >= threshold]
    if not above:
        return None
    return max(above, key=lambda index: (case["rows"][index][name], case["rows"][index]["count"]))


def choose(rows: list[dict]) -> dict | None:
    """The threshold with the best coverage among those reaching the target precision."""
    good = [row for row in rows if row["precision"] >= TARGET_PRECISION and row["covered"]]
    return max(good, key=lambda row: (row["coverage"], -row["threshold"])) if good else None


def misses(cases: list[dict], name: str, threshold: float, limit: int = 40) -> list[dict]:
    """Examples where the top sense above the threshold is not the author's long form (for inspection)."""
    wrong = []
    for case in cases:
        top = _top(case, name, threshold)
        if top is not None and not case["matches"][top]:
            adam = case["rows"][top]["long_form"]
            wrong.append({"abbr": case["abbr"], "in_text": case["long_form"], "adam": adam, "doc": case["doc"]})
    return wrong[:limit]


def main() -> None:
    """Compile the vocabulary if needed, measure, print the table and write the JSON results."""
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=settings.corpus, help="corpus directory")
    parser.add_argument("--vocab", type=Path, default=settings.vocab_path, help="compiled vocabulary file")
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    if needs_compile(corpus / "vocab", args.vocab):
        stats = compile_vocabulary(corpus / "vocab", args.vocab)
        print(f"compiled {args.vocab} in {stats.seconds:.1f} s")
    started = time.perf_counter()
    definitions = in_text_definitions(corpus)
    results = measure(definitions, load_senses(args.vocab))
    results["seconds"] = time.perf_counter() - started
    results["min_confidence"] = MIN_CONFIDENCE
    print(
        f"{results['definitions_found']} in-text definitions {results['by_source']}; abbreviation in ADAM: "
        f"{results['abbreviation_in_adam']}, author's sense in ADAM: {results['sense_in_adam']}"
    )
    print(f"{'t':>5} " + " ".join(f"{name + ' P':>11} {name + ' cov':>12}" for name in DEFINITIONS))
    for index, threshold in enumerate(THRESHOLDS):
        cells = []
        for name in DEFINITIONS:
            row = results["table"][name][index]
            cells.append(f"{row['precision']:>11.3f} {row['coverage']:>12.3f}")
        print(f"{threshold:>5.2f} " + " ".join(cells))
    for name, row in results["best"].items():
        chosen = f"t={row['threshold']} P={row['precision']:.3f} coverage={row['coverage']:.3f}" if row else "none"
        print(f"best {name} with precision >= {TARGET_PRECISION}: {chosen}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
