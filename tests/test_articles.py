"""Articles and versions: question normalisation, one article per question, versions built from the real
composed article JSON, "Last updated" and the stale flag, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from vademecum.answer.article import Article as ComposedArticle
from vademecum.answer.render import to_dict
from vademecum.articles.models import (
    APPROVED,
    EDITOR,
    REVIEWER,
    SUBMITTED,
    Article,
    ArticleVersion,
    AuditEntry,
    User,
)
from vademecum.articles.versions import find_or_create_article, last_updated, mark_stale, normalise_question
from vademecum.cli import app
from vademecum.errors import ConflictError, InvalidQueryError, InvalidTransition, PermissionDenied
from vademecum.services import articles as service
from vademecum.services.accounts import add_user
from vademecum.services.ask import ask
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings

# A question from tests/test_ask.py that the demo corpus answers from its PDQ summary.
QUESTION = "How is pheochromocytoma diagnosed?"
PLACEHOLDER = {"schema_version": "1.0", "title": "t"}
T1 = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def composed(demo_settings: Settings) -> ComposedArticle:
    """The real article for QUESTION, composed once on the demo corpus."""
    runtime = open_runtime(demo_settings)
    try:
        return ask(runtime, QUESTION)
    finally:
        runtime.close()


@pytest.fixture
def session(runtime: Runtime) -> Iterator[Session]:
    with runtime.sessions() as session:
        yield session


@pytest.mark.parametrize(
    "variant",
    [
        "How is pheochromocytoma diagnosed?",
        "how is pheochromocytoma diagnosed",
        "  How   is pheochromocytoma\tdiagnosed ?? ",
        "HOW IS PHEOCHROMOCYTOMA DIAGNOSED.",
        "“How is pheochromocytoma diagnosed?”",
        "How is pheochromocytoma diagnosed?!…",
        "How\u00a0is pheochromocytoma diagnosed?",
    ],
)
def test_near_identical_wordings_share_a_key(variant: str) -> None:
    assert normalise_question(variant) == "how is pheochromocytoma diagnosed"


def test_different_questions_keep_different_keys() -> None:
    assert normalise_question("How is pheochromocytoma treated?") != normalise_question(QUESTION)
    assert normalise_question("Is it safe (in pregnancy)?") == "is it safe (in pregnancy)"
    assert normalise_question("What’s the dose – adults?") == "what's the dose - adults"
    with pytest.raises(InvalidQueryError):
        normalise_question(" ?! ")


def test_ask_article_creates_once_and_finds_by_normalised_question(runtime: Runtime, composed: ComposedArticle) -> None:
    calls: list[str] = []

    def compose(_runtime: Runtime, question: str) -> ComposedArticle:
        calls.append(question)
        return composed

    first = service.ask_article(runtime, QUESTION, None, compose=compose)
    again = service.ask_article(runtime, "  how is PHEOCHROMOCYTOMA diagnosed ", None, compose=compose)
    assert calls == [QUESTION]
    assert (first.created, again.created) == (True, False)
    assert again.article_id == first.article_id
    assert (first.status, first.version_number, first.approved_version_id, first.last_updated) == (
        SUBMITTED,
        1,
        None,
        None,
    )
    assert first.question == QUESTION
    assert first.article_json == to_dict(composed)
    assert again.article_json["title"] == composed.title
    with runtime.session() as session:
        version = session.scalars(select(ArticleVersion)).one()
        assert version.created_by is None  # an anonymous asker: the system generated it
        assert (version.source, version.edited) == ("generated", False)
        assert version.engine_version == composed.engine_version
        assert (version.corpus_last_ingest_run, version.corpus_documents, version.corpus_indexed_passages) == (
            composed.corpus.last_ingest_run,
            composed.corpus.documents,
            composed.corpus.indexed_passages,
        )
        entry = session.scalars(select(AuditEntry)).one()
        assert (entry.action, entry.actor_id, entry.from_status, entry.to_status) == (
            "vademecum.article.create",
            None,
            None,
            SUBMITTED,
        )
        assert entry.data == {"version": 1, "question": QUESTION}


def test_regenerate_makes_a_new_version_only_when_the_state_allows(runtime: Runtime, composed: ComposedArticle) -> None:
    with runtime.session() as session:
        editor = User(username="ed", role=EDITOR)
        reviewer = User(username="rev", role=REVIEWER)
        session.add_all([editor, reviewer])
    state = service.ask_article(runtime, QUESTION, None, compose=lambda _r, _q: composed)
    with pytest.raises(InvalidTransition):
        service.regenerate(runtime, editor, state.article_id, compose=lambda _r, _q: composed)
    with runtime.session() as session:
        service.review_step(session, reviewer, state.version_id, "take")
        service.review_step(session, reviewer, state.version_id, "approve", now=lambda: T1)
    with pytest.raises(PermissionDenied):
        service.regenerate(runtime, reviewer, state.article_id, compose=lambda _r, _q: composed)
    new = service.regenerate(runtime, editor, state.article_id, compose=lambda _r, _q: composed, now=lambda: T2)
    assert (new.status, new.version_number, new.approved_version_id) == (SUBMITTED, 2, state.version_id)
    # readers keep seeing the approved version's date until the new one is approved
    with runtime.session() as session:
        article = session.get(Article, state.article_id)
        assert article is not None
        assert last_updated(article) == article.approved_version.created_at
        assert article.versions[1].created_by == editor.id


def test_same_question_twice_in_one_store(session: Session) -> None:
    first, created = find_or_create_article(session, "Placeholder question?", PLACEHOLDER, None)
    second, created_again = find_or_create_article(session, "placeholder  QUESTION", PLACEHOLDER, None)
    session.commit()
    assert (created, created_again) == (True, False)
    assert second.id == first.id
    assert session.scalar(select(func.count()).select_from(Article)) == 1


def test_last_updated_and_stale_flag(session: Session) -> None:
    reviewer = User(username="rev", role=REVIEWER)
    session.add(reviewer)
    approved, _ = find_or_create_article(session, "placeholder approved", PLACEHOLDER, None, now=lambda: T1)
    pending, _ = find_or_create_article(session, "placeholder pending", PLACEHOLDER, None)
    session.commit()
    assert last_updated(approved) is None
    service.review_step(session, reviewer, approved.current_version_id, "take")
    service.review_step(session, reviewer, approved.current_version_id, "approve", now=lambda: T2)
    session.commit()
    session.expire_all()
    # the version's date, not the approval's
    assert last_updated(approved) == T1

    flagged = mark_stale(session, [approved.id, pending.id, approved.id], "placeholder reason", now=lambda: T2)
    assert flagged == [approved.id]
    assert mark_stale(session, [approved.id], "placeholder reason") == []  # already flagged
    session.commit()
    session.expire_all()
    assert (approved.stale, approved.stale_reason) == (True, "placeholder reason")
    assert pending.stale is False
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "vademecum.article.mark_stale")).one()
    assert (entry.article_id, entry.version_id, entry.comment, entry.timestamp) == (
        approved.id,
        approved.approved_version_id,
        "placeholder reason",
        T2,
    )
    state = service.article_state(approved)
    assert (state.status, state.stale) == (APPROVED, True)

    # approving a new version clears the flag
    editor = User(username="ed", role=EDITOR)
    session.add(editor)
    session.flush()
    new = service.edit(session, editor, approved.id, PLACEHOLDER, now=lambda: T2)
    service.review_step(session, reviewer, new.version_id, "take")
    state = service.review_step(session, reviewer, new.version_id, "approve")
    session.commit()
    assert (state.stale, state.stale_reason, state.approved_version_id, state.last_updated) == (
        False,
        None,
        new.version_id,
        T2,
    )


def test_add_user_checks_role_name_and_permission(session: Session) -> None:
    admin = add_user(session, None, "adm", "admin", from_command_line=True, now=lambda: T1)
    assert (admin.username, admin.role, admin.has_password, admin.created_at) == ("adm", "admin", False, T1)
    admin_row = session.get(User, admin.user_id)
    reviewer = add_user(session, admin_row, "rev", REVIEWER)
    session.commit()
    with pytest.raises(ConflictError):
        add_user(session, admin_row, "rev", EDITOR)
    with pytest.raises(InvalidQueryError):
        add_user(session, admin_row, "two words", EDITOR)
    with pytest.raises(InvalidQueryError):
        add_user(session, admin_row, "someone", "boss")
    with pytest.raises(PermissionDenied):
        add_user(session, session.get(User, reviewer.user_id), "someone", EDITOR)
    with pytest.raises(PermissionDenied):
        add_user(session, None, "someone", EDITOR)
    session.rollback()
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor_name) for e in entries] == [
        ("vademecum.user.create", None),
        ("vademecum.user.create", "adm"),
    ]
    assert entries[0].data == {"user": admin.user_id, "username": "adm", "role": "admin", "via": "command line"}
    assert entries[1].data == {"user": reviewer.user_id, "username": "rev", "role": "reviewer", "via": "app"}
    assert session.get(User, reviewer.user_id).password_hash is None


def test_users_add_command(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VADEMECUM_HOME", str(settings.home))
    monkeypatch.setenv("VADEMECUM_DATABASE_URL", settings.resolved_database_url)
    cli = CliRunner()
    result = cli.invoke(app, ["users", "add", "rev", "--role", "reviewer"])
    assert result.exit_code == 0, result.output
    assert result.output == "created reviewer 'rev' (id 1); no password is set yet\n"
    result = cli.invoke(app, ["users", "add", "rev", "--role", "editor"])
    assert result.exit_code == 1
    assert "there is already a user called 'rev'" in result.output
    runtime = open_runtime(settings)
    try:
        with runtime.session() as session:
            assert [(u.username, u.role) for u in session.scalars(select(User))] == [("rev", "reviewer")]
    finally:
        runtime.close()
