"""The editor's edit page over HTTP: who may open and post it, the CSRF token, and what the new version holds."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from vademecum.articles.edits import editable_sentences
from vademecum.articles.models import ADMIN, EDITOR, REVIEWER, AuditEntry, User
from vademecum.services import articles as service
from vademecum.services.accounts import add_user
from vademecum.settings import Settings
from vademecum.web.app import create_app

# A question from tests/test_ask.py that the demo corpus answers from its PDQ summary.
QUESTION = "What is the management for neuroendocrine tumors (NETs)?"
PASSWORD = "long enough password"


@pytest.fixture
def client(demo_settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    # A private copy of the demo store: edits are verified against the passages the article cites.
    home = tmp_path / "demo-copy"
    shutil.copytree(demo_settings.home, home)
    with TestClient(create_app(Settings(home=home, corpus=demo_settings.corpus))) as client:
        with client.app.state.runtime.session() as session:  # type: ignore[attr-defined]
            for name, role in (("ed", EDITOR), ("rev", REVIEWER), ("adm", ADMIN)):
                add_user(session, None, name, role, password=PASSWORD, from_command_line=True)
        yield client


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: TestClient, username: str) -> None:
    token = form_token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303


def ask(client: TestClient) -> dict:
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 201, response.text
    return response.json()


def send_back(client: TestClient, article_id: int) -> None:
    """A reviewer takes version 1 and requests changes: only then may an editor make a new version."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.session() as session:
        reviewer = session.scalars(select(User).where(User.username == "rev")).one()
        version_id = service.article_state(service.get_article(session, article_id)).version_id
        service.review_step(session, reviewer, version_id, "take")
        service.review_step(session, reviewer, version_id, "request_changes", comment="too long")


def test_only_editors_open_the_edit_page(client: TestClient) -> None:
    article_id = ask(client)["article_id"]
    anonymous = client.get(f"/articles/{article_id}/edit", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/login?next=/articles/{article_id}/edit"
    sign_in(client, "rev")
    assert client.get(f"/articles/{article_id}/edit").status_code == 403


def test_an_edit_makes_a_new_version_marked_edited(client: TestClient) -> None:
    asked = ask(client)
    article_id = asked["article_id"]
    sentences = editable_sentences(asked["article"])
    send_back(client, article_id)
    sign_in(client, "ed")
    page = client.get(f"/articles/{article_id}/edit")
    assert page.status_code == 200
    # Every sentence of the version is offered, escaped, in reading order.
    boxes = re.findall(r'<textarea id="text-(\d+)"', page.text)
    assert [int(position) for position in boxes] == [sentence.position for sentence in sentences]
    shortened = sentences[0].text.rsplit(" ", 1)[0]
    form = {"text-1": shortened, "comment": "shortened", "csrf_token": form_token(page.text)}
    form["expected_revision"] = re.search(r'name="expected_revision" value="(\d+)"', page.text).group(1)

    missing_token = {key: value for key, value in form.items() if key != "csrf_token"}
    assert client.post(f"/articles/{article_id}/edit", data=missing_token).status_code == 403

    response = client.post(f"/articles/{article_id}/edit", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/articles/{article_id}"
    version = client.get(f"/api/articles/{article_id}", params={"version": 2}).json()
    assert (version["version_number"], version["status"], version["edited"], version["author"]) == (
        2,
        "submitted",
        True,
        "ed",
    )
    after = editable_sentences(version["article"])
    assert (after[0].text, after[0].edited) == (shortened, True)
    # Every other sentence is untouched, provenance included.
    assert [(s.text, s.edited) for s in after[1:]] == [(s.text, False) for s in sentences[1:]]
    shown = client.get(f"/articles/{article_id}", params={"version": 2}).text
    assert shown.count('class="sentence edited-sentence"') == 1
    with client.app.state.runtime.session() as session:  # type: ignore[attr-defined]
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "vademecum.article.edit")).one()
    assert (entry.actor_name, entry.comment, entry.data["replaced"]) == ("ed", "shortened", [1])


def test_a_bad_edit_shows_the_form_again(client: TestClient) -> None:
    article_id = ask(client)["article_id"]
    send_back(client, article_id)
    sign_in(client, "ed")
    page = client.get(f"/articles/{article_id}/edit")
    response = client.post(f"/articles/{article_id}/edit", data={"text-1": "   ", "csrf_token": form_token(page.text)})
    assert response.status_code == 422
    assert "sentence 1" in response.text
    assert client.get(f"/api/articles/{article_id}").json()["current_version_number"] == 1
