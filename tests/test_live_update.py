"""`vademecum update` against a local NLM file server and DailyMed serving real corpus files: new
update files are applied once, stored labels are revalidated, runs do not overlap, and an approved
article whose question the update brings newer evidence for is flagged stale."""

from __future__ import annotations

import fcntl
import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from live_server import LiveServer, run_server
from test_freshness import BREAST, SECOND, approve_articles
from vademecum.cli import app
from vademecum.errors import VademecumError
from vademecum.evidence.models import EvidenceDocument
from vademecum.records import SourceDocument
from vademecum.services import live
from vademecum.services.ingest import ingest_paths
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import LiveSettings, Settings
from vademecum.sources.medline import parse as parse_medline

HUMIRA = "608d4f0d-b19f-46d3-749a-7159aa5f933d"
UPDATES = {"pubmed21n1003.xml.gz": "pubmed/pubmedparser-pubmed21n1003.xml.gz",
           "pubmed21n1004.xml.gz": "pubmed/pubmedparser-pubmed21n1004.xml.gz"}  # fmt: skip


@pytest.fixture
def server(corpus_dir: Path) -> Iterator[LiveServer]:
    state = LiveServer()
    state.spl_files[HUMIRA] = corpus_dir / "labels/spl/humira.xml"
    yield from run_server(state)


def live_settings(server: LiveServer) -> LiveSettings:
    return LiveSettings(
        enabled=True,
        dailymed_url=f"{server.base_url}/dailymed",
        pubmed_files_url=f"{server.base_url}/pubmed",
        backoff_seconds=0.01,
    )


@pytest.fixture
def live_runtime(settings: Settings, server: LiveServer) -> Iterator[Runtime]:
    runtime = open_runtime(settings.model_copy(update={"live": live_settings(server)}))
    yield runtime
    runtime.close()


def pmids(path: Path) -> set[str]:
    """The document ids of the citations (not the deletions) of a real MEDLINE file."""
    with gzip.open(path) as handle:
        return {record.doc_id for record in parse_medline(handle, path.name) if isinstance(record, SourceDocument)}


def stored_ids(runtime: Runtime) -> set[str]:
    with runtime.session() as session:
        return set(session.scalars(select(EvidenceDocument.id)))


def test_update_twice_applies_nothing_the_second_time(live_runtime: Runtime, server: LiveServer, corpus_dir: Path):
    ingest_paths(live_runtime, [corpus_dir / "labels/spl/humira.xml"])
    for name, path in UPDATES.items():
        server.nlm_files["updatefiles"][name] = corpus_dir / path

    first = live.update(live_runtime)
    assert first.ok, first.problems
    assert first.nlm_applied == sorted(UPDATES) and first.nlm_already_applied == 0
    assert first.labels_checked == 1
    expected = {f"spl:{HUMIRA}"} | set().union(*(pmids(corpus_dir / path) for path in UPDATES.values()))
    assert stored_ids(live_runtime) == expected
    # the label came back with the bytes already stored: unchanged
    assert first.ingest is not None and first.ingest.counts["files_unchanged"] == 1
    # applied files are remembered by the store, not kept on disk
    assert not list((live_runtime.settings.home / "live" / "nlm" / "updatefiles").iterdir())

    seen_before = len(server.seen)
    second = live.update(live_runtime)
    assert second.ok and second.nlm_applied == [] and second.nlm_already_applied == 2
    assert second.ingest is not None
    assert second.ingest.counts["documents_added"] == second.ingest.counts["documents_updated"] == 0
    assert second.ingest.freshness is None
    requested = [seen.path for seen in server.seen[seen_before:]]
    assert not any(path.endswith(".xml.gz") or path.endswith(".md5") for path in requested)
    (label,) = [seen for seen in server.seen[seen_before:] if seen.path.endswith(f"{HUMIRA}.xml")]
    assert "if-none-match" in label.headers  # revalidated; the server answered 304
    assert stored_ids(live_runtime) == expected


def test_md5_mismatch_stops_the_update_before_ingesting_that_file(
    live_runtime: Runtime, server: LiveServer, corpus_dir: Path
):
    for name, path in UPDATES.items():
        server.nlm_files["updatefiles"][name] = corpus_dir / path
    server.md5_override["pubmed21n1003.xml.gz"] = "0" * 32
    report = live.update(live_runtime)
    assert not report.ok and report.nlm_applied == []
    (problem,) = report.problems
    assert "pubmed21n1003.xml.gz: MD5 mismatch (published 00000000000000000000000000000000" in problem
    # 1004 comes after the rejected file, so it waits for the next run
    assert report.ingest is None and stored_ids(live_runtime) == set()


def test_a_second_update_while_one_runs_is_refused(live_runtime: Runtime):
    lock = live_runtime.settings.home / "live" / "update.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(VademecumError, match="another `vademecum update` is running"):
            live.update(live_runtime)


def test_update_flags_an_approved_article_that_newer_evidence_changes(
    live_runtime: Runtime, server: LiveServer, corpus_dir: Path
):
    states = approve_articles(live_runtime, corpus_dir)
    server.nlm_files["updatefiles"]["pubmed21n1002.xml.gz"] = corpus_dir / SECOND
    report = live.update(live_runtime)
    assert report.ok and report.nlm_applied == ["pubmed21n1002.xml.gz"]
    assert report.ingest is not None and report.ingest.freshness is not None
    assert [s.article_id for s in report.ingest.freshness.flagged] == [states[BREAST].article_id]
    assert "(pmid:31449469, other_trial_observational)" in report.ingest.freshness.flagged[0].reason


def test_update_command_prints_what_it_applied(
    server: LiveServer, corpus_dir: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    server.nlm_files["updatefiles"]["pubmed21n1005.xml.gz"] = corpus_dir / "pubmed/pubmedparser-pubmed21n1005.xml.gz"
    monkeypatch.setenv("VADEMECUM_HOME", str(settings.home))
    monkeypatch.setenv("VADEMECUM_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("VADEMECUM_LIVE__PUBMED_FILES_URL", f"{server.base_url}/pubmed")
    monkeypatch.setenv("VADEMECUM_LIVE__DAILYMED_URL", f"{server.base_url}/dailymed")
    refused = CliRunner().invoke(app, ["update"])
    assert refused.exit_code == 1 and "network access is off" in refused.output
    result = CliRunner().invoke(app, ["update", "--allow-network"])
    assert result.exit_code == 0, result.output
    assert "NLM files applied: 1 (pubmed21n1005.xml.gz)" in result.output
    assert "stale articles flagged: 0" in result.output
    again = CliRunner().invoke(app, ["update", "--allow-network"])
    assert again.exit_code == 0 and "NLM files applied: 0 (none new); already applied: 1" in again.output
