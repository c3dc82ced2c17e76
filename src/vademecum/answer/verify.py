"""Verification of a composed article: every sentence is its source's text, every citation resolves.

A sentence an editor rewrote (``CitedSentence.edited``) is the editor's text, so it is not compared
with its passage; the passage it was edited from must still be in the store, in the same document.
A language-model summary's sentences are not quotations either: they were checked against the passages
they cite when written (:mod:`vademecum.synthesis.verify`); here their passages must exist, in the same
document, like any other citation.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from vademecum.answer.article import Article, CitedSentence, SourceLocation
from vademecum.answer.citations import check_citations
from vademecum.evidence import store


def summary_sentences(article: Article) -> tuple[CitedSentence, ...]:
    """The shown sentences of the article's language-model summary (none without one)."""
    return article.summary.sentences if article.summary is not None else ()


def article_sentences(article: Article) -> Iterator[CitedSentence]:
    """Every cited sentence of the article, in reading order: the summary's, then the body's."""
    yield from summary_sentences(article)
    yield from article.guidelines.sentences
    for block in article.labels.blocks:
        yield from block.sentences
    for group in article.research.groups:
        yield from group.sentences


def verify_article(session: Session, article: Article) -> list[str]:
    """Problems found: a sentence that is not its passage's text at its offsets (unless edited), a
    passage missing from the store or belonging to another document, or a citation problem."""
    sentences = list(article_sentences(article))
    locations: list[SourceLocation] = [s.source for s in sentences]
    passages = store.passages_by_id(session, (location.passage_id for location in locations))
    written = {id(sentence) for sentence in summary_sentences(article)}
    problems = []
    for sentence in sentences:
        location = sentence.source
        passage = passages.get(location.passage_id)
        if passage is None:
            problems.append(f"{location.key}: passage not in the store")
        elif (
            not sentence.edited
            and id(sentence) not in written
            and passage.text[location.start : location.end] != sentence.text
        ):
            problems.append(f"{location.key}: sentence differs from the source text at {location.start}-{location.end}")
        elif passage.document_id != location.document_id:
            problems.append(f"{location.key}: belongs to {passage.document_id}, not {location.document_id}")
    return problems + check_citations(article)
