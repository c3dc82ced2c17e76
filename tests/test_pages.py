"""The server-rendered pages: asking, the article page and its citations, review actions over HTTP (with
their refusals), history, diff, the review queue and the editorial policy."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import select

from vademecum.answer.article import Article as ComposedArticle
from vademecum.articles.edits import editable_sentences
from vademecum.articles.models import ADMIN, EDITOR, REVIEWER, AuditEntry, User
from vademecum.articles.versions import mark_stale
from vademecum.evidence.models import EvidenceDocument, EvidencePassage
from vademecum.services import articles as service
from vademecum.services.accounts import add_user
from vademecum.services.ask import ask
from vademecum.services.catalogue import article_view
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings, WebSettings
from vademecum.web.app import create_app
from vademecum.web.rendered import RenderedArticles
from vademecum.web.routers.pages_articles import review_status

# Questions from tests/test_ask.py that the demo corpus answers from PDQ summaries.
QUESTION = "How is pheochromocytoma diagnosed?"
OTHER_QUESTION = "What is the prognosis of Ewing sarcoma?"
PASSWORD = "correct horse battery"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def site_settings(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A private copy of the ingested demo data directory: these tests write articles and users to it."""
    home = tmp_path_factory.mktemp("pages") / "home"
    shutil.copytree(demo_settings.home, home)
    return Settings(home=home, corpus=demo_settings.corpus)


@pytest.fixture(scope="module")
def site(site_settings: Settings) -> Iterator[TestClient]:
    """An anonymous browser on the app over the demo copy."""
    with TestClient(create_app(site_settings)) as client:
        yield client


@pytest.fixture(scope="module")
def site_runtime(site_settings: Settings) -> Iterator[Runtime]:
    runtime = open_runtime(site_settings)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def composed(demo_settings: Settings) -> ComposedArticle:
    """The real article for QUESTION, composed once, for tests that need an article but not a corpus."""
    runtime = open_runtime(demo_settings)
    try:
        return ask(runtime, QUESTION)
    finally:
        runtime.close()


def csrf_from(page: str) -> str:
    # every page carries it in <meta name="csrf-token">, whether or not it shows a form
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, username: str) -> None:
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def add_users(runtime: Runtime, **roles: str) -> None:
    with runtime.session() as session:
        for name, role in roles.items():
            add_user(session, None, name, role, password=PASSWORD, from_command_line=True)


def tree_of(response) -> lxml_html.HtmlElement:
    return lxml_html.fromstring(response.text)


def ask_in_browser(client: TestClient, question: str):
    token = csrf_from(client.get("/").text)
    return client.post("/ask", data={"question": question, "csrf_token": token}, follow_redirects=False)


def review_post(client: TestClient, article_id: int, number: int, step: str, **form: object):
    return client.post(f"/articles/{article_id}/versions/{number}/{step}", data=form, follow_redirects=False)


def page_form(client: TestClient, article_id: int) -> tuple[str, int]:
    """The CSRF token and expected_revision the article page's review form carries."""
    page = client.get(f"/articles/{article_id}")
    tree = tree_of(page)
    revision = tree.xpath("//form[contains(@class, 'review-action')]//input[@name='expected_revision']/@value")
    return csrf_from(page.text), int(revision[0]) if revision else -1


# --- asking and reading (demo corpus copy) ----------------------------------------------------------------


