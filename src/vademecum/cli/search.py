"""``vademecum search``: ranked passages for a query."""

from __future__ import annotations

import textwrap
from typing import Annotated

import typer
from rich.table import Table

from vademecum.cli.common import console, runtime_for_command
from vademecum.services.search import search_passages


def search(
    query: Annotated[str, typer.Argument(help="Words to search for.")],
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Only this kind (guideline, drug_label, research, drug_information)."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="How many passages.")] = None,
) -> None:
    """Search the indexed passages; shows document title, section, kind, level, year and score."""
    with runtime_for_command() as runtime:
        hits = search_passages(runtime, query, kinds=kind or (), limit=limit)
    if not hits:
        console.print("no passages found")
        return
    table = Table(show_lines=True)
    for column in ("#", "score", "kind", "level", "year", "document / section / passage"):
        table.add_column(column)
    for rank, hit in enumerate(hits, 1):
        passage = hit.passage
        body = f"[bold]{passage.title}[/bold]\n[dim]{passage.section}[/dim]\n{textwrap.shorten(passage.text, 300)}"
        table.add_row(str(rank), f"{hit.score:.2f}", passage.kind, passage.level, str(passage.year or ""), body)
    console.print(table)
