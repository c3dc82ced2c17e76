"""What every command shares: building the runtime from settings, turning domain errors into exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn

from vademecum.errors import VademecumError
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import get_settings

console = Console()
# Error lines name files: never wrap them, so a path stays whole for the reader (and for grep).
err_console = Console(stderr=True, soft_wrap=True)


@contextmanager
def runtime_for_command() -> Iterator[Runtime]:
    """Open the runtime from the environment's settings; a domain error becomes a one-line message, exit 1."""
    runtime = None
    try:
        runtime = open_runtime(get_settings())
        yield runtime
    except VademecumError as error:
        err_console.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(1) from error
    finally:
        if runtime is not None:
            runtime.close()


def progress_bar(*extra_columns: ProgressColumn) -> Progress:
    """The commands' progress bar: description, bar, done/total, ``extra_columns``, elapsed time; removed when done."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *extra_columns,
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
