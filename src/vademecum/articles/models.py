"""Stored rows of the editorial side: users, articles, their versions, reviews and the audit log.

The review state lives in its own table, one :class:`Review` per :class:`ArticleVersion` (STYLE §5), never
as a flag on the article; the article only points at its current and its approved version. The database
holds the invariant "at most one open review per article" as a partial unique index.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from vademecum.db import Base
from vademecum.errors import VademecumError


def utcnow() -> dt.datetime:
    """Timezone-aware now, for timestamps."""
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC timestamp on every backend: SQLite drops the zone, so it is put back on reading."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Store UTC; a naive value is refused rather than guessed."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware one")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Read back as aware UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# Roles, lowest first. "reader" is also what an anonymous visitor (actor None) is.
READER, EDITOR, REVIEWER, ADMIN = "reader", "editor", "reviewer", "admin"
ROLES: tuple[str, ...] = (READER, EDITOR, REVIEWER, ADMIN)

# Review states (STYLE §2: chosen once; display labels are separate).
SUBMITTED, UNDER_REVIEW, APPROVED, CHANGES_REQUESTED = "submitted", "under_review", "approved", "changes_requested"
REVIEW_STATES: tuple[str, ...] = (SUBMITTED, UNDER_REVIEW, APPROVED, CHANGES_REQUESTED)
STATE_LABELS: dict[str, str] = {
    SUBMITTED: "Submitted",
    UNDER_REVIEW: "Under Review",
    APPROVED: "Approved",
    CHANGES_REQUESTED: "Changes Requested",
}
# A review is open while a reviewer still has to act on it.
OPEN_STATES: tuple[str, ...] = (SUBMITTED, UNDER_REVIEW)

# Where a version's content came from.
GENERATED, EDITED = "generated", "edited"
VERSION_SOURCES: tuple[str, ...] = (GENERATED, EDITED)


class User(Base):
    """A person who signs in: editor, reviewer or admin (readers need no account)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # argon2id (vademecum.accounts.passwords); None: the user cannot sign in until a password is set.
    password_hash: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Set when an admin deactivates the account: it cannot sign in, and its sessions and tokens are gone.
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class Article(Base):
    """One question (by its normalised wording) and pointers to its current and approved versions.

    ``revision`` is an optimistic-lock counter: every change to the article row checks that nobody else
    changed it since it was read, so two concurrent approvals or new versions cannot both win.
    """

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    normalised_question: Mapped[str] = mapped_column(Text, unique=True)
    question: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # use_alter: articles and versions point at each other, so one side's foreign key is added afterwards.
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("article_versions.id", use_alter=True, name="fk_articles_current_version_id_article_versions")
    )
    approved_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("article_versions.id", use_alter=True, name="fk_articles_approved_version_id_article_versions")
    )
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    stale_reason: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)

    versions: Mapped[list[ArticleVersion]] = relationship(
        back_populates="article", foreign_keys="ArticleVersion.article_id", order_by="ArticleVersion.number"
    )
    current_version: Mapped[ArticleVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)
    approved_version: Mapped[ArticleVersion | None] = relationship(foreign_keys=[approved_version_id], post_update=True)

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": revision}


class ArticleVersion(Base):
    """One immutable rendering of an article: the versioned article JSON (``vademecum.answer.render.to_dict``)."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "number", name="uq_article_versions_article_id_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    article_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    # None: generated by the system for an anonymous asker.
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16), default=GENERATED)
    engine_version: Mapped[str | None] = mapped_column(String(32))
    # The corpus the version was built from (CorpusSnapshot), to tell when newer evidence arrives.
    corpus_last_ingest_run: Mapped[int | None] = mapped_column(Integer)
    corpus_documents: Mapped[int | None] = mapped_column(Integer)
    corpus_indexed_passages: Mapped[int | None] = mapped_column(Integer)

    article: Mapped[Article] = relationship(back_populates="versions", foreign_keys=[article_id])
    review: Mapped[Review | None] = relationship(back_populates="version", uselist=False)


class Review(Base):
    """The review of one version: its state, who reviewed it, when, and with what comment.

    ``revision`` is an optimistic-lock counter (SQLAlchemy ``version_id_col``): a transition based on a
    stale read fails with ``StaleDataError`` instead of overwriting another reviewer's decision.
    """

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("article_versions.id"), unique=True)
    # Denormalised from the version so the partial unique index can name it.
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), default=SUBMITTED, index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    comment: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)

    version: Mapped[ArticleVersion] = relationship(back_populates="review")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": revision}


# "One open review per article" (STYLE §4): the database refuses a second submitted or under-review
# review for the same article, on SQLite and PostgreSQL alike.
_OPEN_REVIEW = Review.status.in_(OPEN_STATES)
Index(
    "uq_reviews_one_open_per_article",
    Review.article_id,
    unique=True,
    sqlite_where=_OPEN_REVIEW,
    postgresql_where=_OPEN_REVIEW,
)


class AuditEntry(Base):
    """One line of the append-only audit log: who did what, when, to which article and version.

    ``action`` must be registered in :mod:`vademecum.articles.audit` (an unknown one fails on flush).
    ``actor_id`` has no foreign key on purpose, so entries outlive the users they name; ``actor_name``
    keeps a snapshot of the username for the same reason. ``group`` ties together the entries written
    by one user action.
    """

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_name: Mapped[str | None] = mapped_column(String(150))
    timestamp: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("article_versions.id"))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    group: Mapped[uuid.UUID] = mapped_column("group_id", Uuid, default=uuid.uuid4)

    @validates("action")
    def _check_action(self, _key: str, action: str) -> str:
        # Imported here because the registry module imports this one.
        from vademecum.articles.audit import ACTIONS

        if action not in ACTIONS:
            raise UnknownAuditAction(f"unknown audit action {action!r}; register it in vademecum.articles.audit")
        return action


class UnknownAuditAction(VademecumError):
    """An audit entry names an action that is not in the registry (a programming error)."""


class AuditLogIsAppendOnly(VademecumError):
    """Something tried to change or delete an audit entry through the ORM."""


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(_mapper: Any, _connection: Any, entry: AuditEntry) -> None:
    raise AuditLogIsAppendOnly(f"audit entry {entry.id} cannot be changed or deleted")
