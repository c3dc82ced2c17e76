"""Stale flags after ingest: an approved article is flagged when newly ingested evidence would change its
sources, with a reason naming the new documents; unaffected articles and re-ingests flag nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from vademecum.articles.models import REVIEWER, Article, AuditEntry, User
from vademecum.cli import app
from vademecum.services import articles as service
from vademecum.services.freshness import REASON_PREFIX, check_freshness
from vademecum.services.ingest import DEMO_VOCABULARY, compile_vocabulary_if_needed, ingest_paths
from vademecum.services.runtime import Runtime
from vademecum.settings import Settings

# Questions of tests/test_ask.py. With the first files the breast article cites only its PDQ summary;
# the second PubMed file holds studies it then cites too. The Ewing article does not change.
BREAST = "How is early-stage breast cancer treated?"
EWING = "What is the prognosis of Ewing sarcoma?"
FIRST = (
    "guidelines/nci-pdq/types-breast-hp-breast-treatment-pdq.md",
    "guidelines/nci-pdq/types-bone-hp-ewing-treatment-pdq.md",
    "pubmed/pubmedparser-pubmed21n1001.xml.gz",
)
SECOND = "pubmed/pubmedparser-pubmed21n1002.xml.gz"


def approve_articles(runtime: Runtime, corpus_dir: Path) -> dict[str, service.ArticleState]:
    """Ingest FIRST, ask both questions (as the system) and have a reviewer approve both articles."""
    compile_vocabulary_if_needed(runtime, corpus_dir / DEMO_VOCABULARY)
    report = ingest_paths(runtime, [corpus_dir / name for name in FIRST])
    assert report.ok
    assert report.freshness is not None and report.freshness.checked == 0  # nothing approved yet
    with runtime.session() as session:
        session.add(User(username="rev", role=REVIEWER))
    states = {}
    for question in (BREAST, EWING):
        state = service.ask_article(runtime, question, None)
        with runtime.session() as session:
            reviewer = session.scalars(select(User)).one()
            service.review_step(session, reviewer, state.version_id, "take")
            states[question] = service.review_step(session, reviewer, state.version_id, "approve")
    assert [r["kind"] for r in states[BREAST].article_json["references"]] == ["guideline"]
    return states


def test_new_evidence_flags_the_article_it_would_change(runtime: Runtime, corpus_dir: Path) -> None:
    states = approve_articles(runtime, corpus_dir)
    report = ingest_paths(runtime, [corpus_dir / SECOND])
    assert report.ok and report.counts["documents_added"] > 0
    assert report.freshness is not None
    assert report.freshness.checked == 2
    assert report.freshness.failed == ()
    assert [s.article_id for s in report.freshness.flagged] == [states[BREAST].article_id]
    reason = report.freshness.flagged[0].reason
    assert reason.startswith(REASON_PREFIX)
    # the studies the breast article would now cite, by id, title and level
    assert "would now cite Phase II Study of Proton Beam Radiation Therapy" in reason
    assert "(pmid:31449469, other_trial_observational)" in reason
    assert "pdq:types/breast/hp/breast-treatment-pdq" not in reason  # the guideline itself is unchanged

    with runtime.session() as session:
        breast = session.get_one(Article, states[BREAST].article_id)
        ewing = session.get_one(Article, states[EWING].article_id)
        assert (breast.stale, breast.stale_reason) == (True, reason)
        assert (ewing.stale, ewing.stale_reason) == (False, None)
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "vademecum.article.mark_stale")).all()
        assert [(e.article_id, e.version_id, e.actor_id, e.comment) for e in entries] == [
            (breast.id, states[BREAST].version_id, None, reason)
        ]

    # the same files again: nothing is stored, nothing checked, nothing flagged
    again = ingest_paths(runtime, [corpus_dir / name for name in (*FIRST, SECOND)])
    assert again.counts["files_unchanged"] == 4
    assert again.freshness is None
    # an explicit check skips the stale article and finds no news for the other
    check = check_freshness(runtime)
    assert (check.checked, check.flagged, check.failed) == (1, (), ())
    with runtime.session() as session:
        assert (
            len(session.scalars(select(AuditEntry).where(AuditEntry.action == "vademecum.article.mark_stale")).all())
            == 1
        )


def test_ingest_and_check_stale_commands_print_what_was_flagged(
    runtime: Runtime, settings: Settings, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    states = approve_articles(runtime, corpus_dir)
    monkeypatch.setenv("VADEMECUM_HOME", str(settings.home))
    monkeypatch.setenv("VADEMECUM_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("VADEMECUM_CORPUS", str(corpus_dir))
    cli = CliRunner()
    result = cli.invoke(app, ["articles", "check-stale"])
    assert result.exit_code == 0, result.output
    assert result.output == "checked 2 approved article(s) for newer evidence: 0 flagged stale\n"
    runtime.close()  # the command opens its own index writer
    result = cli.invoke(app, ["ingest", str(corpus_dir / SECOND)])
    assert result.exit_code == 0, result.output
    assert "checked 2 approved article(s) for newer evidence: 1 flagged stale\n" in result.output
    assert f"article {states[BREAST].article_id} ({BREAST}): {REASON_PREFIX}would now cite" in result.output
