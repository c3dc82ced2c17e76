"""Bad input from a determined or careless client, on SQLite and PostgreSQL (issue 12, items 4, 5, 6 and 10):
ids past a 64-bit integer, lone surrogates, control characters and bidirectional overrides in what people
type, oversized request bodies, and the security headers on every response.

Each test sends the attack as the probe did and checks the app refuses it with a 4xx (never a 500) and
writes nothing. The article is a real composed one (a question from tests/test_ask.py, composed once on
the demo corpus) stored in each test's fresh database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import func, select

from vademecum.answer.article import Article as ComposedArticle
from vademecum.articles.models import EDITOR, REVIEWER, ArticleVersion, AuditEntry, User
from vademecum.errors import InvalidQueryError
from vademecum.inputs import MAX_DB_INT, check_text, forbidden_character
from vademecum.services import articles as service
from vademecum.services.accounts import add_user, create_api_token
from vademecum.services.ask import ask
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings
from vademecum.web.app import create_app
from vademecum.web.routers.pages_edit import form_int

QUESTION = "What is the management for neuroendocrine tumors (NETs)?"
PASSWORD = "long enough password"
HUGE = str(MAX_DB_INT + 1)  # 9223372036854775808: one past what any id column holds
LONE_SURROGATE = '"\\ud800"'  # as a JSON string: valid JSON, not Unicode text
# Refused in what people type: NUL and other C0 controls, DEL, and every bidirectional override.
REFUSED_CHARACTERS = [
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2066, 0x206A)),
]


@pytest.fixture(scope="module")
def composed(demo_settings: Settings) -> ComposedArticle:
    runtime = open_runtime(demo_settings)
    try:
        return ask(runtime, QUESTION)
    finally:
        runtime.close()


@dataclass
class Site:
    """The app over a fresh store: an editor and a reviewer with API tokens, one article asked by nobody."""

    client: TestClient
    runtime: Runtime
    users: dict[str, User]
    tokens: dict[str, str]
    article_id: int

    def bearer(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def written(self) -> tuple[int, int]:
        """How many versions and audit entries the store holds (a refused request adds none)."""
        with self.runtime.session() as session:
            return (
                session.scalar(select(func.count()).select_from(ArticleVersion)) or 0,
                session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
            )


@pytest.fixture
def site(settings: Settings, runtime: Runtime, composed: ComposedArticle) -> Iterator[Site]:
    with runtime.session() as session:
        for name, role in (("ed", EDITOR), ("rev", REVIEWER)):
            add_user(session, None, name, role, password=PASSWORD, from_command_line=True)
        tokens = {
            name: create_api_token(session, None, name, "tests", from_command_line=True)[1] for name in ("ed", "rev")
        }
        users = {user.username: user for user in session.scalars(select(User))}
    state = service.ask_article(runtime, QUESTION, None, compose=lambda _r, _q: composed)
    with TestClient(create_app(settings)) as client:
        yield Site(client, runtime, users, tokens, state.article_id)


def sign_in(client: TestClient, username: str) -> dict[str, str]:
    """Sign in through the form; returns the CSRF header the session's API calls send."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/corpus").text)
    assert meta
    return {"X-CSRF-Token": meta.group(1)}


def json_post(client: TestClient, url: str, raw: str, headers: dict[str, str] | None = None) -> object:
    return client.post(url, content=raw.encode(), headers={"Content-Type": "application/json", **(headers or {})})


# --- 4. Huge ids ------------------------------------------------------------------------------------------

API_ID_URLS = [
    f"/api/articles/{HUGE}",
    f"/api/articles/{HUGE}/history",
    f"/api/articles/{HUGE}/versions",
    "/api/articles/1/versions/" + HUGE,
    f"/api/articles/1?version={HUGE}",
    f"/api/articles/1/export.md?version={HUGE}",
    f"/api/articles?offset={HUGE}",
    f"/api/articles?limit={HUGE}",
    f"/api/search?q=somatostatin&limit={HUGE}",
]
PAGE_ID_URLS = [
    f"/articles/{HUGE}",
    f"/articles/{HUGE}/history",
    f"/articles/{HUGE}/edit",
    f"/articles/{HUGE}/diff?from=1&to=2",
    f"/passages/{HUGE}",
]


@pytest.mark.parametrize("url", API_ID_URLS)
def test_huge_ids_in_the_api_are_refused_as_json(site: Site, url: str) -> None:
    response = site.client.get(url.replace("/articles/1", f"/articles/{site.article_id}"))
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"]


@pytest.mark.parametrize("url", PAGE_ID_URLS)
def test_huge_ids_in_pages_show_the_not_found_page(site: Site, url: str) -> None:
    response = site.client.get(url)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "url",
    [
        f"/articles?offset={HUGE}",
        f"/articles/1?version={HUGE}",
        f"/articles/1/diff?from={HUGE}&to=1",
        f"/passages/1?start={HUGE}&end={HUGE}",
    ],
)
def test_huge_query_integers_in_pages_are_refused(site: Site, url: str) -> None:
    response = site.client.get(url.replace("/articles/1", f"/articles/{site.article_id}"))
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"].startswith("text/html")


