"""MeSH: entry terms to descriptors, the tree, pharmacological actions, and term spotting in text.

Opened on the file written by :func:`vademecum.vocab.compile.compile_vocabulary`. Opening runs one
query; everything else is an indexed lookup, so a process pays only for what it asks.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from vademecum.vocab.compile import connect
from vademecum.vocab.normalise import Word, exact_form, normalise_term, words

# Single words that MeSH lists as entry terms but that in running text are nearly always plain English
# ("Will" is an entry term of Volition). Acronyms such as "WHO" are handled by matching their case.
_FUNCTION_WORD_LIST = (
    "a an and are as at be been but by can could did do does for from had has have he her his how i if in"
    " into is it its may might must no nor not of on or our shall she should so than that the their them"
    " then there these they this those to us was we were what when where which who whom why will with"
    " would you your"
)
_FUNCTION_WORDS = frozenset(_FUNCTION_WORD_LIST.split())

# Punctuation that may sit between the words of one term in running text: "Zollinger-Ellison",
# "Parkinson's", "and/or". Anything else (a full stop, comma, bracket) ends the term, except a comma
# between digits, which belongs to chemical names ("1,2-dimethylhydrazine").
_JOINERS = frozenset(" \t\n\r\u00a0-\u2010\u2011\u2012\u2013'\u2019\u2032/+")
_SQL_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A MeSH descriptor (or a supplementary concept's UI); ``name`` is None only for unnamed concepts."""

    ui: str
    name: str | None


@dataclass(frozen=True, slots=True)
class TermMatch:
    """A MeSH entry term found in a text: ``text[start:end]``, with the descriptor(s) it names.

    More than one descriptor only when equally good entry terms of several descriptors normalise
    alike (rare: e.g. "3,3',5-triiodothyronine" and "3,3',5'-triiodothyronine"); the first is the one
    to use when only one is wanted.
    """

    start: int
    end: int
    text: str
    descriptors: tuple[Descriptor, ...]

    @property
    def descriptor(self) -> Descriptor:
        """The first (best) descriptor."""
        return self.descriptors[0]


