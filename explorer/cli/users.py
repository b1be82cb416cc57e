"""`explorer users`: who may sign in to the app, and their roles."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from explorer.cli._common import friendly
from explorer.config import load_settings

users_app = typer.Typer(help="Manage who may sign in to the app, and their roles.", no_args_is_help=True)


@users_app.command("add")
@friendly
def users_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help="analyst, commissioner, strategist or social_care.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Add a user (or change an existing user's role and password)."""
    from explorer.auth.users import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = add_user(load_settings(), name, role, password)
    typer.echo(f"user {user.name} has role {user.role.value}")


@users_app.command("remove")
@friendly
def users_remove(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Remove a user."""
    from explorer.auth.users import remove_user

    remove_user(load_settings(), name)
    typer.echo(f"removed {name}")


@users_app.command("list")
@friendly
def users_list() -> None:
    """List users and their roles (never passwords)."""
    from explorer.auth.users import list_users, users_file

    settings = load_settings()
    for user in list_users(settings):
        typer.echo(f"{user.name}\t{user.role.value}")
    typer.echo(f"({users_file(settings)})", err=True)