def test_huge_ids_in_transitions_and_token_revocation(site: Site) -> None:
    before = site.written()
    for url, body, user in [
        (f"/api/articles/{HUGE}/versions/1/transitions", {"action": "take"}, "rev"),
        (f"/api/articles/{site.article_id}/versions/{HUGE}/transitions", {"action": "take"}, "rev"),
        (
            f"/api/articles/{site.article_id}/versions/1/transitions",
            {"action": "take", "expected_revision": 2**64},
            "rev",
        ),
        (f"/api/articles/{site.article_id}/edits", {"edits": {HUGE: None}}, "ed"),
        (f"/api/articles/{HUGE}/regenerate", {}, "ed"),
    ]:
        response = site.client.post(url, json=body, headers=site.bearer(user))
        assert response.status_code in (404, 422), (url, response.text)
        assert response.headers["content-type"] == "application/json"
    response = site.client.delete(f"/api/tokens/{HUGE}", headers=site.bearer("rev"))
    assert response.status_code in (404, 422), response.text
    assert site.written() == before


def test_form_integers_are_ascii_digits_within_the_store() -> None:
    assert [form_int(text) for text in ("7", "0", str(MAX_DB_INT))] == [7, 0, MAX_DB_INT]
    # "²" passes str.isdigit but int() refuses it; 5,000 digits pass it but exceed int()'s limit.
    assert [form_int(text) for text in ("²", "٣", "1" * 5000, HUGE, "-1", "", " 1")] == [None] * 7


@pytest.mark.parametrize("url", ["/api/articles?q=%00", "/api/search?q=a%00b", "/articles?q=%00", "/corpus?q=%00"])
def test_nul_in_a_search_is_no_server_error(site: Site, url: str) -> None:
    """PostgreSQL refuses NUL in a text parameter: a search holding one must not reach it as a 500."""
    assert site.client.get(url).status_code in (200, 422)


def test_an_error_page_for_a_refused_token_is_no_server_error(site: Site) -> None:
    """A 404 or 405 page is rendered before the app looks at the token; the page must not fail on it."""
    bad = {"Authorization": "Bearer vm_not-a-token"}
    assert site.client.get("/no-such-page", headers=bad).status_code == 404
    assert site.client.request("TRACE", f"/articles/{site.article_id}", headers=bad).status_code == 405


# --- 5. Lone surrogates -----------------------------------------------------------------------------------


def test_a_lone_surrogate_question_is_refused_as_json(site: Site) -> None:
    for raw in (f'{{"question": {LONE_SURROGATE}}}', f'{{"question": "{"x" * 2001}\\ud800"}}'):
        response = json_post(site.client, "/api/ask", raw)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/json"
        response.json()  # encodable, and valid JSON


def test_a_lone_surrogate_comment_or_token_name_is_refused(site: Site) -> None:
    before = site.written()
    url = f"/api/articles/{site.article_id}/versions/1/transitions"
    response = json_post(site.client, url, f'{{"action": "take", "comment": {LONE_SURROGATE}}}', site.bearer("rev"))
    assert response.status_code == 422, response.text
    response = json_post(site.client, url, f'{{"action": {LONE_SURROGATE}}}', site.bearer("rev"))
    assert response.status_code == 422, response.text
    # A surrogate in a key the client chose (a sentence position) is named in the error, made encodable.
    edits_url = f"/api/articles/{site.article_id}/edits"
    response = json_post(site.client, edits_url, '{"edits": {"\\ud800": null}}', site.bearer("ed"))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-2:] == ["\ufffd\ufffd\ufffd", "[key]"]
    # Tokens are created from a browser session.
    response = json_post(site.client, "/api/tokens", f'{{"name": {LONE_SURROGATE}}}', sign_in(site.client, "rev"))
    assert response.status_code == 422, response.text
    assert site.written() == before


# --- 10. Control characters and bidirectional overrides -----------------------------------------------


