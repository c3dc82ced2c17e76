"""The ``vademecum`` command line: adapters over the service layer, one module per command group."""

from __future__ import annotations

import typer

from vademecum.cli import articles, ask, corpus, fetch, get, index, ingest, search, serve, update, users
from vademecum.cli import eval as eval_cli

app = typer.Typer(
    name="vademecum",
    help="Vademecum: ingest clinical evidence, search it, serve it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("ingest")(ingest.ingest)
app.command("search")(search.search)
app.command("ask")(ask.ask)
app.command("serve")(serve.serve)
app.command("get")(get.get)
app.add_typer(corpus.app, name="corpus")
app.add_typer(index.app, name="index")
app.add_typer(eval_cli.app, name="eval")
app.add_typer(users.app, name="users")
app.add_typer(articles.app, name="articles")
app.add_typer(fetch.app, name="fetch")
app.command("update")(update.update)


def main() -> None:
    """Entry point of the ``vademecum`` script."""
    app()
