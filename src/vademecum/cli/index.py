"""``vademecum index``: maintain the passage index (derived from the store) and its passage embeddings."""

from __future__ import annotations

import time

import typer
from rich.progress import ProgressColumn, Task
from rich.text import Text

from vademecum.cli.common import console, err_console, progress_bar, runtime_for_command
from vademecum.errors import NotIngestedError
from vademecum.search.hybrid import HybridIndex
from vademecum.services.ingest import rebuild_index

app = typer.Typer(help="The passage search index.", no_args_is_help=True)


@app.command("rebuild")
def rebuild() -> None:
    """Rebuild the index from the store (after a crash, or a change of index settings)."""
    with runtime_for_command() as runtime:
        count = rebuild_index(runtime)
    console.print(f"indexed {count:,} passages")


class RateColumn(ProgressColumn):
    """Passages embedded per second, as Rich estimates it over the last chunks."""

    def render(self, task: Task) -> Text:
        """The rate, or a dash before the first chunk is done."""
        return Text(f"{task.speed:,.0f} passages/s" if task.speed else "- passages/s", style="progress.data.speed")


@app.command("embed")
def embed() -> None:
    """Embed every indexed passage that has no vector yet, for dense search (setting search.dense).

    Needs the optional packages (pip install '.[dense]'). Resumable: interrupted and run again, it carries on
    where it stopped; after a new ingest it embeds only the new passages.
    """
    with runtime_for_command() as runtime:
        index = HybridIndex.for_settings(runtime.settings)
        if index.count() == 0:
            raise NotIngestedError("nothing is indexed: run `vademecum ingest` first")
        started = time.perf_counter()
        with progress_bar(RateColumn()) as progress:
            task = progress.add_task("embedding", total=None)
            try:
                report = index.embed(progress=lambda done, total: progress.update(task, completed=done, total=total))
            except KeyboardInterrupt:
                done = int(progress.tasks[0].completed)
                err_console.print(
                    f"interrupted after {done:,} passages (kept); run `vademecum index embed` again to continue",
                    highlight=False,
                )
                raise typer.Exit(130) from None
        seconds = time.perf_counter() - started
        size = sum(path.stat().st_size for path in index.embeddings.directory.iterdir())
    rate = f" ({report.embedded / seconds:,.0f} passages/s)" if report.embedded else ""
    console.print(
        f"embedded {report.embedded:,} passages in {seconds:.1f} s{rate}; {report.already:,} already had a vector; "
        f"{report.total:,} indexed. Vectors: {index.embeddings.directory} ({size / 1024**2:.1f} MB)",
        highlight=False,
    )
