"""Articles service: ask for an article, work the review workflow, read the history.

The adapters (web, CLI) call these with the acting user (``None`` for an anonymous reader). Every step
first asks whether the actor's role may act at all (``SignInRequired``, ``PermissionDenied``) before it
looks at the item, so a caller who may not act learns nothing about its state; then it checks the
workflow state (``InvalidTransition``), then asks the editorial policy about this version (authorship),
then runs the transition in the caller's session; a lost race raises ``ConflictError``. Functions taking
a ``session`` never commit; the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vademecum.answer.article import Article as ComposedArticle
from vademecum.answer.citations import reference_sources
from vademecum.answer.render import to_dict
from vademecum.answer.verify import verify_article
from vademecum.articles import policy, workflow
from vademecum.articles.edits import EditableSentence, Edits, apply_edits, editable_sentences, load_article
from vademecum.articles.models import Article, ArticleVersion, AuditEntry, Review, User, utcnow
from vademecum.articles.versions import find_article_id, find_or_create_article, last_updated
from vademecum.errors import CitationError, ConflictError, NotFoundError
from vademecum.inputs import check_text
from vademecum.services.ask import ask
from vademecum.services.runtime import Runtime

Compose = Callable[[Runtime, str], ComposedArticle]


@dataclass(frozen=True, slots=True)
class ArticleState:
    """An article as a reader or reviewer sees it: its current version, review state and approval.

    ``created`` is True when this call created the article. ``review_revision`` and ``article_revision``
    are the optimistic-lock counters a form sends back as ``expected_revision``.
    """

    article_id: int
    question: str
    status: str
    version_id: int
    version_number: int
    article_json: dict[str, Any]
    approved_version_id: int | None
    last_updated: dt.datetime | None
    stale: bool
    stale_reason: str | None
    review_revision: int
    article_revision: int
    created: bool = False


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version in an article's history."""

    version_id: int
    number: int
    created_at: dt.datetime
    created_by: int | None
    source: str
    edited: bool
    status: str
    reviewer_id: int | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class AuditInfo:
    """One audit entry in an article's history."""

    action: str
    actor_id: int | None
    actor_name: str | None
    timestamp: dt.datetime
    version_id: int | None
    from_status: str | None
    to_status: str | None
    comment: str | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ArticleHistory:
    """An article's versions (oldest first) and audit entries (in the order they were written)."""

    article_id: int
    versions: tuple[VersionInfo, ...]
    entries: tuple[AuditInfo, ...]


def article_state(article: Article, *, created: bool = False) -> ArticleState:
    """The :class:`ArticleState` of a loaded article."""
    review = workflow.current_review(article)
    version = review.version
    return ArticleState(
        article_id=article.id,
        question=article.question,
        status=review.status,
        version_id=version.id,
        version_number=version.number,
        article_json=version.article_json,
        approved_version_id=article.approved_version_id,
        last_updated=last_updated(article),
        stale=article.stale,
        stale_reason=article.stale_reason,
        review_revision=review.revision,
        article_revision=article.revision,
        created=created,
    )


@dataclass(frozen=True, slots=True)
class Answered:
    """Which article answers a question, and whether answering created it."""

    article_id: int
    created: bool


def find_answer(runtime: Runtime, question: str, actor: User | None) -> Answered | None:
    """The stored article for ``question`` (one indexed lookup), or None when it has none yet.

    Refuses the actor or the question as :func:`answer_question` does (an empty question, a NUL).
    """
    policy.require(actor, policy.ASK)
    check_text(question, "question")
    with runtime.session() as session:
        existing = find_article_id(session, question)
    return Answered(existing, created=False) if existing is not None else None


def answer_question(
    runtime: Runtime,
    question: str,
    actor: User | None,
    *,
    compose: Compose = ask,
    now: Callable[[], dt.datetime] = utcnow,
) -> Answered:
    """The article for ``question``: the stored one when the normalised question has one
    (:func:`find_answer`), else a new article whose version 1 (composed by ``compose``) waits for review
    in state submitted.

    Returns only which article it is: the web app shows it by id, and a stored answer (most questions a
    busy server gets) is then found with one small query.
    """
    found = find_answer(runtime, question, actor)
    if found is not None:
        return found
    # Composed outside any transaction: it takes seconds and opens its own session on the store.
    article_json = to_dict(compose(runtime, question))
    with runtime.session() as session:
        article, created = find_or_create_article(session, question, article_json, actor, now=now)
        return Answered(article.id, created)


