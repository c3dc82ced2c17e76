"""An editor's edit of an article version: rewrite or remove sentences, keep everything else as it was.

Sentences are addressed by **position**: 1 for the first sentence of the body in reading order
(:func:`vademecum.answer.verify.article_sentences`: guideline sentences, drug label blocks, research
bullets), 2 for the next, and so on. An edit maps positions to a new text, or to ``None`` to remove the
sentence. :func:`apply_edits` turns an article JSON and an edit into the next version's article JSON:

- a rewritten sentence keeps its ``source`` (the passage it was edited from) and its ``supporting``
  passages, and gets ``edited: true``; verification no longer compares its text with the passage;
- every other sentence is kept as it was, provenance included (an earlier edit's mark stays);
- a sentence of the language-model summary is edited and removed like any other (it comes first in
  reading order); a summary left with no sentence is no longer shown, its verification record stays;
- a bullet whose sentences are all removed disappears, and so do a group, quoted label section or
  label block left with no sentence; a dose note stays while its dose text is still in its bullet;
- citation numbers and references are recomputed with :func:`vademecum.answer.citations.number_citations`,
  so numbering follows first use again and a document no sentence cites any more leaves the list.

A text submitted unchanged is not an edit. Bad input raises ``InvalidQueryError`` naming the position.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vademecum.answer.article import (
    ARTICLE_SCHEMA_VERSION,
    Article,
    Bullet,
    BulletGroup,
    CitedSentence,
    DoseNote,
    DrugLabelBlock,
    GuidelineSection,
    LabelSection,
    LabelSectionQuote,
    ResearchSection,
    Summary,
)
from vademecum.answer.citations import Resolver, number_citations
from vademecum.answer.render import (
    AGENTS_HEADING,
    BOTTOM_LINE_HEADING,
    DRUG_INFORMATION_LABEL,
    KEY_CONSIDERATIONS_HEADING,
    SECTION_HEADINGS,
    SETTINGS_HEADING,
    SUMMARY_HEADING,
    from_json,
    to_dict,
)
from vademecum.answer.verify import article_sentences
from vademecum.errors import InvalidQueryError

MAX_SENTENCE_CHARS = 2000
HEADING_SEPARATOR = " › "

# position -> the new text, or None to remove the sentence
Edits = Mapping[int, str | None]
# Called once per sentence with its section heading; returns the sentence to keep, or None to drop it.
_Change = Callable[[CitedSentence, str], CitedSentence | None]


@dataclass(frozen=True, slots=True)
class EditableSentence:
    """One sentence of an article as the edit page lists it."""

    position: int
    heading: str
    text: str
    edited: bool
    key: str
    document_id: str


@dataclass(frozen=True, slots=True)
class EditResult:
    """The next version's article JSON and the positions (of the edited version) that changed."""

    article_json: dict[str, Any]
    replaced: tuple[int, ...]
    removed: tuple[int, ...]


def load_article(article_json: Mapping[str, Any]) -> Article:
    """The article model of a stored article JSON."""
    return from_json(json.dumps(article_json))


def editable_sentences(article_json: Mapping[str, Any]) -> tuple[EditableSentence, ...]:
    """Every sentence of the article body with its position and the heading it sits under, in reading order."""
    article = load_article(article_json)
    headings: dict[int, str] = {}

    def note(sentence: CitedSentence, heading: str) -> CitedSentence:
        headings[id(sentence)] = heading
        return sentence

    _summary(article.summary, note)
    _rebuild(article, note)
    return tuple(
        EditableSentence(
            position=position,
            heading=headings[id(sentence)],
            text=sentence.text,
            edited=sentence.edited,
            key=sentence.source.key,
            document_id=sentence.source.document_id,
        )
        for position, sentence in enumerate(article_sentences(article), start=1)
    )


def apply_edits(article_json: Mapping[str, Any], edits: Edits, resolve: Resolver) -> EditResult:
    """Apply ``edits`` to ``article_json``; ``resolve`` gives the reference source of an evidence key
    (:func:`vademecum.answer.citations.reference_sources` of the store, as when composing).

    Raises InvalidQueryError naming the position for an unknown position, an empty or over-long text,
    and when the edit changes nothing or would remove every sentence.
    """
    article = load_article(article_json)
    sentences = list(article_sentences(article))
    replacements, removals = _checked(edits, sentences)
    if not replacements and not removals:
        raise InvalidQueryError("the edit changes no sentence")
    if len(removals) == len(sentences):
        raise InvalidQueryError("an edit cannot remove every sentence; ask for the article to be regenerated instead")
    # Sentences are found again by identity, so positions follow article_sentences' reading order
    # whatever order the rebuild below visits the sections in.
    position_of = {id(sentence): position for position, sentence in enumerate(sentences, start=1)}

    def change(sentence: CitedSentence, _heading: str) -> CitedSentence | None:
        position = position_of[id(sentence)]
        if position in removals:
            return None
        if position in replacements:
            return dataclasses.replace(sentence, text=replacements[position], edited=True)
        return sentence

    guidelines, labels, research = _rebuild(article, change)
    summary = _summary(article.summary, change)
    citation_numbers, references = number_citations(guidelines, labels, research, resolve, summary)
    edited = dataclasses.replace(
        article,
        summary=summary,
        guidelines=guidelines,
        labels=labels,
        research=research,
        citation_numbers=citation_numbers,
        references=references,
        schema_version=ARTICLE_SCHEMA_VERSION,
    )
    return EditResult(to_dict(edited), tuple(sorted(replacements)), tuple(sorted(removals)))


