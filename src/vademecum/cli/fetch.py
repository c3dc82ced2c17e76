"""``vademecum fetch``: fetch evidence from the public services (opt-in network) and ingest it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from vademecum.cli.articles import print_freshness
from vademecum.cli.common import console, err_console, progress_bar, runtime_for_command
from vademecum.services import live
from vademecum.services.ingest import IngestReport
from vademecum.sources.live.ncbi import filter_names

app = typer.Typer(help="Fetch evidence from PubMed and openFDA (needs network access) and ingest it.")

AllowNetwork = Annotated[
    bool, typer.Option("--allow-network", help="Use the network even though the live.enabled setting is off.")
]


class LiveProgress:
    """Progress bars for a live command: one per fetch stage, then the ingest's bar over files."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: int | None = None

    def fetch_started(self, what: str, total: int | None) -> None:
        """Start a bar for a fetch stage."""
        self._task = self._progress.add_task(what, total=total)

    def fetched(self, name: str) -> None:
        """Advance the current fetch bar."""
        if self._task is not None:
            self._progress.update(self._task, advance=1, description=name)

    def files_found(self, total: int) -> None:
        """Start the ingest bar."""
        self._task = self._progress.add_task("ingesting", total=total)

    def file_done(self, path: Path, outcome: str, records: int) -> None:
        """Advance the ingest bar with the file's outcome."""
        if self._task is not None:
            self._progress.update(self._task, advance=1, description=f"{outcome:9} {path.name} ({records:,} records)")


@contextmanager
def live_progress() -> Iterator[LiveProgress]:
    """Rich progress bars on the console, removed when done."""
    with progress_bar() as progress:
        yield LiveProgress(progress)


def print_ingest(report: IngestReport | None) -> bool:
    """Print what the ingest of fetched files did and the stale articles it flagged; False if a file failed."""
    if report is None:
        console.print("nothing to ingest")
        return True
    changed = ", ".join(f"{key.replace('_', ' ')} {report.counts[key]:,}" for key in sorted(report.counts))
    console.print(f"ingest run {report.run_id}: {changed}")
    freshness = report.freshness
    console.print(f"stale articles flagged: {len(freshness.flagged) if freshness else 0}")
    if freshness is not None and freshness.checked:
        print_freshness(freshness)
    for problem in report.problems:
        where = f"{problem.source} (record {problem.record})" if problem.record else problem.source
        err_console.print(f"[red]failed:[/red] {where}: {problem.message}", highlight=False)
    return report.ok


@app.command("pubmed")
def pubmed(
    query: Annotated[str, typer.Argument(help="A PubMed query, as typed in PubMed.")],
    clinical_filter: Annotated[
        str | None,
        typer.Option("--filter", help=f"PubMed Clinical Queries filter: {', '.join(filter_names())}."),
    ] = None,
    since: Annotated[
        dt.datetime | None, typer.Option("--since", formats=["%Y-%m-%d"], help="Published on or after this date.")
    ] = None,
    max_records: Annotated[int | None, typer.Option("--max", min=1, help="Fetch at most this many records.")] = None,
    allow_network: AllowNetwork = False,
) -> None:
    """Search PubMed (NCBI E-utilities), fetch the records as MEDLINE XML and ingest them."""
    with runtime_for_command() as runtime, live_progress() as progress:
        report = live.fetch_pubmed(
            runtime,
            query,
            clinical_filter=clinical_filter,
            since=since.date() if since else None,
            max_records=max_records,
            allow_network=allow_network,
            observer=progress,
        )
    console.print(f"PubMed matched {report.matched:,} records; fetched {len(report.files)} batch file(s)")
    if not print_ingest(report.ingest):
        raise typer.Exit(1)


@app.command("labels")
def labels(
    drug: Annotated[str | None, typer.Option("--drug", help="Generic or brand name, as openFDA spells it.")] = None,
    bulk: Annotated[
        bool, typer.Option("--bulk", help="Every label: openFDA's bulk files (download.json), not the API.")
    ] = False,
    allow_network: AllowNetwork = False,
) -> None:
    """Fetch a drug's FDA labels (--drug) or all of them (--bulk) from openFDA and ingest them."""
    if (drug is None) == (not bulk):
        raise typer.BadParameter("give either --drug NAME or --bulk")
    with runtime_for_command() as runtime, live_progress() as progress:
        if bulk:
            report = live.fetch_labels_bulk(runtime, allow_network=allow_network, observer=progress)
        else:
            report = live.fetch_labels(runtime, drug, allow_network=allow_network, observer=progress)
    if bulk:
        kept = len(report.files) - report.downloaded
        console.print(
            f"openFDA bulk files list {report.matched:,} label(s); downloaded {report.downloaded} file(s),"
            f" {kept} unchanged"
        )
    else:
        console.print(f"openFDA has {report.matched:,} label(s) for {drug}; fetched {len(report.files)} page(s)")
    for problem in report.problems:
        err_console.print(f"[red]failed:[/red] {problem}", highlight=False)
    if not print_ingest(report.ingest) or report.problems:
        raise typer.Exit(1)