def test_home_asks_a_question_and_the_article_waits_for_review(site: TestClient, site_runtime: Runtime) -> None:
    home = site.get("/")
    assert home.status_code == 200
    assert tree_of(home).xpath("//form[@id='ask-form']//textarea[@name='question']")
    response = ask_in_browser(site, QUESTION)
    assert response.status_code == 303
    article_id = int(response.headers["location"].rsplit("/", 1)[1])
    page = site.get(response.headers["location"])
    tree = tree_of(page)
    with site_runtime.session() as session:
        stored = service.get_article(session, article_id).current_version.article_json
    assert tree.xpath("//article//h1")[0].text_content() == stored["title"]
    assert tree.xpath("//*[contains(@class, 'pending-banner')]")
    current = tree.xpath("//ol[@class='stepper']/li[@aria-current='step']")
    assert [li.text_content() for li in current] == ["Submitted"]
    assert "current" in current[0].get("class")
    assert tree.xpath("//span[contains(@class, 'status-badge')]")[0].text_content() == "Submitted"
    assert not tree.xpath("//time[contains(@class, 'last-updated')]")
    assert "not yet approved" in tree.xpath("//p[@class='meta'][contains(., 'Last updated')]")[0].text_content()
    assert tree.xpath("//a[@href='/policy']")
    # every reference carries its stored evidence level as a badge
    badges = {
        li.get("id"): li.xpath(".//span[contains(@class, 'level-badge')]")[0].text_content()
        for li in tree.xpath("//ol[@class='reference-list']/li")
    }
    assert badges == {f"ref-{ref['number']}": ref["level"].replace("_", " ") for ref in stored["references"]}
    # asking again (other wording) finds the same article
    assert ask_in_browser(site, "  how is PHEOCHROMOCYTOMA diagnosed ").headers["location"] == f"/articles/{article_id}"


def test_citation_opens_the_quoted_passage(site: TestClient, site_runtime: Runtime) -> None:
    article_url = ask_in_browser(site, QUESTION).headers["location"]
    tree = tree_of(site.get(article_url))
    link = tree.xpath("//sup[@class='cite']/a[@data-passage!='']")[0]
    passage_id = int(link.get("data-passage"))
    assert f"ev-{passage_id}" in link.get("data-key").split()
    assert link.get("href") == f"#ref-{link.text}"  # without JavaScript it still leads to the reference
    sentence = tree.xpath(f"//span[contains(@class, 'sentence')][@data-key='ev-{passage_id}']")[0]
    start, end = int(sentence.get("data-start")), int(sentence.get("data-end"))
    fragment = site.get(f"/passages/{passage_id}", params={"start": start, "end": end})
    assert fragment.status_code == 200
    panel = lxml_html.fromstring(fragment.text)
    with site_runtime.session() as session:
        passage = session.get(EvidencePassage, passage_id)
        document = session.get(EvidenceDocument, passage.document_id)
        text, section, level, title = passage.text, passage.section_path, document.level, document.title
    assert panel.xpath("//*[@class='passage-text']")[0].text_content() == text
    assert panel.xpath("//*[@class='passage-text']/mark")[0].text_content() == text[start:end]
    assert sentence.text_content() == text[start:end]
    assert section[-1] in panel.xpath("//*[@class='passage-section']")[0].text_content()
    assert panel.xpath("//*[contains(@class, 'passage-level')]")[0].text_content() == level.replace("_", " ")
    assert title in panel.xpath("//*[@class='passage-source']")[0].text_content()
    assert panel.xpath("//*[@class='passage-date']")
    assert all(a.get("href").startswith("https://") for a in panel.xpath("//a[@class='passage-link']"))
    # no offsets: the whole passage, nothing marked
    assert not lxml_html.fromstring(site.get(f"/passages/{passage_id}").text).xpath("//mark")
    assert site.get("/passages/999999999").status_code == 404


def test_a_refused_question_shows_the_reason(site: TestClient) -> None:
    response = ask_in_browser(site, "What is the capital of France?")
    assert response.status_code == 422
    assert "does not look like a clinical question" in tree_of(response).xpath("//p[@id='ask-error']")[0].text
    assert tree_of(response).xpath("//textarea[@name='question']")[0].text == "What is the capital of France?"


def test_asking_without_the_csrf_token_is_refused(site: TestClient) -> None:
    response = site.post("/ask", data={"question": QUESTION}, follow_redirects=False)
    assert response.status_code == 403


