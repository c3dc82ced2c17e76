"""Sentences of a passage for extractive composition: spans, stand-alone checks, near-duplicates.

Composition quotes sentences verbatim, so :func:`split_sentences` returns exact character spans
(``text[span.start:span.end] == span.text``) found by syntok, which knows biomedical abbreviations
("e.g.", "et al.", "vs.", decimals). :func:`needs_context` and :func:`group_standalone` keep a
sentence that leans on its predecessor ("However, …", "These tumors …") together with it;
:func:`is_clinical_statement` drops headings, navigation and figure references; and
:func:`near_duplicate` / :func:`cluster_duplicates` find sentences that say the same thing so their
citations can be combined.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

from syntok.segmenter import analyze

# Openers after which a sentence does not stand alone: it points back ("These tumors …"), or it
# continues an argument ("However, …"). Matched on the sentence's first words, case-insensitively.
CONTEXT_OPENERS: tuple[str, ...] = (
    "this", "these", "that", "those", "it", "its", "they", "their", "them", "such", "here",
    "however", "in addition", "additionally", "also", "furthermore", "moreover", "further",
    "in contrast", "by contrast", "conversely", "on the other hand", "similarly", "likewise",
    "therefore", "thus", "hence", "consequently", "accordingly", "as a result", "as such", "in turn",
    "nevertheless", "nonetheless", "still", "yet", "but", "and", "or", "instead", "otherwise", "then",
    "other", "others", "the latter", "the former", "the same", "both", "neither", "either",
    "in particular", "specifically", "for example", "for instance", "in comparison", "in both",
    "of these", "of those", "of them", "of the latter", "among these", "among them", "among those",
    "in these", "in those", "in such", "for these", "for this", "for those", "for such",
    "with these", "with this", "despite this", "because of this", "due to this", "given these",
    "given this", "based on these", "based on this", "on this basis", "to this end", "at that time",
    "in the second", "in the third", "the second", "the third", "another", "the other",
)  # fmt: skip

# Openers that look anaphoric but are not: "In addition to surgery, …" names what it adds to,
# "It is recommended that …" is an expletive "it", "Both surgery and radiation …" names both.
_OPENER_EXCEPTIONS = re.compile(
    r"^(?:in addition to\b"
    r"|it (?:is|was|has been|may be|might be|can be|should be|remains|seems|appears) \w+ (?:to|that|whether|if)\b"
    r"|both\b.{1,80}\band\b|neither\b.{1,80}\bnor\b|either\b.{1,80}\bor\b)",
    re.IGNORECASE,
)
_OPENER_PATTERN = re.compile(
    r"^(?:" + "|".join(re.escape(opener) for opener in sorted(CONTEXT_OPENERS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_LEADING_JUNK = " \t\"'“‘([-–—•*"

# Sentences that only point elsewhere or describe the document rather than the patient.
_NAVIGATION = re.compile(
    r"^(?:for (?:more )?information\b|see\b|refer to\b|go to\b|visit\b|click\b|to learn more\b"
    r"|information about (?:ongoing )?clinical trials\b|copyright\b|©|[a-z]?reprinted\b|[a-z]?adapted from\b"
    r"|(?:table|figure|fig\.) ?\d+[a-z]?\.?$)"
    r"|https?://|www\.|\bwebsite\b|\bweb site\b|\[pubmed abstract\]",
    re.IGNORECASE,
)

# Enough of the common finite verbs and auxiliaries to tell a short statement ("Surgery is
# curative.") from a heading or list fragment ("Surgery."); only used for short or unpunctuated text.
_VERB_LIST = (
    "is are was were be been being am has have had do does did may might can could must shall should will would"
    " include includes require requires show shows occur occurs remain remains appear appears improve improves"
    " reduce reduces increase increases cause causes lead leads depend depends provide provides receive receives"
    " suggest suggests indicate indicates recommend recommends develop develops affect affects allow allows"
    " help helps make makes take takes give gives become becomes vary varies involve involves contain contains"
    " consist consists respond responds present presents use uses prolong prolongs offer offers"
)
_VERBS = frozenset(_VERB_LIST.split())
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_TERMINAL = frozenset(".!?")
_CLOSERS = "\"')]”’"

# Function words carry no claim; they are left out of the token sets compared for duplicates.
_STOPWORD_LIST = (
    "a an the and or but of in on at to for from by with as into onto than then that this these those"
    " it its is are was were be been being has have had do does did can could may might must shall should"
    " will would which who whom whose what when where while there their they them he she his her we our"
    " you your also such other both each either all any some more most much many very only so if about"
    " after before between during over under within without against among per via"
)
_STOPWORDS = frozenset(_STOPWORD_LIST.split())
# Negations change what a sentence claims; two sentences that differ in them are never duplicates.
_NEGATIONS = frozenset(("no", "not", "never", "without", "none", "neither", "nor", "cannot", "non"))
# Numbers written otherwise matter as much as digits: stages and grades in Roman numerals
# ("stage IIIA"), counts and ordinals in words ("three trials", "second-line").
_ROMAN = re.compile(r"^(?:i{1,3}|iv|vi{0,3}|ix|x)[a-c]?[0-9]?$")
_NUMBER_WORD_LIST = (
    "zero one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty"
    " hundred thousand million once twice single double triple half quarter first second third fourth fifth"
    " sixth seventh eighth ninth tenth"
)
_NUMBER_WORDS = frozenset(_NUMBER_WORD_LIST.split())
_SUFFIXES = ("ational", "ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ed", "es", "s")

# Measured on the top-50 passages of 20 questions: a containment test (the shorter sentence's
# words ≥ 90% inside the longer) merged mostly wrong pairs, a qualified claim with its unqualified
# form, so only the symmetric test is used.
JACCARD_THRESHOLD = 0.8


@dataclass(frozen=True, slots=True)
class Span:
    """A sentence of a passage: ``passage_text[start:end] == text``, with no surrounding whitespace."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class StandaloneGroups:
    """Sentences of one passage grouped so that each group can be quoted on its own.

    ``groups`` keeps passage order; a sentence that needs context is in the group of the sentence
    before it. ``dropped`` lists sentences that need context the passage does not give (the first
    sentence of a passage or of a table row, and what leans on those): they must not be quoted.
    """

    groups: list[list[Span]] = field(default_factory=list)
    dropped: list[Span] = field(default_factory=list)

    def __iter__(self) -> Iterator[list[Span]]:
        """Iterating gives the groups, so callers that only quote can loop over the result."""
        return iter(self.groups)

    def __len__(self) -> int:
        """Number of groups."""
        return len(self.groups)


