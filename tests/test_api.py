"""The REST API over HTTP, on SQLite and PostgreSQL: who may change what (anonymous, wrong role, author,
missing CSRF token, bad or revoked API token), every workflow transition, two reviewers approving at once
against a real server, the OpenAPI description, the article JSON schema and the exports.

Articles are the real composed articles of questions from tests/test_ask.py, composed once on the demo
corpus and stored in each test's fresh database (``compose=``), as in tests/test_articles.py.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jsonschema
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from app_server import serving
from vademecum.answer.article import Article as ComposedArticle
from vademecum.answer.article import ReferenceKind
from vademecum.answer.reference_export import to_bibtex, to_ris
from vademecum.answer.render import from_json, to_html, to_json, to_markdown
from vademecum.articles.edits import editable_sentences
from vademecum.articles.models import (
    ADMIN,
    APPROVED,
    CHANGES_REQUESTED,
    EDITOR,
    REVIEW_STATES,
    REVIEWER,
    SUBMITTED,
    UNDER_REVIEW,
    AuditEntry,
    User,
)
from vademecum.articles.workflow import NEW_VERSION_ACTIONS, REVIEW_ACTIONS, TRANSITIONS, WORKFLOW_ACTIONS
from vademecum.cli import app as cli_app
from vademecum.services import articles as service
from vademecum.services.accounts import (
    add_user,
    authenticate_token,
    create_api_token,
    login,
    revoke_api_token,
)
from vademecum.services.ask import ask
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings
from vademecum.web.app import create_app

REPO_ROOT = Path(__file__).resolve().parent.parent
# Questions from tests/test_ask.py: the first article cites research with PMIDs.
QUESTION = "What is the management for neuroendocrine tumors (NETs)?"
RACE_QUESTIONS = ("How is pheochromocytoma diagnosed?", "How is early-stage breast cancer treated?")
PASSWORD = "long enough password"
CONFLICTS = {
    "someone else changed this review at the same time; reload and try again",
    "cannot approve a version in state 'approved'",
}
# Who is who: "rev" asked the question (so generated version 1), "rev2" reviews it, "ed" edits.
USERS = {"ed": EDITOR, "rev": REVIEWER, "rev2": REVIEWER, "adm": ADMIN}


@pytest.fixture(scope="module")
def composed(demo_settings: Settings) -> dict[str, ComposedArticle]:
    runtime = open_runtime(demo_settings)
    try:
        return {question: ask(runtime, question) for question in (QUESTION, *RACE_QUESTIONS)}
    finally:
        runtime.close()


@dataclass
class World:
    """An app over a fresh store with four users, their API tokens and one article asked by "rev"."""

    client: TestClient
    runtime: Runtime
    users: dict[str, User]
    tokens: dict[str, str]
    revoked_token: str
    article_id: int
    composed: dict[str, ComposedArticle]

    def bearer(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def new_article(self, question: str) -> int:
        article = self.composed[question]
        state = service.ask_article(self.runtime, question, self.users["rev"], compose=lambda _r, _q: article)
        return state.article_id


def make_users(runtime: Runtime) -> tuple[dict[str, User], dict[str, str], str]:
    with runtime.session() as session:
        for name, role in USERS.items():
            add_user(session, None, name, role, password=PASSWORD, from_command_line=True)
        tokens = {name: create_api_token(session, None, name, "tests", from_command_line=True)[1] for name in USERS}
        old, revoked = create_api_token(session, None, "rev2", "old", from_command_line=True)
        users = {user.username: user for user in session.scalars(select(User))}
        revoke_api_token(session, users["rev2"], old.token_id)
    return users, tokens, revoked


@pytest.fixture
def world(settings: Settings, runtime: Runtime, composed: dict[str, ComposedArticle]) -> Iterator[World]:
    users, tokens, revoked = make_users(runtime)
    with TestClient(create_app(settings)) as client:
        world = World(client, runtime, users, tokens, revoked, 0, composed)
        world.article_id = world.new_article(QUESTION)
        yield world


def audit_rows(runtime: Runtime, article_id: int | None = None) -> list[tuple[str, str | None, str | None, str | None]]:
    with runtime.session() as session:
        statement = select(AuditEntry).order_by(AuditEntry.id)
        if article_id is not None:
            statement = statement.where(AuditEntry.article_id == article_id)
        return [(e.action, e.actor_name, e.from_status, e.to_status) for e in session.scalars(statement)]


def review_status(runtime: Runtime, article_id: int) -> tuple[str, int]:
    with runtime.session() as session:
        state = service.article_state(service.get_article(session, article_id))
        return state.status, state.version_number


def bring_to(world: World, article_id: int, state: str) -> None:
    """Drive the current version into ``state`` with the service layer (rev2 reviews)."""
    with world.runtime.session() as session:
        version_id = service.article_state(service.get_article(session, article_id)).version_id
        if state != SUBMITTED:
            service.review_step(session, world.users["rev2"], version_id, "take")
        if state == APPROVED:
            service.review_step(session, world.users["rev2"], version_id, "approve")
        elif state == CHANGES_REQUESTED:
            service.review_step(session, world.users["rev2"], version_id, "request_changes", comment="sent back")
    assert review_status(world.runtime, article_id)[0] == state


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the real form; returns the session's CSRF token from the page's meta tag."""
    page = client.get("/login")
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert form_token, page.text
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": form_token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/corpus").text)
    assert meta
    return meta.group(1)


