"""Abbreviations: ADAM's MEDLINE-wide expansions, and definitions written in the text itself.

A text that defines its abbreviation ("neuroendocrine tumors (NETs)") is the best evidence of what it
means there; :func:`find_definitions` finds those (Schwartz & Hearst, PSB 2003). Otherwise
:class:`AbbreviationDictionary` offers ADAM's senses, keeping only those whose confidence (the sense's
share of the abbreviation's definitions in MEDLINE) reaches ``MIN_CONFIDENCE``, a figure measured by
``bench/abbreviation_confidence.py`` against definitions found in the corpus (docs/vocabulary.md).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from vademecum.vocab.compile import connect

MIN_CONFIDENCE = 0.87
"""Smallest confidence of an expansion that is offered (see docs/vocabulary.md for the measurement)."""

# Text before "(" that can hold the long form ends at the previous sentence or clause break or bracket.
_CLAUSE_BREAK = re.compile(r"[.!?;:]\s|[()\[\]]")
_PARENTHESIS = re.compile(r"\(([^()]{1,40})\)")


@dataclass(frozen=True, slots=True)
class Expansion:
    """One ADAM sense of an abbreviation.

    ``long_form`` is its most frequent spelling and ``variants`` all spellings ADAM grouped into the
    sense; ``count`` is how often MEDLINE (2006 baseline) defined it, ``score`` ADAM's likelihood that
    the long form is a phrase, ``confidence`` the sense's share of the abbreviation's definitions.
    """

    abbreviation: str
    long_form: str
    variants: tuple[str, ...]
    confidence: float
    count: int
    score: float


@dataclass(frozen=True, slots=True)
class Definition:
    """An abbreviation defined in a text as "long form (SHORT)"; offsets index the text."""

    short_form: str
    long_form: str
    short_start: int
    short_end: int
    long_start: int
    long_end: int


class AbbreviationDictionary:
    """Expansions of abbreviations from the compiled vocabulary, above a confidence threshold."""

    def __init__(self, connection: sqlite3.Connection, min_confidence: float = MIN_CONFIDENCE) -> None:
        self._connection = connection
        self.min_confidence = min_confidence

    @classmethod
    def open(cls, path: Path, min_confidence: float = MIN_CONFIDENCE) -> AbbreviationDictionary:
        """Open the compiled vocabulary at ``path``; nothing is loaded until a query asks for it."""
        return cls(connect(path), min_confidence)

    def expansions(self, abbr: str) -> list[Expansion]:
        """Senses of ``abbr`` (exact, case-sensitive, as ADAM spells it) at or above the threshold, best first."""
        rows = self._connection.execute(
            "SELECT form, long_form, long_forms, confidence, count, score FROM abbreviations"
            " WHERE form = ? AND confidence >= ? ORDER BY confidence DESC, count DESC, long_form",
            (abbr.strip(), self.min_confidence),
        )
        return [
            Expansion(abbreviation, long_form, tuple(variants.split("|")), confidence, count, score)
            for abbreviation, long_form, variants, confidence, count, score in rows
        ]

    def close(self) -> None:
        """Close the database connection."""
        self._connection.close()

    def __enter__(self) -> AbbreviationDictionary:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def find_definitions(text: str) -> list[Definition]:
    """Abbreviations defined in ``text`` as "long form (SHORT)", by the Schwartz–Hearst algorithm.

    The short form is 2–10 characters, at most two words, starts with a letter or digit and contains a
    capital letter; the long form is the shortest stretch of the preceding words (within the clause, at
    most min(|short| + 5, 2 |short|) words) in which the short form's letters and digits occur in
    order, starting where the first of them starts a word.
    """
    found = []
    for match in _PARENTHESIS.finditer(text):
        inside = match.group(1)
        short = re.split(r"[,;]\s", inside, maxsplit=1)[0].strip()
        if not _valid_short_form(short):
            continue
        short_start = match.start(1) + inside.index(short)
        before = text[: match.start()]
        breaks = [m.end() for m in _CLAUSE_BREAK.finditer(before)]
        clause_start = breaks[-1] if breaks else 0
        limit = min(len(short) + 5, len(short) * 2)
        window_words = before[clause_start:].split()[-limit:]
        if not window_words:
            continue
        window = " ".join(window_words)
        long_form = _best_long_form(short, window)
        if long_form is None or len(long_form) <= len(short) or short.casefold() in long_form.casefold():
            continue
        long_end = len(before.rstrip())
        long_start = _locate(before, long_form, long_end)
        if long_start is None:
            continue
        found.append(
            Definition(short, before[long_start:long_end], short_start, short_start + len(short), long_start, long_end)
        )
    return found


def _valid_short_form(short: str) -> bool:
    return (
        2 <= len(short) <= 10 and len(short.split()) <= 2 and short[0].isalnum() and any(ch.isupper() for ch in short)
    )


def _best_long_form(short: str, window: str) -> str | None:
    """Schwartz & Hearst's findBestLongForm: match the short form's characters right to left."""
    long_index = len(window) - 1
    for short_index in range(len(short) - 1, -1, -1):
        char = short[short_index].lower()
        if not char.isalnum():
            continue
        while long_index >= 0 and (
            window[long_index].lower() != char
            or (short_index == 0 and long_index > 0 and window[long_index - 1].isalnum())
        ):
            long_index -= 1
        if long_index < 0:
            return None
        long_index -= 1
    # Schwartz & Hearst go back to the previous space; starting at the matched word keeps a hyphenated
    # prefix out ("MEN1-Zollinger-Ellison syndrome (ZES)" gives "Zollinger-Ellison syndrome").
    return window[long_index + 1 :]


def _locate(before: str, long_form: str, end: int) -> int | None:
    """Offset in ``before`` where ``long_form`` (its words, any whitespace between) ends at ``end``."""
    pattern = r"\s+".join(re.escape(word) for word in long_form.split()) + r"$"
    match = re.search(pattern, before[:end])
    return match.start() if match else None