@pytest.mark.parametrize("character", REFUSED_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_refused_characters_in_text(character: str) -> None:
    with pytest.raises(InvalidQueryError, match=re.escape(f"U+{ord(character):04X}")):
        check_text(f"dose {character}10 mg", "question")
    assert forbidden_character("tab\tnew line\ncarriage return\r\n, accents é, CJK 中文") is None


@pytest.mark.parametrize("character", ["\x00", "\u202e", "\u2066", "\x08"], ids=lambda c: f"U+{ord(c):04X}")
def test_questions_comments_edits_and_names_refuse_controls_and_overrides(site: Site, character: str) -> None:
    before = site.written()
    text = f"sentence{character}reversed"
    response = site.client.post("/api/ask", json={"question": f"How is {text} treated?"})
    assert (response.status_code, response.headers["content-type"]) == (422, "application/json"), response.text
    assert f"U+{ord(character):04X}" in response.json()["detail"]
    url = f"/api/articles/{site.article_id}/versions/1/transitions"
    response = site.client.post(url, json={"action": "take", "comment": text}, headers=site.bearer("rev"))
    assert response.status_code == 422, response.text
    with site.runtime.session() as session:
        version_id = service.article_state(service.get_article(session, site.article_id)).version_id
        service.review_step(session, site.users["rev"], version_id, "take")
        service.review_step(session, site.users["rev"], version_id, "request_changes", comment="sent back")
    edits_url = f"/api/articles/{site.article_id}/edits"
    response = site.client.post(edits_url, json={"edits": {"1": text}}, headers=site.bearer("ed"))
    assert response.status_code == 422, response.text
    response = site.client.post(edits_url, json={"edits": {"1": None}, "comment": text}, headers=site.bearer("ed"))
    assert response.status_code == 422, response.text
    response = site.client.post(
        f"/api/articles/{site.article_id}/regenerate", json={"comment": text}, headers=site.bearer("ed")
    )
    assert response.status_code == 422, response.text
    response = site.client.post("/api/tokens", json={"name": text}, headers=sign_in(site.client, "ed"))
    assert response.status_code == 422, response.text
    with site.runtime.session() as session, pytest.raises(InvalidQueryError):
        add_user(session, None, text, EDITOR, password=PASSWORD, from_command_line=True)
    assert site.written() == (before[0], before[1] + 2)  # only the take and the request for changes


def test_the_ask_form_refuses_an_override_with_the_reason(site: Site) -> None:
    page = site.client.get("/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = site.client.post("/ask", data={"question": "How is \u202ex treated?", "csrf_token": token.group(1)})
    assert response.status_code == 422
    assert "U+202E" in lxml_html.fromstring(response.text).xpath("//p[@id='ask-error']")[0].text


# --- 6. Body limits ---------------------------------------------------------------------------------------


def test_an_oversized_json_body_gets_413_json(site: Site) -> None:
    body = json.dumps({"question": "x" * (64 * 1024)})
    response = site.client.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert response.json()["detail"].startswith("the request body is larger than the limit of 65,536 bytes")


def test_an_oversized_body_without_a_length_is_cut_off_while_streaming(site: Site) -> None:
    chunks_sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal chunks_sent
        yield b'{"question": "'
        for _ in range(1000):
            chunks_sent += 1
            yield b"x" * 4096
        yield b'"}'

    response = site.client.post("/api/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert "content-length" not in {name.lower() for name in response.request.headers}


def test_an_oversized_form_gets_the_413_page(site: Site) -> None:
    response = site.client.post("/ask", data={"question": "x" * (1024**2 + 1)})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")


def test_body_limits_are_settings(settings: Settings, site: Site) -> None:
    small = settings.model_copy(update={"web": settings.web.model_copy(update={"max_json_body_bytes": 10})})
    with TestClient(create_app(small)) as client:
        assert client.post("/api/ask", json={"question": "a longer question"}).status_code == 413
    assert site.client.post("/api/ask", json={"question": ""}).status_code == 422  # the default takes it


# --- 10. Security headers ---------------------------------------------------------------------------------

HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@pytest.mark.parametrize(
    "url", ["/", "/login", "/articles", "/api/corpus", "/openapi.json", "/static/vademecum.js", "/no-such-page"]
)
def test_every_response_carries_the_security_headers(site: Site, url: str) -> None:
    response = site.client.get(url)
    for name, value in HEADERS.items():
        assert response.headers[name] == value, name
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == policy["script-src"] == policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response.headers["content-security-policy"]


def test_pages_have_no_inline_script_style_or_event_handlers(site: Site) -> None:
    """What the policy forbids is not used: every script and style is a file under /static."""
    sign_in(site.client, "ed")
    for url in (
        "/",
        "/login",
        "/articles",
        f"/articles/{site.article_id}",
        f"/articles/{site.article_id}/history",
        "/review",
        "/corpus?q=somatostatin",
        "/policy",
    ):
        response = site.client.get(url)
        assert response.status_code == 200, url
        tree = lxml_html.fromstring(response.text)
        assert all(urlsplit(script.get("src", "")).path.startswith("/static/") for script in tree.iter("script")), url
        assert not list(tree.iter("style")), url
        for element in tree.iter():
            if isinstance(element.tag, str):
                assert "style" not in element.attrib, (url, element.tag)
                assert not [name for name in element.attrib if name.startswith("on")], (url, element.tag)
                assert not element.get("href", "").lower().startswith("javascript:"), url


def test_nul_in_a_sign_in_is_no_server_error(site: Site) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', site.client.get("/login").text)
    assert token
    for username, password in (("ed\x00", PASSWORD), ("ed", "pass\x00word"), ("\u202eed", PASSWORD)):
        response = site.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token.group(1)}
        )
        assert response.status_code == 401, response.text
