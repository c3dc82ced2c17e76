"""Articles by question and their versions: question normalisation, new articles, new versions, staleness.

These functions add rows to the caller's session and never commit; the review state of each new version
is handled by :mod:`vademecum.articles.workflow`, which calls :func:`add_version` for new versions.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vademecum.articles import audit
from vademecum.articles.models import (
    EDITED,
    GENERATED,
    SUBMITTED,
    Article,
    ArticleVersion,
    Review,
    User,
    utcnow,
)
from vademecum.errors import InvalidQueryError

# Typographic variants that people type interchangeably.
_EQUIVALENT_CHARACTERS = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([?.!,;:)])")
_TRAILING = re.compile(r"[\s?.!,;:…'\"]+$")
_LEADING = re.compile(r"^[\s'\"¿¡]+")


def normalise_question(question: str) -> str:
    """The key under which a question's article is stored: near-identical wordings give the same key.

    Unicode NFKC, casefolded, typographic quotes and dashes made plain, whitespace collapsed, no space
    before punctuation, and no surrounding quotes or trailing punctuation. Word choice and word order
    still matter: this finds the same article for the same question typed differently, not for a
    paraphrase. Raises InvalidQueryError when nothing is left.
    """
    text = unicodedata.normalize("NFKC", question).casefold().translate(_EQUIVALENT_CHARACTERS)
    text = _SPACE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)
    text = _LEADING.sub("", _TRAILING.sub("", text))
    if not text:
        raise InvalidQueryError("the question is empty")
    return text


def find_article_id(session: Session, question: str) -> int | None:
    """The id of the article stored for ``question`` (compared after :func:`normalise_question`), or None."""
    key = normalise_question(question)
    return session.scalar(select(Article.id).where(Article.normalised_question == key))


def find_article(session: Session, question: str) -> Article | None:
    """The article stored for ``question`` (compared after :func:`normalise_question`), or None."""
    article_id = find_article_id(session, question)
    return session.get(Article, article_id) if article_id is not None else None


def find_or_create_article(
    session: Session,
    question: str,
    article_json: dict[str, Any],
    actor: User | None,
    *,
    now: Callable[[], dt.datetime] = utcnow,
) -> tuple[Article, bool]:
    """The article for ``question``, creating it with version 1 (state submitted) when it is new.

    Returns ``(article, created)``. A new article is written in a savepoint, so when another session
    created the same question first the unique key on the normalised question makes this return theirs.
    """
    existing = find_article(session, question)
    if existing is not None:
        return existing, False
    try:
        with session.begin_nested():
            article = Article(normalised_question=normalise_question(question), question=question.strip())
            article.created_at = now()
            session.add(article)
            session.flush()
            version = add_version(session, article, article_json, actor, source=GENERATED, now=now)
            audit.record(
                session,
                "vademecum.article.create",
                actor,
                article_id=article.id,
                version_id=version.id,
                to_status=SUBMITTED,
                data={"version": version.number, "question": article.question},
                now=now,
            )
            session.flush()
    except IntegrityError:
        existing = find_article(session, question)
        if existing is None:
            raise
        return existing, False
    return article, True


def add_version(
    session: Session,
    article: Article,
    article_json: dict[str, Any],
    actor: User | None,
    *,
    source: str,
    now: Callable[[], dt.datetime] = utcnow,
) -> ArticleVersion:
    """Add the next version of ``article`` with a new review in state submitted, and make it current.

    Does not check the workflow (``vademecum.articles.workflow.new_version`` does) and writes no audit
    entry. Two sessions adding the same version number collide on the unique (article, number) key.
    """
    number = 1 + max((version.number for version in article.versions), default=0)
    corpus = article_json.get("corpus") or {}
    version = ArticleVersion(
        article=article,
        number=number,
        article_json=article_json,
        created_by=actor.id if actor is not None else None,
        created_at=now(),
        edited=source == EDITED,
        source=source,
        engine_version=article_json.get("engine_version"),
        corpus_last_ingest_run=corpus.get("last_ingest_run"),
        corpus_documents=corpus.get("documents"),
        corpus_indexed_passages=corpus.get("indexed_passages"),
    )
    session.add(version)
    session.flush()
    session.add(Review(version=version, article_id=article.id, status=SUBMITTED, created_at=version.created_at))
    article.current_version = version
    session.flush()
    return version


def last_updated(article: Article) -> dt.datetime | None:
    """ "Last updated": when the current approved version was made; None before any approval."""
    return article.approved_version.created_at if article.approved_version is not None else None


def mark_stale(
    session: Session,
    article_ids: Iterable[int],
    reason: str,
    *,
    actor: User | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> list[int]:
    """Flag the approved articles among ``article_ids`` as stale with ``reason``; returns those newly flagged.

    Articles without an approved version have nothing stale to show readers and are skipped, as are
    articles already flagged. One audit entry per flagged article, all in one group.
    """
    ids = sorted(set(article_ids))
    if not ids:
        return []
    group = uuid.uuid4()
    articles = session.scalars(
        select(Article).where(Article.id.in_(ids), Article.approved_version_id.is_not(None)).order_by(Article.id)
    ).all()
    flagged = []
    for article in articles:
        if article.stale:
            continue
        article.stale = True
        article.stale_reason = reason
        audit.record(
            session,
            "vademecum.article.mark_stale",
            actor,
            article_id=article.id,
            version_id=article.approved_version_id,
            comment=reason,
            group=group,
            now=now,
        )
        flagged.append(article.id)
    session.flush()
    return flagged