def test_diff_shows_the_sentence_an_editor_removed(site: TestClient, site_runtime: Runtime) -> None:
    add_users(site_runtime, diff_editor=EDITOR, diff_reviewer=REVIEWER)
    state = service.ask_article(site_runtime, OTHER_QUESTION, None)
    removed = editable_sentences(state.article_json)[0].text
    with site_runtime.session() as session:
        reviewer = session.scalars(select(User).where(User.username == "diff_reviewer")).one()
        editor = session.scalars(select(User).where(User.username == "diff_editor")).one()
        service.review_step(session, reviewer, state.version_id, "take")
        service.review_step(session, reviewer, state.version_id, "request_changes", comment="please shorten")
    with site_runtime.session() as session:
        service.edit_sentences(session, editor, state.article_id, {1: None}, comment="removed the first sentence")
    page = site.get(f"/articles/{state.article_id}/diff", params={"from": 1, "to": 2})
    assert page.status_code == 200
    tree = tree_of(page)
    deleted = [d.text_content() for d in tree.xpath("//div[contains(@class, 'removed')]//del")]
    assert any(removed in text for text in deleted)
    assert not any(removed in ins.text_content() for ins in tree.xpath("//ins"))
    assert tree.xpath("//div[contains(@class, 'removed')]/span[@class='diff-label']")[0].text == "Removed"
    history = tree_of(site.get(f"/articles/{state.article_id}/history"))
    rows = [[td.text_content().strip() for td in row.xpath("td")] for row in history.xpath("//tr[@class='audit-row']")]
    assert [(row[1], row[2], row[3], row[4], row[5]) for row in rows] == [
        ("Vademecum", "vademecum.article.create", "", "Submitted", ""),
        ("diff_reviewer", "vademecum.review.take", "Submitted", "Under Review", ""),
        ("diff_reviewer", "vademecum.review.request_changes", "Under Review", "Changes Requested", "please shorten"),
        ("diff_editor", "vademecum.article.edit", "Changes Requested", "Submitted", "removed the first sentence"),
    ]
    versions = [
        [td.text_content().strip() for td in row.xpath("td")] for row in history.xpath("//tr[@class='version-row']")
    ]
    assert [(row[0], row[4], row[5], row[6]) for row in versions] == [
        ("1", "Vademecum", "generated", "Changes Requested"),
        ("2", "diff_editor", "edited", "Submitted"),
    ]


# --- review over HTTP, on SQLite and PostgreSQL ------------------------------------------------------------


@pytest.fixture
def app(settings: Settings) -> Iterator[tuple[Runtime, Settings]]:
    runtime = open_runtime(settings)
    add_users(runtime, ed=EDITOR, rev=REVIEWER, rev2=REVIEWER, boss=ADMIN)
    yield runtime, settings
    runtime.close()


def client_for(settings: Settings, username: str | None = None) -> TestClient:
    client = TestClient(create_app(settings))
    client.__enter__()
    if username is not None:
        sign_in(client, username)
    return client


