"""``vademecum users``: manage the accounts of editors, reviewers and admins."""

from __future__ import annotations

from typing import Annotated

import typer

from vademecum.articles.models import ROLES
from vademecum.cli.common import runtime_for_command
from vademecum.services.users import add_user

app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="The login name (no spaces).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
) -> None:
    """Create a user with a role. Passwords are not supported yet: the user cannot sign in until one is set."""
    with runtime_for_command() as runtime, runtime.session() as session:
        user = add_user(session, None, username, role, from_command_line=True)
    typer.echo(f"created {user.role} {user.username!r} (id {user.user_id}); no password is set yet")
