"""Issue 12, item 1: nobody takes or approves a version that still holds their own edit.

The probe's chain, over the REST API: a reviewer approves version 1; an admin rewrites a sentence
(version 2, "give 10x the labelled dose"); a reviewer requests changes; an editor makes a trivial edit
elsewhere (version 3, still holding the admin's sentence); the admin then took and approved version 3
(200) and readers saw it. The admin must be refused (403, saying why) and readers keep version 1.

The article is a real composed one (tests/test_edits.py's question), stored in each test's fresh
database on SQLite and PostgreSQL with the passages it cites.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from security.security_support import bearer, make_users
from vademecum.answer.article import Article as ComposedArticle
from vademecum.articles.edits import editable_sentences
from vademecum.articles.models import ADMIN, APPROVED, EDITOR, REVIEWER
from vademecum.services import articles as service
from vademecum.services.ask import ask
from vademecum.services.ingest import DEMO_VOCABULARY, compile_vocabulary_if_needed, ingest_paths
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings
from vademecum.web.app import create_app

QUESTION = "How is early-stage breast cancer treated?"
FILES = (
    "guidelines/nci-pdq/types-breast-hp-breast-treatment-pdq.md",
    "pubmed/pubmedparser-pubmed21n1002.xml.gz",
    "research/pmc-oa-rct/PMC5340016.nxml",
)
ROLES = {"rev": REVIEWER, "rev2": REVIEWER, "adm": ADMIN, "ed": EDITOR}
DANGEROUS = "Give 10x the labelled dose."


@pytest.fixture(scope="module")
def composed(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> ComposedArticle:
    """The question's article, composed once in a store of its own."""
    runtime = open_runtime(Settings(home=tmp_path_factory.mktemp("self-approval-seed"), corpus=corpus_dir))
    try:
        compile_vocabulary_if_needed(runtime, corpus_dir / DEMO_VOCABULARY)
        assert ingest_paths(runtime, [corpus_dir / name for name in FILES]).ok
        return ask(runtime, QUESTION)
    finally:
        runtime.close()


@dataclass
class Board:
    client: TestClient
    runtime: Runtime
    tokens: dict[str, str]
    article_id: int

    def post(self, who: str, path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
        response = self.client.post(
            f"/api/articles/{self.article_id}{path}", json=body, headers=bearer(self.tokens[who])
        )
        return response.status_code, response.json()

    def step(self, who: str, number: int, action: str) -> tuple[int, dict[str, object]]:
        return self.post(who, f"/versions/{number}/transitions", {"action": action})

    def edit(self, who: str, edits: dict[str, str | None]) -> dict[str, object]:
        status, body = self.post(who, "/edits", {"edits": edits})
        assert status == 201, body
        return body


@pytest.fixture
def board(settings: Settings, runtime: Runtime, corpus_dir: Path, composed: ComposedArticle) -> Iterator[Board]:
    """The article stored and approved at version 1 by "rev"; the admin has rewritten its first sentence
    (version 2) and "rev" has sent version 2 back."""
    assert ingest_paths(runtime, [corpus_dir / name for name in FILES]).ok
    _, tokens = make_users(runtime, ROLES)
    state = service.ask_article(runtime, QUESTION, None, compose=lambda _runtime, _question: composed)
    with TestClient(create_app(settings)) as client:
        board = Board(client, runtime, tokens, state.article_id)
        for action in ("take", "approve"):
            assert board.step("rev", 1, action)[0] == 200
        assert board.edit("adm", {"1": DANGEROUS})["version_number"] == 2
        for action in ("take", "request_changes"):
            assert board.step("rev", 2, action)[0] == 200
        yield board


def test_an_admin_cannot_approve_their_sentence_through_someone_elses_edit(board: Board) -> None:
    sentences = editable_sentences(board.client.get(f"/api/articles/{board.article_id}/versions/2").json()["article"])
    trivial = next(s for s in sentences if s.position > 1 and not s.edited)
    third = board.edit("ed", {str(trivial.position): trivial.text.rstrip(".") + " (see below)."})
    assert third["version_number"] == 3
    assert DANGEROUS in [s.text for s in editable_sentences(third["article"])]

    refusal = (
        "adm (admin) cannot {} version 3: it still holds their edit of version 2, made since the article "
        "was last approved; another reviewer must"
    )
    assert board.step("adm", 3, "take") == (403, {"detail": refusal.format("take")})
    # Taken by a reviewer, the admin still cannot approve it.
    assert board.step("rev2", 3, "take")[0] == 200
    assert board.step("adm", 3, "approve") == (403, {"detail": refusal.format("approve")})
    # Readers never see it approved: they keep version 1.
    shown = board.client.get(f"/api/articles/{board.article_id}").json()
    assert (shown["version_number"], shown["status"], shown["approved_version_number"]) == (1, APPROVED, 1)
    # The editor who made version 3 cannot approve it either; another reviewer can.
    assert board.step("ed", 3, "approve")[0] == 403
    status, body = board.step("rev2", 3, "approve")
    assert (status, body["approved_version_number"]) == (200, 3)


def test_once_their_sentence_is_gone_the_admin_may_review(board: Board) -> None:
    """The rule is about text, not people: when the editor rewrites the admin's sentence, version 3 holds
    nothing of the admin's and the admin may take and approve it."""
    board.edit("ed", {"1": "Treatment is chosen by stage and receptor status."})
    assert board.step("adm", 3, "take")[0] == 200
    status, body = board.step("adm", 3, "approve")
    assert (status, body["approved_version_number"]) == (200, 3)


def test_a_removal_counts_as_a_change_while_the_sentence_stays_removed(board: Board) -> None:
    """Removing a sentence (a warning, say) is a change too: a version that still lacks it is the remover's."""
    for action in ("take", "approve"):
        assert board.step("rev2", 2, action)[0] == 409  # version 2 was sent back; it cannot be approved now
    third = board.edit("adm", {"2": None})  # the admin now removes a sentence (version 3)
    for action in ("take", "request_changes"):
        assert board.step("rev", 3, action)[0] == 200
    sentences = editable_sentences(third["article"])
    board.edit("ed", {str(len(sentences)): sentences[-1].text.rstrip(".") + " (see below)."})
    assert board.step("adm", 4, "take")[0] == 403


def test_after_an_approval_by_someone_else_the_admins_edit_is_reviewed(board: Board) -> None:
    """Only edits since the last approval count: once another reviewer approved the admin's sentence, a
    later version holding it is no longer the admin's own work."""
    sentences = editable_sentences(board.client.get(f"/api/articles/{board.article_id}/versions/2").json()["article"])
    board.edit("ed", {str(sentences[-1].position): sentences[-1].text.rstrip(".") + " (see below)."})
    for action in ("take", "approve"):
        assert board.step("rev2", 3, action)[0] == 200
    board.edit("ed", {str(sentences[-2].position): sentences[-2].text.rstrip(".") + " (see above)."})
    assert board.step("adm", 4, "take")[0] == 200
