"""The ``vademecum`` command line: adapters over the service layer, one module per command group.

Each command's module is imported only when that command runs (or when help lists the commands):
``vademecum ask`` should not pay for the web application, the evaluation libraries or the live
connectors, which together took most of a second to import. This is click's documented pattern for
lazily loaded subcommands (a group whose ``get_command`` imports on demand).
"""

from __future__ import annotations

import importlib

import typer
from typer.core import TyperGroup

COMMANDS: dict[str, str] = {
    "ingest": "vademecum.cli.ingest:ingest",
    "search": "vademecum.cli.search:search",
    "ask": "vademecum.cli.ask:ask",
    "serve": "vademecum.cli.serve:serve",
    "get": "vademecum.cli.get:get",
    "update": "vademecum.cli.update:update",
    "corpus": "vademecum.cli.corpus:app",
    "index": "vademecum.cli.index:app",
    "eval": "vademecum.cli.eval:app",
    "users": "vademecum.cli.users:app",
    "articles": "vademecum.cli.articles:app",
    "fetch": "vademecum.cli.fetch:app",
}
"""Command name → ``module:attribute``: a command function, or a Typer app for a command group."""


class LazyGroup(TyperGroup):
    """The top-level group: lists :data:`COMMANDS` and imports a command's module when it is asked for."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        """Command names, in the order help shows them."""
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> typer.core.click.Command | None:
        """The click command of ``cmd_name``, its module imported now; None for an unknown name."""
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            module_name, attribute = COMMANDS[cmd_name].split(":")
            target = getattr(importlib.import_module(module_name), attribute)
            if isinstance(target, typer.Typer):
                command = typer.main.get_group(target)
            else:
                single = typer.Typer(add_completion=False)
                single.command(cmd_name)(target)
                command = typer.main.get_command(single)
            command.name = cmd_name
            self.commands[cmd_name] = command
        return self.commands[cmd_name]


app = typer.Typer(
    name="vademecum",
    cls=LazyGroup,
    help="Vademecum: ingest clinical evidence, search it, serve it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def vademecum() -> None:
    """Vademecum: ingest clinical evidence, search it, serve it."""


def main() -> None:
    """Entry point of the ``vademecum`` script."""
    app()
