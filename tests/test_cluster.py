"""`vademecum ingest --cluster`: files sharded over a local Dask cluster into index shards and PostgreSQL."""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dask
import psutil
import pytest
from distributed import Client, WorkerPlugin
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from vademecum.cli import app
from vademecum.cluster.ingest import cluster_client, ingest_on_cluster
from vademecum.errors import VademecumError
from vademecum.evidence.models import EvidenceDocument, EvidencePassage, SourceFile
from vademecum.search.shards import ShardedIndex, ShardManifest, shards_root, visible_shards
from vademecum.services.ingest import expand_paths, ingest_paths, rebuild_index
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import ClusterSettings, Settings

BOOSTS = {"title": 2.0, "section": 1.5}


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database on the test PostgreSQL server (the cluster path refuses SQLite)."""
    name = f"test_{uuid.uuid4().hex}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def cluster_settings(tmp_path: Path, corpus_dir: Path, postgres_url: str) -> Settings:
    """Settings over PostgreSQL with three files to a shard."""
    return Settings(
        home=tmp_path / "home",
        corpus=corpus_dir,
        database_url=postgres_url,
        cluster=ClusterSettings(files_per_shard=3),
    )


@pytest.fixture
def cluster_runtime(cluster_settings: Settings) -> Iterator[Runtime]:
    runtime = open_runtime(cluster_settings)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """A local cluster of two worker processes on 127.0.0.1, shared by this module's tests."""
    with cluster_client(Settings()) as client:
        yield client


def pubmed_files(corpus_dir: Path) -> list[Path]:
    return expand_paths([corpus_dir / "pubmed"])


def bioasq_questions(corpus_dir: Path, count: int) -> list[str]:
    path = corpus_dir.parent / "eval" / "bioasq" / "10B1_golden.json"
    return [question["body"] for question in json.loads(path.read_text())["questions"][:count]]


def test_cluster_ingest_writes_shards_and_store_and_searches_like_one_index(
    cluster_runtime: Runtime, client: Client, corpus_dir: Path, tmp_path: Path
) -> None:
    files = pubmed_files(corpus_dir)
    report = ingest_on_cluster(cluster_runtime, files, client=client)
    assert report.ok, report.problems
    assert report.counts["files_ingested"] == len(files)
    assert report.counts["shards_written"] == math.ceil(len(files) / 3)
    with cluster_runtime.session() as session:
        folders = visible_shards(session, cluster_runtime.settings.index_dir)
        documents = session.scalar(select(func.count()).select_from(EvidenceDocument))
        passages = session.scalar(select(func.count()).select_from(EvidencePassage))
        assert session.scalar(select(func.count()).select_from(SourceFile)) == len(files)
    assert len(folders) == report.counts["shards_written"]
    assert documents == report.counts["documents_added"] > 900
    manifests = [ShardManifest.read(folder) for folder in folders]
    assert sum(manifest.records for manifest in manifests if manifest) == report.counts["records"]
    index = cluster_runtime.index
    assert isinstance(index, ShardedIndex)
    # Retracted documents are stored but not indexed (as in a single-process ingest).
    assert index.count() == report.counts["passages_indexed"] == passages - 1

    # The same files ingested by one process into one index rank the same passages with the same scores.
    single = open_runtime(Settings(home=tmp_path / "single", corpus=corpus_dir))
    try:
        assert ingest_paths(single, files).ok
        for question in bioasq_questions(corpus_dir, 25):
            expected = single.index.search(question, limit=20, field_boosts=BOOSTS)
            got = index.search(question, limit=20, field_boosts=BOOSTS)
            assert [round(hit.score, 4) for hit in got] == pytest.approx(
                [round(hit.score, 4) for hit in expected], rel=2e-5
            )
            # Passage ids differ between the two stores; a passage is its document and its text.
            scores = {(hit.passage.document_id, hit.passage.text): hit.score for hit in expected}
            for hit in got:
                key = (hit.passage.document_id, hit.passage.text)
                if key in scores:
                    assert hit.score == pytest.approx(scores[key], rel=2e-5)
                else:  # a tie at the cut
                    assert hit.score == pytest.approx(expected[-1].score, rel=2e-5)
    finally:
        single.close()


