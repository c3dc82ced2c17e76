"""Reading articles: the catalogue (list and title search), the review queue, and one article as shown.

Read-only; the web pages, the REST API and the CLI all call these, so every front end lists, queues and
shows an article the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from vademecum.articles.models import (
    APPROVED,
    CHANGES_REQUESTED,
    REVIEW_STATES,
    SUBMITTED,
    UNDER_REVIEW,
    Article,
    ArticleVersion,
    Review,
    User,
)
from vademecum.errors import InvalidQueryError, NotFoundError
from vademecum.inputs import MAX_DB_INT, check_text

MAX_PAGE = 100
MAX_QUERY = 500


@dataclass(frozen=True, slots=True)
class ArticleSummary:
    """One article in a list: its question, title, current review state and "Last updated"."""

    article_id: int
    question: str
    title: str
    status: str
    version_number: int
    approved_version_number: int | None
    last_updated: dt.datetime | None
    stale: bool
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ArticlePage:
    """One page of a list of articles and how many match in all."""

    items: tuple[ArticleSummary, ...]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class QueueItem:
    """An article waiting for the board: its current version, who made it and who reviews it."""

    article_id: int
    question: str
    version_id: int
    version_number: int
    status: str
    created_at: dt.datetime
    author: str | None
    reviewer: str | None
    stale: bool
    stale_reason: str | None


@dataclass(frozen=True, slots=True)
class VersionStatus:
    """A version number and its review state, for the version switcher."""

    number: int
    status: str


@dataclass(frozen=True, slots=True)
class ArticleView:
    """One version of an article as a page shows it, with the article's review facts.

    A reader sees the approved version when there is one, else the current one (pending review).
    ``status`` is the shown version's review state; ``review_revision`` is what a review form sends back.
    """

    article_id: int
    question: str
    version_id: int
    version_number: int
    status: str
    article_json: dict[str, Any]
    created_at: dt.datetime
    author: str | None
    edited: bool
    reviewer: str | None
    review_comment: str | None
    review_revision: int
    article_revision: int
    current_version_number: int
    approved_version_number: int | None
    last_updated: dt.datetime | None
    stale: bool
    stale_reason: str | None
    versions: tuple[VersionStatus, ...]

    @property
    def pending(self) -> bool:
        """True until this version is approved: the page shows the pending-review banner."""
        return self.status != APPROVED

    @property
    def is_current(self) -> bool:
        """Whether this is the newest version."""
        return self.version_number == self.current_version_number


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidQueryError(f"limit must be 1 to {MAX_PAGE}, not {limit}")
    if not 0 <= offset <= MAX_DB_INT:
        raise InvalidQueryError(f"offset must be 0 to {MAX_DB_INT}, not {offset}")


def list_articles(
    session: Session,
    *,
    query: str = "",
    status: str | None = None,
    approved_only: bool = False,
    limit: int = 20,
    offset: int = 0,
) -> ArticlePage:
    """Articles whose question contains every word of ``query`` (any case), newest first.

    ``status`` filters on the current version's review state; ``approved_only`` keeps articles that have
    an approved version (what readers browse). Raises InvalidQueryError for an unknown status or a bad page.
    """
    _check_page(limit, offset)
    if status is not None and status not in REVIEW_STATES:
        raise InvalidQueryError(f"unknown status {status!r}; choose one of {', '.join(REVIEW_STATES)}")
    check_text(query, "search")  # PostgreSQL cannot compare with a NUL: refused here, not a 500
    if len(query) > MAX_QUERY:
        raise InvalidQueryError(f"the search is longer than {MAX_QUERY} characters")
    current = aliased(ArticleVersion)
    approved = aliased(ArticleVersion)
    statement: Select[Any] = (
        select(Article, current, Review, approved)
        .join(current, Article.current_version_id == current.id)
        .join(Review, Review.version_id == current.id)
        .outerjoin(approved, Article.approved_version_id == approved.id)
    )
    for word in query.split():
        statement = statement.where(Article.question.ilike(f"%{_escape_like(word)}%", escape="\\"))
    if status is not None:
        statement = statement.where(Review.status == status)
    if approved_only:
        statement = statement.where(Article.approved_version_id.is_not(None))
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    ordered = statement.order_by(func.coalesce(approved.created_at, current.created_at).desc(), Article.id.desc())
    rows = session.execute(ordered.limit(limit).offset(offset)).all()
    items = tuple(
        ArticleSummary(
            article_id=article.id,
            question=article.question,
            title=str(version.article_json.get("title") or article.question),
            status=review.status,
            version_number=version.number,
            approved_version_number=approved_version.number if approved_version is not None else None,
            last_updated=approved_version.created_at if approved_version is not None else None,
            stale=article.stale,
            created_at=article.created_at,
        )
        for article, version, review, approved_version in rows
    )
    return ArticlePage(items=items, total=total, limit=limit, offset=offset)


# The queue's groups, in the order a board member works them.
_QUEUE_ORDER = {UNDER_REVIEW: 0, SUBMITTED: 1, CHANGES_REQUESTED: 2, APPROVED: 3}


def review_queue(session: Session) -> list[QueueItem]:
    """What the board has to act on: versions under review, submitted, sent back for changes, and
    approved articles flagged stale; oldest first within each group."""
    author = aliased(User)
    reviewer = aliased(User)
    rows = session.execute(
        select(Article, ArticleVersion, Review, author.username, reviewer.username)
        .join(ArticleVersion, Article.current_version_id == ArticleVersion.id)
        .join(Review, Review.version_id == ArticleVersion.id)
        .outerjoin(author, author.id == ArticleVersion.created_by)
        .outerjoin(reviewer, reviewer.id == Review.reviewer_id)
        .where((Review.status != APPROVED) | Article.stale.is_(True))
    ).all()
    items = [
        QueueItem(
            article_id=article.id,
            question=article.question,
            version_id=version.id,
            version_number=version.number,
            status=review.status,
            created_at=version.created_at,
            author=author_name,
            reviewer=reviewer_name,
            stale=article.stale,
            stale_reason=article.stale_reason,
        )
        for article, version, review, author_name, reviewer_name in rows
    ]
    items.sort(key=lambda item: (_QUEUE_ORDER[item.status], item.created_at, item.article_id))
    return items


def article_view(session: Session, article_id: int, *, version_number: int | None = None) -> ArticleView:
    """Version ``version_number`` of the article, or the one readers see; raises NotFoundError."""
    article = session.get(Article, article_id)
    if article is None:
        raise NotFoundError(f"no article {article_id}")
    versions = article.versions
    if version_number is None:
        version = article.approved_version or article.current_version
    else:
        version = next((candidate for candidate in versions if candidate.number == version_number), None)
    if version is None or version.review is None:
        raise NotFoundError(f"article {article_id} has no version {version_number}")
    review = version.review
    names = dict(
        session.execute(
            select(User.id, User.username).where(User.id.in_({version.created_by, review.reviewer_id} - {None}))
        ).all()
    )
    current = article.current_version
    approved = article.approved_version
    return ArticleView(
        article_id=article.id,
        question=article.question,
        version_id=version.id,
        version_number=version.number,
        status=review.status,
        article_json=version.article_json,
        created_at=version.created_at,
        author=names.get(version.created_by),
        edited=version.edited,
        reviewer=names.get(review.reviewer_id),
        review_comment=review.comment,
        review_revision=review.revision,
        article_revision=article.revision,
        current_version_number=current.number if current is not None else version.number,
        approved_version_number=approved.number if approved is not None else None,
        last_updated=approved.created_at if approved is not None else None,
        stale=article.stale,
        stale_reason=article.stale_reason,
        versions=tuple(
            VersionStatus(candidate.number, candidate.review.status if candidate.review else SUBMITTED)
            for candidate in versions
        ),
    )
