"""Issue 12, item 9: API tokens cannot breed, die with the password or the account, and can be listed.

The probe: a token created another token (201) that kept working after the first was revoked; a password
change left every token valid; nobody could list their tokens. Now a token asking for a token gets 403,
setting a password or deactivating the user revokes their tokens (and deactivation ends their sessions
and sign-ins), and ``GET /api/tokens`` lists one's own tokens (an admin's lists all), never a secret.
Migration 0005 (the deactivation date) is checked on SQLite and PostgreSQL, up and down.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from security.security_support import PASSWORD, bearer, make_users, page_csrf, sign_in
from vademecum.articles.models import ADMIN, EDITOR, REVIEWER, AuditEntry
from vademecum.cli import app as cli_app
from vademecum.db import MIGRATIONS_DIR, create_db_engine
from vademecum.errors import AuthenticationError, ConflictError
from vademecum.services import accounts
from vademecum.services.runtime import Runtime
from vademecum.settings import Settings
from vademecum.web.app import create_app

ROLES = {"ed": EDITOR, "rev": REVIEWER, "adm": ADMIN}
TOKEN_FIELDS = {"token_id", "name", "prefix", "username", "created_at", "last_used_at", "revoked_at"}


@dataclass
class Site:
    client: TestClient
    runtime: Runtime
    tokens: dict[str, str]

    def works(self, secret: str) -> bool:
        """Whether ``secret`` is accepted (listing one's tokens needs no role)."""
        status = self.client.get("/api/tokens", headers=bearer(secret)).status_code
        assert status in (200, 401)
        return status == 200


@pytest.fixture
def site(settings: Settings, runtime: Runtime) -> Iterator[Site]:
    _, tokens = make_users(runtime, ROLES)
    with TestClient(create_app(settings)) as client:
        yield Site(client, runtime, tokens)


def test_a_token_cannot_create_tokens(site: Site) -> None:
    response = site.client.post("/api/tokens", json={"name": "child"}, headers=bearer(site.tokens["rev"]))
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "an API token cannot create API tokens: sign in with your password to create one"},
    )
    # A browser session signed in with the password can.
    assert sign_in(site.client, "rev").status_code == 303
    response = site.client.post("/api/tokens", json={"name": "mine"}, headers={"X-CSRF-Token": page_csrf(site.client)})
    assert response.status_code == 201 and response.json()["secret"].startswith("vm_")


def test_a_password_change_revokes_the_users_tokens(site: Site) -> None:
    assert site.works(site.tokens["rev"]) and site.works(site.tokens["ed"])
    with site.runtime.session() as session:
        accounts.set_password(session, None, "rev", "a brand new passphrase", from_command_line=True)
    assert not site.works(site.tokens["rev"])
    assert site.works(site.tokens["ed"])  # nobody else's
    listed = site.client.get("/api/tokens", headers=bearer(site.tokens["adm"])).json()["tokens"]
    assert {t["username"]: t["revoked_at"] is not None for t in listed} == {"ed": False, "rev": True, "adm": False}


def test_deactivating_a_user_revokes_tokens_ends_sessions_and_sign_ins(site: Site) -> None:
    assert sign_in(site.client, "ed").status_code == 303
    assert site.client.get("/review").status_code == 200
    with site.runtime.session() as session:
        info = accounts.set_active(session, None, "ed", False, from_command_line=True)
    assert not info.active
    assert not site.works(site.tokens["ed"])
    assert site.client.get("/review", follow_redirects=False).status_code == 303  # signed out: to /login
    with pytest.raises(AuthenticationError, match="wrong user name or password"):
        accounts.login(site.runtime, "ed", PASSWORD, "10.0.0.1")
    with site.runtime.session() as session:
        accounts.set_active(session, None, "ed", True, from_command_line=True)
        actions = [entry.action for entry in session.query(AuditEntry).order_by(AuditEntry.id)][-2:]
    assert actions == ["vademecum.user.deactivate", "vademecum.user.activate"]
    assert accounts.login(site.runtime, "ed", PASSWORD, "10.0.0.1").username == "ed"
    assert not site.works(site.tokens["ed"])  # revoked tokens stay revoked


def test_the_last_admin_cannot_be_deactivated(site: Site) -> None:
    with site.runtime.session() as session, pytest.raises(ConflictError, match="last active admin"):
        accounts.set_active(session, None, "adm", False, from_command_line=True)


def test_users_list_their_own_tokens_and_admins_all_without_secrets(site: Site) -> None:
    mine = site.client.get("/api/tokens", headers=bearer(site.tokens["rev"]))
    assert mine.status_code == 200
    tokens = mine.json()["tokens"]
    assert [(t["username"], t["name"]) for t in tokens] == [("rev", "tests")]
    assert set(tokens[0]) == TOKEN_FIELDS
    everyone = site.client.get("/api/tokens", headers=bearer(site.tokens["adm"])).json()["tokens"]
    assert sorted(t["username"] for t in everyone) == sorted(ROLES)
    text_of_lists = mine.text + site.client.get("/api/tokens", headers=bearer(site.tokens["adm"])).text
    assert not any(secret in text_of_lists or secret[10:] in text_of_lists for secret in site.tokens.values())
    response = site.client.get("/api/tokens")
    assert (response.status_code, response.json()) == (
        401,
        {"detail": "sign in (or send an API token) to manage API tokens"},
    )


def test_migration_0005_adds_the_deactivation_date(database_url: str) -> None:
    engine = create_db_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))

    def migrate(step: str, revision: str) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, step)(config, revision)

    try:
        migrate("upgrade", "0004")
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO users (username, role, created_at) VALUES ('old', 'editor', CURRENT_TIMESTAMP)")
            )
        assert "deactivated_at" not in {c["name"] for c in inspect(engine).get_columns("users")}
        migrate("upgrade", "head")
        assert "deactivated_at" in {c["name"] for c in inspect(engine).get_columns("users")}
        with engine.connect() as connection:
            assert connection.execute(text("SELECT username, deactivated_at FROM users")).all() == [("old", None)]
        migrate("downgrade", "0004")
        assert "deactivated_at" not in {c["name"] for c in inspect(engine).get_columns("users")}
        with engine.connect() as connection:
            assert connection.execute(text("SELECT username FROM users")).scalars().all() == ["old"]
    finally:
        engine.dispose()


def test_users_deactivate_and_activate_commands(
    site: Site, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VADEMECUM_HOME", str(settings.home))
    monkeypatch.setenv("VADEMECUM_DATABASE_URL", settings.resolved_database_url)
    cli = CliRunner()
    result = cli.invoke(cli_app, ["users", "deactivate", "rev"])
    assert (result.exit_code, result.stdout) == (
        0,
        "deactivated 'rev'; their browser sessions were signed out, their API tokens revoked\n",
    )
    listed = cli.invoke(cli_app, ["users", "list"]).stdout.splitlines()
    assert [line.split()[1] for line in listed if line.endswith("deactivated")] == ["rev"]
    assert not site.works(site.tokens["rev"])
    result = cli.invoke(cli_app, ["users", "activate", "rev"])
    assert (result.exit_code, result.stdout) == (0, "activated 'rev'\n")
    assert not any(line.endswith("deactivated") for line in cli.invoke(cli_app, ["users", "list"]).stdout.splitlines())