def request_for(action: str, article_id: int) -> tuple[str, dict[str, object]]:
    """URL and JSON body of a workflow action on the article's version 1 (or the article)."""
    base = f"/api/articles/{article_id}"
    if action == "regenerate":
        return f"{base}/regenerate", {}
    if action == "edit":
        return f"{base}/edits", {"edits": {"1": None}}
    return f"{base}/versions/1/transitions", {"action": action}


# For each action: the state it is allowed from here, a user of the wrong role, and a user the policy
# refuses despite the right role (the version's author, or a reviewer who did not take it).
REFUSALS = {
    "take": (SUBMITTED, "ed", "rev"),
    "release": (UNDER_REVIEW, "ed", "rev"),
    "approve": (UNDER_REVIEW, "ed", "rev"),
    "request_changes": (UNDER_REVIEW, "ed", None),
    "regenerate": (CHANGES_REQUESTED, "rev2", None),
    "edit": (CHANGES_REQUESTED, "rev2", None),
}


@pytest.mark.parametrize("action", list(REFUSALS))
def test_refused_requests_write_nothing(world: World, action: str) -> None:
    state, wrong_role, refused = REFUSALS[action]
    bring_to(world, world.article_id, state)
    url, body = request_for(action, world.article_id)
    before_rows, before_state = audit_rows(world.runtime), review_status(world.runtime, world.article_id)

    def refused_with(status: int, detail: str, **kwargs: object) -> None:
        response = world.client.post(url, json=body, **kwargs)  # type: ignore[arg-type]
        assert (response.status_code, response.json()) == (status, {"detail": detail})
        assert audit_rows(world.runtime) == before_rows
        assert review_status(world.runtime, world.article_id) == before_state

    # Who may act is decided before the state (tests/security/test_authorization_first.py): anonymous is 401.
    spoken = "review articles" if action in REVIEW_ACTIONS else action.replace("_", " ")
    refused_with(401, f"an anonymous reader may not {spoken}: sign in or send an API token")
    refused_with(403, f"{wrong_role} ({USERS[wrong_role]}) may not {spoken}", headers=world.bearer(wrong_role))
    if refused == "rev" and action in ("take", "approve"):
        refused_with(
            403, f"rev (reviewer) cannot {action} a version they generated or edited", headers=world.bearer("rev")
        )
    elif refused == "rev":
        refused_with(403, "rev (reviewer) may not release", headers=world.bearer("rev"))
    refused_with(401, "unknown or revoked API token", headers={"Authorization": "Bearer vm_not-a-token"})
    refused_with(401, "unknown or revoked API token", headers={"Authorization": f"Bearer {world.revoked_token}"})

    # A signed-in browser session of a user who may act, without or with a wrong CSRF token.
    allowed = "ed" if action in NEW_VERSION_ACTIONS else "rev2"
    csrf = sign_in(world.client, allowed)
    csrf_refusal = "the form's security token is missing or out of date: reload the page and try again"
    refused_with(403, csrf_refusal)
    refused_with(403, csrf_refusal, headers={"X-CSRF-Token": csrf[::-1]})
    if action in REVIEW_ACTIONS:
        # The same session with its token is let through (the refusals above were about the token).
        response = world.client.post(url, json=body, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == TRANSITIONS[(state, action)]
        assert audit_rows(world.runtime)[len(before_rows) :] == [
            (f"vademecum.review.{action}", "rev2", state, TRANSITIONS[(state, action)])
        ]


def test_ask_and_tokens_refusals(world: World) -> None:
    before = audit_rows(world.runtime)
    ask_body = {"question": QUESTION}
    response = world.client.post("/api/ask", json=ask_body, headers={"Authorization": f"Bearer {world.revoked_token}"})
    assert (response.status_code, response.headers["www-authenticate"]) == (401, "Bearer")
    response = world.client.post("/api/tokens", json={"name": "x"})
    assert (response.status_code, response.json()) == (
        401,
        {"detail": "sign in (or send an API token) to manage API tokens"},
    )
    # Tokens are numbered in USERS order: 1 is ed's, 2 is rev's.
    response = world.client.delete("/api/tokens/1", headers=world.bearer("ed"))
    assert response.status_code == 200 and response.json()["username"] == "ed"
    response = world.client.delete("/api/tokens/2", headers=world.bearer("rev2"))
    assert (response.status_code, response.json()) == (403, {"detail": "rev2 (reviewer) may not manage users"})
    assert audit_rows(world.runtime)[len(before) :] == [("vademecum.user.token_revoke", "ed", None, None)]
    sign_in(world.client, "rev")
    for method, url, body in (("POST", "/api/ask", ask_body), ("POST", "/api/tokens", {"name": "x"})):
        response = world.client.request(method, url, json=body)
        assert response.status_code == 403
    response = world.client.delete("/api/tokens/2")
    assert response.status_code == 403
    assert audit_rows(world.runtime)[len(before) :] == [("vademecum.user.token_revoke", "ed", None, None)]


def test_tokens_created_over_the_api_work_until_revoked(world: World) -> None:
    csrf = sign_in(world.client, "rev2")
    response = world.client.post("/api/tokens", json={"name": "my script"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["name"], created["username"], created["revoked_at"]) == ("my script", "rev2", None)
    assert created["secret"].startswith(created["prefix"])
    world.client.cookies.clear()
    token = {"Authorization": f"Bearer {created['secret']}"}
    url, body = request_for("take", world.article_id)
    assert world.client.post(url, json=body, headers=token).status_code == 200
    response = world.client.delete(f"/api/tokens/{created['token_id']}", headers=token)
    assert response.status_code == 200 and response.json()["revoked_at"] is not None
    response = world.client.post(url, json={"action": "release"}, headers=token)
    assert (response.status_code, response.json()) == (401, {"detail": "unknown or revoked API token"})
    assert review_status(world.runtime, world.article_id) == (UNDER_REVIEW, 1)


def test_take_then_approve_writes_exactly_these_audit_rows(world: World) -> None:
    url = f"/api/articles/{world.article_id}/versions/1/transitions"
    shown = world.client.get(f"/api/articles/{world.article_id}").json()
    assert (shown["status"], shown["review_revision"], shown["author"], shown["last_updated"]) == (
        SUBMITTED,
        1,
        "rev",
        None,
    )
    taken = world.client.post(
        url, json={"action": "take", "expected_revision": 1, "comment": "mine"}, headers=world.bearer("rev2")
    )
    assert taken.status_code == 200
    assert (taken.json()["status"], taken.json()["reviewer"], taken.json()["review_revision"]) == (
        UNDER_REVIEW,
        "rev2",
        2,
    )
    approved = world.client.post(
        url, json={"action": "approve", "expected_revision": 2, "comment": "checked"}, headers=world.bearer("rev2")
    )
    assert approved.status_code == 200
    body = approved.json()
    assert (body["status"], body["approved_version_number"], body["review_comment"]) == (APPROVED, 1, "checked")
    assert body["last_updated"] == body["created_at"]
    assert audit_rows(world.runtime) == [
        ("vademecum.user.create", None, None, None),
        ("vademecum.user.create", None, None, None),
        ("vademecum.user.create", None, None, None),
        ("vademecum.user.create", None, None, None),
        *[("vademecum.user.token_create", None, None, None)] * 5,
        ("vademecum.user.token_revoke", "rev2", None, None),
        ("vademecum.article.create", "rev", None, SUBMITTED),
        ("vademecum.review.take", "rev2", SUBMITTED, UNDER_REVIEW),
        ("vademecum.review.approve", "rev2", UNDER_REVIEW, APPROVED),
    ]
    history = world.client.get(f"/api/articles/{world.article_id}/history").json()
    assert [(e["action"], e["actor_name"], e["comment"]) for e in history["entries"]] == [
        ("vademecum.article.create", "rev", None),
        ("vademecum.review.take", "rev2", "mine"),
        ("vademecum.review.approve", "rev2", "checked"),
    ]
    assert [(v["number"], v["status"], v["reviewer_id"]) for v in history["versions"]] == [
        (1, APPROVED, world.users["rev2"].id)
    ]
    # A stale form (the revision before the approval) is a conflict, not a second decision.
    stale = world.client.post(url, json={"action": "release", "expected_revision": 2}, headers=world.bearer("adm"))
    assert stale.status_code == 409


# Allowed new versions need stored passages to cite: test_new_versions_over_http runs them on the demo store.
PAIRS_WITHOUT_CORPUS = [
    (state, action)
    for state, action in itertools.product(REVIEW_STATES, WORKFLOW_ACTIONS)
    if not ((state, action) in TRANSITIONS and action in NEW_VERSION_ACTIONS)
]


@pytest.mark.parametrize(("state", "action"), PAIRS_WITHOUT_CORPUS)
def test_every_transition_over_http(world: World, state: str, action: str) -> None:
    """Each (state, action) pair of the workflow, by an admin who may do everything but approve their own."""
    bring_to(world, world.article_id, state)
    url, body = request_for(action, world.article_id)
    before = audit_rows(world.runtime)
    allowed = (state, action) in TRANSITIONS
    response = world.client.post(url, json=body, headers=world.bearer("adm"))
    if allowed:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == TRANSITIONS[(state, action)]
        assert audit_rows(world.runtime)[len(before) :] == [
            (f"vademecum.review.{action}", "adm", state, TRANSITIONS[(state, action)])
        ]
    else:
        assert (response.status_code, response.json()) == (
            409,
            {"detail": f"cannot {action.replace('_', ' ')} a version in state {state!r}"},
        )
        assert audit_rows(world.runtime) == before
        assert review_status(world.runtime, world.article_id) == (state, 1)


@pytest.fixture
def demo_copy(demo_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the ingested demo store, for tests that write articles citing its passages."""
    home = tmp_path / "demo-copy"
    shutil.copytree(demo_settings.home, home)
    return Settings(home=home, corpus=demo_settings.corpus)


def test_new_versions_over_http(demo_copy: Settings) -> None:
    runtime = open_runtime(demo_copy)
    try:
        users, tokens, _ = make_users(runtime)
        with TestClient(create_app(demo_copy)) as client:
            asked = client.post("/api/ask", json={"question": QUESTION})
            assert asked.status_code == 201, asked.text
            first = asked.json()
            assert (first["created"], first["status"], first["version_number"], first["author"]) == (
                True,
                SUBMITTED,
                1,
                None,
            )
            again = client.post(
                "/api/ask", json={"question": "  what is the MANAGEMENT for neuroendocrine tumors (NETs)"}
            )
            assert again.status_code == 200
            assert (again.json()["created"], again.json()["article_id"]) == (False, first["article_id"])
            article_id = first["article_id"]
            world = World(client, runtime, users, tokens, "", article_id, {})
            bring_to(world, article_id, CHANGES_REQUESTED)

            sentences = editable_sentences(first["article"])
            revision = client.get(f"/api/articles/{article_id}").json()["article_revision"]
            edited = client.post(
                f"/api/articles/{article_id}/edits",
                json={"edits": {"1": None}, "comment": "first sentence removed", "expected_revision": revision},
                headers=world.bearer("ed"),
            )
            assert edited.status_code == 201, edited.text
            body = edited.json()
            assert (body["version_number"], body["status"], body["edited"], body["author"]) == (
                2,
                SUBMITTED,
                True,
                "ed",
            )
            assert [s.text for s in editable_sentences(body["article"])] == [s.text for s in sentences[1:]]

            bring_to(world, article_id, APPROVED)
            regenerated = client.post(f"/api/articles/{article_id}/regenerate", json={}, headers=world.bearer("ed"))
            assert regenerated.status_code == 201, regenerated.text
            body = regenerated.json()
            assert (body["version_number"], body["status"], body["edited"]) == (3, SUBMITTED, False)
            assert body["article"]["title"] == first["article"]["title"]
            # Readers still see the approved version 2 until version 3 is approved.
            shown = client.get(f"/api/articles/{article_id}").json()
            assert (shown["version_number"], shown["status"], shown["current_version_number"]) == (2, APPROVED, 3)
        assert audit_rows(runtime, article_id) == [
            ("vademecum.article.create", None, None, SUBMITTED),
            ("vademecum.review.take", "rev2", SUBMITTED, UNDER_REVIEW),
            ("vademecum.review.request_changes", "rev2", UNDER_REVIEW, CHANGES_REQUESTED),
            ("vademecum.article.edit", "ed", CHANGES_REQUESTED, SUBMITTED),
            ("vademecum.review.take", "rev2", SUBMITTED, UNDER_REVIEW),
            ("vademecum.review.approve", "rev2", UNDER_REVIEW, APPROVED),
            ("vademecum.article.regenerate", "ed", APPROVED, SUBMITTED),
        ]
    finally:
        runtime.close()


@pytest.fixture
def server(world: World, settings: Settings) -> Iterator[str]:
    """The app served by uvicorn on loopback in a thread, over the same store as ``world``."""
    with serving(settings) as url:
        yield url


def approve_at_once(server: str, world: World, article_id: int, revision: int) -> dict[str, httpx.Response]:
    """rev2 and adm send "approve" for version 1 of the article at the same instant, each on an open connection."""
    url = f"{server}/api/articles/{article_id}/versions/1/transitions"
    clients = {name: httpx.Client(headers=world.bearer(name), timeout=60) for name in ("rev2", "adm")}
    for client in clients.values():
        assert client.get(f"{server}/api/articles/{article_id}").status_code == 200  # connection open
    start = threading.Barrier(len(clients), timeout=30)
    outcomes: dict[str, httpx.Response] = {}

    def approve_as(name: str) -> None:
        start.wait()
        outcomes[name] = clients[name].post(
            url, json={"action": "approve", "expected_revision": revision, "comment": name}
        )

    threads = [threading.Thread(target=approve_as, args=(name,)) for name in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for client in clients.values():
        client.close()
    return outcomes


def test_two_reviewers_approve_at_once_over_http(world: World, server: str) -> None:
    """rev2 takes each article; rev2 and adm (neither is the author) approve it at the same instant."""
    article_ids = [world.article_id] + [world.new_article(question) for question in RACE_QUESTIONS]
    for article_id in article_ids:
        url = f"{server}/api/articles/{article_id}/versions/1/transitions"
        with httpx.Client(headers=world.bearer("rev2")) as taker:
            taken = taker.post(url, json={"action": "take", "expected_revision": 1})
        assert taken.status_code == 200, taken.text
        revision = taken.json()["review_revision"]
        outcomes = approve_at_once(server, world, article_id, revision)
        statuses = sorted(response.status_code for response in outcomes.values())
        assert statuses == [200, 409], {name: r.text for name, r in outcomes.items()}
        winner = next(name for name, response in outcomes.items() if response.status_code == 200)
        loser = next(response for response in outcomes.values() if response.status_code == 409)
        assert loser.json()["detail"] in CONFLICTS
        assert audit_rows(world.runtime, article_id) == [
            ("vademecum.article.create", "rev", None, SUBMITTED),
            ("vademecum.review.take", "rev2", SUBMITTED, UNDER_REVIEW),
            ("vademecum.review.approve", winner, UNDER_REVIEW, APPROVED),
        ]
        shown = world.client.get(f"/api/articles/{article_id}").json()
        assert (shown["status"], shown["review_comment"], shown["review_revision"]) == (APPROVED, winner, revision + 1)


def test_openapi_documents_every_route(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    # The interactive docs pages would load their scripts from a CDN, so they are not served.
    assert world.client.get("/docs").status_code == world.client.get("/redoc").status_code == 404
    api_routes = [r for r in world.client.app.routes if isinstance(r, APIRoute) and r.path.startswith("/api/")]
    for route in api_routes:
        for method in route.methods:
            operation = spec["paths"][route.path][method.lower()]
            assert operation["summary"] and operation["description"], route.path
            if route.path.endswith("export.{fmt}"):
                assert set(operation["responses"]["200"]["content"]) >= {"text/markdown; charset=utf-8"}
                continue
            success = next(code for code in ("200", "201") if code in operation["responses"])
            schema = operation["responses"][success]["content"]["application/json"]["schema"]
            assert schema, route.path
    assert {"/api/ask", "/api/articles", "/api/articles/{article_id}", "/api/tokens"} <= set(spec["paths"])
    article_out = spec["components"]["schemas"]["ArticleOut"]
    assert {"article", "status", "version_number", "links", "last_updated", "stale"} <= set(article_out["required"])
    transition = spec["components"]["schemas"]["TransitionIn"]["properties"]["action"]
    assert set(transition["enum"]) == set(REVIEW_ACTIONS)


def test_article_json_matches_the_documented_schema(world: World) -> None:
    schema = json.loads((REPO_ROOT / "docs" / "article.schema.json").read_text(encoding="utf-8"))
    response = world.client.get(f"/api/articles/{world.article_id}")
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json")
    body = response.json()
    jsonschema.Draft202012Validator(schema).validate(body["article"])
    assert body["article"]["title"] == world.composed[QUESTION].title
    assert world.client.get("/api/article-schema").json() == schema
    assert body["links"]["exports"]["ris"] == f"/api/articles/{world.article_id}/export.ris?version=1"
    missing = world.client.get(f"/api/articles/{world.article_id}?version=9")
    assert (missing.status_code, missing.json()) == (404, {"detail": f"article {world.article_id} has no version 9"})


def test_exports(world: World) -> None:
    stored = from_json(json.dumps(world.client.get(f"/api/articles/{world.article_id}").json()["article"]))
    pmid = next(r.pmid for r in stored.references if r.kind is ReferenceKind.RESEARCH and r.pmid)
    expected = {
        "md": ("text/markdown; charset=utf-8", to_markdown(stored)),
        "html": ("text/html; charset=utf-8", to_html(stored)),
        "json": ("application/json", to_json(stored)),
        "ris": ("application/x-research-info-systems", to_ris(stored)),
        "bib": ("application/x-bibtex; charset=utf-8", to_bibtex(stored)),
    }
    for fmt, (media_type, text) in expected.items():
        response = world.client.get(f"/api/articles/{world.article_id}/export.{fmt}", params={"version": 1})
        assert response.status_code == 200
        assert response.headers["content-type"] == media_type
        assert response.headers["content-disposition"] == (
            f'attachment; filename="vademecum-article-{world.article_id}-v1.{fmt}"'
        )
        assert response.text == text
    assert f"AN  - {pmid}\r\n" in expected["ris"][1]
    assert f"pmid = {{{pmid}}}" in expected["bib"][1]
    assert world.client.get(f"/api/articles/{world.article_id}/export.doc").status_code == 422


def test_list_articles(world: World) -> None:
    second = world.new_article(RACE_QUESTIONS[0])
    bring_to(world, second, APPROVED)
    listing = world.client.get("/api/articles").json()
    assert (listing["total"], [item["article_id"] for item in listing["items"]]) == (2, [second, world.article_id])
    approved = world.client.get("/api/articles", params={"approved": True}).json()
    assert [(i["article_id"], i["status"], i["approved_version_number"]) for i in approved["items"]] == [
        (second, APPROVED, 1)
    ]
    found = world.client.get("/api/articles", params={"q": "PHEOCHROMOCYTOMA", "limit": 1}).json()
    assert (found["total"], found["items"][0]["question"]) == (1, RACE_QUESTIONS[0])
    submitted = world.client.get("/api/articles", params={"status": SUBMITTED}).json()
    assert [item["article_id"] for item in submitted["items"]] == [world.article_id]
    bad = world.client.get("/api/articles", params={"status": "published"})
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("unknown status 'published'")
    # The title is the stored article's own, read from its JSON (here another question's article).
    other = RACE_QUESTIONS[1]
    retitled = service.ask_article(world.runtime, other, None, compose=lambda _r, _q: world.composed[QUESTION])
    titles = {item["article_id"]: item["title"] for item in world.client.get("/api/articles").json()["items"]}
    assert titles[retitled.article_id] == world.composed[QUESTION].title != other


def test_users_commands(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VADEMECUM_HOME", str(settings.home))
    monkeypatch.setenv("VADEMECUM_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.delenv("VADEMECUM_NEW_PASSWORD", raising=False)
    cli = CliRunner()
    result = cli.invoke(
        cli_app, ["users", "add", "rev", "--role", "reviewer", "--password"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("created reviewer 'rev' (id 1) with a password\n")
    result = cli.invoke(cli_app, ["users", "add", "ed", "--role", "editor", "--password"], input="short\nshort\n")
    assert result.exit_code == 1
    assert "a password is 10 to" in result.output
    monkeypatch.setenv("VADEMECUM_NEW_PASSWORD", "another long password")
    result = cli.invoke(cli_app, ["users", "add", "ed", "--role", "editor", "--password"])
    assert (result.exit_code, result.stdout) == (0, "created editor 'ed' (id 2) with a password\n")
    result = cli.invoke(cli_app, ["users", "set-password", "rev"])
    assert (result.exit_code, result.stdout) == (
        0,
        "password set for 'rev'; their browser sessions were signed out, their API tokens revoked\n",
    )
    result = cli.invoke(cli_app, ["users", "token", "rev", "--name", "ci"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert "shown only now" in result.stderr and secret not in result.stderr
    result = cli.invoke(cli_app, ["users", "list"])
    assert result.exit_code == 0
    assert [line.split()[:4] for line in result.stdout.splitlines()] == [
        ["2", "ed", "editor", "password"],
        ["1", "rev", "reviewer", "password"],
    ]
    result = cli.invoke(cli_app, ["users", "set-password", "nobody"])
    assert (result.exit_code, "no user called 'nobody'" in result.output) == (1, True)

    runtime = open_runtime(settings)
    try:
        assert authenticate_token(runtime, secret).user.username == "rev"
        assert login(runtime, "rev", "another long password", "test").username == "rev"
    finally:
        runtime.close()