def ask_article(
    runtime: Runtime,
    question: str,
    actor: User | None,
    *,
    compose: Compose = ask,
    now: Callable[[], dt.datetime] = utcnow,
) -> ArticleState:
    """:func:`answer_question`, with the article's state."""
    answered = answer_question(runtime, question, actor, compose=compose, now=now)
    with runtime.session() as session:
        return article_state(get_article(session, answered.article_id), created=answered.created)


def get_article(session: Session, article_id: int) -> Article:
    """The article with ``article_id``; raises NotFoundError."""
    article = session.get(Article, article_id)
    if article is None:
        raise NotFoundError(f"no article {article_id}")
    return article


def _review_of(version: ArticleVersion) -> Review:
    if version.review is None:
        raise NotFoundError(f"article version {version.id} has no review")
    return version.review


def _review(session: Session, version_id: int) -> Review:
    review = session.scalars(select(Review).where(Review.version_id == version_id)).one_or_none()
    if review is None:
        raise NotFoundError(f"no article version {version_id}")
    return review


# The workflow function that performs each review action.
_REVIEW_STEPS: dict[str, Callable[..., Review]] = {
    workflow.TAKE: workflow.take,
    workflow.RELEASE: workflow.release,
    workflow.APPROVE: workflow.approve,
    workflow.REQUEST_CHANGES: workflow.request_changes,
}


