"""Usage errors (a bad option value, a missing argument, an unknown command) as one ``error:`` line.

Typer draws them as a multi-line box after the usage text; a script or a person reading the
last line of stderr should get ``error: <what is wrong> (see: classmood CMD --help)`` and exit
status 2, like every other rejection of classmood. The click exception classes are matched by
their interface, not imported: Typer vendors its own copy of click in newer versions.
"""

from __future__ import annotations

import sys

from typer.core import TyperGroup

from classmood.terminal import printable


class OneLineErrorsGroup(TyperGroup):
    """The root command group: runs in non-standalone mode and reports usage errors on one line."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except Exception as exc:  # only click's own exceptions are handled, the rest re-raised
            name = type(exc).__name__
            if name == "NoArgsIsHelpError":  # a bare group: its help (rich help is printed while formatting)
                if exc.format_message().strip():
                    print(exc.format_message(), file=sys.stderr)
                sys.exit(2)
            if name == "Abort":  # Ctrl-C or EOF at a prompt
                print("error: aborted", file=sys.stderr)
                sys.exit(1)
            if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
                raise
            context = getattr(exc, "ctx", None)
            hint = f" (see: {context.command_path} --help)" if context is not None else ""
            print(f"error: {printable(' '.join(exc.format_message().split()))}{hint}", file=sys.stderr)
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)
