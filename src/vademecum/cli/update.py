"""``vademecum update``: bring the store up to date from the public services (opt-in network; cron-safe)."""

from __future__ import annotations

from typing import Annotated

import typer

from vademecum.cli.common import console, err_console, runtime_for_command
from vademecum.cli.fetch import AllowNetwork, live_progress, print_ingest
from vademecum.services import live


def update(
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Also apply NLM baseline files not yet applied (tens of GB).")
    ] = False,
    allow_network: AllowNetwork = False,
) -> None:
    """Apply new NLM MEDLINE update files and refresh stored drug labels from DailyMed; flag stale articles."""
    with runtime_for_command() as runtime, live_progress() as progress:
        report = live.update(runtime, include_baseline=baseline, allow_network=allow_network, observer=progress)
    console.print(
        f"NLM files applied: {len(report.nlm_applied)} ({', '.join(report.nlm_applied) or 'none new'}); "
        f"already applied: {report.nlm_already_applied}; labels checked: {report.labels_checked}"
    )
    ingested = print_ingest(report.ingest)
    for problem in report.problems:
        err_console.print(f"[red]failed:[/red] {problem}", highlight=False)
    if not (ingested and report.ok):
        raise typer.Exit(1)