def review_step(
    session: Session,
    actor: User | None,
    version_id: int,
    action: str,
    *,
    comment: str | None = None,
    expected_revision: int | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> ArticleState:
    """Do review ``action`` on version ``version_id``:

    - ``take``: submitted → under_review, the actor becomes its reviewer;
    - ``release``: under_review → submitted, back in the queue untouched;
    - ``approve``: under_review → approved, the version becomes the one readers see;
    - ``request_changes``: under_review → changes_requested, sent back with ``comment``.

    ``expected_revision`` is the review revision the actor saw (``ArticleState.review_revision``).
    Raises NotFoundError (unknown action or version), InvalidTransition, PermissionDenied or ConflictError.
    """
    step = _REVIEW_STEPS.get(action)
    if step is None:
        raise NotFoundError(f"no review step {action!r}")
    policy.require_role(actor, [action])
    review = _review(session, version_id)
    workflow.next_state(review.status, action)
    policy.require(actor, action, review.version)
    step(session, review, actor, comment=comment, expected_revision=expected_revision, now=now)
    return article_state(review.version.article)


def review_version(
    session: Session,
    actor: User | None,
    article_id: int,
    number: int,
    action: str,
    *,
    comment: str | None = None,
    expected_revision: int | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> ArticleState:
    """:func:`review_step` on version ``number`` of the article, as the web and API name versions.

    Raises NotFoundError for an unknown article or version, else as :func:`review_step` does.
    """
    if action in _REVIEW_STEPS:
        policy.require_role(actor, [action])  # before the article's existence or state is looked at
    if comment is not None:
        check_text(comment, "comment")
    version = next((v for v in get_article(session, article_id).versions if v.number == number), None)
    if version is None:
        raise NotFoundError(f"article {article_id} has no version {number}")
    return review_step(
        session, actor, version.id, action, comment=comment, expected_revision=expected_revision, now=now
    )


def _check_new_version(session: Session, actor: User | None, article_id: int, action: str) -> Article:
    policy.require_role(actor, [action])
    article = get_article(session, article_id)
    review = workflow.current_review(article)
    workflow.next_state(review.status, action)
    policy.require(actor, action, review.version)
    return article


def edit(
    session: Session,
    actor: User | None,
    article_id: int,
    article_json: dict[str, Any],
    *,
    comment: str | None = None,
    expected_revision: int | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> ArticleState:
    """Add an editor's version of the article (``article_json`` in the versioned article schema)."""
    article = _check_new_version(session, actor, article_id, workflow.EDIT)
    workflow.new_version(
        session,
        article,
        article_json,
        actor,
        action=workflow.EDIT,
        comment=comment,
        expected_revision=expected_revision,
        now=now,
    )
    return article_state(article)


@dataclass(frozen=True, slots=True)
class EditForm:
    """What an editor edits: the article's current version, sentence by sentence in reading order."""

    state: ArticleState
    sentences: tuple[EditableSentence, ...]


def edit_form(session: Session, actor: User | None, article_id: int) -> EditForm:
    """The sentences of the current version for ``actor`` to edit.

    Raises InvalidTransition when the current version cannot be edited now (it is in review),
    PermissionDenied unless ``actor`` may edit, NotFoundError for an unknown article.
    """
    article = _check_new_version(session, actor, article_id, workflow.EDIT)
    state = article_state(article)
    return EditForm(state=state, sentences=editable_sentences(state.article_json))


def edit_sentences(
    session: Session,
    actor: User | None,
    article_id: int,
    changes: Edits,
    *,
    comment: str | None = None,
    expected_revision: int | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> ArticleState:
    """Add an editor's version made by rewriting or removing sentences of the current version.

    ``changes`` maps sentence positions (1 = first in reading order) to a new text, or None to remove
    the sentence (:mod:`vademecum.articles.edits`). The audit entry's data says which positions changed.
    Raises InvalidQueryError naming a bad position or text (nothing is written), InvalidTransition,
    PermissionDenied, NotFoundError, or ConflictError when the article changed since ``expected_revision``
    or the corpus no longer holds the passages the version cites.
    """
    if comment is not None:
        check_text(comment, "comment")
    for text in changes.values():
        if text is not None:
            check_text(text, "edited sentence")
    article = _check_new_version(session, actor, article_id, workflow.EDIT)
    current = workflow.current_review(article).version
    sources = reference_sources(session, current.article_json.get("citation_numbers", {}))
    try:
        result = apply_edits(current.article_json, changes, sources.get)
    except CitationError as error:
        raise ConflictError(f"{error}; the corpus changed since this version was made: regenerate it") from error
    problems = verify_article(session, load_article(result.article_json))
    if problems:
        raise ConflictError(f"the edited article does not verify: {'; '.join(problems[:5])}")
    workflow.new_version(
        session,
        article,
        result.article_json,
        actor,
        action=workflow.EDIT,
        comment=comment,
        expected_revision=expected_revision,
        data={"edited_from": current.number, "replaced": list(result.replaced), "removed": list(result.removed)},
        now=now,
    )
    return article_state(article)


def regenerate(
    runtime: Runtime,
    actor: User | None,
    article_id: int,
    *,
    comment: str | None = None,
    expected_revision: int | None = None,
    compose: Compose = ask,
    now: Callable[[], dt.datetime] = utcnow,
) -> ArticleState:
    """Compose the article's question again against the current corpus and add it as a new version.

    State and permission are checked before composing (fail fast) and again when writing.
    """
    if comment is not None:
        check_text(comment, "comment")
    with runtime.session() as session:
        question = _check_new_version(session, actor, article_id, workflow.REGENERATE).question
    article_json = to_dict(compose(runtime, question))
    with runtime.session() as session:
        article = _check_new_version(session, actor, article_id, workflow.REGENERATE)
        workflow.new_version(
            session,
            article,
            article_json,
            actor,
            action=workflow.REGENERATE,
            comment=comment,
            expected_revision=expected_revision,
            now=now,
        )
        return article_state(article)


def history(session: Session, article_id: int) -> ArticleHistory:
    """The versions and the audit trail of an article."""
    article = get_article(session, article_id)
    versions = tuple(_version_info(version) for version in article.versions)
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.article_id == article_id).order_by(AuditEntry.id)
    ).all()
    return ArticleHistory(
        article_id=article_id,
        versions=versions,
        entries=tuple(
            AuditInfo(
                action=entry.action,
                actor_id=entry.actor_id,
                actor_name=entry.actor_name,
                timestamp=entry.timestamp,
                version_id=entry.version_id,
                from_status=entry.from_status,
                to_status=entry.to_status,
                comment=entry.comment,
                data=entry.data,
            )
            for entry in entries
        ),
    )


def _version_info(version: ArticleVersion) -> VersionInfo:
    # Every version is created with its review (versions.add_version).
    review = _review_of(version)
    return VersionInfo(
        version_id=version.id,
        number=version.number,
        created_at=version.created_at,
        created_by=version.created_by,
        source=version.source,
        edited=version.edited,
        status=review.status,
        reviewer_id=review.reviewer_id,
        comment=review.comment,
    )