def test_cluster_reingest_changes_nothing(cluster_runtime: Runtime, client: Client, corpus_dir: Path) -> None:
    files = pubmed_files(corpus_dir)[:4]
    assert ingest_on_cluster(cluster_runtime, files, client=client).ok
    again = ingest_on_cluster(cluster_runtime, files, client=client)
    assert again.ok
    assert again.counts["files_unchanged"] == len(files)
    assert again.counts["shards_written"] == 0
    root = shards_root(cluster_runtime.settings.index_dir)
    assert len([folder for folder in root.iterdir()]) == 2


def test_a_bad_file_fails_alone_and_the_rest_of_its_shard_is_kept(
    cluster_runtime: Runtime, client: Client, corpus_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.xml"
    good = pubmed_files(corpus_dir)[:2]
    broken.write_bytes((good[0].parent / "pubmed24-sample.xml.gz").read_bytes()[:0] + b"<PubmedArticleSet><Pubmed")
    report = ingest_on_cluster(cluster_runtime, [*good, broken], client=client)
    assert not report.ok
    assert report.counts["files_failed"] == 1
    assert report.counts["files_ingested"] == 2
    assert [problem.source for problem in report.problems] == [str(broken)]
    with cluster_runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(SourceFile)) == 2


def test_cluster_ingest_refuses_sqlite(tmp_path: Path, corpus_dir: Path) -> None:
    runtime = open_runtime(Settings(home=tmp_path / "home", corpus=corpus_dir))
    try:
        with pytest.raises(VademecumError, match="needs PostgreSQL"):
            ingest_on_cluster(runtime, pubmed_files(corpus_dir))
    finally:
        runtime.close()


class _Sockets:
    """An ingest observer that records, after every file, the listening sockets of this process tree."""

    def __init__(self) -> None:
        self.listening: set[tuple[int, str, int]] = set()
        self.samples = 0

    def files_found(self, total: int) -> None:
        self.sample()

    def file_done(self, path: Path, outcome: str, records: int) -> None:
        self.sample()

    def sample(self) -> None:
        me = psutil.Process()
        for process in [me, *me.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                for connection in process.net_connections(kind="inet"):
                    if connection.status == psutil.CONN_LISTEN:
                        self.listening.add((process.pid, connection.laddr.ip, connection.laddr.port))
        self.samples += 1


def test_the_local_cluster_listens_on_loopback_only(cluster_runtime: Runtime, client: Client, corpus_dir: Path) -> None:
    sockets = _Sockets()
    assert ingest_on_cluster(cluster_runtime, pubmed_files(corpus_dir), observer=sockets, client=client).ok
    workers = client.run(os.getpid)
    pids = {pid for pid, _ip, _port in sockets.listening}
    # The scheduler (this process), both nannies and both workers were seen listening...
    assert set(workers.values()) <= pids
    assert os.getpid() in pids
    assert sockets.samples > 2
    # ...and nothing listens anywhere but on 127.0.0.1.
    assert {ip for _pid, ip, _port in sockets.listening} == {"127.0.0.1"}


class KillDuringShard(WorkerPlugin):
    """Kills its worker process (SIGKILL) in the middle of the first shard task: once the task's store
    transaction has written rows (PostgreSQL gave it a transaction id) and before the shard is complete.

    Only once over the cluster's life: the marker file is created atomically by the one worker that kills.
    """

    def __init__(self, marker: Path, shards: Path, database_url: str) -> None:
        self.marker = marker
        self.shards = shards
        self.database_url = database_url

    def transition(self, key, start, finish, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if finish == "executing" and str(key).startswith("vademecum-shard-") and not self.marker.exists():
            run, number = str(key).rsplit("-", 2)[-2:]
            shard = f"{int(run):06d}-{int(number):05d}"
            threading.Thread(target=self._kill_when_writing, args=(shard,), daemon=True).start()

    def _kill_when_writing(self, shard: str) -> None:
        engine = create_engine(self.database_url, poolclass=NullPool)
        port = make_url(self.database_url).port
        deadline = time.monotonic() + 60
        with engine.connect() as connection:
            while time.monotonic() < deadline:
                # This worker's own connections to the store, by client port.
                mine = [
                    conn.laddr.port
                    for conn in psutil.Process().net_connections(kind="tcp")
                    if conn.raddr and conn.raddr.port == port and conn.laddr.port
                ]
                writing = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
                        "AND client_port = ANY(:ports)"
                    ),
                    {"ports": mine},
                ).scalar_one()
                connection.rollback()
                if writing and list(self.shards.glob(f".tmp-{shard}-*")):
                    try:
                        descriptor = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                    except FileExistsError:
                        return
                    state = {"pid": os.getpid(), "shard": shard, "complete": (self.shards / shard).exists()}
                    os.write(descriptor, json.dumps(state).encode())
                    os.close(descriptor)
                    os.kill(os.getpid(), signal.SIGKILL)
                time.sleep(0.002)


