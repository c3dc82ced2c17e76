"""The language-model summary on the 20-question article set of the label scorer (issue 14).

For each of the conditions most labels are indicated for (:func:`vademecum.evaluation.labels.top_conditions`),
the article is composed through the ask service, then the summary is written by the configured model
server and verified (:func:`vademecum.services.ask.with_summary`). Reported per question and in total:
sentences generated, accepted, rejected by reason, summaries dropped for too little surviving, failures
of an independent strict check among the accepted sentences (must be 0), and the latency the summary adds
(p50/p95). The adversarial answers of :mod:`vademecum.synthesis.adversarial` are run through the same
verifier on each article: every one but the faithful control must be refused for its expected reason.

The strict check is independent of the verifier on purpose: no normalisation, raw text only. Every run of
digits in an accepted sentence must stand in the text of a passage it cites, and every drug the lexicon
finds in it must be written in that text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vademecum.answer.article import Article, SourceLocation, SummaryStatus
from vademecum.answer.verify import article_sentences, summary_sentences
from vademecum.errors import VademecumError
from vademecum.evaluation.labels import Condition, percentile
from vademecum.services.ask import ask, with_summary
from vademecum.services.runtime import Runtime
from vademecum.settings import SynthesisSettings
from vademecum.synthesis.adversarial import FAITHFUL, adversarial_cases
from vademecum.synthesis.prompt import build_prompt
from vademecum.synthesis.summary import split_answer
from vademecum.synthesis.verify import Verifier
from vademecum.vocab.drugs import DrugLexicon

_DIGITS_RE = re.compile(r"\d+(?:\.\d+)?")


def strict_failures(article: Article, drugs: DrugLexicon) -> list[str]:
    """The shown summary sentences that fail the strict check, with what failed (empty: all pass)."""
    quoted: dict[tuple[int, int, int], str] = {}
    written = {id(sentence) for sentence in summary_sentences(article)}
    for sentence in article_sentences(article):
        if id(sentence) not in written:
            location = sentence.source
            quoted[(location.passage_id, location.start, location.end)] = sentence.text
    failures = []
    for sentence in summary_sentences(article):
        locations = (sentence.source, *sentence.supporting)
        source = " ".join(quoted.get(_span(location), "") for location in locations)
        cited_digits = set(_DIGITS_RE.findall(source))
        folded = source.casefold()
        for digits in _DIGITS_RE.findall(sentence.text):
            if digits not in cited_digits:
                failures.append(f"{digits!r} not in the cited passages of: {sentence.text}")
        for mention in drugs.find(sentence.text):
            if mention.text.casefold() not in folded:
                failures.append(f"{mention.text!r} not in the cited passages of: {sentence.text}")
    return failures


def _span(location: SourceLocation) -> tuple[int, int, int]:
    return (location.passage_id, location.start, location.end)


@dataclass(frozen=True, slots=True)
class AdversarialResult:
    """One adversarial answer on one article: what it was made to fail with and what the verifier said."""

    case: str
    expected: str | None
    reasons: tuple[str, ...]

    @property
    def correct(self) -> bool:
        """The faithful control accepted; every other case refused, with its expected reason among the reasons."""
        if self.expected is None:
            return not self.reasons
        return self.expected in self.reasons


@dataclass(frozen=True, slots=True)
class SummaryScore:
    """One question: the summary's fate, its sentences by verdict, the strict check and timings."""

    question: str
    status: str | None
    generated: int = 0
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    strict_failures: tuple[str, ...] = ()
    ask_ms: float = 0.0
    summary_ms: float = 0.0
    note: str | None = None
    adversarial: tuple[AdversarialResult, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The score as plain JSON data."""
        data = dataclasses.asdict(self)
        data["adversarial"] = [{**dataclasses.asdict(r), "correct": r.correct} for r in self.adversarial]
        return data


@dataclass(frozen=True, slots=True)
class Overall:
    """The totals over every question."""

    questions: int
    failed: int
    generated: int
    accepted: int
    rejected: dict[str, int]
    sentences_rejected: int
    summaries_shown: int
    summaries_dropped: int
    summaries_unavailable: int
    strict_failures: int
    summary_p50_ms: float | None
    summary_p95_ms: float | None
    ask_p50_ms: float | None
    adversarial_cases: int
    adversarial_correct: int
    adversarial_by_case: dict[str, list[int]]


@dataclass(frozen=True, slots=True)
class SummaryEvaluation:
    """Every question's score and the totals."""

    model: str
    endpoint: str | None
    scores: tuple[SummaryScore, ...]
    overall: Overall

    def to_json(self) -> dict[str, Any]:
        """The run as plain JSON data."""
        return {
            "model": self.model,
            "endpoint": self.endpoint,
            "overall": dataclasses.asdict(self.overall),
            "questions": [score.to_json() for score in self.scores],
        }


def score_article(
    question: str, article: Article, drugs: DrugLexicon, verifier: Verifier, settings: SynthesisSettings
) -> tuple[int, int, Counter[str], tuple[str, ...], tuple[AdversarialResult, ...]]:
    """Counts of an article with a summary: (generated, accepted, rejected by reason, strict failures,
    adversarial results)."""
    summary = article.summary
    checks = summary.verification if summary is not None else ()
    rejected: Counter[str] = Counter(reason for check in checks if not check.accepted for reason in check.reasons)
    accepted = sum(check.accepted for check in checks)
    prompt = build_prompt(
        dataclasses.replace(article, summary=None),
        max_passages=settings.max_passages,
        max_passage_chars=settings.max_passage_chars,
    )
    passages = {passage.number: passage.text for passage in prompt.passages}
    results = []
    for case in adversarial_cases(prompt, drugs):
        reasons: list[str] = []
        for text, cited in split_answer(case.answer):
            reasons += [str(r) for r in verifier.verify(text, cited, passages, question).reasons]
        results.append(AdversarialResult(case.name, str(case.expected) if case.expected else None, tuple(reasons)))
    return len(checks), accepted, rejected, tuple(strict_failures(article, drugs)), tuple(results)


def evaluate(
    runtime: Runtime, conditions: Sequence[Condition], on_done: Callable[[SummaryScore], None] | None = None
) -> SummaryEvaluation:
    """Compose each condition's article, add the summary, and score it (timings warm: the first question is
    asked once untimed before the run)."""
    vocabulary = runtime.vocabulary
    verifier = Verifier(vocabulary.drugs, vocabulary.mesh)
    settings = runtime.settings.synthesis
    if conditions:
        with contextlib.suppress(VademecumError):  # the timed ask reports it
            ask(runtime, conditions[0].question, "extractive")
    scores = []
    for condition in conditions:
        question = condition.question
        started = time.perf_counter()
        try:
            article = ask(runtime, question, "extractive")
            asked = time.perf_counter()
            with_it = with_summary(runtime, article)
            done = time.perf_counter()
        except VademecumError as error:
            score = SummaryScore(question, None, error=f"{type(error).__name__}: {error}")
        else:
            generated, accepted, rejected, strict, adversarial = score_article(
                question, with_it, vocabulary.drugs, verifier, settings
            )
            summary = with_it.summary
            score = SummaryScore(
                question,
                summary.status.value if summary else None,
                generated,
                accepted,
                dict(rejected),
                strict,
                (asked - started) * 1000,
                (done - asked) * 1000,
                summary.note if summary else None,
                adversarial,
            )
        scores.append(score)
        if on_done is not None:
            on_done(score)
    return SummaryEvaluation(settings.model, settings.endpoint_name, tuple(scores), overall(scores))


def overall(scores: Sequence[SummaryScore]) -> Overall:
    """The totals of ``scores``."""
    rejected: Counter[str] = Counter()
    for score in scores:
        rejected.update(score.rejected)
    timed = [score.summary_ms for score in scores if score.error is None]
    asked = [score.ask_ms for score in scores if score.error is None]
    results = [result for score in scores for result in score.adversarial]
    by_case: dict[str, list[int]] = {}
    for result in results:
        counts = by_case.setdefault(result.case, [0, 0])
        counts[0] += result.correct
        counts[1] += 1
    return Overall(
        questions=len(scores),
        failed=sum(score.error is not None for score in scores),
        generated=sum(score.generated for score in scores),
        accepted=sum(score.accepted for score in scores),
        rejected=dict(rejected.most_common()),
        sentences_rejected=sum(score.generated - score.accepted for score in scores),
        summaries_shown=sum(score.status == SummaryStatus.SHOWN for score in scores),
        summaries_dropped=sum(score.status == SummaryStatus.TOO_LITTLE_VERIFIED for score in scores),
        summaries_unavailable=sum(score.status == SummaryStatus.UNAVAILABLE for score in scores),
        strict_failures=sum(len(score.strict_failures) for score in scores),
        summary_p50_ms=statistics.median(timed) if timed else None,
        summary_p95_ms=percentile(timed, 0.95) if timed else None,
        ask_p50_ms=statistics.median(asked) if asked else None,
        adversarial_cases=len(results),
        adversarial_correct=sum(result.correct for result in results),
        adversarial_by_case={case: by_case[case] for case in sorted(by_case, key=lambda c: c != FAITHFUL)},
    )