SPLITTER_VERSION = 1
"""Bumped whenever a change here splits some text differently: splits stored at ingest by an older
version are then ignored and the text is split again when read."""


def stored_split(text: str) -> dict[str, object]:
    """The split of ``text`` as ingest stores it with a passage (see :func:`stored_spans`)."""
    bounds = [offset for span in split_sentences(text) for offset in (span.start, span.end)]
    return {"splitter": SPLITTER_VERSION, "bounds": bounds}


def stored_spans(text: str, stored: Mapping[str, object] | None) -> list[Span]:
    """The sentences of ``text``: from its split stored at ingest when there is one of this version,
    else split now."""
    bounds = stored.get("bounds") if stored and stored.get("splitter") == SPLITTER_VERSION else None
    if not isinstance(bounds, list):
        return split_sentences(text)
    return [Span(start, end, text[start:end]) for start, end in zip(bounds[::2], bounds[1::2], strict=True)]


def split_sentences(text: str) -> list[Span]:
    """Sentences of ``text`` as exact spans, in order.

    A line break always ends a sentence: clean passages only contain them between the rows of a
    flattened table, and a row is never continued by the next one. Results are cached by text,
    because the same passages come back for many questions.
    """
    return list(_split_cached(text))


@lru_cache(maxsize=8192)
def _split_cached(text: str) -> tuple[Span, ...]:
    spans: list[Span] = []
    offset = 0
    for line in text.split("\n"):
        spans.extend(_split_line(text, line, offset))
        offset += len(line) + 1
    return tuple(spans)


def _split_line(text: str, line: str, offset: int) -> list[Span]:
    """Sentences of one line of ``text`` that starts at ``offset``."""
    stripped = line.strip()
    if not stripped:
        return []
    start = offset + len(line) - len(line.lstrip())
    # Most passages are one sentence (list items, short paragraphs): with no sentence-ending
    # mark before the last character syntok cannot split them, and skipping it is ~20x faster.
    body = stripped.rstrip(_CLOSERS)[:-1]
    if not any(mark in body for mark in _TERMINAL):
        return [Span(start, start + len(stripped), stripped)]
    return _segment(text, line, offset)