def _ingest_with_a_killed_worker(runtime: Runtime, files: list[Path], marker: Path) -> tuple:
    root = shards_root(runtime.settings.index_dir)
    with cluster_client(runtime.settings) as client:
        client.register_plugin(KillDuringShard(marker, root, runtime.settings.resolved_database_url))
        report = ingest_on_cluster(runtime, files, client=client)
    return report, json.loads(marker.read_text())


def store_counts(runtime: Runtime) -> tuple[int, int, int]:
    with runtime.session() as session:
        return (
            session.scalar(select(func.count()).select_from(EvidenceDocument)) or 0,
            session.scalar(select(func.count()).select_from(EvidencePassage)) or 0,
            session.scalar(select(func.count()).select_from(SourceFile)) or 0,
        )


def test_a_worker_killed_mid_shard_is_retried_and_the_shard_rebuilt(
    cluster_settings: Settings, corpus_dir: Path, tmp_path: Path
) -> None:
    settings = cluster_settings.model_copy(update={"cluster": ClusterSettings(files_per_shard=5)})
    runtime = open_runtime(settings)
    try:
        files = pubmed_files(corpus_dir)
        report, killed = _ingest_with_a_killed_worker(runtime, files, tmp_path / "killed")
        # The kill came while a shard was being built, before it was complete.
        assert not killed["complete"]
        assert report.ok, report.problems
        assert report.counts["files_ingested"] == len(files)
        root = shards_root(settings.index_dir)
        with runtime.session() as session:
            visible = visible_shards(session, settings.index_dir)
        # Every shard is visible once, nothing half-written is left, and the store holds each file once.
        assert sorted(path.name for path in root.iterdir()) == [path.name for path in visible]
        assert len(visible) == math.ceil(len(files) / 5)
        assert killed["shard"] in {path.name for path in visible}
        documents, passages, source_files = store_counts(runtime)
        assert source_files == len(files)
        assert documents == report.counts["documents_added"]
        assert runtime.index.count() == report.counts["passages_indexed"] == passages - 1
    finally:
        runtime.close()


def test_a_worker_killed_with_no_retries_left_fails_cleanly(
    cluster_settings: Settings, corpus_dir: Path, tmp_path: Path
) -> None:
    settings = cluster_settings.model_copy(update={"cluster": ClusterSettings(files_per_shard=20, task_retries=0)})
    runtime = open_runtime(settings)
    try:
        files = pubmed_files(corpus_dir)
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            report, killed = _ingest_with_a_killed_worker(runtime, files, tmp_path / "killed")
        assert not killed["complete"]
        assert not report.ok
        assert report.counts["files_failed"] == len(files)
        assert all("KilledWorker" in problem.message for problem in report.problems)
        # Nothing of the shard is visible: no folder but hidden leftovers, and no store rows.
        root = shards_root(settings.index_dir)
        assert [path for path in root.iterdir() if not path.name.startswith(".tmp-")] == []
        assert store_counts(runtime) == (0, 0, 0)
        assert runtime.index.count() == 0
    finally:
        runtime.close()


