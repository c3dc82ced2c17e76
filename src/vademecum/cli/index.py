"""``vademecum index``: maintain the passage index (derived from the store)."""

from __future__ import annotations

import typer

from vademecum.cli.common import console, runtime_for_command
from vademecum.services.ingest import rebuild_index

app = typer.Typer(help="The passage search index.", no_args_is_help=True)


@app.command("rebuild")
def rebuild() -> None:
    """Rebuild the index from the store (after a crash, or a change of index settings)."""
    with runtime_for_command() as runtime:
        count = rebuild_index(runtime)
    console.print(f"indexed {count:,} passages")
