"""Editors' edits: a new version that rewrites or removes sentences of a real composed article, keeps the
provenance of every other sentence, renumbers citations, and goes through the workflow and the policy,
on SQLite and PostgreSQL.

The article is composed once in a store holding two real files; each database test ingests the same files
in the same order into its own fresh store, so the passage ids the article cites are the same there
(the service verifies every edited version against its store, so a mismatch could not pass unnoticed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import html as lxml_html
from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vademecum.answer.article import ARTICLE_SCHEMA_VERSION, CitedSentence
from vademecum.answer.article import Article as ComposedArticle
from vademecum.answer.citations import check_citations, reference_sources
from vademecum.answer.render import MD_EDITED_MARK, md_text, to_dict, to_html_fragment, to_markdown
from vademecum.answer.verify import article_sentences, verify_article
from vademecum.articles.edits import MAX_SENTENCE_CHARS, apply_edits, editable_sentences, load_article
from vademecum.articles.models import ADMIN, EDITOR, REVIEWER, ArticleVersion, AuditEntry, User
from vademecum.errors import InvalidQueryError, PermissionDenied
from vademecum.services import articles as service
from vademecum.services.ask import ask
from vademecum.services.ingest import DEMO_VOCABULARY, compile_vocabulary_if_needed, ingest_paths
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings

# A question of tests/test_ask.py; with these files its article cites the PDQ summary and two studies (a
# MEDLINE record and a PubMed Central full text).
QUESTION = "How is early-stage breast cancer treated?"
FILES = (
    "guidelines/nci-pdq/types-breast-hp-breast-treatment-pdq.md",
    "pubmed/pubmedparser-pubmed21n1002.xml.gz",
    "research/pmc-oa-rct/PMC5340016.nxml",
)


@dataclass(frozen=True)
class Seed:
    """The composed article and the (SQLite) store it was composed in."""

    article: ComposedArticle
    settings: Settings


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Seed:
    settings = Settings(home=tmp_path_factory.mktemp("edits-seed"), corpus=corpus_dir)
    runtime = open_runtime(settings)
    try:
        compile_vocabulary_if_needed(runtime, corpus_dir / DEMO_VOCABULARY)
        assert ingest_paths(runtime, [corpus_dir / name for name in FILES]).ok
        return Seed(ask(runtime, QUESTION), settings)
    finally:
        runtime.close()


@pytest.fixture
def seed_session(seed: Seed) -> Iterator[Session]:
    runtime = open_runtime(seed.settings)
    try:
        with runtime.sessions() as session:
            yield session
    finally:
        runtime.close()


@dataclass
class People:
    editor: User
    admin: User
    reviewer: User


def stored_article(runtime: Runtime, corpus_dir: Path, seed: Seed) -> tuple[service.ArticleState, People]:
    """The seed article stored in ``runtime`` (same files, same passage ids), approved, and three users."""
    assert ingest_paths(runtime, [corpus_dir / name for name in FILES]).ok
    with runtime.session() as session:
        people = People(
            editor=User(username="ed", role=EDITOR),
            admin=User(username="adm", role=ADMIN),
            reviewer=User(username="rev", role=REVIEWER),
        )
        session.add_all(vars(people).values())
    state = service.ask_article(runtime, QUESTION, None, compose=lambda _runtime, _question: seed.article)
    with runtime.session() as session:
        service.review_step(session, people.reviewer, state.version_id, "take")
        state = service.review_step(session, people.reviewer, state.version_id, "approve")
    return state, people


_SENTENCE = TypeAdapter(CitedSentence)


def sentence_dicts(article_json: dict) -> list[dict]:
    """The JSON of every sentence of an article JSON, in reading order."""
    return [_SENTENCE.dump_python(s, mode="json") for s in article_sentences(load_article(article_json))]


def audit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_an_edit_marks_one_sentence_and_keeps_every_other_one(runtime: Runtime, corpus_dir: Path, seed: Seed) -> None:
    before, people = stored_article(runtime, corpus_dir, seed)
    original = sentence_dicts(before.article_json)
    # Real source words only: the editor merges the third sentence with the fourth.
    new_text = f"{original[2]['text']} {original[3]['text']}"
    with runtime.session() as session:
        state = service.edit_sentences(
            session,
            session.get(User, people.admin.id),
            before.article_id,
            {3: new_text},
            comment="merged two sentences",
            expected_revision=before.article_revision,
        )
    assert (state.version_number, state.status, state.approved_version_id) == (2, "submitted", before.version_id)
    assert state.article_json["schema_version"] == ARTICLE_SCHEMA_VERSION
    edited = sentence_dicts(state.article_json)
    assert len(edited) == len(original)
    assert edited[2] == {**original[2], "text": new_text, "edited": True}
    assert [s for i, s in enumerate(edited) if i != 2] == [s for i, s in enumerate(original) if i != 2]
    assert state.article_json["references"] == before.article_json["references"]
    assert state.article_json["citation_numbers"] == before.article_json["citation_numbers"]

    with runtime.session() as session:
        assert verify_article(session, load_article(state.article_json)) == []
        version = session.get_one(ArticleVersion, state.version_id)
        assert (version.source, version.edited, version.created_by) == ("edited", True, people.admin.id)
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        assert (entry.action, entry.actor_name, entry.from_status, entry.to_status, entry.comment) == (
            "vademecum.article.edit",
            "adm",
            "approved",
            "submitted",
            "merged two sentences",
        )
        assert entry.data == {"version": 2, "edited_from": 1, "replaced": [3], "removed": []}
        # the admin edited this version: they may neither take nor approve it (four eyes)
        with pytest.raises(PermissionDenied, match="generated or edited"):
            service.review_step(session, session.get(User, people.admin.id), state.version_id, "take")
    with runtime.session() as session:
        service.review_step(session, session.get(User, people.reviewer.id), state.version_id, "take")
    with runtime.session() as session, pytest.raises(PermissionDenied, match="generated or edited"):
        service.review_step(session, session.get(User, people.admin.id), state.version_id, "approve")
    with runtime.session() as session:
        approved = service.review_step(session, session.get(User, people.reviewer.id), state.version_id, "approve")
    assert approved.approved_version_id == state.version_id

    article = load_article(state.article_json)
    markdown = to_markdown(article)
    assert markdown.count(MD_EDITED_MARK) == 1
    assert f"{md_text(new_text, '  ')} {MD_EDITED_MARK}" in markdown
    tree = lxml_html.fromstring(to_html_fragment(article))
    marked = tree.xpath("//span[contains(concat(' ', @class, ' '), ' edited-sentence ')]")
    assert [(span.text_content(), span.get("data-key")) for span in marked] == [
        (new_text, f"ev-{original[2]['source']['passage_id']}")
    ]
    mark = marked[0].getnext()
    assert (mark.get("class"), mark.text_content()) == ("edited-mark", "(edited)")
    assert "editorial team" in mark.get("title")


def test_removing_sentences_renumbers_citations(seed: Seed, seed_session: Session) -> None:
    article = seed.article
    numbers = article.citation_numbers
    lead = {numbers[key] for key in article.guidelines.guideline_keys}
    sentences = list(article_sentences(article))
    # The first reference no lead paragraph cites and that is not the last: removing every sentence
    # citing it must move the later references up by one.
    target = min(r.number for r in article.references if r.number not in lead and r.number < len(article.references))
    removed = [
        position
        for position, sentence in enumerate(sentences, start=1)
        if {numbers[key] for key in sentence.keys} == {target}
    ]
    assert removed
    assert all(target not in {numbers[k] for k in s.keys} for i, s in enumerate(sentences, 1) if i not in removed)
    sources = reference_sources(seed_session, numbers)
    result = apply_edits(to_dict(article), dict.fromkeys(removed), sources.get)
    assert (result.replaced, result.removed) == ((), tuple(removed))

    edited = load_article(result.article_json)
    assert check_citations(edited) == []
    assert verify_article(seed_session, edited) == []
    before_ids = [r.document_id for r in article.references]
    gone = before_ids[target - 1]
    assert [r.document_id for r in edited.references] == [d for d in before_ids if d != gone]
    assert [r.number for r in edited.references] == list(range(1, len(article.references)))
    kept = [s for i, s in enumerate(sentences, 1) if i not in removed]
    assert list(article_sentences(edited)) == kept
    new_number = {r.document_id: r.number for r in edited.references}
    for sentence in article_sentences(edited):
        for key in sentence.keys:
            assert edited.citation_numbers[key] == new_number[sentence.source.document_id]
    # every bullet left has a sentence; the bullets that held only removed sentences are gone
    bullets_before = sum(1 for b in (*article.guidelines.bullets, *article.research.bullets))
    bullets_after = sum(1 for b in (*edited.guidelines.bullets, *edited.research.bullets))
    assert all(b.sentences for b in (*edited.guidelines.bullets, *edited.research.bullets))
    gone_sentences = [s for i, s in enumerate(sentences, 1) if i in removed]
    bullets = (*article.guidelines.bullets, *article.research.bullets)
    emptied = sum(1 for b in bullets if all(s in gone_sentences for s in b.sentences))
    assert emptied and bullets_after == bullets_before - emptied


def test_editable_sentences_follow_reading_order_under_their_headings(seed: Seed) -> None:
    listed = editable_sentences(to_dict(seed.article))
    sentences = list(article_sentences(seed.article))
    assert [s.position for s in listed] == list(range(1, len(sentences) + 1))
    assert [(s.text, s.key, s.edited) for s in listed] == [(s.text, s.source.key, False) for s in sentences]
    assert listed[0].heading.startswith("From the Guidelines › ")
    assert listed[-1].heading.startswith("From the Research › ")
    research = seed.article.research.groups[-1]
    assert listed[-1].heading == f"From the Research › {research.heading}"


@pytest.mark.parametrize(
    ("position", "text", "message"),
    [
        (0, "x", "sentence 0: no such sentence"),
        (10_000, None, "sentence 10000: no such sentence"),
        (2, " \r\n ", "sentence 2: the new text is empty"),
        (2, "x" * (MAX_SENTENCE_CHARS + 1), f"sentence 2: the new text has {MAX_SENTENCE_CHARS + 1} characters"),
        (2, "same", "the edit changes no sentence"),
    ],
)
def test_bad_edits_are_refused_and_write_nothing(
    runtime: Runtime, corpus_dir: Path, seed: Seed, position: int, text: str | None, message: str
) -> None:
    before, people = stored_article(runtime, corpus_dir, seed)
    if text == "same":
        # the unchanged text, with the line breaks a browser's textarea would send
        text = sentence_dicts(before.article_json)[1]["text"].replace("\n", "\r\n") + "\n"
    with runtime.sessions() as session:
        count = audit_count(session)
        with pytest.raises(InvalidQueryError, match=message):
            service.edit_sentences(session, session.get(User, people.editor.id), before.article_id, {position: text})
        session.rollback()
        assert audit_count(session) == count
        assert session.scalar(select(func.count()).select_from(ArticleVersion)) == 1


def test_only_editors_and_admins_may_edit(runtime: Runtime, corpus_dir: Path, seed: Seed) -> None:
    before, people = stored_article(runtime, corpus_dir, seed)
    with runtime.session() as session:
        count = audit_count(session)
    for actor in (None, people.reviewer):
        with runtime.sessions() as session:
            me = session.get(User, actor.id) if actor is not None else None
            with pytest.raises(PermissionDenied):
                service.edit_form(session, me, before.article_id)
            with pytest.raises(PermissionDenied):
                service.edit_sentences(session, me, before.article_id, {1: None})
            session.rollback()
    with runtime.session() as session:
        assert audit_count(session) == count
        form = service.edit_form(session, session.get(User, people.editor.id), before.article_id)
        assert form.state.version_id == before.version_id
        assert len(form.sentences) == len(sentence_dicts(before.article_json))
        state = service.edit_sentences(session, session.get(User, people.editor.id), before.article_id, {1: None})
    assert state.version_number == 2
    assert len(sentence_dicts(state.article_json)) == len(form.sentences) - 1
