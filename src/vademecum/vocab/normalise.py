"""Term normalisation shared by the vocabulary compiler and its readers.

A term and a stretch of text match when their word tokens match after case folding and accent
stripping; punctuation between words is ignored, so "Parkinson's Disease", "parkinson's disease" and
"SMS 201-995" / "SMS 201 995" compare equal. Compiler and scanner use the same tokeniser, so a MeSH
entry term is always found in a text that contains it verbatim.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A word is a run of letters and digits (not underscores), with any combining marks that follow a
# letter, so decomposed accents ("e" + U+0301) stay inside their word.
_WORD = re.compile(r"(?:[^\W_][\u0300-\u036f]*)+")

# Biomedical text writes Greek letters both ways ("TNF-α", "TNF-alpha"); MeSH spells them out.
_GREEK = str.maketrans(
    {
        "α": "alpha",
        "β": "beta",
        "γ": "gamma",
        "δ": "delta",
        "ε": "epsilon",
        "κ": "kappa",
        "λ": "lambda",
        "μ": "mu",
        "ω": "omega",
    }
)


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a text: character offsets into the original, its folded key and its exact form."""

    start: int
    end: int
    key: str
    exact: str


def _fold(token: str) -> str:
    """Accents stripped and Greek letters spelled out; ASCII (most tokens) passes through untouched."""
    if token.isascii():
        return token
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_GREEK)


def words(text: str) -> list[Word]:
    """Split ``text`` into words with their offsets.

    ``exact`` keeps case (accents stripped, Greek spelled out) for acronyms that must match case;
    ``key`` is additionally case-folded.
    """
    found = []
    for match in _WORD.finditer(text):
        exact = _fold(match.group())
        found.append(Word(match.start(), match.end(), exact.casefold(), exact))
    return found


def exact_words(text: str) -> list[str]:
    """The words of ``text`` keeping case (accents stripped, Greek spelled out), without offsets."""
    return [_fold(token) for token in _WORD.findall(text)]


def normalise_term(text: str) -> str:
    """The lookup key of a term: folded words joined by single spaces ("" when there are no words)."""
    return " ".join(word.casefold() for word in exact_words(text))


def exact_form(text: str) -> str:
    """Like :func:`normalise_term` but keeping case, to check case-sensitive terms such as "WHO"."""
    return " ".join(exact_words(text))