def test_a_later_shard_replaces_and_deletes_documents_of_earlier_shards(
    cluster_runtime: Runtime, client: Client, corpus_dir: Path, tmp_path: Path
) -> None:
    original = gzip.decompress((corpus_dir / "pubmed" / "pubmed24-sample.xml.gz").read_bytes())
    first = tmp_path / "first.xml"
    first.write_bytes(original)
    assert ingest_on_cluster(cluster_runtime, [first], client=client).ok
    index = cluster_runtime.index
    assert [hit.passage.document_id for hit in index.search("biopsychosocial back pain", limit=3)][:1] == [
        "pmid:36400559"
    ]

    # A new version of the record (its abstract revised) in another file, so another shard...
    revised = tmp_path / "revised.xml"
    revised.write_bytes(original.replace(b"biopsychosocial approach", b"multidisciplinary approach"))
    report = ingest_on_cluster(cluster_runtime, [revised], client=client)
    # (every record of the file is a new version: a record carries the hash of its source file)
    assert report.ok and report.counts["documents_updated"] == 4
    index.refresh()
    hits = index.search("biopsychosocial back pain", limit=5)
    assert all("biopsychosocial" not in hit.passage.text for hit in hits)
    assert "multidisciplinary approach" in index.search("multidisciplinary back pain", limit=1)[0].passage.text
    # ...and a deletion in a third file removes it from every shard.
    deletion = tmp_path / "delete.xml"
    deletion.write_bytes(
        b'<?xml version="1.0"?><PubmedArticleSet><DeleteCitation><PMID Version="1">36400559</PMID>'
        b"</DeleteCitation></PubmedArticleSet>"
    )
    report = ingest_on_cluster(cluster_runtime, [deletion], client=client)
    assert report.ok and report.counts["documents_deleted"] == 1
    index.refresh()
    assert all(hit.passage.document_id != "pmid:36400559" for hit in index.search("back pain", limit=50))
    with cluster_runtime.session() as session:
        passages = session.scalar(select(func.count()).select_from(EvidencePassage))
    assert index.count() == passages > 0


def test_cli_ingest_cluster(
    postgres_url: str, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VADEMECUM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VADEMECUM_CORPUS", str(corpus_dir))
    monkeypatch.setenv("VADEMECUM_DATABASE_URL", postgres_url)
    files = [str(path) for path in pubmed_files(corpus_dir)[:3]]
    # `--cluster FILE...`: the first file is not taken for a scheduler address.
    result = CliRunner().invoke(app, ["ingest", "--cluster", *files])
    assert result.exit_code == 0, result.output
    assert "shards written" in result.output
    result = CliRunner().invoke(app, ["search", "cancer", "--limit", "3"])
    assert result.exit_code == 0, result.output


def test_cli_ingest_cluster_refuses_sqlite(corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VADEMECUM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VADEMECUM_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["ingest", "--cluster", str(corpus_dir / "pubmed")])
    assert result.exit_code == 1
    assert "needs PostgreSQL" in result.output


def test_single_process_ingest_and_rebuild_after_a_cluster_run(
    cluster_runtime: Runtime, client: Client, corpus_dir: Path
) -> None:
    files = pubmed_files(corpus_dir)
    assert ingest_on_cluster(cluster_runtime, files[:4], client=client).ok
    index = cluster_runtime.index
    assert isinstance(index, ShardedIndex)
    # A single-process ingest writes to the main index, which searches include...
    report = ingest_paths(cluster_runtime, files[4:])
    assert report.ok
    with cluster_runtime.session() as session:
        passages = session.scalar(select(func.count()).select_from(EvidencePassage))
    assert index.count() == passages - 1  # the one retracted document is stored, not indexed
    # ...and rebuilding the index from the store empties the shards instead of indexing passages twice.
    assert rebuild_index(cluster_runtime) == index.count() == passages - 1
