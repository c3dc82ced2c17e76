"""Turning a free-text question into search terms.

Questions arrive as full sentences ("What is the role of X in Y?"). With OR semantics every word scores,
so question words and function words pull in passages that merely share them; dropping them raised
BioASQ nDCG@10 from 0.708 to 0.757 on the Task 7b-9b tuning split (docs/retrieval-quality.md).
"""

from __future__ import annotations

import re

WORD = re.compile(r"\w+", re.UNICODE)

# Interrogatives, auxiliaries, articles, common prepositions and conjunctions, and the instruction words
# of questions ("list", "describe", "role"). Deliberately absent: "no"/"not" (negation matters in clinical
# questions) and single letters other than "a" (vitamin D, hepatitis B, T cells).
QUERY_STOP_WORDS = frozenset(
    {
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "does",
        "do",
        "did",
        "is",
        "are",
        "was",
        "were",
        "could",
        "should",
        "would",
        "may",
        "might",
        "has",
        "have",
        "had",
        "there",
        "their",
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "by",
        "from",
        "into",
        "as",
        "and",
        "or",
        "be",
        "been",
        "being",
        "can",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "list",
        "describe",
        "role",
    }
)


def query_terms(text: str) -> list[str]:
    """The words of a free-text query, lower-cased, with query-language syntax removed."""
    return [word.lower() for word in WORD.findall(text)]


def content_terms(text: str) -> list[str]:
    """The query's words without question and function words; all its words if nothing else is left."""
    terms = query_terms(text)
    return [term for term in terms if term not in QUERY_STOP_WORDS] or terms