def _segment(text: str, line: str, offset: int) -> list[Span]:
    """Sentences of one line found by syntok, pieces without an ending mark joined to the next."""
    spans: list[Span] = []
    open_sentence = False
    for paragraph in analyze(line):
        for sentence in paragraph:
            tokens = [token for token in sentence if token.value]
            if not tokens:
                continue
            first = offset + tokens[0].offset
            last = offset + tokens[-1].offset + len(tokens[-1].value)
            # syntok's tokens may hold characters Python counts as whitespace (control separators).
            piece = text[first:last]
            first, last = first + len(piece) - len(piece.lstrip()), last - len(piece) + len(piece.rstrip())
            if first >= last:
                continue
            if open_sentence:
                first = spans.pop().start
            spans.append(Span(first, last, text[first:last]))
            # syntok also ends sentences at some semicolons and brackets ("… 5% or greater;" |
            # "24% in those …"); a piece without a sentence-ending mark is kept with what follows.
            open_sentence = text[first:last].rstrip(_CLOSERS)[-1:] not in _TERMINAL
    return spans


def needs_context(sentence: str) -> bool:
    """Whether ``sentence`` leans on the sentence before it (anaphoric or connective opener).

    See :data:`CONTEXT_OPENERS`; "In addition to X", an expletive "It is … that" and "Both X and Y"
    stand alone.
    """
    head = sentence.lstrip(_LEADING_JUNK)
    return bool(_OPENER_PATTERN.match(head)) and not _OPENER_EXCEPTIONS.match(head)


def introduces_list(sentence: str) -> bool:
    """Whether ``sentence`` ends with a colon: it introduces what follows and says nothing alone."""
    return sentence.rstrip().endswith(":")


def group_standalone(spans: Sequence[Span], text: str) -> StandaloneGroups:
    """Group the sentences of one passage (``text``) so every group stands alone.

    A sentence that :func:`needs_context` joins the group of its predecessor; a sentence that
    :func:`introduces_list` takes the next sentence into its group. The first sentence of the
    passage, or of a table row (a line of ``text``), has no predecessor to lean on: if it needs
    context it is dropped, and so is any sentence that leans on a dropped one.
    """
    result = StandaloneGroups()
    previous: Span | None = None
    previous_dropped = False
    for span in spans:
        new_line = previous is None or "\n" in text[previous.end : span.start]
        pulled = previous is not None and not new_line and introduces_list(previous.text)
        if needs_context(span.text) or pulled:
            if new_line or previous_dropped:
                result.dropped.append(span)
                previous, previous_dropped = span, True
                continue
            result.groups[-1].append(span)
        else:
            result.groups.append([span])
        previous, previous_dropped = span, False
    return result


def is_clinical_statement(sentence: str) -> bool:
    """Whether ``sentence`` can be quoted as a statement (conservative: when unsure, keep it).

    Dropped: navigation and credits ("For more information, see …", URLs, "Copyright …", "Table 2.",
    a footnote's "aAdapted from …"), list lead-ins ending with a colon, and headings or fragments:
    neither a common finite verb nor, in a sentence with an ending mark, a participle ("treated"),
    and either fewer than five words or no ending mark ("Targeted therapy", "Surgery.").
    """
    text = sentence.strip()
    if not text or _NAVIGATION.search(text) or introduces_list(text):
        return False
    tokens = [word.casefold() for word in _WORD.findall(text)]
    if not tokens:
        return False
    terminated = text.rstrip(_CLOSERS)[-1:] in _TERMINAL
    if any(token in _VERBS or (terminated and _verb_like(token)) for token in tokens):
        return True
    return len(tokens) >= 5 and terminated


def _verb_like(token: str) -> bool:
    """Past participles and gerunds ("treated", "using"): verbs in all but name."""
    return len(token) > 4 and token.isalpha() and token.endswith(("ed", "ing"))


@dataclass(frozen=True, slots=True)
class _Signature:
    """What duplicate detection compares: content words (as a set and in order), numbers, negation.

    ``item`` is the signature of the words after "Lead-in: " in a list item, compared on its own.
    """

    words: tuple[str, ...]
    tokens: frozenset[str]
    numbers: tuple[str, ...]
    negated: bool
    item: _Signature | None = None


