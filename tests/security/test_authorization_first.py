"""Issue 12, item 8: every state-changing endpoint decides who may act before anything else.

The probe: an anonymous approve of a submitted version answered 409 ("cannot approve a version in state
'submitted'"), telling a stranger the version's state, and anonymous ``DELETE /api/tokens/{id}`` answered
403 for an id that exists and 404 for one that does not. Now a caller who may not act gets one answer
whatever the item, its state or the request body: 401 when anonymous, 403 for a role that may not.
The inventory test keeps it so: every state-changing route of the app must be listed here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from security.security_support import bearer, make_users
from vademecum.articles.models import ADMIN, EDITOR, REVIEWER
from vademecum.articles.versions import find_or_create_article
from vademecum.services.runtime import Runtime
from vademecum.settings import Settings
from vademecum.web.app import create_app

ROLES = {"ed": EDITOR, "rev": REVIEWER, "rev2": REVIEWER, "adm": ADMIN}
MISSING = 987654

# Role-guarded routes: (method, path with {article} and {number}, a valid body, a user whose role may not act).
GUARDED = [
    ("POST", "/api/articles/{article}/versions/{number}/transitions", {"action": "approve"}, "ed"),
    ("POST", "/api/articles/{article}/regenerate", {}, "rev"),
    ("POST", "/api/articles/{article}/edits", {"edits": {"1": None}}, "rev"),
    ("POST", "/articles/{article}/versions/{number}/approve", {}, "ed"),
    ("POST", "/articles/{article}/regenerate", {}, "rev"),
    ("POST", "/articles/{article}/edit", {"text-1": "x"}, "rev"),
]
# Routes anyone may use (asking, signing in and out), or that any signed-in user may (their tokens).
OPEN = {("POST", "/api/ask"), ("POST", "/ask"), ("POST", "/login"), ("POST", "/logout")}
SIGNED_IN = {("POST", "/api/tokens"), ("DELETE", "/api/tokens/{token_id}")}
ROUTE_OF = {
    "/api/articles/{article}/versions/{number}/transitions": "/api/articles/{article_id}/versions/{number}/transitions",
    "/api/articles/{article}/regenerate": "/api/articles/{article_id}/regenerate",
    "/api/articles/{article}/edits": "/api/articles/{article_id}/edits",
    "/articles/{article}/versions/{number}/approve": "/articles/{article_id}/versions/{number}/{step}",
    "/articles/{article}/regenerate": "/articles/{article_id}/regenerate",
    "/articles/{article}/edit": "/articles/{article_id}/edit",
}


@dataclass
class Site:
    app: FastAPI
    client: TestClient
    tokens: dict[str, str]
    article_id: int

    def send(self, method: str, path: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, str]:
        if path.startswith("/api/"):
            response = self.client.request(method, path, json=body, headers=headers)
        else:
            response = self.client.request(method, path, data=body, headers=headers, follow_redirects=False)
        if response.status_code < 400:
            return response.status_code, ""
        detail = response.json()["detail"] if path.startswith("/api/") else _message(response.text)
        return response.status_code, detail


def _message(html: str) -> str:
    """The error page's message (the page also carries a per-request CSRF token, so it is not compared whole)."""
    match = re.search(r'<p class="error" role="alert">(.*?)</p>', html, re.S)
    assert match, html
    return match.group(1)


@pytest.fixture
def site(settings: Settings, runtime: Runtime) -> Iterator[Site]:
    """A store with the board's users and one article whose version 1 is submitted (so approving it, or
    regenerating or editing it, is not possible now: 409 for someone who may act)."""
    _, tokens = make_users(runtime, ROLES)
    with runtime.session() as session:
        article, _ = find_or_create_article(session, "How is it treated?", {"title": "How is it treated?"}, None)
        article_id = article.id
    app = create_app(settings)
    with TestClient(app) as client:
        yield Site(app, client, tokens, article_id)


def _variants(site: Site, path: str, body: dict[str, object]) -> list[tuple[str, object]]:
    """The same request on the submitted article, on an article that does not exist, and with a bad body."""
    here = path.format(article=site.article_id, number=1)
    bad = ["not", "a", "body"] if path.startswith("/api/") else {"comment": "x" * 6000, "expected_revision": "x"}
    return [(here, body), (path.format(article=MISSING, number=MISSING), body), (here, bad)]


@pytest.mark.parametrize(("method", "path", "body", "wrong_role"), GUARDED)
def test_who_may_act_is_decided_before_the_item_its_state_or_the_body(
    site: Site, method: str, path: str, body: dict[str, object], wrong_role: str
) -> None:
    for who, status in ((None, 401), (wrong_role, 403)):
        headers = bearer(site.tokens[who]) if who else None
        answers = {site.send(method, url, sent, headers) for url, sent in _variants(site, path, body)}
        assert len(answers) == 1, answers  # one answer, whatever the item, its state or the body
        assert next(iter(answers))[0] == status, answers


def test_anonymous_approve_of_a_submitted_version_is_401_not_409(site: Site) -> None:
    status, detail = site.send("POST", f"/api/articles/{site.article_id}/versions/1/transitions", {"action": "approve"})
    assert (status, detail) == (
        401,
        "an anonymous reader may not review articles: sign in or send an API token",
    )
    response = site.client.post(f"/api/articles/{site.article_id}/versions/1/transitions", json={"action": "approve"})
    assert response.headers["www-authenticate"] == "Bearer"
    # Someone who may act is told about the state.
    status, _ = site.send(
        "POST",
        f"/api/articles/{site.article_id}/versions/1/transitions",
        {"action": "approve"},
        bearer(site.tokens["rev"]),
    )
    assert status == 409
    # An editor is refused for the role.
    status, detail = site.send(
        "POST",
        f"/api/articles/{site.article_id}/versions/1/transitions",
        {"action": "approve"},
        bearer(site.tokens["ed"]),
    )
    assert (status, detail) == (403, "ed (editor) may not review articles")


def test_revoking_a_token_answers_alike_for_ids_that_exist_and_ids_that_do_not(site: Site) -> None:
    # Tokens are numbered in ROLES order: 1 is ed's, 2 is rev's.
    anonymous = {site.send("DELETE", f"/api/tokens/{token_id}", None) for token_id in (1, MISSING)}
    assert anonymous == {(401, "sign in (or send an API token) to manage API tokens")}
    stranger = {
        site.send("DELETE", f"/api/tokens/{token_id}", None, bearer(site.tokens["rev2"])) for token_id in (1, MISSING)
    }
    assert stranger == {(403, "rev2 (reviewer) may not manage users")}
    # The owner revokes theirs; an admin learns that an id does not exist.
    assert site.send("DELETE", "/api/tokens/2", None, bearer(site.tokens["rev"]))[0] == 200
    assert site.send("DELETE", f"/api/tokens/{MISSING}", None, bearer(site.tokens["adm"])) == (
        404,
        f"no API token {MISSING}",
    )


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every route of the app, also those of included routers (FastAPI wraps those)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (router := getattr(route, "original_router", None)) is not None:
            yield from _api_routes(router.routes)


def test_every_state_changing_route_is_checked_here(site: Site) -> None:
    """A new POST, PUT, PATCH or DELETE route must join GUARDED (with a refusal test) or say why it is open."""
    changing = {
        (method, route.path)
        for route in _api_routes(site.app.routes)
        for method in route.methods
        if method in {"POST", "PUT", "PATCH", "DELETE"}
    }
    listed = {(method, ROUTE_OF[path]) for method, path, _, _ in GUARDED} | OPEN | SIGNED_IN
    assert changing == listed
