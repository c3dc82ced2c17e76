"""``vademecum ingest``: read evidence files into the store and index."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from vademecum.cli.articles import print_freshness
from vademecum.cli.common import console, err_console, progress_bar, runtime_for_command
from vademecum.errors import VademecumError
from vademecum.services import ingest as ingest_service

LOCAL_CLUSTER = "local"


class ProgressObserver:
    """Draws a progress bar over files from the ingest service's progress reports."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task("ingesting", total=None)

    def files_found(self, total: int) -> None:
        """Size the bar."""
        self._progress.update(self._task, total=total)

    def file_done(self, path: Path, outcome: str, records: int) -> None:
        """Advance the bar and show the file's outcome."""
        self._progress.update(self._task, advance=1, description=f"{outcome:9} {path.name} ({records:,} records)")


class SignalStop:
    """Ctrl-C (SIGINT) and SIGTERM while ingesting: the run stops between two files and is recorded as
    interrupted; a second signal stops it at once.

    Stopping between files matters: an exception raised at an arbitrary point (Python's default for
    Ctrl-C) can land inside the store's own bookkeeping and leave a transaction holding the SQLite write
    lock, so even recording the run's end fails and the run stays "running". With ``immediate`` (the
    cluster path, whose coordinator holds no store transaction while it waits for the workers) the first
    signal stops at once.
    """

    def __init__(self, *, immediate: bool = False) -> None:
        self.received: int | None = None
        self.immediate = immediate

    def __call__(self) -> None:
        """Between two files: stop the run (SystemExit, exit status 128 + the signal) if a signal came."""
        if self.received is not None:
            raise SystemExit(128 + self.received)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        first = self.received is None
        self.received = signum
        if self.immediate or not first:
            self()

    @contextmanager
    def installed(self) -> Iterator[SignalStop]:
        """Handle SIGINT and SIGTERM for the duration of the ingest."""
        previous = {number: signal.signal(number, self._handle) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to ingest (format detected).")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Ingest the demo corpus (setting VADEMECUM_CORPUS).")] = False,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            is_flag=False,
            flag_value=LOCAL_CLUSTER,
            metavar="[SCHEDULER_ADDRESS]",
            help="Ingest on Dask distributed: the scheduler at the address (e.g. tcp://host:8786), or a local "
            "cluster on 127.0.0.1 (setting VADEMECUM_CLUSTER__*). Needs PostgreSQL as the store.",
        ),
    ] = None,
) -> None:
    """Ingest evidence files: guidelines, drug labels, PubMed records. Unchanged files are skipped."""
    paths = list(paths or [])
    address = None
    if cluster is not None and cluster != LOCAL_CLUSTER:
        # `--cluster FILE...`: click reads the first file as the option's value; an address has a scheme.
        if "://" in cluster or not Path(cluster).exists():
            address = cluster
        else:
            paths.insert(0, Path(cluster))
    if not paths and not demo:
        raise typer.BadParameter("give PATH... or --demo")
    with runtime_for_command() as runtime:
        targets = list(paths or [])
        if demo:
            corpus = runtime.settings.corpus
            targets += ingest_service.demo_paths(corpus)
            if ingest_service.compile_vocabulary_if_needed(runtime, corpus / ingest_service.DEMO_VOCABULARY):
                console.print(f"compiled vocabulary into {runtime.settings.vocab_path}")
        missing = [str(path) for path in targets if not path.exists()]
        if missing:
            raise VademecumError(f"no such file or folder: {', '.join(missing)}")
        with progress_bar() as progress, SignalStop(immediate=cluster is not None).installed() as stop:
            if cluster is not None:
                # Imported here: distributed takes a second to import, which every other command would pay.
                from vademecum.cluster.ingest import ingest_on_cluster

                report = ingest_on_cluster(runtime, targets, address, ProgressObserver(progress))
            else:
                report = ingest_service.ingest_paths(runtime, targets, ProgressObserver(progress), stop=stop)
    summary = Table(title=f"Ingest run {report.run_id} ({report.seconds:.1f} s)", show_header=False)
    for key in sorted(report.counts):
        summary.add_row(key.replace("_", " "), f"{report.counts[key]:,}")
    console.print(summary)
    # After an ingest the check is only news when there were approved articles to check.
    if report.freshness is not None and report.freshness.checked:
        print_freshness(report.freshness)
    for problem in report.problems:
        where = f"{problem.source} (record {problem.record})" if problem.record else problem.source
        err_console.print(f"[red]failed:[/red] {where}: {problem.message}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)
