"""Vocabulary: MeSH (entry terms, tree, pharmacological actions) and ADAM abbreviations.

Compile the TSVs of the corpus ``vocab/`` folder once with :func:`compile_vocabulary` into the data
directory (``Settings.vocab_path``); open the result with :meth:`MeshVocabulary.open` and
:meth:`AbbreviationDictionary.open`.
"""

from vademecum.vocab.abbreviations import (
    MIN_CONFIDENCE,
    AbbreviationDictionary,
    Definition,
    Expansion,
    find_definitions,
)
from vademecum.vocab.compile import VocabularyStats, compile_vocabulary, needs_compile
from vademecum.vocab.mesh import Descriptor, MeshVocabulary, TermMatch
from vademecum.vocab.normalise import normalise_term

__all__ = [
    "MIN_CONFIDENCE",
    "AbbreviationDictionary",
    "Definition",
    "Descriptor",
    "Expansion",
    "MeshVocabulary",
    "TermMatch",
    "VocabularyStats",
    "compile_vocabulary",
    "find_definitions",
    "needs_compile",
    "normalise_term",
]
