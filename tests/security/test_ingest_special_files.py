"""Ingest against special files and interruptions (issue 12, item 7): a named pipe is refused at once with
its name instead of hanging, and every ingest run ends with a final state, also on Ctrl-C and SIGTERM.

The files ingested are real demo-corpus files read in place.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from vademecum.evidence.models import IngestError, IngestRun
from vademecum.services.ingest import ingest_paths, store_shard
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings

VADEMECUM = Path(sys.executable).parent / "vademecum"
TIMEOUT = 60


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe.xml"
    os.mkfifo(path)
    yield path
    path.unlink()


def runs(settings: Settings) -> list[tuple[str, dict[str, int]]]:
    runtime = open_runtime(settings)
    try:
        with runtime.session() as session:
            return [(run.status, dict(run.counts)) for run in session.scalars(select(IngestRun).order_by(IngestRun.id))]
    finally:
        runtime.close()


def command(settings: Settings, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "VADEMECUM_HOME": str(settings.home)}
    if settings.database_url:
        env["VADEMECUM_DATABASE_URL"] = settings.database_url
    return subprocess.Popen(
        [str(VADEMECUM), "ingest", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_a_named_pipe_is_refused_by_name_not_waited_on(settings: Settings, fifo: Path, corpus_dir: Path) -> None:
    label = next((corpus_dir / "labels" / "spl").iterdir())
    process = command(settings, str(fifo), str(label))
    try:
        output, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("ingest of a named pipe hung")
    assert process.returncode == 1
    assert f"{fifo}: a named pipe, not a regular file" in " ".join(output.split())
    [(status, counts)] = runs(settings)
    assert (status, counts["files_failed"], counts["files_ingested"]) == ("completed_with_errors", 1, 1)


def test_the_cluster_path_refuses_a_named_pipe(runtime: Runtime, fifo: Path) -> None:
    with runtime.session() as session:
        outcome = store_shard(session, runtime.index, runtime.settings, 0, [fifo])
    assert outcome.outcomes == {str(fifo): "failed"}
    assert [problem.message for problem in outcome.problems] == [
        "a named pipe, not a regular file: only files are ingested"
    ]


class InterruptAfter:
    """An observer whose user presses Ctrl-C (or something breaks) once ``files`` files are done."""

    def __init__(self, files: int, error: BaseException) -> None:
        self.left = files
        self.error = error

    def files_found(self, total: int) -> None:
        pass

    def file_done(self, path: Path, outcome: str, records: int) -> None:
        self.left -= 1
        if self.left == 0:
            raise self.error


@pytest.mark.parametrize(
    ("error", "status"),
    [(KeyboardInterrupt(), "interrupted"), (SystemExit(143), "interrupted"), (RuntimeError("x"), "failed")],
)
def test_an_interrupted_run_records_its_end(
    runtime: Runtime, corpus_dir: Path, error: BaseException, status: str
) -> None:
    labels = sorted((corpus_dir / "labels" / "spl").iterdir())[:3]
    with pytest.raises(type(error)):
        ingest_paths(runtime, labels, InterruptAfter(2, error))
    with runtime.session() as session:
        run = session.scalars(select(IngestRun)).one()
        assert (run.status, run.counts["files_ingested"], run.finished_at is not None) == (status, 2, True)
        assert [entry.source for entry in session.scalars(select(IngestError))] == ["(run)"]
    # What was stored before the interrupt is searchable (the index was committed on the way out).
    assert runtime.index.count() > 0


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_ingest_command_records_the_run_as_interrupted(
    settings: Settings, corpus_dir: Path, sent: signal.Signals
) -> None:
    process = command(settings, str(corpus_dir / "research" / "pmc-oa-rct"))
    deadline = time.monotonic() + TIMEOUT
    while not runs(settings) or runs(settings)[0][0] != "running":
        assert process.poll() is None and time.monotonic() < deadline, "the ingest did not start"
        time.sleep(0.2)
    time.sleep(1)
    process.send_signal(sent)
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == (143 if sent == signal.SIGTERM else 130), output[-3000:]
    [(status, counts)] = runs(settings)
    assert status == "interrupted"
    assert 0 < counts.get("files_ingested", 0) < 1209
