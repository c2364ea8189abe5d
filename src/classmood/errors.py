"""The one error type classmood raises for bad input or an impossible request.

Its message is a single line meant for a person; the CLI prints it as
``error: <message>`` and exits non-zero, never with a traceback.
"""

from __future__ import annotations


class ClassmoodError(Exception):
    """A problem the user can fix (bad file, missing camera, unknown model...)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))  # always one line

    @property
    def message(self) -> str:
        return str(self)


def cli_errors(func):
    """Decorator for CLI commands: a ``ClassmoodError`` or OS error becomes
    ``error: <one line>`` on stderr and exit status 1, never a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import typer

        try:
            return func(*args, **kwargs)
        except ClassmoodError as exc:
            typer.echo(f"error: {_shown(exc)}", err=True)
            raise typer.Exit(1) from None
        except OSError as exc:  # disk full, permission denied, ...
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            typer.echo(f"error: {_shown(where)}{_shown(exc.strerror or exc)}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def _shown(text: object) -> str:
    """A message part as the user should see it: the target's name instead of a hidden temp
    file's, and no terminal control characters."""
    from classmood.output.atomic import hide_partial_names
    from classmood.terminal import printable

    return printable(hide_partial_names(str(text)))
