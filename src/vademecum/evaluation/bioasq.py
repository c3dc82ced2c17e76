"""BioASQ Task B golden files as a passage-retrieval benchmark.

The pool is every gold snippet of every question in the pool and query files, one passage per distinct
snippet text (whitespace normalised, since the same snippet recurs with different spacing across years);
a query is a question's ``body`` and its relevant passages are its own gold snippets.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vademecum.errors import ReaderError


@dataclass(frozen=True, slots=True)
class Question:
    """One benchmark query: its text, its type and the pool positions of its relevant passages."""

    question_id: str
    text: str
    type: str
    relevant: frozenset[int]


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A passage pool (position = passage id), titles (may be empty) and the questions asked of it."""

    name: str
    passages: tuple[str, ...]
    questions: tuple[Question, ...]
    titles: tuple[str, ...] = ()


def normalise(text: str) -> str:
    """Snippet text with runs of whitespace collapsed, the key that makes snippets distinct."""
    return " ".join(text.split())


def golden_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, with each directory replaced by its ``*.json`` files (sorted, duplicates dropped)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.glob("*.json")))
        elif path.is_file():
            found.append(path)
        else:
            raise ReaderError(str(path), "no such file or directory")
    return list(dict.fromkeys(path.resolve() for path in found))


def load_questions(path: Path) -> list[dict]:
    """The ``questions`` of one golden file, checked for the fields the benchmark uses."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReaderError(path.name, f"not a readable JSON file: {error}") from error
    questions = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(questions, list):
        raise ReaderError(path.name, 'not a BioASQ golden file: no "questions" list')
    for question in questions:
        record = str(question.get("id")) if isinstance(question, dict) else None
        if not isinstance(question, dict) or not isinstance(question.get("body"), str):
            raise ReaderError(path.name, "question without a body", record=record)
        snippets = question.get("snippets")
        if not isinstance(snippets, list) or not all(
            isinstance(snippet, dict) and isinstance(snippet.get("text"), str) for snippet in snippets
        ):
            raise ReaderError(path.name, "question without a list of snippets with text", record=record)
    return questions


def build_benchmark(pool_files: Sequence[Path], query_files: Sequence[Path]) -> Benchmark:
    """The snippet pool of ``pool_files`` plus ``query_files``, queried with the questions of ``query_files``."""
    position: dict[str, int] = {}
    query_questions: list[dict] = []
    query_set = set(query_files)
    for path in list(dict.fromkeys([*pool_files, *query_files])):
        questions = load_questions(path)
        for question in questions:
            for snippet in question["snippets"]:
                position.setdefault(normalise(snippet["text"]), len(position))
        if path in query_set:
            query_questions.extend(questions)
    return Benchmark(
        name="bioasq",
        passages=tuple(position),
        questions=tuple(
            Question(
                question_id=str(question.get("id", "")),
                text=question["body"],
                type=str(question.get("type", "unknown")),
                relevant=frozenset(position[normalise(snippet["text"])] for snippet in question["snippets"]),
            )
            for question in query_questions
            if question["snippets"]
        ),
    )
