"""``vademecum corpus``: figures about the ingested corpus."""

from __future__ import annotations

import typer
from rich.table import Table

from vademecum.cli.common import console, runtime_for_command
from vademecum.services.corpus import corpus_status

app = typer.Typer(help="The ingested corpus.", no_args_is_help=True)


@app.command("stats")
def stats() -> None:
    """Documents per kind and evidence level, passages, files, and the last ingest run."""
    with runtime_for_command() as runtime:
        status = corpus_status(runtime)
    store = status.store
    table = Table(title="Corpus", show_header=False)
    for kind, count in sorted(store.documents_by_kind.items()):
        table.add_row(f"documents: {kind}", f"{count:,}")
    for level, count in sorted(store.documents_by_level.items()):
        table.add_row(f"level: {level}", f"{count:,}")
    table.add_row("documents", f"{store.documents:,}")
    table.add_row("retracted (not indexed)", f"{store.retracted:,}")
    table.add_row("passages stored", f"{store.passages:,}")
    table.add_row("passages indexed", f"{status.indexed_passages:,}")
    table.add_row("cited works", f"{store.cited_works:,}")
    table.add_row("source files", f"{store.source_files:,}")
    if store.last_run is not None:
        run = store.last_run
        table.add_row("last ingest", f"run {run.id}, {run.status}, {run.started_at:%Y-%m-%d %H:%M}")
    console.print(table)
