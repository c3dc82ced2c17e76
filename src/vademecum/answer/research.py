"""What the research section quotes of one study: its conclusions or results, and the facts a reader
weighs it by (design, year, size as stated).

A structured abstract labels its parts (MEDLINE ``Label``/``NlmCategory``, JATS ``<sec><title>``); an
unlabelled one (PubTator) and a full text's body are read by their headings too. The quote comes from
the first of: the abstract's conclusions, the body's conclusions, the abstract's results, the closing
sentences of an unstructured abstract (where its authors conclude), the body's results, and otherwise the
sentences the search found. Conclusions are quoted from their start (one or
two sentences that stand alone); results by the sentences that share most words with the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from vademecum.answer import sentences
from vademecum.answer.retrieve import Evidence, Study

# A second sentence is quoted only after a short first one: a reader weighs three studies at a glance.
SHORT_SENTENCE_WORDS = 20
CONCLUSIONS = re.compile(r"conclu|interpretation|implications", re.IGNORECASE)
RESULTS = re.compile(r"\bresults?\b|\bfindings\b|\boutcomes?\b", re.IGNORECASE)
# "A total of 412 patients were randomised", "we enrolled 1,209 women": the study's size as it is stated.
_SIZE = re.compile(
    r"\b(?P<n>\d{1,3}(?:,\d{3})+|\d{1,7})\s+(?:[A-Za-z-]+\s+){0,3}?"
    r"(?:patients|participants|subjects|women|men|children|adults|infants|individuals|volunteers|people|persons)\b"
)
_ENROLMENT = re.compile(
    r"\b(?:randomi[sz]ed|randomly|enrolled|included|recruited|assigned|allocated|total of|studied)\b", re.IGNORECASE
)
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class StudyQuote:
    """The sentences quoted from a study (spans of one passage) and the section they are from."""

    passage: Evidence
    spans: tuple[sentences.Span, ...]
    section: str | None


def study_quote(study: Study, question_words: set[str]) -> StudyQuote | None:
    """One or two standalone sentences of the study's conclusions or results (see the module docstring)."""
    abstract = [p for p in study.passages if _in_abstract(p)]
    body = [p for p in study.passages if not _in_abstract(p) and p.block != "table"]
    parts = ((abstract, CONCLUSIONS, True), (body, CONCLUSIONS, True), (abstract, RESULTS, False))
    for passages, pattern, first in parts:
        part = [p for p in passages if any(pattern.search(heading) for heading in p.section_path)]
        quote = _quote(part, question_words, first=first)
        if quote is not None:
            return quote
    # An unstructured abstract ends with what the authors conclude.
    if abstract and all(len(p.section_path) <= 1 for p in abstract):
        quote = _last(abstract[-1])
        if quote is not None:
            return quote
    # A full text's results, under a heading of their own (not its subsections on the patients enrolled).
    results = [p for p in body if p.section_path and RESULTS.search(p.section_path[-1])]
    quote = _quote(results, question_words, first=False)
    if quote is not None:
        return quote
    found = [p for p in study.passages if p.score > 0]
    return _quote(found, question_words, first=False)


def study_size(study: Study) -> str | None:
    """How many took part, as the abstract (else the text) says it in a sentence stating enrolment
    ("412 patients"): the largest such number, since subgroups and arms are stated the same way."""
    abstract = [p for p in study.passages if _in_abstract(p)]
    body = [p for p in study.passages if not _in_abstract(p)]
    for passages in (abstract, body):
        found: list[tuple[int, str]] = []
        for passage in passages:
            # A full text has hundreds of passages: only those stating both are split into sentences.
            if not (_ENROLMENT.search(passage.text) and _SIZE.search(passage.text)):
                continue
            for span in passage.sentences:
                if _ENROLMENT.search(span.text):
                    found.extend((int(m.group("n").replace(",", "")), m.group(0)) for m in _SIZE.finditer(span.text))
        if found:
            return max(found)[1]
    return None


def _in_abstract(passage: Evidence) -> bool:
    return passage.block == "abstract" or (bool(passage.section_path) and passage.section_path[0] == "Abstract")


def _brief(group: Sequence[sentences.Span]) -> tuple[sentences.Span, ...]:
    """The group's first sentence, and its second when the first is short."""
    return tuple(group[:2]) if len(group[0].text.split()) < SHORT_SENTENCE_WORDS else tuple(group[:1])


def _last(passage: Evidence) -> StudyQuote | None:
    groups = [
        group
        for group in sentences.group_standalone(passage.sentences, passage.text)
        if sentences.is_clinical_statement(group[0].text)
    ]
    if not groups:
        return None
    section = passage.section_path[-1] if passage.section_path else None
    return StudyQuote(passage, _brief(groups[-1]), section)


def _quote(passages: Sequence[Evidence], question_words: set[str], *, first: bool) -> StudyQuote | None:
    best: tuple[float, StudyQuote] | None = None
    for order, passage in enumerate(passages):
        for group in sentences.group_standalone(passage.sentences, passage.text):
            spans = _brief(group)
            if not sentences.is_clinical_statement(spans[0].text):
                continue
            quote = StudyQuote(passage, spans, passage.section_path[-1] if passage.section_path else None)
            if first:
                return quote
            text = passage.text[spans[0].start : spans[-1].end].casefold()
            overlap = len(set(_WORD.findall(text)) & question_words) - 0.01 * order
            if best is None or overlap > best[0]:
                best = (overlap, quote)
    return best[1] if best else None