def _stem(word: str) -> str:
    """A light suffix-stripping stem: enough to equate "tumors"/"tumor", "treated"/"treatment"."""
    if word.isdigit() or len(word) <= 4:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _is_number(word: str) -> bool:
    return any(ch.isdigit() for ch in word) or word in _NUMBER_WORDS or bool(_ROMAN.match(word))


def _plain_signature(text: str) -> _Signature:
    words = [word.casefold() for word in _WORD.findall(text)]
    content = tuple(_stem(word) for word in words if word not in _STOPWORDS and word not in _NEGATIONS)
    # Numbers are compared as written: "10 mg" and "20 mg", stage II and stage III never merge.
    numbers = tuple(sorted(word for word in words if _is_number(word)))
    negated = any(word in _NEGATIONS or word.endswith("n't") for word in words)
    return _Signature(content, frozenset(content), numbers, negated)


@lru_cache(maxsize=16384)
def _signature(sentence: str) -> _Signature:
    signature = _plain_signature(sentence)
    # Passages of list items repeat the list's lead-in before each item; the lead-in would
    # otherwise outweigh items that differ ("… include: Surgery." / "… include: Surgery followed by …").
    _, colon, item = sentence.partition(": ")
    if colon and item.strip():
        item_signature = _plain_signature(item)
        return _Signature(signature.words, signature.tokens, signature.numbers, signature.negated, item_signature)
    return signature


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared) if shared else 0.0


def _same_sequence(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Same words in the same order, up to insertions and deletions, never a word swapped for another.

    A swap is what turns "early-stage" into "advanced-stage" or "nausea" into "vomiting"; order is
    what tells "surgery followed by chemotherapy" from "chemotherapy followed by surgery".
    """
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if any(tag == "replace" for tag, *_ in matcher.get_opcodes()):
        return False
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return matched >= JACCARD_THRESHOLD * max(len(a), len(b))


def _similar(a: _Signature, b: _Signature) -> bool:
    if a.negated != b.negated or a.numbers != b.numbers or not a.tokens or not b.tokens:
        return False
    if a.item is not None and b.item is not None and not _similar(a.item, b.item):
        return False
    return _jaccard(a.tokens, b.tokens) >= JACCARD_THRESHOLD and _same_sequence(a.words, b.words)


def near_duplicate(a: str, b: str) -> bool:
    """Whether two sentences say the same thing.

    Compared on stemmed content words (function words dropped). Duplicates when all hold:
    the word sets have a Jaccard similarity of at least :data:`JACCARD_THRESHOLD` (0.8); in order,
    the words differ only by insertions or deletions (no word replaced by another, ≥ 80% matched);
    the same numbers (digits, number words, Roman numerals); both or neither negated; and, when
    both are list items ("Lead-in: item"), the items pass the same test on their own.
    """
    return _similar(_signature(a), _signature(b))


def cluster_duplicates(items: Sequence[str]) -> list[list[int]]:
    """Greedy clusters of near-duplicate sentences, as indices into ``items``.

    Items are taken in order (callers pass them best first); each joins the first cluster whose
    first member it duplicates, or starts a new one. Every index appears exactly once; clusters are
    ordered by their first member. Candidates are found through shared words, so the cost stays
    near-linear for the few hundred sentences of an article.
    """
    signatures = [_signature(item) for item in items]
    clusters: list[list[int]] = []
    postings: dict[str, list[int]] = {}  # word -> clusters whose first member has it
    for index, signature in enumerate(signatures):
        counts: dict[int, int] = {}
        for token in signature.tokens:
            for cluster in postings.get(token, ()):
                counts[cluster] = counts.get(cluster, 0) + 1
        home = None
        for cluster in sorted(counts):
            # Jaccard >= t needs at least t x the larger set shared; skip clusters that share less.
            first = signatures[clusters[cluster][0]]
            if counts[cluster] < JACCARD_THRESHOLD * max(len(signature.tokens), len(first.tokens)):
                continue
            if _similar(signature, first):
                home = cluster
                break
        if home is None:
            home = len(clusters)
            clusters.append([])
            for token in signature.tokens:
                postings.setdefault(token, []).append(home)
        clusters[home].append(index)
    return clusters
