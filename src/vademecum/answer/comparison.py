"""Comparison questions: whether a question weighs two options, and which two.

"Cold knife conization vs. LEEP", "regional anesthesia as compared with general anesthesia", "the
difference between A and B", "Are A and B equivalent?", "Which is better, A or B?". The options are
phrases of the question bounded by function words and punctuation; when the phrase before the cue is
about something else than the phrase after it ("a better predictor of outcome after myocardial
infarction compared to LDL-cholesterol"), the nearest earlier concept of the same kind is taken.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

COMPARISON_CUES = (
    r"vs\.?|versus|(?:as )?compared (?:with|to)|in comparison (?:with|to)|better than|worse than|superior to"
    r"|inferior to|more effective than|less effective than|as effective as|equal to|equivalent to|preferable to"
    r"|preferred over"
)
"""A cue between the two options: "A versus B", "A compared with B"."""
PAIR_CUES = r"(?:differences?|comparison) between|comparison of"
"""A cue before both options: "the difference between A and B"."""
PAIR_VERDICTS = r"equivalent|similar|comparable|different|interchangeable|the same"
"""A verdict after both options: "Are A and B equivalent?"."""
COMPARATIVE_WORDS = r"better|best|prefer\w*|superior|choice|choose|rather"
"""Words that make "A or B" a comparison ("Which is better, A or B?")."""

_STOP_LIST = (
    "a an the is are was were be been being does do did can could should would will may might must which what who"
    " how whether of for in on at by with without to as than from using use between and or vs versus compared it"
    " its they their this that these those there we our when after before during among more less most better worse"
    " same regarding"
)
_STOPS = frozenset(_STOP_LIST.split())
_WORD = re.compile(r"[^\s?.,;:!()\[\]\"]+|[?.,;:!()\[\]\"]")
MAX_OPTION_WORDS = 6


class _Concept(Protocol):
    """What this module reads of a :class:`vademecum.answer.understand.Concept`."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def ui(self) -> str | None: ...
    @property
    def role(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Comparison:
    """A comparison asked at ``position`` (where its cue is) between ``options``."""

    position: int
    options: tuple[str, str]


def find_comparison(
    question: str, concepts: Sequence[_Concept], trees: Mapping[str, Sequence[str]]
) -> Comparison | None:
    """The comparison the question asks, or None; ``trees`` maps concept UIs to their tree numbers."""
    lowered = question.lower()
    if match := re.search(rf"\b(?:{PAIR_CUES})\s+(.+?)\s+(?:and|with|versus|vs\.?)\s+(.+?)(?=[?.,;:]|$)", lowered):
        first = _phrase(question, match.start(1), match.end(1))
        second = _phrase(question, match.start(2), match.end(2))
        return _found(match.start(), first, second)
    if match := re.search(rf"\b(?:{COMPARISON_CUES})(?=\W|$)", lowered):
        after = _phrase_after(question, match.end())
        before = _option_before(question, concepts, trees, match.start(), after)
        return _found(match.start(), before, question[after[0] : after[1]] if after else "")
    if match := re.search(rf"\b(\S+(?: \S+){{0,5}}?)\s+and\s+(.+?)\s+(?:are\s+)?(?:{PAIR_VERDICTS})\b", lowered):
        first = _phrase_before(question, match.end(1))
        second = _phrase(question, match.start(2), match.end(2))
        return _found(match.start(), question[first[0] : first[1]] if first else "", second)
    if re.search(rf"\b(?:{COMPARATIVE_WORDS})\b", lowered):
        for left, right in itertools.pairwise(concepts):
            if question[left.end : right.start].strip().lower() == "or" and "condition" not in (left.role, right.role):
                return Comparison(left.start, (question[left.start : left.end], question[right.start : right.end]))
    return None


def _found(position: int, first: str, second: str) -> Comparison | None:
    return Comparison(position, (first, second)) if first and second else None


def _tokens(question: str, start: int, end: int) -> list[tuple[int, int, str]]:
    return [(m.start() + start, m.end() + start, m.group()) for m in _WORD.finditer(question[start:end])]


def _boundary(token: str) -> bool:
    return token.lower() in _STOPS or (len(token) == 1 and not token.isalnum())


def _phrase_after(question: str, start: int) -> tuple[int, int] | None:
    """The words after ``start`` up to a function word or punctuation (leading articles skipped)."""
    kept: list[tuple[int, int, str]] = []
    for token in _tokens(question, start, len(question)):
        if _boundary(token[2]):
            if kept or token[2].lower() not in ("a", "an", "the"):
                break
            continue
        kept.append(token)
        if len(kept) == MAX_OPTION_WORDS:
            break
    return (kept[0][0], kept[-1][1]) if kept else None


def _phrase_before(question: str, end: int) -> tuple[int, int] | None:
    """The words before ``end`` back to a function word or punctuation ("as", "is" next to ``end`` skipped)."""
    kept: list[tuple[int, int, str]] = []
    for token in reversed(_tokens(question, 0, end)):
        if _boundary(token[2]):
            if kept or token[2].lower() not in ("as", "is", "are"):
                break
            continue
        kept.insert(0, token)
        if len(kept) == MAX_OPTION_WORDS:
            break
    return (kept[0][0], kept[-1][1]) if kept else None


def _phrase(question: str, start: int, end: int) -> str:
    """The words of ``question[start:end]`` without function words at either end."""
    tokens = [token for token in _tokens(question, start, end) if token[2] not in "?.,;:!"]
    while tokens and _boundary(tokens[0][2]):
        tokens.pop(0)
    while tokens and _boundary(tokens[-1][2]):
        tokens.pop()
    return question[tokens[0][0] : tokens[-1][1]] if tokens else ""


def _option_before(
    question: str,
    concepts: Sequence[_Concept],
    trees: Mapping[str, Sequence[str]],
    cue: int,
    after: tuple[int, int] | None,
) -> str:
    """The option before a cue: the phrase there, unless an earlier concept matches the option after better."""
    phrase = _phrase_before(question, cue)
    later = [c for c in concepts if after and after[0] <= c.start < after[1]]
    if later:
        target = later[0]
        earlier = [c for c in concepts if c.end <= cue]
        in_phrase = [c for c in earlier if phrase and phrase[0] <= c.start]
        same = [c for c in earlier if c.ui and c.ui == target.ui]
        if not same and in_phrase and not any(_same_kind(c, target, trees) for c in in_phrase):
            same = [c for c in earlier if _same_kind(c, target, trees)]
        if same:
            around = _around(question, same[-1].start, same[-1].end)
            return question[around[0] : around[1]]
    return question[phrase[0] : phrase[1]] if phrase else ""


def _same_kind(one: _Concept, other: _Concept, trees: Mapping[str, Sequence[str]]) -> bool:
    """Both interventions (drug or procedure), both conditions, or else sharing a MeSH category."""
    interventions = ("drug", "procedure")
    if one.role in interventions or other.role in interventions:
        return one.role in interventions and other.role in interventions
    if one.role != other.role:
        return False
    if one.role == "condition":
        return True
    categories = {tree[:3] for tree in trees.get(one.ui or "", ())}
    return bool(categories & {tree[:3] for tree in trees.get(other.ui or "", ())})


def _around(question: str, start: int, end: int) -> tuple[int, int]:
    """The phrase holding ``question[start:end]``, out to function words or punctuation on both sides."""
    before = _phrase_before(question, start)
    after = _phrase_after(question, end)
    left = before[0] if before and question[before[1] : start].strip() == "" else start
    right = after[1] if after and question[end : after[0]].strip() == "" else end
    return left, right
