"""Accounts service: users, passwords, sign-in sessions and API tokens.

Readers need no account. Editors, reviewers and admins are created by an admin or by ``vademecum users
add`` (whoever runs the command already controls the database). On first start, when no admin exists,
:func:`ensure_first_admin` creates one.

Sign-ins are throttled (:func:`login`) so that guessing is slow without letting a guesser lock the real
user out: failures count against the pair (user name, client address), against the address, and against
the user name from everywhere, where a ceiling only adds a growing delay, never a lock-out. Checking the
counts and recording the attempt is one serialised step (``BEGIN IMMEDIATE`` on SQLite, a table lock on
PostgreSQL), and an attempt counts as a failure until its password has been verified, so parallel
requests cannot all pass the check before any of them is recorded.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from vademecum.accounts.models import ApiToken, LoginAttempt, WebSession
from vademecum.accounts.passwords import hash_password, needs_rehash, verify_password
from vademecum.accounts.secrets import digest, new_api_token, new_secret
from vademecum.articles import audit, policy
from vademecum.articles.models import ADMIN, ROLES, User, utcnow
from vademecum.errors import (
    AuthenticationError,
    ConflictError,
    InvalidQueryError,
    NotFoundError,
    SignInRequired,
    TooManyAttempts,
)
from vademecum.inputs import check_text
from vademecum.services.runtime import Runtime
from vademecum.settings import WebSettings

MAX_USERNAME = 150
FIRST_ADMIN = "admin"
MAX_TOKEN_NAME = 100
_SIGN_IN_FOR_TOKENS = "sign in (or send an API token) to manage API tokens"
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
    active: bool = True


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
    return UserInfo(
        user.id, user.username, user.role, user.password_hash is not None, user.created_at, user.deactivated_at is None
    )


def _check_username(username: str) -> str:
    name = check_text(username, "user name").strip()
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

    Every browser session of that user is signed out and every API token of theirs revoked, so a leaked
    session or token dies with the old password (new tokens are created after signing in again).
    """
    user = _user_named(session, _check_username(username))
    if not from_command_line and (actor is None or actor.id != user.id):
        policy.require(actor, policy.MANAGE_USERS)
    user.password_hash = hash_password(password)
    at = now()
    revoked = _end_credentials(session, user, at)
    audit.record(
        session,
        "vademecum.user.set_password",
        actor,
        data={
            "user": user.id,
            "username": user.username,
            "tokens_revoked": revoked,
            "via": "command line" if from_command_line else "app",
        },
        now=lambda: at,
    )
    session.flush()
    return _user_info(user)


def _end_credentials(session: Session, user: User, at: dt.datetime) -> list[int]:
    """Sign out every browser session of ``user`` and revoke their live API tokens; returns the token ids."""
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    revoked = session.scalars(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=at)
        .returning(ApiToken.id)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(revoked)


