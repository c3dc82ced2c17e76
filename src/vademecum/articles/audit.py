"""The audit log: registered actions and the one function that writes an entry.

Every workflow step writes exactly one entry, in the same transaction as the change it records, so a
refused or conflicting step leaves no entry and a committed one always has its entry. Entries are
append-only: the ORM refuses to update or delete them (``vademecum.articles.models``).

Registered actions (``ACTIONS``; saving any other name raises ``UnknownAuditAction``):

=================================  ==================================================================
action                             meaning (from → to review state)
=================================  ==================================================================
``vademecum.article.create``       a new question created the article and version 1 (– → submitted)
``vademecum.article.regenerate``   a new version composed against the current corpus (→ submitted)
``vademecum.article.edit``         a new version edited by an editor (→ submitted)
``vademecum.article.mark_stale``   newer or higher-level evidence was ingested for an approved article
``vademecum.review.take``          a reviewer took the version (submitted → under_review)
``vademecum.review.release``       the reviewer gave it back to the queue (under_review → submitted)
``vademecum.review.approve``       approved (under_review → approved)
``vademecum.review.request_changes``  sent back (under_review → changes_requested)
``vademecum.user.create``          a user account was created
``vademecum.user.set_password``    a user's password was set (their browser sessions end, their API tokens
                                  are revoked)
``vademecum.user.deactivate``      a user was deactivated (cannot sign in; sessions end, tokens revoked)
``vademecum.user.activate``        a deactivated user may sign in again
``vademecum.user.token_create``    an API token was created
``vademecum.user.token_revoke``    an API token was revoked
=================================  ==================================================================
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from vademecum.articles.models import AuditEntry, UnknownAuditAction, User, utcnow

ACTIONS: dict[str, str] = {
    "vademecum.article.create": "Article created",
    "vademecum.article.regenerate": "New version generated",
    "vademecum.article.edit": "New version edited",
    "vademecum.article.mark_stale": "Marked stale",
    "vademecum.review.take": "Review started",
    "vademecum.review.release": "Review released",
    "vademecum.review.approve": "Approved",
    "vademecum.review.request_changes": "Changes requested",
    "vademecum.user.create": "User created",
    "vademecum.user.set_password": "Password set",
    "vademecum.user.deactivate": "User deactivated",
    "vademecum.user.activate": "User activated",
    "vademecum.user.token_create": "API token created",
    "vademecum.user.token_revoke": "API token revoked",
}


def record(
    session: Session,
    action: str,
    actor: User | None,
    *,
    article_id: int | None = None,
    version_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
    group: uuid.UUID | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> AuditEntry:
    """Add one audit entry to ``session`` (flushed with the caller's transaction, never committed here).

    ``actor`` None means the system. Raises ``UnknownAuditAction`` for an action not in ``ACTIONS``.
    """
    if action not in ACTIONS:
        raise UnknownAuditAction(f"unknown audit action {action!r}; register it in vademecum.articles.audit")
    entry = AuditEntry(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.username if actor is not None else None,
        timestamp=now(),
        article_id=article_id,
        version_id=version_id,
        from_status=from_status,
        to_status=to_status,
        comment=comment,
        data=data or {},
        group=group or uuid.uuid4(),
    )
    session.add(entry)
    return entry
