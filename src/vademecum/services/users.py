"""Users service: create accounts for editors, reviewers and admins.

Passwords are not handled yet (issue 4 item 4 brings argon2 hashes and login): a user is stored with
no password hash and cannot sign in until one is set.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from vademecum.articles import audit, policy
from vademecum.articles.models import ROLES, User, utcnow
from vademecum.errors import ConflictError, InvalidQueryError

MAX_USERNAME = 150


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A stored user, as shown to an admin."""

    user_id: int
    username: str
    role: str
    has_password: bool
    created_at: dt.datetime


def add_user(
    session: Session,
    actor: User | None,
    username: str,
    role: str,
    *,
    from_command_line: bool = False,
    now: Callable[[], dt.datetime] = utcnow,
) -> UserInfo:
    """Create user ``username`` with ``role`` and record it in the audit log.

    ``actor`` must be allowed to manage users, except ``from_command_line``: whoever runs the command
    already controls the database, and the first admin has to come from somewhere (the audit entry then
    names no actor and says so). Raises InvalidQueryError for a bad name or role, ConflictError when the
    name is taken, PermissionDenied otherwise.
    """
    if not from_command_line:
        policy.require(actor, policy.MANAGE_USERS)
    name = username.strip()
    if not name or len(name) > MAX_USERNAME or any(character.isspace() for character in name):
        raise InvalidQueryError(f"a username is 1 to {MAX_USERNAME} characters without spaces, not {username!r}")
    if role not in ROLES:
        raise InvalidQueryError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if session.scalars(select(User.id).where(User.username == name)).first() is not None:
        raise ConflictError(f"there is already a user called {name!r}")
    user = User(username=name, role=role, password_hash=None, created_at=now())
    session.add(user)
    session.flush()
    audit.record(
        session,
        "vademecum.user.create",
        actor,
        data={"user": user.id, "username": name, "role": role, "via": "command line" if from_command_line else "app"},
        now=now,
    )
    session.flush()
    return UserInfo(user.id, user.username, user.role, has_password=False, created_at=user.created_at)
