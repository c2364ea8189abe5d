"""Command ``consent``: show the notice and record the deployer's confirmation (needed once)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from classmood.errors import ClassmoodError, cli_errors


def ask_for_confirmation():
    """Show the notice and ask the person at the terminal to confirm; returns the Confirmation.
    Without a terminal it is a one-line error saying how to confirm from a script."""
    from classmood.consent import NOTICE, confirm, require_confirmation

    if not sys.stdin.isatty():
        return require_confirmation()
    typer.echo(NOTICE + "\n")
    if not typer.confirm("Do you confirm this use of classmood?", default=False):
        raise ClassmoodError("not confirmed: classmood analyses no class until the use is confirmed")
    return confirm(typer.prompt("Who confirms (your name or role)"))


@cli_errors
def consent(
    confirm_: Annotated[bool, typer.Option("--confirm", help="Confirm the notice (with --as in a script).")] = False,
    who: Annotated[str | None, typer.Option("--as", help="Who confirms: a name or role.")] = None,
) -> None:
    """Show what classmood does and what the law says; confirm its use (monitor and the app ask once)."""
    from classmood.consent import NOTICE, confirm, current_confirmation

    if confirm_ and who is not None:
        done = confirm(who)
        typer.echo(f"confirmed by {done.who} at {done.when}; every session records it")
        return
    current = current_confirmation()
    if current is not None and not confirm_:
        typer.echo(NOTICE + "\n")
        typer.echo(f"confirmed by {current.who} at {current.when} ({current.via})")
        return
    done = ask_for_confirmation()
    typer.echo(f"confirmed by {done.who} at {done.when}; every session records it")


def register(app: typer.Typer) -> None:
    app.command("consent")(consent)
