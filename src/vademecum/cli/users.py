"""``vademecum users``: manage the accounts of editors, reviewers and admins.

Whoever runs these commands already controls the database, so they need no sign-in (the audit entries say
"via command line"). Passwords are never taken as arguments, where they would end up in the shell history
and the process list: they are read from ``VADEMECUM_NEW_PASSWORD`` when set (for scripts), else prompted
for without echo, twice.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from vademecum.articles.models import ROLES
from vademecum.cli.common import runtime_for_command
from vademecum.services.accounts import add_user, create_api_token, list_users, set_active, set_password

PASSWORD_ENV = "VADEMECUM_NEW_PASSWORD"

app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)


def _new_password() -> str:
    """The new password: from the environment for scripts, else typed twice without echo."""
    from_environment = os.environ.get(PASSWORD_ENV)
    if from_environment is not None:
        return from_environment
    return str(typer.prompt("New password", hide_input=True, confirmation_prompt=True))


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="The login name (no spaces).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    password: Annotated[
        bool,
        typer.Option(
            "--password",
            help=f"Set a password now: read from {PASSWORD_ENV}, else prompted for (hidden, twice).",
        ),
    ] = False,
) -> None:
    """Create a user with a role (and, with --password, a password so they can sign in)."""
    secret = _new_password() if password else None
    with runtime_for_command() as runtime, runtime.session() as session:
        user = add_user(session, None, username, role, password=secret, from_command_line=True)
    note = " with a password" if user.has_password else "; no password is set yet"
    typer.echo(f"created {user.role} {user.username!r} (id {user.user_id}){note}")


@app.command("set-password")
def set_password_command(
    username: Annotated[str, typer.Argument(help="The login name.")],
) -> None:
    """Set a user's password (read from VADEMECUM_NEW_PASSWORD, else prompted for); signs out their sessions
    and revokes their API tokens."""
    secret = _new_password()
    with runtime_for_command() as runtime, runtime.session() as session:
        user = set_password(session, None, username, secret, from_command_line=True)
    typer.echo(f"password set for {user.username!r}; their browser sessions were signed out, their API tokens revoked")


@app.command("deactivate")
def deactivate(username: Annotated[str, typer.Argument(help="The login name.")]) -> None:
    """Stop a user signing in: their browser sessions end and their API tokens are revoked at once."""
    with runtime_for_command() as runtime, runtime.session() as session:
        user = set_active(session, None, username, False, from_command_line=True)
    typer.echo(f"deactivated {user.username!r}; their browser sessions were signed out, their API tokens revoked")


@app.command("activate")
def activate(username: Annotated[str, typer.Argument(help="The login name.")]) -> None:
    """Let a deactivated user sign in again (their old API tokens stay revoked)."""
    with runtime_for_command() as runtime, runtime.session() as session:
        user = set_active(session, None, username, True, from_command_line=True)
    typer.echo(f"activated {user.username!r}")


@app.command("token")
def token(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="A label to tell the token apart, e.g. the script using it.")],
) -> None:
    """Create an API token for a user and print its secret (on standard output, only this once)."""
    with runtime_for_command() as runtime, runtime.session() as session:
        info, secret = create_api_token(session, None, username, name, from_command_line=True)
    # The note goes to standard error so `TOKEN=$(vademecum users token ...)` captures only the secret.
    typer.echo(
        f"created API token {info.token_id} {info.name!r} for {info.username!r}; "
        "send it as 'Authorization: Bearer <token>'. It is shown only now:",
        err=True,
    )
    typer.echo(secret)


@app.command("list")
def list_command() -> None:
    """List every user: name, role, whether a password is set, when created, and whether deactivated."""
    with runtime_for_command() as runtime, runtime.session() as session:
        users = list_users(session)
    if not users:
        typer.echo("no users yet")
        return
    width = max(len(user.username) for user in users)
    for user in users:
        typer.echo(
            f"{user.user_id:>4}  {user.username:<{width}}  {user.role:<8}  "
            f"{'password' if user.has_password else 'no password':<11}  {user.created_at:%Y-%m-%d %H:%M} UTC"
            + ("" if user.active else "  deactivated")
        )
