"""The sentence verifier: a summary sentence is shown only if the passages it cites support it.

Each check compares the sentence with the text of the passages it cites (what the model was shown):

- citations: the sentence cites at least one passage, and only passages the prompt has;
- numbers: every number in the sentence is a number of a cited passage (number words there count:
  "two" supports 2); a dose (amount and unit) must be a dose of a cited passage after unit
  normalisation ("1 g" = "1,000 mg", "milligrams per kg" = "mg/kg"); a schedule must be one of theirs
  after frequency normalisation ("every 2 weeks" = "q2w" = "every 14 days");
- drugs and conditions: every drug the drug lexicon finds and every MeSH disease term (tree C, or
  mental disorders F03) in the sentence is named in a cited passage;
- polarity: a word the sentence negates ("not recommended") is negated in a cited passage, and a word a
  cited passage only ever negates is not stated plainly by the sentence (a dropped "not"); comparatives
  ("higher", "less", "superior") must be the passages' own;
- support: most of the sentence's content words (stemmed) are the passages' or the question's words,
  which is what catches a sentence cited to an unrelated passage.

The checks are lexical on purpose: they can be read, tested and explained to a reviewer, and a sentence
they let through says nothing the cited text does not contain in words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import Stemmer

from vademecum.answer.dose_forms import (
    FREQUENCY_RE,
    NUMBER,
    NUMBER_WORDS,
    UNIT_PATTERN,
    comparable_unit,
    format_number,
    normalise_frequency,
)
from vademecum.vocab.drugs import DrugLexicon
from vademecum.vocab.mesh import MeshVocabulary, TermMatch

# MeSH trees whose descriptors are conditions: Diseases (C) and Mental Disorders (F03).
CONDITION_TREES = ("C", "F03")
# Share of the sentence's content words that must be words of the cited passages or of the question.
MIN_WORD_SHARE = 0.7
MAX_SENTENCE_CHARS = 600

NUMBER_RE = re.compile(rf"(?<![\d.,]){NUMBER}(?![\d])")
DOSE_RE = re.compile(rf"(?<![\d.,])(?P<amount>{NUMBER})\s*{UNIT_PATTERN}", re.IGNORECASE)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'-]*")
_NEGATION = frozenset({"not", "no", "never", "without", "cannot", "neither", "nor", "none"})
# Words between a negation and the word it negates ("not be routinely recommended").
_NEGATION_FILLER = frozenset(
    {"be", "been", "being", "is", "are", "was", "a", "an", "the", "to", "all", "any", "always", "usually",
     "generally", "currently", "routinely", "yet", "also", "as", "more", "less", "significantly", "have", "has"}
)  # fmt: skip
COMPARATIVES = frozenset(
    {"more", "less", "greater", "fewer", "higher", "lower", "better", "worse", "superior", "inferior",
     "increased", "decreased", "increase", "decrease", "longer", "shorter", "larger", "smaller", "most",
     "least", "highest", "lowest", "faster", "slower", "reduced", "improved", "worsened"}
)  # fmt: skip
# Function words and words of the summary's own frame that carry no claim.
STOPWORDS = frozenset(
    {"a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as",
     "is", "are", "was", "were", "be", "been", "being", "this", "that", "these", "those", "it", "its", "their",
     "there", "which", "who", "whom", "whose", "what", "when", "where", "while", "than", "then", "also", "may",
     "can", "could", "should", "would", "will", "must", "such", "other", "others", "some", "any", "each", "both",
     "either", "about", "into", "over", "under", "after", "before", "between", "during", "per", "via", "based",
     "including", "include", "includes", "included", "due", "use", "used", "using", "well", "however",
     "therefore", "thus", "patients", "patient", "treatment", "treatments", "therapy", "option", "options",
     "recommended", "recommend", "recommendation", "considered", "consider", "standard", "approach",
     "approaches"}
)  # fmt: skip

_STEMMER = Stemmer.Stemmer("english")


class Reason(StrEnum):
    """Why a sentence is not shown."""

    NO_CITATION = "no_citation"
    UNKNOWN_CITATION = "unknown_citation"
    TOO_LONG = "too_long"
    NUMBER = "number_not_in_source"
    DOSE = "dose_not_in_source"
    FREQUENCY = "frequency_not_in_source"
    DRUG = "drug_not_in_source"
    CONDITION = "condition_not_in_source"
    NEGATION = "negation_flipped"
    COMPARATIVE = "comparative_not_in_source"
    UNSUPPORTED = "words_not_in_source"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verifier's result for one sentence: the failed checks and what each found (same order)."""

    reasons: tuple[Reason, ...] = ()
    details: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """True when every check passed."""
        return not self.reasons


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the checks compare, read from one text."""

    numbers: frozenset[str]
    doses: frozenset[tuple[str, str]]
    frequencies: frozenset[str]
    positive: frozenset[str]
    negated: frozenset[str]
    stems: frozenset[str]
    words: frozenset[str]
    # Where each number is, and the spans of doses and schedules (whose numbers are checked as such).
    number_spans: tuple[tuple[int, int, str], ...] = ()
    spans: tuple[tuple[int, int, str, str], ...] = ()


@dataclass
class Verifier:
    """Checks summary sentences against passage texts with a drug lexicon and MeSH."""

    drugs: DrugLexicon
    mesh: MeshVocabulary
    min_word_share: float = MIN_WORD_SHARE
    _conditions: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def verify(self, sentence: str, cited: Sequence[int], passages: Mapping[int, str], question: str = "") -> Verdict:
        """Check ``sentence``, which cites the passage numbers ``cited``; ``passages`` holds the text of each
        passage the prompt has (by number), ``question`` the question (its words count as support)."""
        failures: list[tuple[Reason, str]] = []
        if not cited:
            return Verdict((Reason.NO_CITATION,), ("the sentence cites no passage",))
        unknown = [n for n in cited if n not in passages]
        if unknown:
            failures.append((Reason.UNKNOWN_CITATION, "cites " + ", ".join(f"[{n}]" for n in unknown)))
        if len(sentence) > MAX_SENTENCE_CHARS:
            failures.append((Reason.TOO_LONG, f"{len(sentence)} characters"))
        source = " ".join(passages[n] for n in cited if n in passages)
        if not source:
            return _verdict(failures)
        said, known = _facts(sentence), _facts(source)
        failures += _number_failures(said, known)
        failures += self._name_failures(sentence, source)
        failures += _polarity_failures(said, known)
        allowed = known.stems | _facts(question).stems
        content = said.stems
        if content:
            share = len(content & allowed) / len(content)
            if share < self.min_word_share:
                missing = sorted(content - allowed)
                failures.append((Reason.UNSUPPORTED, f"{share:.0%} of content words cited; not: {', '.join(missing)}"))
        return _verdict(failures)

    def _name_failures(self, sentence: str, source: str) -> list[tuple[Reason, str]]:
        failures = []
        folded = source.casefold()
        named = {mention.name.casefold() for mention in self.drugs.find(source)}
        for mention in self.drugs.find(sentence):
            if mention.name.casefold() not in named and mention.text.casefold() not in folded:
                failures.append((Reason.DRUG, mention.text))
        conditions = self._condition_uis(source)
        for term in self.mesh.find_terms(sentence):
            ui = self._condition_ui(term)
            if ui is not None and ui not in conditions and term.text.casefold() not in folded:
                failures.append((Reason.CONDITION, term.text))
        return failures

    def _condition_ui(self, term: TermMatch) -> str | None:
        for descriptor in term.descriptors:
            if any(tree.startswith(CONDITION_TREES) for tree in self.mesh.tree_numbers(descriptor.ui)):
                return descriptor.ui
        return None

    def _condition_uis(self, text: str) -> frozenset[str]:
        if text not in self._conditions:
            uis = (self._condition_ui(term) for term in self.mesh.find_terms(text))
            self._conditions[text] = frozenset(ui for ui in uis if ui is not None)
        return self._conditions[text]


def _verdict(failures: Iterable[tuple[Reason, str]]) -> Verdict:
    pairs = list(dict.fromkeys(failures))
    return Verdict(tuple(reason for reason, _ in pairs), tuple(detail for _, detail in pairs))


def _number_failures(said: _Facts, known: _Facts) -> list[tuple[Reason, str]]:
    failures = []
    covered: list[tuple[int, int]] = []
    for start, end, kind, value in said.spans:
        if kind == "dose":
            amount, unit = value.split(" ", 1)
            if (amount, unit) not in known.doses:
                failures.append((Reason.DOSE, value))
        elif value not in known.frequencies:
            failures.append((Reason.FREQUENCY, value))
        covered.append((start, end))
    for start, end, value in said.number_spans:
        if any(s <= start and end <= e for s, e in covered):
            continue
        if value not in known.numbers:
            failures.append((Reason.NUMBER, value))
    return failures


def _polarity_failures(said: _Facts, known: _Facts) -> list[tuple[Reason, str]]:
    failures = []
    for stem in sorted(said.negated - known.negated):
        failures.append((Reason.NEGATION, f"negates '{stem}', which the cited passages do not"))
    for stem in sorted((known.negated - known.positive) & said.positive):
        failures.append((Reason.NEGATION, f"states '{stem}', which the cited passages only negate"))
    for word in sorted((said.words & COMPARATIVES) - known.words):
        failures.append((Reason.COMPARATIVE, word))
    return failures


def _number(text: str) -> str:
    return format_number(float(text.replace(",", "")))


def stems(text: str) -> frozenset[str]:
    """The stemmed content words of ``text`` (what the support check compares)."""
    return _facts(text).stems


def polarity(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The stems ``text`` states plainly and the stems it negates (what the negation check compares)."""
    return _polarity(word.casefold() for word in _WORD_RE.findall(text))


