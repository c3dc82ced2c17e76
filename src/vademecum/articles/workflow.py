"""The review workflow: the transition table and one function per transition.

``TRANSITIONS[(state, action)] -> new state`` is the single source of truth; the functions below, the
policy's ``actions_for`` and the exhaustive tests all read it. States are those of the *current*
version's :class:`~vademecum.articles.models.Review`:

=====================  ===================  =====================  =============================================
from                   action               to                     meaning
=====================  ===================  =====================  =============================================
submitted              take                 under_review           a reviewer takes the version from the queue
under_review           release              submitted              the reviewer puts it back untouched, so a
                                                                   taken version cannot be stranded
under_review           approve              approved               the version becomes the approved one
under_review           request_changes      changes_requested      sent back with a comment
changes_requested      regenerate / edit    submitted              a new version, with a new review
approved               regenerate / edit    submitted              a new version (e.g. of a stale article); the
                                                                   approved one stays visible until replaced
=====================  ===================  =====================  =============================================

A new article starts in ``submitted`` (``vademecum.articles.versions.find_or_create_article``).

Each function runs inside the caller's transaction and never commits: it checks the state (refusal:
``InvalidTransition``, nothing written), applies the change, flushes, then writes exactly one audit entry.
Concurrency is optimistic: reviews and articles carry a ``revision`` counter checked on every UPDATE, so of
two reviewers deciding on one version at once the second gets ``ConflictError`` and its transaction
(including its audit entry) is rolled back by the caller. Permissions are not checked here; the service
layer asks ``vademecum.articles.policy`` before calling these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from vademecum.articles import audit
from vademecum.articles.models import (
    APPROVED,
    CHANGES_REQUESTED,
    EDITED,
    GENERATED,
    SUBMITTED,
    UNDER_REVIEW,
    Article,
    ArticleVersion,
    Review,
    User,
    utcnow,
)
from vademecum.articles.versions import add_version
from vademecum.errors import ConflictError, InvalidTransition

TAKE, RELEASE, APPROVE, REQUEST_CHANGES = "take", "release", "approve", "request_changes"
REGENERATE, EDIT = "regenerate", "edit"
REVIEW_ACTIONS: tuple[str, ...] = (TAKE, RELEASE, APPROVE, REQUEST_CHANGES)
NEW_VERSION_ACTIONS: tuple[str, ...] = (REGENERATE, EDIT)
WORKFLOW_ACTIONS: tuple[str, ...] = REVIEW_ACTIONS + NEW_VERSION_ACTIONS

TRANSITIONS: dict[tuple[str, str], str] = {
    (SUBMITTED, TAKE): UNDER_REVIEW,
    (UNDER_REVIEW, RELEASE): SUBMITTED,
    (UNDER_REVIEW, APPROVE): APPROVED,
    (UNDER_REVIEW, REQUEST_CHANGES): CHANGES_REQUESTED,
    (CHANGES_REQUESTED, REGENERATE): SUBMITTED,
    (CHANGES_REQUESTED, EDIT): SUBMITTED,
    (APPROVED, REGENERATE): SUBMITTED,
    (APPROVED, EDIT): SUBMITTED,
}

AUDIT_ACTIONS: dict[str, str] = {
    TAKE: "vademecum.review.take",
    RELEASE: "vademecum.review.release",
    APPROVE: "vademecum.review.approve",
    REQUEST_CHANGES: "vademecum.review.request_changes",
    REGENERATE: "vademecum.article.regenerate",
    EDIT: "vademecum.article.edit",
}


def next_state(state: str, action: str) -> str:
    """The state ``action`` leads to from ``state``; raises InvalidTransition when the table has no such step."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise InvalidTransition(f"cannot {action.replace('_', ' ')} a version in state {state!r}") from None