def test_review_actions_are_checked_and_recorded(app: tuple[Runtime, Settings], composed: ComposedArticle) -> None:
    runtime, settings = app
    state = service.ask_article(runtime, QUESTION, None, compose=lambda _r, _q: composed)
    aid = state.article_id
    anonymous, editor, reviewer = client_for(settings), client_for(settings, "ed"), client_for(settings, "rev")
    try:
        # anonymous: no buttons, the queue asks to sign in, a review POST is refused
        token, revision = page_form(anonymous, aid)
        assert revision == -1
        assert anonymous.get("/review", follow_redirects=False).headers["location"] == "/login?next=/review"
        assert review_post(anonymous, aid, 1, "take", csrf_token=token).status_code == 401
        # an editor may not take (wrong role) and sees no review buttons
        token, revision = page_form(editor, aid)
        assert revision == -1
        assert review_post(editor, aid, 1, "take", csrf_token=token).status_code == 403
        # the reviewer: buttons offered by the policy, CSRF checked, transitions checked
        page = tree_of(reviewer.get(f"/articles/{aid}"))
        assert page.xpath("//form[contains(@class, 'review-action')]//button[@name='action']/@value") == ["take"]
        token, revision = page_form(reviewer, aid)
        assert review_post(reviewer, aid, 1, "take", expected_revision=revision).status_code == 403
        wrong = review_post(reviewer, aid, 1, "take", expected_revision=revision, csrf_token="not-the-token")
        assert wrong.status_code == 403
        invalid = review_post(reviewer, aid, 1, "approve", expected_revision=revision, csrf_token=token)
        assert invalid.status_code == 409
        taken = review_post(reviewer, aid, 1, "take", expected_revision=revision, csrf_token=token)
        assert (taken.status_code, taken.headers["location"]) == (303, f"/articles/{aid}?version=1")
        page = tree_of(reviewer.get(f"/articles/{aid}"))
        assert page.xpath("//ol[@class='stepper']/li[@aria-current='step']")[0].text == "Under Review"
        assert page.xpath("//form[contains(@class, 'review-action')]//button[@name='action']/@value") == [
            "release",
            "approve",
            "request_changes",
        ]
        stale = review_post(reviewer, aid, 1, "approve", expected_revision=revision, csrf_token=token)
        assert stale.status_code == 409
        assert "reload" in stale.text.lower() or "changed" in stale.text.lower()
        token, revision = page_form(reviewer, aid)
        approved = review_post(reviewer, aid, 1, "approve", expected_revision=revision, csrf_token=token, comment="ok")
        assert approved.status_code == 303
        # everyone now reads the approved version, dated
        page = tree_of(anonymous.get(f"/articles/{aid}"))
        assert page.xpath("//ol[@class='stepper']/li[@aria-current='step']")[0].text == "Approved"
        assert not page.xpath("//*[contains(@class, 'pending-banner')]")
        with runtime.session() as session:
            approved_at = service.get_article(session, aid).approved_version.created_at
            entries = session.scalars(select(AuditEntry).where(AuditEntry.article_id == aid)).all()
            assert [(e.action, e.actor_name) for e in entries] == [
                ("vademecum.article.create", None),
                ("vademecum.review.take", "rev"),
                ("vademecum.review.approve", "rev"),
            ]
        last = page.xpath("//time[contains(@class, 'last-updated')]")[0]
        assert last.get("datetime") == approved_at.date().isoformat()
        assert anonymous.get("/").text.count(f'href="/articles/{aid}"') == 1  # listed as recently approved
    finally:
        for client in (anonymous, editor, reviewer):
            client.__exit__(None, None, None)


def test_article_bodies_are_rendered_once_per_version_and_review_header(
    app: tuple[Runtime, Settings], composed: ComposedArticle
) -> None:
    runtime, _ = app
    article_id = service.ask_article(runtime, QUESTION, None, compose=lambda _r, _q: composed).article_id
    with runtime.session() as session:
        view = article_view(session, article_id)
    rendered = RenderedArticles(size=1)
    submitted = review_status(view)
    body = rendered.body(view, submitted)
    assert rendered.body(view, submitted) is body
    stepper = "//ol[@class='stepper']/li[@aria-current='step']"
    assert lxml_html.fromstring(str(body)).xpath(stepper)[0].text == "Submitted"
    under_review = dataclasses.replace(submitted, label="Under Review", step="Under Review")
    assert lxml_html.fromstring(str(rendered.body(view, under_review))).xpath(stepper)[0].text == "Under Review"
    # One body fits: the submitted one was dropped and is rendered again, the same.
    again = rendered.body(view, submitted)
    assert again is not body and again == body