def _polarity(tokens: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Stems stated plainly and stems negated (the first word after a negation, past filler words)."""
    positive: set[str] = set()
    negated: set[str] = set()
    pending = False
    for token in tokens:
        if token in _NEGATION or token.endswith("n't"):
            pending = True
            continue
        if pending and token in _NEGATION_FILLER:
            continue
        (negated if pending else positive).add(_STEMMER.stemWord(token))
        pending = False
    return frozenset(positive), frozenset(negated)


def _facts(text: str) -> _Facts:
    """The facts of a text; the same function reads a sentence and its passages, so both are read alike."""
    numbers = tuple((m.start(), m.end(), _number(m.group())) for m in NUMBER_RE.finditer(text))
    spans: list[tuple[int, int, str, str]] = []
    doses = set()
    for match in DOSE_RE.finditer(text):
        unit, factor = comparable_unit(match["unit"])
        value = format_number(round(float(match["amount"].replace(",", "")) * factor, 6))
        doses.add((value, unit))
        spans.append((match.start(), match.end(), "dose", f"{value} {unit}"))
    frequencies = set()
    for match in FREQUENCY_RE.finditer(text):
        canonical = normalise_frequency(match.group())
        frequencies.add(canonical)
        spans.append((match.start(), match.end(), "frequency", canonical))
    tokens = [word.casefold() for word in _WORD_RE.findall(text)]
    positive, negated = _polarity(tokens)
    words = frozenset(tokens)
    number_words = {str(value) for word, value in NUMBER_WORDS.items() if word in words}
    content = [t for t in tokens if len(t) > 2 and t not in STOPWORDS and t not in _NEGATION]
    return _Facts(
        numbers=frozenset({value for _, _, value in numbers} | number_words),
        doses=frozenset(doses),
        frequencies=frozenset(frequencies),
        positive=positive,
        negated=negated,
        stems=frozenset(_STEMMER.stemWords(content)),
        words=words,
        number_spans=numbers,
        spans=tuple(spans),
    )