def _checked(edits: Edits, sentences: list[CitedSentence]) -> tuple[dict[int, str], set[int]]:
    """The edits that change something: ``(new texts by position, positions removed)``."""
    replacements: dict[int, str] = {}
    removals: set[int] = set()
    for position, text in sorted(edits.items()):
        if not 1 <= position <= len(sentences):
            raise InvalidQueryError(f"sentence {position}: no such sentence; the article has {len(sentences)}")
        if text is None:
            removals.add(position)
            continue
        new = _normalised(text)
        if not new:
            raise InvalidQueryError(f"sentence {position}: the new text is empty; remove the sentence instead")
        if len(new) > MAX_SENTENCE_CHARS:
            raise InvalidQueryError(
                f"sentence {position}: the new text has {len(new)} characters; at most {MAX_SENTENCE_CHARS} are allowed"
            )
        if new != _normalised(sentences[position - 1].text):
            replacements[position] = new
    return replacements, removals


def _normalised(text: str) -> str:
    # A browser's textarea sends line breaks as \r\n; a source's own line breaks (table rows) are \n.
    return "\n".join(text.splitlines()).strip()


def _heading(*parts: str | None) -> str:
    return HEADING_SEPARATOR.join(part for part in parts if part)


def _rebuild(article: Article, change: _Change) -> tuple[GuidelineSection, LabelSection, ResearchSection]:
    """The article's three body sections with ``change`` applied to every sentence, emptied containers dropped."""
    guidelines = article.guidelines
    section = SECTION_HEADINGS["guidelines"]
    guidelines = dataclasses.replace(
        guidelines,
        bottom_line=_bullets(guidelines.bottom_line, _heading(section, BOTTOM_LINE_HEADING), change),
        key_considerations=_bullets(
            guidelines.key_considerations, _heading(section, KEY_CONSIDERATIONS_HEADING), change
        ),
        settings=_groups(guidelines.settings, _heading(section, SETTINGS_HEADING), change),
        agents=_groups(guidelines.agents, _heading(section, AGENTS_HEADING), change),
        groups=_groups(guidelines.groups, _heading(section, guidelines.groups_heading), change),
    )
    labels = dataclasses.replace(
        article.labels,
        blocks=tuple(
            block for block in (_label_block(block, change) for block in article.labels.blocks) if block is not None
        ),
    )
    research = dataclasses.replace(
        article.research, groups=_groups(article.research.groups, SECTION_HEADINGS["research"], change)
    )
    return guidelines, labels, research


def _summary(summary: Summary | None, change: _Change) -> Summary | None:
    """The summary with ``change`` applied to its shown sentences."""
    if summary is None:
        return None
    return dataclasses.replace(summary, sentences=_sentences(summary.sentences, SUMMARY_HEADING, change))


def _sentences(sentences: Iterable[CitedSentence], heading: str, change: _Change) -> tuple[CitedSentence, ...]:
    return tuple(kept for sentence in sentences if (kept := change(sentence, heading)) is not None)


def _bullets(bullets: Iterable[Bullet], heading: str, change: _Change) -> tuple[Bullet, ...]:
    kept = []
    for bullet in bullets:
        sentences = _sentences(bullet.sentences, heading, change)
        if sentences == bullet.sentences:
            kept.append(bullet)
        elif sentences:
            kept.append(
                dataclasses.replace(bullet, sentences=sentences, doses=_doses_still_stated(bullet.doses, sentences))
            )
    return tuple(kept)


def _doses_still_stated(notes: Iterable[DoseNote], sentences: tuple[CitedSentence, ...]) -> tuple[DoseNote, ...]:
    """The dose notes whose dose text is still in the bullet (a note about removed text would mislead)."""
    text = " ".join(sentence.text for sentence in sentences)
    return tuple(note for note in notes if note.dose.text and note.dose.text in text)


def _groups(groups: Iterable[BulletGroup], heading: str, change: _Change) -> tuple[BulletGroup, ...]:
    kept = []
    for group in groups:
        group_heading = _heading(heading, group.heading)
        lead = _sentences(group.lead, group_heading, change)
        bullets = _bullets(group.bullets, group_heading, change)
        if bullets or lead:
            kept.append(dataclasses.replace(group, lead=lead, bullets=bullets))
    return tuple(kept)


def _label_block(block: DrugLabelBlock, change: _Change) -> DrugLabelBlock | None:
    heading = _heading(SECTION_HEADINGS["labels"], block.drug)
    quotes: list[LabelSectionQuote] = []
    for quote in block.quotes:
        title = " ".join(part for part in (quote.number, quote.title) if part)
        sentences = _sentences(quote.sentences, _heading(heading, title), change)
        if sentences:
            quotes.append(dataclasses.replace(quote, sentences=sentences))
    edited = dataclasses.replace(
        block,
        quotes=tuple(quotes),
        summary=_sentences(block.summary, heading, change),
        drug_information=_sentences(block.drug_information, _heading(heading, DRUG_INFORMATION_LABEL), change),
    )
    # A block that only says the drug has no label keeps its note; one whose quoted sentences were all
    # removed has nothing left to show.
    if block.sentences and not edited.sentences:
        return None
    return edited