def test_nobody_approves_their_own_version(app: tuple[Runtime, Settings], composed: ComposedArticle) -> None:
    runtime, settings = app
    with runtime.session() as session:
        author = session.scalars(select(User).where(User.username == "rev")).one()
    state = service.ask_article(runtime, QUESTION, author, compose=lambda _r, _q: composed)
    boss, reviewer = client_for(settings, "boss"), client_for(settings, "rev")
    try:
        token, revision = page_form(reviewer, state.article_id)
        assert revision == -1  # the author is offered no take
        assert review_post(reviewer, state.article_id, 1, "take", csrf_token=token).status_code == 403
        token, revision = page_form(boss, state.article_id)
        assert (
            review_post(boss, state.article_id, 1, "take", csrf_token=token, expected_revision=revision).status_code
            == 303
        )
        token, revision = page_form(reviewer, state.article_id)
        refused = review_post(reviewer, state.article_id, 1, "approve", csrf_token=token, expected_revision=revision)
        assert refused.status_code == 403
        assert "generated or edited" in refused.text
    finally:
        boss.__exit__(None, None, None)
        reviewer.__exit__(None, None, None)


def test_queue_shows_state_and_stale_flag_and_escapes(app: tuple[Runtime, Settings], composed: ComposedArticle) -> None:
    runtime, settings = app
    hostile_article = dataclasses.replace(composed, title=HOSTILE)
    pending = service.ask_article(runtime, f"{QUESTION} {HOSTILE}", None, compose=lambda _r, _q: hostile_article)
    approved = service.ask_article(runtime, QUESTION, None, compose=lambda _r, _q: composed)
    with runtime.session() as session:
        rev = session.scalars(select(User).where(User.username == "rev")).one()
        service.review_step(session, rev, approved.version_id, "take")
        service.review_step(session, rev, approved.version_id, "approve")
    with runtime.session() as session:
        mark_stale(session, [approved.article_id], "a newer guideline was ingested")
    reviewer = client_for(settings, "rev2")
    try:
        response = reviewer.get("/review")
        assert response.status_code == 200
        assert HOSTILE not in response.text and "&lt;script&gt;" in response.text
        items = tree_of(response).xpath("//li[@class='queue-item']")
        summary = [
            (
                item.xpath(".//a[@class='queue-article']/@href")[0],
                item.xpath(".//span[contains(@class, 'status-badge')]")[0].text,
                [flag.text_content() for flag in item.xpath(".//*[@class='stale-flag']")],
            )
            for item in items
        ]
        assert summary == [
            (f"/articles/{pending.article_id}?version=1", "Submitted", []),
            (f"/articles/{approved.article_id}?version=1", "Approved", ["Stale: a newer guideline was ingested"]),
        ]
        article = reviewer.get(f"/articles/{pending.article_id}")
        assert HOSTILE not in article.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in article.text
        flag = tree_of(reviewer.get(f"/articles/{approved.article_id}")).xpath("//p[@class='stale-flag']")
        assert "a newer guideline was ingested" in flag[0].text_content()
    finally:
        reviewer.__exit__(None, None, None)


# --- editorial policy ---------------------------------------------------------------------------------------


def test_policy_page_and_its_replacement(settings: Settings, tmp_path: Path) -> None:
    with TestClient(create_app(settings)) as client:
        default = tree_of(client.get("/policy"))
    assert [h.text for h in default.xpath("//div[@class='policy']/h2")][:4] == [
        "How articles are generated",
        "How articles are reviewed",
        "How articles are updated",
        "How articles are corrected",
    ]
    policy_file = tmp_path / "policy.txt"
    policy_file.write_text(f"Our board meets\nweekly.\n\n  {HOSTILE} second paragraph.\n\n\n", encoding="utf-8")
    replaced = settings.model_copy(update={"web": WebSettings(editorial_policy_file=policy_file)})
    with TestClient(create_app(replaced)) as client:
        response = client.get("/policy")
    paragraphs = [p.text for p in tree_of(response).xpath("//div[@class='policy']/p")]
    assert paragraphs == ["Our board meets weekly.", f"{HOSTILE} second paragraph."]
    assert HOSTILE not in response.text
    assert "How articles are reviewed" not in response.text
