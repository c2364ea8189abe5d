"""Commands ``sessions list|show|export|rename|delete|forget|purge`` and ``report``: recorded classes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer

from classmood.errors import ClassmoodError, cli_errors
from classmood.terminal import printable, rich_safe

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: $CLASSMOOD_DATABASE_URL or SQLite in the user data folder).")]
SessionArg = Annotated[str, typer.Argument(help="Session name (see `classmood sessions list`).")]

StudentArg = Annotated[str, typer.Argument(help="Student id as shown (S03) or its number (3).")]

sessions_app = typer.Typer(help="List, show, export, rename students of, erase and purge recorded class sessions.",
                           no_args_is_help=True)


def _store(db: str | None):
    from classmood.store import Store

    return Store(db)


def _student_number(student: str) -> int:
    """``S03`` or ``3`` -> 3; anything else is a one-line error."""
    text = student.strip().upper().removeprefix("S")
    if not re.fullmatch(r"[0-9]{1,9}", text):  # ASCII digits only, and a number the database can hold
        raise ClassmoodError(f"student must look like S03 or 3 (at most 9 digits), not {student!r}")
    return int(text)


def _clock(seconds: float) -> str:
    seconds = int(seconds or 0)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@sessions_app.command("list")
@cli_errors
def list_(db: DbOption = None) -> None:
    """All recorded sessions, oldest first."""
    from rich.console import Console
    from rich.table import Table

    from classmood.store.queries import list_sessions

    store = _store(db)
    try:
        rows = list_sessions(store)
    finally:
        store.close()
    if not rows:
        typer.echo("No recorded session.")
        return
    table = Table(title=f"{len(rows)} session(s)")
    for column in ("name", "started (UTC)", "duration", "students", "alerts", "status", "teacher", "machine",
                   "source"):
        table.add_column(column, overflow="fold")  # a narrow terminal or a pipe wraps, never cuts
    for s in rows:
        table.add_row(rich_safe(s.name), s.started_at.strftime("%Y-%m-%d %H:%M"), _clock(s.duration_s),
                      str(s.students), str(s.alerts), rich_safe(s.status), rich_safe(s.teacher or "-"),
                      rich_safe(s.machine or "-"), rich_safe(s.source))
    Console().print(table)


@sessions_app.command("show")
@cli_errors
def show(session: SessionArg, db: DbOption = None) -> None:
    """Attendance, engagement and alerts of one session."""
    from rich.console import Console
    from rich.table import Table

    from classmood.report.html import attendance_rows, clock, load_report_data

    store = _store(db)
    try:
        data = load_report_data(store, session)
    finally:
        store.close()
    console = Console()
    s = data.summary
    console.print(f"[bold]{rich_safe(s.name)}[/bold]  {s.started_at:%Y-%m-%d %H:%M} UTC  "
                  f"duration {_clock(s.duration_s)}  status {rich_safe(s.status)}  source {rich_safe(s.source or '-')}",
                  highlight=False)
    if s.detail:  # why it was interrupted or truncated
        console.print(f"{rich_safe(s.status)}: {rich_safe(s.detail)}", highlight=False)
    table = Table(title="students")
    for column in ("student", "first seen", "last seen", "present (min)", "mean engagement", "most shown emotion"):
        table.add_column(column)
    for r in attendance_rows(data):
        table.add_row(rich_safe(r["label"]), r["first"], r["last"], f"{r['present_min']:.1f}",
                      "-" if r["engagement"] is None else f"{r['engagement']:.2f}",
                      f"{r['emotion']} ({r['emotion_share']:.0%})")
    console.print(table)
    alerts = Table(title="alerts")
    for column in ("from", "to", "who", "what", "detail"):
        alerts.add_column(column)
    for a in data.alerts.itertuples():
        alerts.add_row(clock(a.started_s), clock(a.ended_s), rich_safe(a.label), rich_safe(a.kind), rich_safe(a.detail))
    console.print(alerts)


@sessions_app.command("export")
@cli_errors
def export(
    session: SessionArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv or .parquet (.json with --student).")],
    what: Annotated[str, typer.Option("--what", help="seconds (per student per second, with the state: present, camera_off, away, left), students (attendance), alerts, or class (per second).")] = "seconds",
    student: Annotated[str | None, typer.Option("--student", help="Only this student (S03): with a .json output, everything stored about them.")] = None,
    db: DbOption = None,
) -> None:
    """Export a session's per-second data, attendance or alerts as CSV or Parquet, or all about one student."""
    from classmood.output.atomic import atomic_path
    from classmood.store.queries import alerts_frame, class_frame, for_export, seconds_frame, students_frame
    from classmood.store.states import student_record, student_states_frame

    suffix = out.suffix.lower()
    number = None if student is None else _student_number(student)
    if suffix == ".json" and number is not None:
        store = _store(db)
        try:
            record = student_record(store, session, number)
        finally:
            store.close()
        with atomic_path(out) as tmp:
            tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
        typer.echo(f"wrote everything stored about S{number:02d} ({len(record['seconds'])} seconds, "
                   f"{len(record['alerts'])} alerts) to {printable(out)}")
        return
    if suffix not in (".csv", ".parquet"):
        raise ClassmoodError(f"{out}: the output must end in .csv or .parquet (or .json with --student)")
    readers = {"seconds": student_states_frame, "students": students_frame, "alerts": alerts_frame,
               "class": lambda store, name: class_frame(seconds_frame(store, name))}
    if what not in readers:
        raise ClassmoodError(f"--what must be one of {', '.join(readers)}, not {what!r}")
    if number is not None and what == "class":
        raise ClassmoodError("--what class is the whole class: it cannot be limited to one --student")
    store = _store(db)
    try:
        frame = for_export(readers[what](store, session))
    finally:
        store.close()
    if number is not None:
        frame = frame[frame["student"] == number]
    with atomic_path(out) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
    typer.echo(f"wrote {len(frame)} rows to {printable(out)}")