def _check_revision(current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise ConflictError("this item was changed by someone else since you loaded it; reload and try again")


@contextmanager
def _conflicts_as_errors(message: str) -> Iterator[None]:
    """Turn a lost optimistic-lock race or a unique-key collision, raised by any flush (including an
    autoflush on a lazy load), into ConflictError."""
    try:
        yield
    except (StaleDataError, IntegrityError) as error:
        raise ConflictError(message) from error


def _review_step(
    session: Session,
    review: Review,
    action: str,
    actor: User | None,
    comment: str | None,
    expected_revision: int | None,
    now: Callable[[], dt.datetime],
    apply: Callable[[dt.datetime], None],
) -> Review:
    """The common shape of the four review transitions."""
    _check_revision(review.revision, expected_revision)
    old = review.status
    new = next_state(old, action)
    when = now()
    with _conflicts_as_errors("someone else changed this review at the same time; reload and try again"):
        review.status = new
        apply(when)
        # The state change is flushed before the audit entry is added, so the contested UPDATE is this
        # transaction's first write and a loser writes nothing.
        session.flush()
        audit.record(
            session,
            AUDIT_ACTIONS[action],
            actor,
            article_id=review.article_id,
            version_id=review.version_id,
            from_status=old,
            to_status=new,
            comment=comment,
            data={"version": review.version.number, "review": review.id},
            now=lambda: when,
        )
        session.flush()
    return review


def take(
    session: Session,
    review: Review,
    actor: User | None,
    *,
    comment: str | None = None,
    expected_revision: int | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> Review:
    """submitted → under_review: ``actor`` becomes the review's reviewer."""

    def apply(when: dt.datetime) -> None:
        review.reviewer_id = actor.id if actor is not None else None
        review.started_at = when

    return _review_step(session, review, TAKE, actor, comment, expected_revision, now, apply)


def release(
    session: Session,
    review: Review,
    actor: User | None,
    *,
    comment: str | None = None,
    expected_revision: int | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> Review:
    """under_review → submitted: the version goes back to the queue with no reviewer."""

    def apply(_when: dt.datetime) -> None:
        review.reviewer_id = None
        review.started_at = None

    return _review_step(session, review, RELEASE, actor, comment, expected_revision, now, apply)


def approve(
    session: Session,
    review: Review,
    actor: User | None,
    *,
    comment: str | None = None,
    expected_revision: int | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> Review:
    """under_review → approved: the version becomes the article's approved one and clears its stale flag."""

    def apply(when: dt.datetime) -> None:
        review.reviewer_id = actor.id if actor is not None else None
        review.finished_at = when
        review.comment = comment
        article = review.version.article
        article.approved_version = review.version
        article.stale = False
        article.stale_reason = None

    return _review_step(session, review, APPROVE, actor, comment, expected_revision, now, apply)


def request_changes(
    session: Session,
    review: Review,
    actor: User | None,
    *,
    comment: str | None = None,
    expected_revision: int | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> Review:
    """under_review → changes_requested: the version is sent back; a new version must follow."""

    def apply(when: dt.datetime) -> None:
        review.reviewer_id = actor.id if actor is not None else None
        review.finished_at = when
        review.comment = comment

    return _review_step(session, review, REQUEST_CHANGES, actor, comment, expected_revision, now, apply)


def current_review(article: Article) -> Review:
    """The review of the article's current version (every version has one)."""
    version = article.current_version
    if version is None or version.review is None:
        raise InvalidTransition(f"article {article.id} has no current version")
    return version.review


def new_version(
    session: Session,
    article: Article,
    article_json: dict[str, Any],
    actor: User | None,
    *,
    action: str,
    comment: str | None = None,
    expected_revision: int | None = None,
    data: dict[str, Any] | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> ArticleVersion:
    """changes_requested or approved → submitted: add a regenerated or edited version with a new review.

    ``action`` is ``"regenerate"`` or ``"edit"``; ``expected_revision`` is the article's revision.
    ``data`` adds to the audit entry's data (e.g. which sentences an edit changed).
    The previous version's review keeps its final state as history.
    """
    if action not in NEW_VERSION_ACTIONS:
        raise ValueError(f"not a new-version action: {action!r}")
    _check_revision(article.revision, expected_revision)
    old = current_review(article).status
    new = next_state(old, action)
    source = EDITED if action == EDIT else GENERATED
    with _conflicts_as_errors("someone else added a version at the same time; reload and try again"):
        version = add_version(session, article, article_json, actor, source=source, now=now)
        audit.record(
            session,
            AUDIT_ACTIONS[action],
            actor,
            article_id=article.id,
            version_id=version.id,
            from_status=old,
            to_status=new,
            comment=comment,
            data={"version": version.number, **(data or {})},
            now=lambda: version.created_at,
        )
        session.flush()
    return version
