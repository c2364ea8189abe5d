"""The ``classmood`` command line: one Typer app, each command group in its own module.

Every module listed in ``COMMAND_MODULES`` defines ``register(app: typer.Typer) -> None``.
Heavy imports (torch, streamlit, onnxruntime) stay inside the command functions so that
``classmood --help`` is instant and ``train`` works only where the ``train`` extra is installed.
"""

from __future__ import annotations

import importlib

import typer

from classmood.cli.usage import OneLineErrorsGroup
from classmood.privacy import private_umask

COMMAND_MODULES = ("analyze", "train", "monitor", "sessions", "consent", "optout", "web", "batch")

app = typer.Typer(
    name="classmood",
    help="Real-time class mood from faces: analyze media, monitor a class, train and serve models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=OneLineErrorsGroup,
)


@app.callback()
def _every_command() -> None:
    """Runs before any command: whatever classmood writes is readable by this user only."""
    private_umask()


for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:  # a command group not built yet
        if exc.name != f"{__name__}.{_name}":
            raise
        continue
    _module.register(app)


def main() -> None:
    app()
