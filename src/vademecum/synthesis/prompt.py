"""The grounded prompt: the question and the article's own quoted passages, numbered.

The model sees nothing else. Passages are taken from the article in reading order: the guideline's
bottom line and key considerations, its option lists (one passage per setting), the label blocks'
quoted indication and dosage sections, and the research bullets (studies' conclusions). Each passage is
the article's quoted text, so the verifier checks a summary sentence against exactly what the model saw.
The instructions are data here, not scattered through code, and the prompt's hash is recorded with the
summary so a reviewer can tell which prompt wrote it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from vademecum.answer.article import Article, Bullet, CitedSentence

SYSTEM_PROMPT = (
    "You write a short summary for health professionals from numbered passages of published sources. "
    "Use only what the passages say; do not add facts, drugs, doses or numbers they do not contain. "
    "Write 2 to 5 sentences: first the direct answer to the question, then the key considerations, "
    "with doses written exactly as the passages give them. "
    "End every sentence with the numbers of the passages it uses in square brackets, like [2] or [1, 3]."
)
USER_TEMPLATE = "Question: {question}\n\nPassages:\n{passages}\n\nSummary:"
PASSAGE_TEMPLATE = "[{number}] {text}"
# Where a long passage is cut: after a sentence when one ends in the last part of the budget.
_CUT_SEARCH_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class PromptPassage:
    """One numbered passage of the prompt: the article text the model sees and the sentences it quotes."""

    number: int
    text: str
    sentences: tuple[CitedSentence, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Evidence keys of the quoted sentences, in order."""
        return tuple(dict.fromkeys(key for sentence in self.sentences for key in sentence.keys))


@dataclass(frozen=True, slots=True)
class Prompt:
    """The chat messages sent to the model, the passages they number, and the hash of the whole."""

    messages: tuple[dict[str, str], ...]
    passages: tuple[PromptPassage, ...]

    @property
    def hash(self) -> str:
        """SHA-256 of the messages (instructions, question and passages), as recorded in the version."""
        data = json.dumps(self.messages, ensure_ascii=False, sort_keys=True).encode()
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def passage(self, number: int) -> PromptPassage | None:
        """The passage numbered ``number``, or None when the prompt has none."""
        return self.passages[number - 1] if 1 <= number <= len(self.passages) else None


def build_prompt(article: Article, *, max_passages: int, max_passage_chars: int) -> Prompt:
    """The prompt for ``article``: at most ``max_passages`` passages of at most ``max_passage_chars`` each."""
    passages: list[PromptPassage] = []
    for sentences in _passage_sentences(article):
        if len(passages) == max_passages:
            break
        text = _cut(" ".join(s.text.strip() for s in sentences), max_passage_chars)
        if text:
            passages.append(PromptPassage(len(passages) + 1, text, tuple(sentences)))
    listed = "\n".join(PASSAGE_TEMPLATE.format(number=p.number, text=p.text) for p in passages)
    messages = (
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": USER_TEMPLATE.format(question=article.question.text, passages=listed)},
    )
    return Prompt(messages, tuple(passages))


def _passage_sentences(article: Article) -> Iterator[tuple[CitedSentence, ...]]:
    """The article's passages for the prompt, in the order of :mod:`this module's <vademecum.synthesis.prompt>`
    docstring; each is the sentences of one bullet, option list or quoted label section."""
    guidelines = article.guidelines
    yield from _bullet_passages(guidelines.bottom_line)
    yield from _bullet_passages(guidelines.key_considerations)
    for group in guidelines.settings:
        sentences = group.sentences
        if sentences:
            yield sentences
    for block in article.labels.blocks:
        for quote in block.quotes:
            if quote.sentences:
                yield quote.sentences
    yield from _bullet_passages(article.research.bullets)


def _bullet_passages(bullets: Iterable[Bullet]) -> Iterator[tuple[CitedSentence, ...]]:
    for bullet in bullets:
        if bullet.sentences:
            yield bullet.sentences


def _cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut after the last sentence end in the budget when there is
    one late enough, else at the last space (the model sees whole words only)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit]
    end = max(head.rfind(". "), head.rfind("; "))
    if end >= limit * _CUT_SEARCH_SHARE:
        return head[: end + 1]
    space = head.rfind(" ")
    return head[:space] if space > 0 else head
