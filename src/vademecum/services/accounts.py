"""Accounts service: users, passwords, sign-in sessions and API tokens.

Readers need no account. Editors, reviewers and admins are created by an admin or by ``vademecum users
add`` (whoever runs the command already controls the database). On first start, when no admin exists,
:func:`ensure_first_admin` creates one. Sign-ins are throttled per user name and per client address.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from vademecum.accounts.models import ApiToken, LoginAttempt, WebSession
from vademecum.accounts.passwords import hash_password, needs_rehash, verify_password
from vademecum.accounts.secrets import digest, new_api_token, new_secret
from vademecum.articles import audit, policy
from vademecum.articles.models import ADMIN, ROLES, User, utcnow
from vademecum.errors import AuthenticationError, ConflictError, InvalidQueryError, NotFoundError, TooManyAttempts
from vademecum.services.runtime import Runtime

MAX_USERNAME = 150
FIRST_ADMIN = "admin"
MAX_TOKEN_NAME = 100
# A session's expiry slides with use, but writing on every request would make each page a write.
_TOUCH_INTERVAL = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A stored user, as shown to an admin."""

    user_id: int
    username: str
    role: str
    has_password: bool
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SignIn:
    """A new browser session: the cookie value and CSRF token are only ever shown here."""

    user_id: int
    username: str
    role: str
    session_token: str
    csrf_token: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Authenticated:
    """Who a request acts as, and the CSRF token of its browser session (None for an API token)."""

    user: User
    csrf_token: str | None


@dataclass(frozen=True, slots=True)
class ApiTokenInfo:
    """A stored API token, without its secret."""

    token_id: int
    name: str
    prefix: str
    username: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def _user_info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.role, user.password_hash is not None, user.created_at)


def _check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > MAX_USERNAME or any(character.isspace() for character in name):
        raise InvalidQueryError(f"a username is 1 to {MAX_USERNAME} characters without spaces, not {username!r}")
    return name


def _user_named(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise NotFoundError(f"no user called {username!r}")
    return user


def add_user(
    session: Session,
    actor: User | None,
    username: str,
    role: str,
    *,
    password: str | None = None,
    from_command_line: bool = False,
    now: Callable[[], dt.datetime] = utcnow,
) -> UserInfo:
    """Create user ``username`` with ``role`` (and ``password``, hashed) and record it in the audit log.

    ``actor`` must be allowed to manage users, except ``from_command_line``: whoever runs the command
    already controls the database, and the first admin has to come from somewhere (the audit entry then
    names no actor and says so). Raises InvalidQueryError for a bad name, role or password,
    ConflictError when the name is taken, PermissionDenied otherwise.
    """
    if not from_command_line:
        policy.require(actor, policy.MANAGE_USERS)
    name = _check_username(username)
    if role not in ROLES:
        raise InvalidQueryError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    password_hash = hash_password(password) if password is not None else None
    if session.scalars(select(User.id).where(User.username == name)).first() is not None:
        raise ConflictError(f"there is already a user called {name!r}")
    user = User(username=name, role=role, password_hash=password_hash, created_at=now())
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
    return _user_info(user)


def set_password(
    session: Session,
    actor: User | None,
    username: str,
    password: str,
    *,
    from_command_line: bool = False,
    now: Callable[[], dt.datetime] = utcnow,
) -> UserInfo:
    """Set ``username``'s password: an admin for anyone, a user for themselves, or the command line.

    Every browser session of that user is signed out, so a leaked session dies with the old password.
    """
    user = _user_named(session, _check_username(username))
    if not from_command_line and (actor is None or actor.id != user.id):
        policy.require(actor, policy.MANAGE_USERS)
    user.password_hash = hash_password(password)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit.record(
        session,
        "vademecum.user.set_password",
        actor,
        data={"user": user.id, "username": user.username, "via": "command line" if from_command_line else "app"},
        now=now,
    )
    session.flush()
    return _user_info(user)


def list_users(session: Session) -> list[UserInfo]:
    """Every user, by name."""
    return [_user_info(user) for user in session.scalars(select(User).order_by(User.username))]


def ensure_first_admin(runtime: Runtime, *, now: Callable[[], dt.datetime] = utcnow) -> str | None:
    """Create the first admin when there is no admin yet.

    The password is the ``web.admin_password`` setting, or a random one that is returned (to be printed
    once, never stored in plain text). Returns None when an admin exists or the setting gave the password.
    """
    configured = runtime.settings.web.admin_password
    with runtime.session() as session:
        if session.scalars(select(User.id).where(User.role == ADMIN)).first() is not None:
            return None
        if session.scalars(select(User.id).where(User.username == FIRST_ADMIN)).first() is not None:
            # The name is taken by a non-admin: leave it to the operator rather than promote anyone.
            raise ConflictError(
                f"no admin exists and the name {FIRST_ADMIN!r} is taken: "
                "create one with `vademecum users add NAME --role admin --password`"
            )
        password = configured.get_secret_value() if configured is not None else new_secret()
        add_user(session, None, FIRST_ADMIN, ADMIN, password=password, from_command_line=True, now=now)
    return None if configured is not None else password


def _check_throttle(session: Session, username: str, client: str, limit: int, window: int, at: dt.datetime) -> None:
    since = at - dt.timedelta(seconds=window)
    for column, value, what in (
        (LoginAttempt.username, username, "this user name"),
        (LoginAttempt.client, client, "this address"),
    ):
        failures = session.scalar(
            select(func.count()).where(column == value, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False))
        )
        if failures is not None and failures >= limit:
            oldest = session.scalar(
                select(func.min(LoginAttempt.at)).where(
                    column == value, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False)
                )
            )
            retry_after = max(1, int(((oldest or at) + dt.timedelta(seconds=window) - at).total_seconds()))
            raise TooManyAttempts(
                f"too many failed sign-ins for {what}; try again in {(retry_after + 59) // 60} minute(s)",
                retry_after=retry_after,
            )


