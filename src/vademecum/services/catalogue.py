"""Reading articles: the catalogue (list and title search), the review queue, and one article as shown.

Read-only; the web pages, the REST API and the CLI all call these, so every front end lists, queues and
shows an article the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select
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


# The catalogue's joins, built once: an article, its current version and that version's review, and its
# approved version if any. Building the aliases and the statement per call took longer than running it.
_CURRENT = aliased(ArticleVersion, name="current_version")
_APPROVED = aliased(ArticleVersion, name="approved_version")


def _catalogue(*columns: Any) -> Select[Any]:
    return (
        select(*columns)
        .select_from(Article)
        .join(_CURRENT, Article.current_version_id == _CURRENT.id)
        .join(Review, Review.version_id == _CURRENT.id)
        .outerjoin(_APPROVED, Article.approved_version_id == _APPROVED.id)
    )


# Columns, not entities: a list shows the title, and loading each version's whole article to read it
# was most of a title search's time. Newest first: by approval, else by the current version.
_LISTED = _catalogue(
    Article.id,
    Article.question,
    _CURRENT.article_json["title"].as_string(),
    Review.status,
    _CURRENT.number,
    _APPROVED.number,
    _APPROVED.created_at,
    Article.stale,
    Article.created_at,
).order_by(func.coalesce(_APPROVED.created_at, _CURRENT.created_at).desc(), Article.id.desc())
_COUNTED = _catalogue(func.count())


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
    conditions = [Article.question.ilike(f"%{_escape_like(word)}%", escape="\\") for word in query.split()]
    if status is not None:
        conditions.append(Review.status == status)
    if approved_only:
        conditions.append(Article.approved_version_id.is_not(None))
    total = session.scalar(_COUNTED.where(*conditions)) or 0
    rows = session.execute(_LISTED.where(*conditions).limit(limit).offset(offset)).all()
    items = tuple(
        ArticleSummary(
            article_id=article_id,
            question=question,
            title=title or question,
            status=state,
            version_number=number,
            approved_version_number=approved_number,
            last_updated=approved_at,
            stale=stale,
            created_at=created_at,
        )
        for article_id, question, title, state, number, approved_number, approved_at, stale, created_at in rows
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


# The two queries of an article as shown, built once (building them per call cost more than running them):
# every version of the article, with the article's own facts on each row, oldest first; and the shown
# version with its review and the names of its author and reviewer.
_AUTHOR = aliased(User, name="author")
_REVIEWER = aliased(User, name="reviewer")
_ARTICLE_VERSIONS = (
    select(
        Article.question,
        Article.current_version_id,
        Article.approved_version_id,
        Article.stale,
        Article.stale_reason,
        Article.revision,
        ArticleVersion.id,
        ArticleVersion.number,
        ArticleVersion.created_at,
        Review.status,
    )
    .join(ArticleVersion, ArticleVersion.article_id == Article.id)
    .outerjoin(Review, Review.version_id == ArticleVersion.id)
    .where(Article.id == bindparam("article_id"))
    .order_by(ArticleVersion.number)
)
_SHOWN_VERSION = (
    select(
        ArticleVersion.article_json,
        ArticleVersion.edited,
        Review.status,
        Review.comment,
        Review.revision,
        _AUTHOR.username,
        _REVIEWER.username,
    )
    .join(Review, Review.version_id == ArticleVersion.id)
    .outerjoin(_AUTHOR, _AUTHOR.id == ArticleVersion.created_by)
    .outerjoin(_REVIEWER, _REVIEWER.id == Review.reviewer_id)
    .where(ArticleVersion.id == bindparam("version_id"))
)


def article_view(session: Session, article_id: int, *, version_number: int | None = None) -> ArticleView:
    """Version ``version_number`` of the article, or the one readers see; raises NotFoundError."""
    versions = session.execute(_ARTICLE_VERSIONS, {"article_id": article_id}).all()
    if not versions:
        raise NotFoundError(f"no article {article_id}")
    question, current_id, approved_id, stale, stale_reason, article_revision = versions[0][:6]
    by_id = {row.id: row for row in versions}
    if version_number is None:
        shown = by_id.get(approved_id or current_id)
    else:
        shown = next((row for row in versions if row.number == version_number), None)
    found = session.execute(_SHOWN_VERSION, {"version_id": shown.id}).one_or_none() if shown is not None else None
    if shown is None or found is None:
        raise NotFoundError(f"article {article_id} has no version {version_number}")
    article_json, edited, status, comment, review_revision, author, reviewer = found
    current = by_id.get(current_id)
    approved = by_id.get(approved_id) if approved_id is not None else None
    return ArticleView(
        article_id=article_id,
        question=question,
        version_id=shown.id,
        version_number=shown.number,
        status=status,
        article_json=article_json,
        created_at=shown.created_at,
        author=author,
        edited=edited,
        reviewer=reviewer,
        review_comment=comment,
        review_revision=review_revision,
        article_revision=article_revision,
        current_version_number=current.number if current is not None else shown.number,
        approved_version_number=approved.number if approved is not None else None,
        last_updated=approved.created_at if approved is not None else None,
        stale=stale,
        stale_reason=stale_reason,
        versions=tuple(VersionStatus(row.number, row.status or SUBMITTED) for row in versions),
    )
