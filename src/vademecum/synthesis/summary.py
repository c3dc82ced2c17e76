"""Write an article's summary: prompt the model, split its answer into sentences, verify each, keep the good.

A sentence is shown only when the verifier accepts it; every sentence, shown or not, is recorded with its
result. When fewer than ``min_sentences`` pass, the article gets no summary (the record stays, so a
reviewer sees what the model wrote and why it was refused). A model that cannot answer leaves the
extractive article as it was, with a note saying why there is no summary.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from vademecum.answer.article import (
    Article,
    CitedSentence,
    SentenceVerification,
    Summary,
    SummaryStatus,
)
from vademecum.settings import SynthesisSettings
from vademecum.synthesis.client import ModelUnavailable, complete
from vademecum.synthesis.prompt import PromptPassage, build_prompt
from vademecum.synthesis.verify import Verifier

# Sentences read from one answer (a bound on what one answer can cost to verify and store).
MAX_SENTENCES = 12
# Largest citation number read, and most numbers one citation may expand to ("[1-3]").
MAX_CITED = 10
_CITATION_RE = re.compile(r"\[\s*(\d{1,3}(?:\s*(?:,|;|-|–|and)\s*\d{1,3})*)\s*\]")
_CITE_AFTER_END_RE = re.compile(r"([.!?])\s*((?:\[[^\]\n]{1,40}\]\s*)+)")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[^\s\d])")
_LIST_MARKER_RE = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_LABEL_LINE_RE = re.compile(r"^[^\[\]]{0,60}:$")
_LABEL_PREFIX_RE = re.compile(r"^[A-Z][A-Za-z ]{0,30}:\s+")
NO_PASSAGES_NOTE = "the article quotes no passage to summarise"


def summarise(article: Article, settings: SynthesisSettings, verifier: Verifier) -> Summary:
    """The summary of ``article`` written by the model of ``settings`` and checked by ``verifier``."""
    prompt = build_prompt(article, max_passages=settings.max_passages, max_passage_chars=settings.max_passage_chars)
    recorded = {"model": settings.model, "endpoint": settings.endpoint_name, "prompt_hash": prompt.hash}
    if not prompt.passages:
        return Summary(SummaryStatus.UNAVAILABLE, note=NO_PASSAGES_NOTE, **recorded)
    started = time.perf_counter()
    try:
        answer = complete(settings, prompt.messages)
    except ModelUnavailable as error:
        return Summary(SummaryStatus.UNAVAILABLE, note=str(error), latency_ms=_since(started), **recorded)
    latency = _since(started)
    checks: list[SentenceVerification] = []
    shown: list[CitedSentence] = []
    passages = {passage.number: passage.text for passage in prompt.passages}
    seen: set[str] = set()
    for text, cited in split_answer(answer):
        # A small model repeats itself; a repeated sentence is neither verified nor shown twice.
        if text.casefold() in seen:
            continue
        seen.add(text.casefold())
        verdict = verifier.verify(text, cited, passages, article.question.text)
        cited_passages = [p for n in cited if (p := prompt.passage(n)) is not None]
        keys = tuple(dict.fromkeys(key for passage in cited_passages for key in passage.keys))
        checks.append(
            SentenceVerification(
                text, cited, keys, verdict.accepted, tuple(str(r) for r in verdict.reasons), verdict.details
            )
        )
        if verdict.accepted:
            shown.append(_cited(text, cited_passages))
    status = SummaryStatus.SHOWN if len(shown) >= settings.min_sentences else SummaryStatus.TOO_LITTLE_VERIFIED
    note = None
    if status is SummaryStatus.TOO_LITTLE_VERIFIED:
        note = f"{len(shown)} of {len(checks)} sentences passed verification; at least {settings.min_sentences} needed"
        shown = []
    return Summary(status, tuple(shown), tuple(checks), latency_ms=latency, note=note, **recorded)


def split_answer(answer: str) -> Iterator[tuple[str, tuple[int, ...]]]:
    """The sentences of a model's answer, each without its citation marks and with the passage numbers it
    cites (in order, each once). Markdown emphasis, list markers and label lines ("Key considerations:")
    are not sentences; at most :data:`MAX_SENTENCES` are read."""
    text = answer.replace("**", "").replace("__", "")
    # "… every 3 weeks. [2]": the citation after the full stop belongs to the sentence before it.
    text = _CITE_AFTER_END_RE.sub(lambda m: f" {m[2].strip()}{m[1]} ", text)
    count = 0
    for line in text.splitlines():
        line = _LIST_MARKER_RE.sub("", line).strip()
        if not line or line.startswith("#") or _LABEL_LINE_RE.match(line):
            continue
        for part in _SENTENCE_END_RE.split(line):
            part = _LABEL_PREFIX_RE.sub("", _LIST_MARKER_RE.sub("", part).strip())
            if _LABEL_LINE_RE.match(part):
                continue
            cited = _cited_numbers(part)
            sentence = " ".join(_CITATION_RE.sub(" ", part).split())
            sentence = re.sub(r"\s+([.,;:!?])", r"\1", sentence)
            if not re.search(r"[A-Za-z]{2}", sentence):
                continue
            yield sentence, cited
            count += 1
            if count == MAX_SENTENCES:
                return


def _cited_numbers(text: str) -> tuple[int, ...]:
    numbers: list[int] = []
    for match in _CITATION_RE.finditer(text):
        for part in re.split(r"\s*(?:,|;|and)\s*", match[1]):
            bounds = re.split(r"\s*[-–]\s*", part)
            first, last = int(bounds[0]), int(bounds[-1])
            # "[1-3]" is 1, 2 and 3; a reversed or very wide range is read as its first number only.
            if not 0 <= last - first < MAX_CITED:
                last = first
            numbers.extend(range(first, last + 1))
    return tuple(dict.fromkeys(numbers))


def _cited(text: str, passages: list[PromptPassage]) -> CitedSentence:
    """A shown summary sentence, cited to the quoted sentences of the passages it cites."""
    locations = [sentence.source for passage in passages for sentence in passage.sentences]
    supporting = tuple({location.key: location for location in locations[1:]}.values())
    return CitedSentence(text=text, source=locations[0], supporting=supporting)


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