def login(
    runtime: Runtime,
    username: str,
    password: str,
    client: str,
    *,
    now: Callable[[], dt.datetime] = utcnow,
) -> SignIn:
    """Check ``username`` and ``password`` and open a browser session.

    Raises TooManyAttempts when the name or ``client`` (its address) has failed ``web.login_max_failures``
    times within ``web.login_window_seconds``, and AuthenticationError for a wrong name or password
    (one message for both, so names cannot be probed).
    """
    web = runtime.settings.web
    name = username.strip()[:MAX_USERNAME]
    at = now()
    with runtime.session() as session:
        _check_throttle(session, name, client, web.login_max_failures, web.login_window_seconds, at)
        user = session.scalars(select(User).where(User.username == name)).one_or_none()
        ok = verify_password(user.password_hash if user is not None else None, password)
        session.add(LoginAttempt(username=name, client=client[:64], at=at, succeeded=ok))
        if not ok or user is None:
            failed = True
        else:
            failed = False
            if user.password_hash is not None and needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            token, csrf = new_secret(), new_secret()
            expires = at + dt.timedelta(hours=web.session_hours)
            session.add(
                WebSession(
                    token_digest=digest(token),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=at,
                    last_seen_at=at,
                    expires_at=expires,
                )
            )
            signed_in = SignIn(user.id, user.username, user.role, token, csrf, expires)
    # Raised after the block so the failed attempt is committed, not rolled back with the error.
    if failed:
        raise AuthenticationError("wrong user name or password")
    return signed_in


def logout(runtime: Runtime, session_token: str) -> None:
    """End the browser session whose cookie is ``session_token`` (nothing happens for an unknown one)."""
    with runtime.session() as session:
        session.execute(delete(WebSession).where(WebSession.token_digest == digest(session_token)))


def authenticate_session(
    runtime: Runtime, session_token: str, *, now: Callable[[], dt.datetime] = utcnow
) -> Authenticated | None:
    """The user of a live browser session (sliding its expiry), or None when unknown or expired."""
    at = now()
    with runtime.session() as session:
        row = session.scalars(select(WebSession).where(WebSession.token_digest == digest(session_token))).one_or_none()
        if row is None:
            return None
        if row.expires_at <= at:
            session.delete(row)
            return None
        if at - row.last_seen_at >= _TOUCH_INTERVAL:
            row.last_seen_at = at
            row.expires_at = at + dt.timedelta(hours=runtime.settings.web.session_hours)
        user = row.user
        session.expunge(user)
        return Authenticated(user, row.csrf_token)


def authenticate_token(runtime: Runtime, token: str, *, now: Callable[[], dt.datetime] = utcnow) -> Authenticated:
    """The user of an API token; raises AuthenticationError for an unknown or revoked one."""
    at = now()
    with runtime.session() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.token_digest == digest(token))).one_or_none()
        if row is None or row.revoked_at is not None:
            raise AuthenticationError("unknown or revoked API token")
        if row.last_used_at is None or at - row.last_used_at >= _TOUCH_INTERVAL:
            row.last_used_at = at
        user = row.user
        session.expunge(user)
        return Authenticated(user, None)


def create_api_token(
    session: Session,
    actor: User | None,
    username: str,
    name: str,
    *,
    from_command_line: bool = False,
    now: Callable[[], dt.datetime] = utcnow,
) -> tuple[ApiTokenInfo, str]:
    """Create an API token acting as ``username``; returns its record and the secret, shown only now.

    A user may create tokens for themselves; an admin (or the command line) for anyone.
    """
    user = _user_named(session, _check_username(username))
    if not from_command_line and (actor is None or actor.id != user.id):
        policy.require(actor, policy.MANAGE_USERS)
    label = name.strip()
    if not label or len(label) > MAX_TOKEN_NAME:
        raise InvalidQueryError(f"a token name is 1 to {MAX_TOKEN_NAME} characters")
    secret = new_api_token()
    row = ApiToken(
        token_digest=digest(secret), prefix=secret[:10], name=label, user_id=user.id, created_at=now(), user=user
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        "vademecum.user.token_create",
        actor,
        data={"user": user.id, "username": user.username, "token": row.id, "name": label},
        now=now,
    )
    session.flush()
    return _token_info(row), secret


def revoke_api_token(
    session: Session, actor: User | None, token_id: int, *, now: Callable[[], dt.datetime] = utcnow
) -> ApiTokenInfo:
    """Revoke a token (its owner or an admin); it stops working at once."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"no API token {token_id}")
    if actor is None or actor.id != row.user_id:
        policy.require(actor, policy.MANAGE_USERS)
    if row.revoked_at is None:
        row.revoked_at = now()
        audit.record(
            session,
            "vademecum.user.token_revoke",
            actor,
            data={"user": row.user_id, "token": row.id, "name": row.name},
            now=now,
        )
    session.flush()
    return _token_info(row)


def _token_info(row: ApiToken) -> ApiTokenInfo:
    return ApiTokenInfo(
        row.id, row.name, row.prefix, row.user.username, row.created_at, row.last_used_at, row.revoked_at
    )