@sessions_app.command("rename")
@cli_errors
def rename(session: SessionArg, student: StudentArg,
           name: Annotated[str, typer.Argument(help="Name to show for this student.")], db: DbOption = None) -> None:
    """Give a pseudonymous student a name (stored in the session only)."""
    from classmood.store.queries import rename_student

    number = _student_number(student)
    store = _store(db)
    try:
        rename_student(store, session, number, name.strip())
    finally:
        store.close()
    typer.echo(f"S{number:02d} is now shown as {name.strip()!r} in session {printable(repr(session))}")


@sessions_app.command("delete")
@cli_errors
def delete(session: SessionArg, yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
           db: DbOption = None) -> None:
    """Delete a session and everything recorded for it."""
    from classmood.store.erasure import delete_session

    if not yes and not typer.confirm(f"Delete session {session!r} and all its data?"):
        raise typer.Exit(1)
    store = _store(db)
    try:
        delete_session(store, session)
    finally:
        store.close()
    typer.echo(f"deleted session {printable(repr(session))}")


@sessions_app.command("forget")
@cli_errors
def forget(session: Annotated[str | None, typer.Argument(help="Session to erase one student from.")] = None,
           student: Annotated[str | None, typer.Argument(help="The student (S03) to erase from SESSION.")] = None,
           name: Annotated[str | None, typer.Option("--name", help="Erase every student shown under this name, in every session.")] = None,
           yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False, db: DbOption = None) -> None:
    """Erase one student from a session (SESSION S03), or a name from every session (--name): their
    rows, every second and every alert about them. The rest of each class stays."""
    from classmood.store.erasure import forget_name, forget_student

    if (name is None) == (session is None or student is None):
        raise ClassmoodError("give a session and a student (forget \"physics 3B\" S03) or --name NAME, not both")
    what = f"every student named {name!r}" if name is not None else f"student {student} of session {session!r}"
    if not yes and not typer.confirm(f"Erase {what} and all their data?"):
        raise typer.Exit(1)
    store = _store(db)
    try:
        erased = forget_name(store, name) if name is not None else forget_student(store, session, _student_number(student))
    finally:
        store.close()
    typer.echo(f"erased {erased.students} student record(s) from {len(erased.sessions)} session(s)")


@sessions_app.command("purge")
@cli_errors
def purge(older_than: Annotated[int, typer.Option("--older-than", min=1, help="Delete sessions that started more than this many days ago.")],
          yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False, db: DbOption = None) -> None:
    """Delete every session older than N days with all its data (monitor and app do this at start-up
    with $CLASSMOOD_RETENTION_DAYS, default 30)."""
    from classmood.store.erasure import purge_older_than

    if not yes and not typer.confirm(f"Delete every session that started more than {older_than} days ago?"):
        raise typer.Exit(1)
    store = _store(db)
    try:
        erased = purge_older_than(store, older_than)
    finally:
        store.close()
    typer.echo(f"deleted {len(erased.sessions)} session(s) older than {older_than} days"
               + (": " + ", ".join(printable(repr(n)) for n in erased.sessions) if erased.sessions else ""))


@cli_errors
def report(session: SessionArg,
           out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("report.html"),
           db: DbOption = None) -> None:
    """Write a self-contained HTML report of a session: class mood, heatmap, engagement, alerts, attendance."""
    from classmood.report import write_report

    store = _store(db)
    try:
        path = write_report(store, session, out)
    finally:
        store.close()
    typer.echo(f"wrote {printable(path)}")


def register(app: typer.Typer) -> None:
    app.add_typer(sessions_app, name="sessions")
    app.command("report")(report)
