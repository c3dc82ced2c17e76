"""A readable diff between two versions of an article, sentence by sentence.

Both versions are rendered to the stable Markdown form (:func:`vademecum.answer.render.to_markdown`), cut
into lines and each line into sentences, and compared with :mod:`difflib`. The result is a list of typed
blocks (added, removed, unchanged) that a page shows with ``<ins>``/``<del>`` and text labels.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from vademecum.answer.render import to_markdown
from vademecum.articles.edits import load_article

BlockKind = Literal["added", "removed", "unchanged"]
ADDED: BlockKind = "added"
REMOVED: BlockKind = "removed"
UNCHANGED: BlockKind = "unchanged"

# A sentence ends at . ! or ? followed by a blank and a capital letter, digit or bracket; abbreviations
# such as "e.g. the" stay whole because a lowercase word follows.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")


@dataclass(frozen=True, slots=True)
class DiffBlock:
    """A run of consecutive units (sentences or short lines) that were all added, removed or kept."""

    kind: BlockKind
    units: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ArticleDiff:
    """The blocks of the diff, and how many units were added and removed."""

    blocks: tuple[DiffBlock, ...]
    added: int
    removed: int

    @property
    def changed(self) -> bool:
        """Whether the two versions differ at all."""
        return bool(self.added or self.removed)


def units_of(markdown: str) -> list[str]:
    """The non-blank lines of ``markdown``, each cut into sentences."""
    units: list[str] = []
    for line in markdown.splitlines():
        if line.strip():
            units.extend(part for part in _SENTENCE_END.split(line.rstrip()) if part)
    return units


def diff_texts(old: str, new: str) -> ArticleDiff:
    """The sentence-level diff of two Markdown texts."""
    before, after = units_of(old), units_of(new)
    blocks: list[DiffBlock] = []
    added = removed = 0
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            blocks.append(DiffBlock(UNCHANGED, tuple(before[i1:i2])))
            continue
        if i2 > i1:  # "replace" shows what went before what came in, like a printed correction
            blocks.append(DiffBlock(REMOVED, tuple(before[i1:i2])))
            removed += i2 - i1
        if j2 > j1:
            blocks.append(DiffBlock(ADDED, tuple(after[j1:j2])))
            added += j2 - j1
    return ArticleDiff(blocks=tuple(blocks), added=added, removed=removed)


def diff_articles(old_json: Mapping[str, Any], new_json: Mapping[str, Any]) -> ArticleDiff:
    """The diff of two stored article JSONs, compared as their rendered Markdown."""
    return diff_texts(to_markdown(load_article(old_json)), to_markdown(load_article(new_json)))