def set_active(
    session: Session,
    actor: User | None,
    username: str,
    active: bool,
    *,
    from_command_line: bool = False,
    now: Callable[[], dt.datetime] = utcnow,
) -> UserInfo:
    """Deactivate ``username`` (``active`` False) or let them sign in again: an admin or the command line.

    A deactivated user cannot sign in; their browser sessions end and their API tokens are revoked at
    once (tokens stay revoked when the user is activated again). The last active admin cannot be
    deactivated, so the board always has someone who can manage users.
    """
    if not from_command_line:
        policy.require(actor, policy.MANAGE_USERS)
    user = _user_named(session, _check_username(username))
    at = now()
    data: dict[str, object] = {
        "user": user.id,
        "username": user.username,
        "via": "command line" if from_command_line else "app",
    }
    if active:
        user.deactivated_at = None
    else:
        if user.role == ADMIN and user.deactivated_at is None:
            others = session.scalar(
                select(func.count()).where(User.role == ADMIN, User.deactivated_at.is_(None), User.id != user.id)
            )
            if not others:
                raise ConflictError(f"{user.username!r} is the last active admin; make another admin first")
        if user.deactivated_at is None:
            user.deactivated_at = at
        data["tokens_revoked"] = _end_credentials(session, user, at)
    audit.record(
        session, "vademecum.user.activate" if active else "vademecum.user.deactivate", actor, data=data, now=lambda: at
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


def _serialise_sign_ins(session: Session) -> None:
    """Make this transaction the only one checking and recording sign-in attempts until it ends.

    Without it, parallel attempts all count the failures before any of them is recorded and all pass.
    SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock before the first read (the busy timeout
    makes the others wait). PostgreSQL: SHARE ROW EXCLUSIVE conflicts with itself and with writers, not
    with plain reads, so other requests keep reading the table. Either is held for a few queries only: the
    password is verified after the transaction.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))
    elif dialect == "postgresql":
        session.execute(text(f"LOCK TABLE {LoginAttempt.__tablename__} IN SHARE ROW EXCLUSIVE MODE"))


def _wait_text(seconds: int) -> str:
    return f"{(seconds + 59) // 60} minute(s)" if seconds >= 60 else f"{seconds} second(s)"


def _check_throttle(session: Session, username: str, client: str, web: WebSettings, at: dt.datetime) -> None:
    """Raise TooManyAttempts when the attempt must wait (the policy: :func:`login` and the README)."""
    window = dt.timedelta(seconds=web.login_window_seconds)
    failed = (LoginAttempt.at >= at - window, LoginAttempt.succeeded.is_(False))

    def failures(*where: object) -> tuple[int, dt.datetime | None, dt.datetime | None]:
        count, oldest, newest = session.execute(
            select(func.count(), func.min(LoginAttempt.at), func.max(LoginAttempt.at)).where(*failed, *where)
        ).one()
        return count, oldest, newest

    def refuse(until: dt.datetime, what: str) -> None:
        retry_after = max(1, math.ceil((until - at).total_seconds()))
        raise TooManyAttempts(
            f"too many failed sign-ins {what}; try again in {_wait_text(retry_after)}", retry_after=retry_after
        )

    count, oldest, _ = failures(LoginAttempt.username == username, LoginAttempt.client == client)
    if count >= web.login_max_failures and oldest is not None:
        refuse(oldest + window, "for this user name from this address")
    count, oldest, _ = failures(LoginAttempt.client == client)
    if count >= web.login_max_failures_per_address and oldest is not None:
        refuse(oldest + window, "from this address")
    # The name's ceiling slows guessing spread over many addresses without locking the real user out:
    # past it each attempt waits a delay that doubles per failure, up to login_max_delay_seconds.
    count, _, newest = failures(LoginAttempt.username == username)
    if count >= web.login_user_ceiling and newest is not None:
        delay = min(web.login_max_delay_seconds, 2 ** min(count - web.login_user_ceiling, 30))
        if newest + dt.timedelta(seconds=delay) > at:
            refuse(newest + dt.timedelta(seconds=delay), "for this user name")


def login(
    runtime: Runtime,
    username: str,
    password: str,
    client: str,
    *,
    now: Callable[[], dt.datetime] = utcnow,
) -> SignIn:
    """Check ``username`` and ``password`` and open a browser session.

    Raises TooManyAttempts when the attempt must wait: ``web.login_max_failures`` failures for this name
    from ``client`` (its address), ``web.login_max_failures_per_address`` from ``client`` for any names,
    or the growing delay once the name has ``web.login_user_ceiling`` failures from anywhere, all within
    ``web.login_window_seconds``. Raises AuthenticationError for a wrong name or password, or a
    deactivated user (one message for all, so names cannot be probed).
    """
    web = runtime.settings.web
    name = username.strip()[:MAX_USERNAME]
    address = client[:64]
    at = now()
    with runtime.session() as session:
        _serialise_sign_ins(session)
        _check_throttle(session, name, address, web, at)
        # Recorded as a failure before the password is checked, so attempts running in parallel count it.
        attempt = LoginAttempt(username=name, client=address, at=at, succeeded=False)
        session.add(attempt)
        user = session.scalars(select(User).where(User.username == name)).one_or_none()
        session.flush()
        attempt_id = attempt.id
        active = user is not None and user.deactivated_at is None
        stored_hash = user.password_hash if user is not None and active else None
        user_id = user.id if user is not None else None
    if not verify_password(stored_hash, password) or user_id is None:
        raise AuthenticationError("wrong user name or password")
    with runtime.session() as session:
        user = session.get(User, user_id)
        if user is None or user.deactivated_at is not None or user.password_hash != stored_hash:
            # Deactivated, or the password changed, while this one was being checked.
            raise AuthenticationError("wrong user name or password")
        session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=True))
        if needs_rehash(stored_hash):
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
        return SignIn(user.id, user.username, user.role, token, csrf, expires)


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
        if row.user.deactivated_at is not None:
            # Deactivating deletes the sessions; this only covers a session that raced with it.
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
        if row is None or row.revoked_at is not None or row.user.deactivated_at is not None:
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
    label = check_text(name, "token name").strip()
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
    """Revoke a token (its owner or an admin); it stops working at once.

    Who may act is decided before the token is looked up, so the answer is the same for an id that
    exists and one that does not: SignInRequired when anonymous, PermissionDenied for a user who neither
    owns the token nor is an admin; NotFoundError only for an admin.
    """
    if actor is None:
        raise SignInRequired(_SIGN_IN_FOR_TOKENS)
    row = session.get(ApiToken, token_id)
    if row is None or actor.id != row.user_id:
        policy.require(actor, policy.MANAGE_USERS)
    if row is None:
        raise NotFoundError(f"no API token {token_id}")
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


def list_api_tokens(session: Session, actor: User | None) -> list[ApiTokenInfo]:
    """The actor's own API tokens, newest first; an admin's list holds every user's. Never the secrets."""
    if actor is None:
        raise SignInRequired(_SIGN_IN_FOR_TOKENS)
    statement = select(ApiToken).order_by(ApiToken.id.desc())
    if not policy.can(actor, policy.MANAGE_USERS):
        statement = statement.where(ApiToken.user_id == actor.id)
    return [_token_info(row) for row in session.scalars(statement)]


def _token_info(row: ApiToken) -> ApiTokenInfo:
    return ApiTokenInfo(
        row.id, row.name, row.prefix, row.user.username, row.created_at, row.last_used_at, row.revoked_at
    )
