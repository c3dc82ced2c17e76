"""Helpers of the security tests: users with API tokens, and signing in as a browser does."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from vademecum.articles.models import User
from vademecum.services.accounts import add_user, create_api_token
from vademecum.services.runtime import Runtime

PASSWORD = "a long enough passphrase"


def make_users(runtime: Runtime, roles: dict[str, str]) -> tuple[dict[str, User], dict[str, str]]:
    """Users with ``PASSWORD`` and one API token each (name -> secret)."""
    with runtime.session() as session:
        for name, role in roles.items():
            add_user(session, None, name, role, password=PASSWORD, from_command_line=True)
        tokens = {name: create_api_token(session, None, name, "tests", from_command_line=True)[1] for name in roles}
        users = {user.username: user for user in session.scalars(select(User)) if user.username in roles}
        for user in users.values():
            session.expunge(user)
    return users, tokens


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def form_token(html: str) -> str:
    """The CSRF token of the first form of a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def sign_in(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    """Post the sign-in form as a browser does (its CSRF cookie and field)."""
    token = form_token(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, follow_redirects=False
    )


def page_csrf(client: httpx.Client) -> str:
    """The signed-in session's CSRF token, from any page's meta tag."""
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/corpus").text)
    assert match
    return match.group(1)
