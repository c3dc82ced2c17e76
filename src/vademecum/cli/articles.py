"""``vademecum articles``: work with stored articles."""

from __future__ import annotations

from typing import Annotated

import typer

from vademecum.cli.common import console, err_console, runtime_for_command
from vademecum.services.freshness import FreshnessReport, check_freshness

app = typer.Typer(help="Work with stored articles.", no_args_is_help=True)


def print_freshness(report: FreshnessReport) -> None:
    """One line for the check, one per flagged article, and one (on stderr) per article that failed."""
    console.print(
        f"checked {report.checked} approved article(s) for newer evidence: {len(report.flagged)} flagged stale",
        highlight=False,
    )
    for stale in report.flagged:
        # Not wrapped: the reason names document ids a reader may copy or grep.
        console.print(
            f"  article {stale.article_id} ({stale.question}): {stale.reason}", highlight=False, soft_wrap=True
        )
    for article_id, message in report.failed:
        err_console.print(f"[red]failed:[/red] article {article_id}: {message}", highlight=False)


@app.command("check-stale")
def check_stale(
    article_ids: Annotated[
        list[int] | None, typer.Argument(help="Only these articles (default: every approved article).")
    ] = None,
) -> None:
    """Compose each approved article's question again and flag the articles newer evidence would change."""
    with runtime_for_command() as runtime:
        report = check_freshness(runtime, article_ids=article_ids)
    print_freshness(report)
    if report.failed:
        raise typer.Exit(1)