class MeshVocabulary:
    """Read-only queries over the compiled MeSH tables."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    @classmethod
    def open(cls, path: Path) -> MeshVocabulary:
        """Open the compiled vocabulary at ``path`` (see :func:`vademecum.vocab.compile.connect`)."""
        return cls(connect(path))

    def lookup(self, term: str) -> list[Descriptor]:
        """Descriptors with an entry term equal to ``term`` after normalisation, best-ranked first."""
        key = normalise_term(term)
        if not key:
            return []
        rows = self._connection.execute(
            "SELECT t.ui, d.name FROM terms t JOIN descriptors d ON d.ui = t.ui WHERE t.norm = ?"
            " GROUP BY t.ui ORDER BY MIN(t.rank), t.ui",
            (key,),
        )
        return [Descriptor(ui, name) for ui, name in rows]

    def descriptor(self, ui: str) -> Descriptor | None:
        """The descriptor with this UI, or None."""
        row = self._connection.execute("SELECT ui, name FROM descriptors WHERE ui = ?", (ui,)).fetchone()
        return Descriptor(*row) if row else None

    def entry_terms(self, ui: str) -> list[str]:
        """All entry terms (synonyms) of a descriptor as MeSH writes them, preferred term first."""
        rows = self._connection.execute("SELECT term FROM terms WHERE ui = ? ORDER BY rank, rowid", (ui,))
        return [term for (term,) in rows]

    def tree_numbers(self, ui: str) -> list[str]:
        """The descriptor's positions in the MeSH tree, e.g. ``C04.557.465.625.650``."""
        rows = self._connection.execute("SELECT tree_number FROM tree_numbers WHERE ui = ? ORDER BY tree_number", (ui,))
        return [tree_number for (tree_number,) in rows]

    def descendants_of(self, tree_number: str) -> list[Descriptor]:
        """Descriptors at ``tree_number`` or below it, in tree order (each once)."""
        # Children extend the number with "." + digits; "/" is the character after "." so the range
        # [number + ".", number + "/") holds exactly the descendants and uses the primary key.
        rows = self._connection.execute(
            "SELECT t.ui, d.name FROM tree_numbers t JOIN descriptors d ON d.ui = t.ui"
            " WHERE t.tree_number = ? OR (t.tree_number >= ? AND t.tree_number < ?)"
            " GROUP BY t.ui ORDER BY MIN(t.tree_number)",
            (tree_number, tree_number + ".", tree_number + "/"),
        )
        return [Descriptor(ui, name) for ui, name in rows]

    def pharmacological_actions(self, ui: str) -> list[Descriptor]:
        """Drug classes of a substance (MeSH Pharmacological Action), e.g. octreotide → hormonal antineoplastics."""
        rows = self._connection.execute(
            "SELECT action_ui, action_name FROM pharmacological_actions WHERE ui = ? ORDER BY action_name",
            (ui,),
        )
        return [Descriptor(action_ui, name) for action_ui, name in rows]

    def substances_with_action(self, action_ui: str) -> list[Descriptor]:
        """Substances filed under a pharmacological action (class → drugs), named descriptors first."""
        rows = self._connection.execute(
            "SELECT ui, name FROM pharmacological_actions WHERE action_ui = ? ORDER BY name IS NULL, name, ui",
            (action_ui,),
        )
        return [Descriptor(ui, name) for ui, name in rows]

    def descriptors_using_word(self, word: str) -> list[tuple[Descriptor, tuple[str, ...]]]:
        """Descriptors with ``word`` (case-folded, as :func:`normalise_term` splits terms) in an entry term,
        each with its tree numbers (sorted; () for descriptors the tree-number file leaves out)."""
        rows = self._connection.execute(
            "SELECT w.ui, d.name, group_concat(t.tree_number, ' ') FROM term_words w"
            " JOIN descriptors d ON d.ui = w.ui LEFT JOIN tree_numbers t ON t.ui = w.ui"
            " WHERE w.word = ? GROUP BY w.ui ORDER BY w.ui",
            (word,),
        )
        return [(Descriptor(ui, name), tuple(sorted(trees.split())) if trees else ()) for ui, name, trees in rows]

    def find_terms(self, text: str, max_words: int = 6) -> list[TermMatch]:
        """MeSH entry terms in ``text``, longest match first, scanning left to right without overlaps.

        Every run of up to ``max_words`` words not broken by punctuation is looked up; the longest
        run that names a descriptor wins and the scan resumes after it. Acronym-like terms ("WHO",
        "IgA") must match case, and single function words ("will") are never matches.
        """
        tokens = words(text)
        candidates: dict[tuple[int, int], str] = {}
        for first in range(len(tokens)):
            last = first
            while last < len(tokens) and last - first < max_words:
                if last > first and not _joinable(text, tokens[last - 1], tokens[last]):
                    break
                candidates[(first, last + 1)] = " ".join(token.key for token in tokens[first : last + 1])
                last += 1
        found = self._candidates(set(candidates.values()))
        matches = []
        position = 0
        while position < len(tokens):
            for end in range(min(len(tokens), position + max_words), position, -1):
                key = candidates.get((position, end))
                if key is None or key not in found:
                    continue
                span = tokens[position:end]
                descriptors = _accept(found[key], " ".join(token.exact for token in span), key)
                if descriptors:
                    start, stop = span[0].start, span[-1].end
                    matches.append(TermMatch(start, stop, text[start:stop], descriptors))
                    position = end
                    break
            else:
                position += 1
        return matches

    def _candidates(self, keys: set[str]) -> dict[str, list[tuple[str, str, str, int, int]]]:
        """Rows (ui, name, term, rank, case_sensitive) of the terms table for each key that has any."""
        found: dict[str, list[tuple[str, str, str, int, int]]] = {}
        ordered = sorted(keys)
        for offset in range(0, len(ordered), _SQL_CHUNK):
            chunk = ordered[offset : offset + _SQL_CHUNK]
            rows = self._connection.execute(
                "SELECT t.norm, t.ui, d.name, t.term, t.rank, t.case_sensitive FROM terms t"
                f" JOIN descriptors d ON d.ui = t.ui WHERE t.norm IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for norm, *row in rows:
                found.setdefault(norm, []).append(tuple(row))
        return found

    def close(self) -> None:
        """Close the database connection."""
        self._connection.close()

    def __enter__(self) -> MeshVocabulary:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _joinable(text: str, left: Word, right: Word) -> bool:
    """Whether two neighbouring words can belong to one term (only joining punctuation between them)."""
    gap = text[left.end : right.start]
    if all(ch in _JOINERS for ch in gap):
        return True
    return left.key[-1].isdigit() and right.key[0].isdigit() and gap.strip("'\u2019\u2032") == ","


def _accept(rows: list[tuple[str, str, str, int, int]], exact: str, key: str) -> tuple[Descriptor, ...]:
    """Descriptors of the best rank among the term rows the text may match (case, function words)."""
    function_word = " " not in key and key in _FUNCTION_WORDS
    best: dict[str, tuple[int, str]] = {}
    for ui, name, term, rank, case_sensitive in rows:
        # A function word only counts written as a case-sensitive term ("WHO", not "who" or "Will").
        if (case_sensitive or function_word) and not (case_sensitive and exact_form(term) == exact):
            continue
        if ui not in best or rank < best[ui][0]:
            best[ui] = (rank, name)
    if not best:
        return ()
    top = min(rank for rank, _ in best.values())
    return tuple(Descriptor(ui, name) for ui, (rank, name) in sorted(best.items()) if rank == top)
