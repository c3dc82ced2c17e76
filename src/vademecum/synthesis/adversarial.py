"""Adversarial model answers, made mechanically from a real article's prompt passages.

Nothing here is written clinical text: each answer is a sentence the article quotes (a real source
sentence), transformed the way a model goes wrong — its dose changed, its drug swapped for another drug
the article names, a negation dropped or inserted, a citation number that does not exist, a citation to
an unrelated passage, no citation at all. A faithful copy with its right citation comes first as the
control the verifier must accept. The test suite and ``vademecum eval summaries`` run the same set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from vademecum.answer.article import CitedSentence
from vademecum.synthesis.prompt import Prompt
from vademecum.synthesis.summary import split_answer
from vademecum.synthesis.verify import DOSE_RE, NUMBER_RE, Reason, polarity, stems
from vademecum.vocab.drugs import DrugLexicon

FAITHFUL = "faithful"
_NEGATION_RE = re.compile(r"\b(?:not|no)\s+", re.IGNORECASE)
_COPULA_RE = re.compile(r"\b(is|are|was|were|should|may|can)\b")
# A quoted sentence short enough to stand alone as one summary sentence.
MAX_CASE_CHARS = 400


@dataclass(frozen=True, slots=True)
class AdversarialCase:
    """One answer for the verifier: its name, the answer text, and the reason it must be refused with
    (None for the faithful control, which must be accepted)."""

    name: str
    answer: str
    expected: Reason | None


def adversarial_cases(prompt: Prompt, drugs: DrugLexicon) -> list[AdversarialCase]:
    """Every case the prompt's passages allow (a case needs, e.g., a passage quoting a dose)."""
    cases: list[AdversarialCase] = []
    quoted = list(_quotes(prompt))
    if not quoted:
        return cases
    number, sentence = quoted[0]
    cases.append(AdversarialCase(FAITHFUL, f"{sentence.text} [{number}]", None))
    cases.append(AdversarialCase("no_citation", sentence.text, Reason.NO_CITATION))
    cases.append(
        AdversarialCase("invented_citation", f"{sentence.text} [{len(prompt.passages) + 7}]", Reason.UNKNOWN_CITATION)
    )
    unrelated = _unrelated(prompt, number, sentence.text)
    if unrelated is not None:
        cases.append(AdversarialCase("unrelated_citation", f"{sentence.text} [{unrelated}]", Reason.UNSUPPORTED))
    for number, sentence in quoted:
        changed = _changed_dose(sentence.text, prompt.passages[number - 1].text)
        if changed is not None:
            cases.append(AdversarialCase("changed_dose", f"{changed} [{number}]", Reason.DOSE))
            break
    for number, sentence in quoted:
        swapped = _swapped_drug(sentence.text, prompt, number, drugs)
        if swapped is not None:
            cases.append(AdversarialCase("swapped_drug", f"{swapped} [{number}]", Reason.DRUG))
            break
    for number, sentence in quoted:
        passage = prompt.passages[number - 1].text
        match = _NEGATION_RE.search(sentence.text)
        # Only a word the passage never states plainly: dropping "not" then says what it does not.
        if match is not None and _only_negated(passage, sentence.text[match.end() :]):
            dropped = sentence.text[: match.start()] + sentence.text[match.end() :]
            cases.append(AdversarialCase("dropped_negation", f"{dropped} [{number}]", Reason.NEGATION))
            break
    for number, sentence in quoted:
        match = _COPULA_RE.search(sentence.text)
        if match is not None and not _NEGATION_RE.search(sentence.text):
            inserted = f"{sentence.text[: match.end()]} not{sentence.text[match.end() :]}"
            if polarity(inserted)[1] - polarity(prompt.passages[number - 1].text)[1]:
                cases.append(AdversarialCase("inserted_negation", f"{inserted} [{number}]", Reason.NEGATION))
                break
    return cases


def _only_negated(passage: str, rest: str) -> bool:
    """Whether the passage negates the word ``rest`` starts with (past fillers) and never states it plainly."""
    positive, negated = polarity(passage)
    first = polarity("not " + rest)[1]
    return bool(first & negated) and not first & positive


def _quotes(prompt: Prompt) -> Iterator[tuple[int, CitedSentence]]:
    """Every quoted sentence of the prompt's passages that the model saw whole, with its passage number."""
    for passage in prompt.passages:
        for sentence in passage.sentences:
            text = " ".join(sentence.text.split())
            # A source sentence the answer reader would cut in two ("approx. 5 mg") is left out: its
            # first half would be refused for citing nothing, whatever the case was made to test.
            whole = len(list(split_answer(f"{text} [{passage.number}]"))) == 1
            if 40 <= len(text) <= MAX_CASE_CHARS and text in passage.text and whole:
                yield passage.number, CitedSentence(text, sentence.source)


def _unrelated(prompt: Prompt, number: int, text: str) -> int | None:
    """The passage sharing the fewest content words with ``text`` (none when every passage shares many)."""
    own = stems(text)
    best: tuple[float, int] | None = None
    for passage in prompt.passages:
        if passage.number == number:
            continue
        share = len(own & stems(passage.text)) / max(1, len(own))
        if best is None or share < best[0]:
            best = (share, passage.number)
    return best[1] if best is not None and best[0] < 0.5 else None


def _changed_dose(text: str, passage: str) -> str | None:
    """``text`` with its first dose amount replaced by a number the passage does not contain."""
    match = DOSE_RE.search(text)
    if match is None:
        return None
    present = {m.group() for m in NUMBER_RE.finditer(passage)}
    amount = match["amount"]
    value = float(amount.replace(",", ""))
    for factor in (3, 7, 11):
        candidate = str(int(value * factor)) if value * factor == int(value * factor) else f"{value * factor:g}"
        if candidate not in present:
            return text[: match.start("amount")] + candidate + text[match.end("amount") :]
    return None


def _swapped_drug(text: str, prompt: Prompt, number: int, drugs: DrugLexicon) -> str | None:
    """``text`` with its first drug replaced by another drug the prompt names, one its passage does not name."""
    mentions = drugs.find(text)
    if not mentions:
        return None
    cited = prompt.passages[number - 1].text
    own = {m.name.casefold() for m in drugs.find(cited)}
    others = [
        other
        for passage in prompt.passages
        for other in drugs.find(passage.text)
        if other.name.casefold() not in own and other.text.casefold() not in cited.casefold()
    ]
    # A single drug's name rather than a class ("immunosuppressants") when the article names one.
    others.sort(key=lambda other: " " in other.text or other.text.endswith("s"))
    if not others:
        return None
    first = mentions[0]
    return text[: first.start] + others[0].text + text[first.end :]
