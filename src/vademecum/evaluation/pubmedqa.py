"""PubMedQA as a retrieval benchmark: each question against the 1,000 expert-labelled abstracts.

One passage per abstract (its CONTEXTS joined; no title, PubMedQA gives none); a question's only
relevant passage is its own abstract.
"""

from __future__ import annotations

import json
from pathlib import Path

from vademecum.errors import ReaderError
from vademecum.evaluation.bioasq import Benchmark, Question


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReaderError(path.name, f"not a readable JSON file: {error}") from error
    if not isinstance(data, dict) or not data:
        raise ReaderError(path.name, "not a PubMedQA file: expected an object keyed by PMID")
    return data


def build_benchmark(questions_file: Path, abstracts_file: Path) -> Benchmark:
    """Questions of ``questions_file`` against the abstracts of ``abstracts_file`` (``ori_pqal.json``).

    ``questions_file`` is either a ground-truth file (PMID -> answer, e.g. ``test_ground_truth.json``),
    whose PMIDs select the questions, or the abstracts file itself, which asks all of its questions.
    """
    abstracts = _load(abstracts_file)
    for pmid, entry in abstracts.items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("QUESTION"), str)
            and isinstance(entry.get("CONTEXTS"), list)
        ):
            raise ReaderError(abstracts_file.name, "entry without QUESTION and CONTEXTS", record=pmid)
    selected = abstracts if questions_file.resolve() == abstracts_file.resolve() else _load(questions_file)
    missing = [pmid for pmid in selected if pmid not in abstracts]
    if missing:
        raise ReaderError(questions_file.name, f"{len(missing)} PMIDs not in {abstracts_file.name}", record=missing[0])
    pmids = list(abstracts)
    position = {pmid: index for index, pmid in enumerate(pmids)}
    return Benchmark(
        name="pubmedqa",
        passages=tuple(" ".join(abstracts[pmid]["CONTEXTS"]) for pmid in pmids),
        questions=tuple(
            Question(
                question_id=pmid,
                text=abstracts[pmid]["QUESTION"],
                type="all",
                relevant=frozenset({position[pmid]}),
            )
            for pmid in selected
        ),
    )
