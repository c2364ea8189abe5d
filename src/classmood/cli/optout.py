"""Command ``optout``: the do-not-analyse list of student names (neither classified nor stored)."""

from __future__ import annotations

from contextlib import closing
from typing import Annotated

import typer

from classmood.cli.sessions import DbOption
from classmood.errors import ClassmoodError, cli_errors
from classmood.terminal import printable

NameArg = Annotated[str, typer.Argument(help="The student's name as the meeting tile shows it (or as you named them).")]

optout_app = typer.Typer(help="The do-not-analyse list: students on it are neither classified nor stored.",
                         no_args_is_help=True)


@optout_app.command("add")
@cli_errors
def add(name: NameArg, db: DbOption = None) -> None:
    """Put a name on the list. Classes started from now on skip the student: no emotion is estimated
    and nothing is stored; the live view shows them as "opted out"."""
    from classmood.store import Store
    from classmood.store.opt_outs import add_opt_out, sessions_holding

    with closing(Store(db)) as store:
        added = add_opt_out(store, name)
        held = sessions_holding(store, name)
    shown = printable(repr(" ".join(name.split())))
    typer.echo(f"{shown} {'is now on' if added else 'was already on'} the do-not-analyse list")
    if held:
        typer.echo(f"{len(held)} recorded session(s) still hold what was recorded of {shown} before; erase it with "
                   f"classmood sessions forget --name {shown}")


@optout_app.command("remove")
@cli_errors
def remove(name: NameArg, db: DbOption = None) -> None:
    """Take a name off the list (the student is analysed again in classes started from now on)."""
    from classmood.store import Store
    from classmood.store.opt_outs import remove_opt_out

    with closing(Store(db)) as store:
        removed = remove_opt_out(store, name)
    if not removed:
        raise ClassmoodError(f"{name!r} is not on the do-not-analyse list (see classmood optout list)")
    typer.echo(f"{printable(repr(name.strip()))} is off the do-not-analyse list")


@optout_app.command("list")
@cli_errors
def list_(db: DbOption = None) -> None:
    """Every name on the list."""
    from classmood.store import Store
    from classmood.store.opt_outs import opted_out_names

    with closing(Store(db)) as store:
        names = opted_out_names(store)
    typer.echo("\n".join(printable(name) for name in names) if names else "Nobody has opted out.")


def register(app: typer.Typer) -> None:
    app.add_typer(optout_app, name="optout")
