"""Accounts: argon2 passwords, sign-in sessions, the sign-in throttle, API tokens and the first admin,
through the service and over HTTP (cookies, CSRF), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from vademecum.accounts.models import ApiToken, LoginAttempt, WebSession
from vademecum.articles.models import ADMIN, EDITOR, REVIEWER, AuditEntry, User
from vademecum.errors import AuthenticationError, ConflictError, InvalidQueryError, PermissionDenied
from vademecum.services import accounts
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings, WebSettings
from vademecum.web.app import create_app
from vademecum.web.routers.pages_auth import safe_next

PASSWORD = "a long enough passphrase"
T0 = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def reviewer(runtime: Runtime) -> str:
    with runtime.session() as session:
        accounts.add_user(session, None, "rev", REVIEWER, password=PASSWORD, from_command_line=True)
    return "rev"


def test_passwords_are_stored_as_argon2id_hashes(runtime: Runtime, reviewer: str) -> None:
    with runtime.session() as session:
        stored = session.scalars(select(User.password_hash).where(User.username == reviewer)).one()
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_a_password_must_be_long_enough(runtime: Runtime) -> None:
    with runtime.session() as session, pytest.raises(InvalidQueryError, match="10 to 1024 characters"):
        accounts.add_user(session, None, "short", EDITOR, password="too short", from_command_line=True)


def test_sign_in_opens_a_session_that_expires(runtime: Runtime, reviewer: str) -> None:
    signed_in = accounts.login(runtime, reviewer, PASSWORD, "10.0.0.1", now=lambda: at(0))
    assert (signed_in.username, signed_in.role) == (reviewer, REVIEWER)
    hours = runtime.settings.web.session_hours
    assert signed_in.expires_at == at(hours * 60)
    found = accounts.authenticate_session(runtime, signed_in.session_token, now=lambda: at(30))
    assert found is not None and found.user.username == reviewer and found.csrf_token == signed_in.csrf_token
    # Use slides the expiry: still valid past the first deadline because it was used at minute 30.
    assert accounts.authenticate_session(runtime, signed_in.session_token, now=lambda: at(hours * 60 + 1))
    assert accounts.authenticate_session(runtime, signed_in.session_token, now=lambda: at(hours * 120 + 60)) is None
    with runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0
        # Only a digest of the cookie is stored.
        assert session.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.succeeded)) == 1


def test_wrong_name_and_wrong_password_look_the_same(runtime: Runtime, reviewer: str) -> None:
    messages = []
    for name, password in ((reviewer, "not the password"), ("nobody", PASSWORD)):
        with pytest.raises(AuthenticationError) as error:
            accounts.login(runtime, name, password, "10.0.0.2")
        messages.append(str(error.value))
    assert messages[0] == messages[1] == "wrong user name or password"


def test_setting_a_password_signs_out_every_session(runtime: Runtime, reviewer: str) -> None:
    signed_in = accounts.login(runtime, reviewer, PASSWORD, "10.0.0.3")
    with runtime.session() as session:
        accounts.set_password(session, None, reviewer, "another long passphrase", from_command_line=True)
    assert accounts.authenticate_session(runtime, signed_in.session_token) is None
    with pytest.raises(AuthenticationError):
        accounts.login(runtime, reviewer, PASSWORD, "10.0.0.3")
    assert accounts.login(runtime, reviewer, "another long passphrase", "10.0.0.3")


def test_only_admins_or_the_user_set_passwords(runtime: Runtime, reviewer: str) -> None:
    with runtime.session() as session:
        accounts.add_user(session, None, "ed", EDITOR, password=PASSWORD, from_command_line=True)
        editor = session.scalars(select(User).where(User.username == "ed")).one()
        with pytest.raises(PermissionDenied):
            accounts.set_password(session, editor, reviewer, "a new long passphrase")
        accounts.set_password(session, editor, "ed", "a new long passphrase")


def test_api_tokens_act_as_their_user_until_revoked(runtime: Runtime, reviewer: str) -> None:
    with runtime.session() as session:
        info, secret = accounts.create_api_token(session, None, reviewer, "ci", from_command_line=True)
    assert secret.startswith("vm_") and info.prefix == secret[:10] and info.username == reviewer
    with runtime.session() as session:
        stored = session.scalars(select(ApiToken.token_digest)).one()
    assert secret not in stored and len(stored) == 64
    found = accounts.authenticate_token(runtime, secret)
    assert found.user.username == reviewer and found.csrf_token is None
    with pytest.raises(AuthenticationError, match="unknown or revoked"):
        accounts.authenticate_token(runtime, secret + "x")
    with runtime.session() as session:
        owner = session.scalars(select(User).where(User.username == reviewer)).one()
        revoked = accounts.revoke_api_token(session, owner, info.token_id)
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationError):
        accounts.authenticate_token(runtime, secret)
    with runtime.session() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["vademecum.user.create", "vademecum.user.token_create", "vademecum.user.token_revoke"]


def test_first_admin_is_created_once_with_a_printed_password(runtime: Runtime) -> None:
    password = accounts.ensure_first_admin(runtime)
    assert password is not None and len(password) >= 40
    assert accounts.ensure_first_admin(runtime) is None
    assert accounts.login(runtime, accounts.FIRST_ADMIN, password, "127.0.0.1").role == ADMIN


def test_first_admin_takes_the_configured_password(settings: Settings) -> None:
    web = WebSettings(**{**settings.web.model_dump(), "admin_password": "configured passphrase"})
    runtime = open_runtime(settings.model_copy(update={"web": web}))
    try:
        assert accounts.ensure_first_admin(runtime) is None
        assert accounts.login(runtime, "admin", "configured passphrase", "127.0.0.1").role == ADMIN
    finally:
        runtime.close()


def test_first_admin_refuses_to_take_over_a_name(runtime: Runtime) -> None:
    with runtime.session() as session:
        accounts.add_user(session, None, "admin", EDITOR, from_command_line=True)
    with pytest.raises(ConflictError, match="taken"):
        accounts.ensure_first_admin(runtime)


# Over HTTP: cookies, CSRF on the sign-in form, redirects.


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form has no CSRF field"
    return match.group(1)


def add_reviewer(client: TestClient) -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.session() as session:
        accounts.add_user(session, None, "rev", REVIEWER, password=PASSWORD, from_command_line=True)


def test_sign_in_form_sets_safe_cookies(client: TestClient) -> None:
    add_reviewer(client)
    page = client.get("/login", params={"next": "/review"})
    assert page.status_code == 200
    assert 'id="login-form"' in page.text and 'value="/review"' in page.text
    csrf_cookie = page.headers["set-cookie"]
    assert csrf_cookie.startswith("vm_csrf=") and "HttpOnly" in csrf_cookie and "SameSite=lax" in csrf_cookie
    assert "Secure" not in csrf_cookie  # plain http
    form = {"username": "rev", "password": PASSWORD, "next": "/review", "csrf_token": csrf_from(page.text)}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/review"
    session_cookie = response.headers["set-cookie"]
    assert session_cookie.startswith("vm_session=")
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    home = client.get("/corpus")
    assert "rev" in home.text and "Sign out" in home.text


def test_cookies_are_secure_over_https(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        assert "Secure" in client.get("/login").headers["set-cookie"]


def test_sign_in_needs_the_form_token(client: TestClient) -> None:
    add_reviewer(client)
    client.get("/login")
    response = client.post("/login", data={"username": "rev", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert "security token" in response.text
    assert "vm_session" not in response.headers.get("set-cookie", "")


def test_wrong_password_shows_the_form_again_and_throttles(client: TestClient, settings: Settings) -> None:
    add_reviewer(client)
    token = csrf_from(client.get("/login").text)
    for _ in range(settings.web.login_max_failures):
        response = client.post("/login", data={"username": "rev", "password": "wrong password", "csrf_token": token})
        assert response.status_code == 401 and "wrong user name or password" in response.text
    response = client.post("/login", data={"username": "rev", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429 and "too many failed sign-ins" in response.text
    assert int(response.headers["retry-after"]) > 0


def test_sign_out_needs_the_token_and_ends_the_session(client: TestClient) -> None:
    add_reviewer(client)
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": "rev", "password": PASSWORD, "csrf_token": token})
    assert client.post("/logout", follow_redirects=False).status_code == 403
    page = client.get("/corpus")
    response = client.post("/logout", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert response.status_code == 303
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM web_sessions")).scalar() == 0


def test_a_bad_api_token_is_refused(client: TestClient) -> None:
    response = client.get("/api/corpus", headers={"Authorization": "Bearer vm_not-a-token"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "unknown or revoked API token"}


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/review", "/review"), ("//evil.example/x", "/"), ("https://evil.example/", "/"), ("/\\evil", "/"), ("", "/")],
)
def test_after_sign_in_only_local_paths_are_followed(target: str, expected: str) -> None:
    assert safe_next(target) == expected
