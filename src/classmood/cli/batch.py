"""Command ``batch``: many recorded classes as one Ray job, each recorded as its own session."""

from __future__ import annotations

from typing import Annotated

import typer

from classmood.errors import ClassmoodError, cli_errors


@cli_errors
def batch(
    inputs: Annotated[list[str], typer.Argument(help="Recorded classes: video files, folders (their videos, recursively) or glob patterns.")],
    session_prefix: Annotated[str, typer.Option("--session-prefix", "-p", help="Each recording becomes the session PREFIX + the file's stem.")],
    ray_address: Annotated[str | None, typer.Option("--ray", help="Join a Ray cluster: auto, HOST:PORT or ray://HOST:PORT (default: a local Ray on all cores of this machine).")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: $CLASSMOOD_DATABASE_URL or SQLite in the user data folder); a cluster needs postgresql+psycopg://...")] = None,
    every: Annotated[int, typer.Option("--every", min=1, help="Analyse every N-th frame of each recording.")] = 1,
    model: Annotated[str, typer.Option("--model", "-m", help="Emotion model: realtime, accurate, or a path to an .onnx file.")] = "realtime",
    detect_size: Annotated[int, typer.Option("--detect-size", min=160, help="Longest side (px) for face detection.")] = 960,
    names: Annotated[bool, typer.Option("--names/--no-names", help="Read names under gallery tiles with OCR (RapidOCR or Tesseract) when installed.")] = True,
    resume: Annotated[bool, typer.Option("--resume", help="Sessions of this prefix exist already: skip the finished recordings, redo the others.")] = False,
    keep_days: Annotated[int | None, typer.Option("--keep-days", min=0, help="Delete recorded sessions older than this many days at start (default $CLASSMOOD_RETENTION_DAYS or 30; 0 keeps all).")] = None,
) -> None:
    """Analyse many recorded classes on Ray: one actor per worker CPU holds a loaded pipeline, each
    recording is recorded as session PREFIX+stem. A failed recording is listed and the others go on;
    the exit status is 1 if any failed. See docs/scaling.md.
    """
    from rich.console import Console

    from classmood.batch.inputs import count_frames, expand_inputs, plan_recordings
    from classmood.batch.job import connect_ray, is_remote, run_batch
    from classmood.batch.result import RecordingResult
    from classmood.class_session import ClassSettings
    from classmood.classify.registry import resolve_model
    from classmood.cli.consent import ask_for_confirmation
    from classmood.consent import current_confirmation
    from classmood.store import Store
    from classmood.store.erasure import purge_older_than, retention_days

    prefix = session_prefix.strip()
    if not prefix:
        raise ClassmoodError("--session-prefix needs a name, e.g. --session-prefix \"term1-\"")
    recordings = plan_recordings(expand_inputs(inputs), prefix)
    resolve_model(model)  # an unknown model is refused before anything starts
    consent = current_confirmation() or ask_for_confirmation()  # before anything is stored
    store = Store(db)  # an unreachable database is refused here, in one line
    try:
        if is_remote(ray_address) and store.url.startswith("sqlite"):
            raise ClassmoodError("workers on other machines cannot share a SQLite file: give --db postgresql+psycopg://...")
        done, recordings = _split_done(store, recordings, resume)
        days = retention_days(keep_days)
        purged = purge_older_than(store, days).sessions
        url = store.url
    finally:
        store.close()
    console = Console(stderr=True)
    if purged:
        console.print(f"retention: deleted {len(purged)} session(s) older than {days} days (--keep-days 0 keeps all)",
                      highlight=False)
    settings = ClassSettings(model=model, every=every, detect_size=detect_size, read_names=names)
    counted, unreadable = [], []
    for recording in recordings:
        try:
            counted.append(count_frames(recording, every))
        except ClassmoodError as exc:
            unreadable.append(RecordingResult.failed(recording, str(exc)))
    results = done + unreadable
    if counted:
        with connect_ray(ray_address) as connection:
            console.print(f"Ray: {connection.workers} worker(s) at {connection.address}; "
                          f"{len(counted)} recording(s), {sum(r.frames or 0 for r in counted)} frames to analyse",
                          highlight=False)
            with _BatchProgress(console, counted, already=len(results)) as progress:
                results += run_batch(connection, counted, settings=settings, db=url, consent=consent,
                                     on_progress=progress.update)
    _print_results(results)


def _split_done(store, recordings, resume: bool):
    """(results of recordings already finished, recordings to analyse): sessions of these names that
    exist are refused without ``--resume``; with it the finished ones are skipped."""
    from sqlalchemy import select

    from classmood.batch.result import RecordingResult
    from classmood.store.models import SessionRow

    with store.transaction() as db:
        existing = {row.name: row for row in db.scalars(
            select(SessionRow).where(SessionRow.name.in_([r.session for r in recordings])))}
    if existing and not resume:
        first = next(r.session for r in recordings if r.session in existing)
        raise ClassmoodError(f"{len(existing)} of the {len(recordings)} sessions exist already (e.g. {first!r}); "
                             "add --resume to skip the finished ones and redo the rest, or choose another --session-prefix")
    done, todo = [], []
    for recording in recordings:
        row = existing.get(recording.session)
        recorded_from = (row.settings or {}).get("source_file") if row is not None else None
        if row is not None and recorded_from != str(recording.path):
            done.append(RecordingResult.failed(recording, f"session {recording.session!r} was recorded from "
                                                          f"{recorded_from or row.source}, not from this file"))
        elif row is not None and row.status == "finished":
            done.append(RecordingResult.from_store(store, recording, "skipped", reason="finished before"))
        else:
            todo.append(recording)
    return done, todo


class _BatchProgress:
    """Two bars on stderr: recordings done, and frames analysed over all recordings."""

    def __init__(self, console, recordings, already: int = 0) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.recordings = recordings
        self.already = already
        self.progress = Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True)
        total = already + len(recordings)
        self.done_task = self.progress.add_task("recordings", total=total, completed=already)
        self.frames_task = self.progress.add_task("frames", total=sum(r.frames or 0 for r in recordings) or None)

    def update(self, frames: dict[int, int], results) -> None:
        ended = {r.session for r in results}
        analysed = sum(min(frames.get(i, 0), r.frames or 0) if r.session not in ended else (r.frames or 0)
                       for i, r in enumerate(self.recordings))
        self.progress.update(self.done_task, completed=self.already + len(results))
        self.progress.update(self.frames_task, completed=analysed)

    def __enter__(self) -> _BatchProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()


def _print_results(results) -> None:
    """The final table on stdout, one line per failure's reason on stderr; exit 1 if any failed."""
    from rich.console import Console
    from rich.table import Table

    from classmood.terminal import printable, rich_safe

    table = Table(title=None, box=None, pad_edge=False)
    for column, justify in (("recording", "left"), ("session", "left"), ("students", "right"),
                            ("seconds", "right"), ("frames/s", "right"), ("status", "left")):
        table.add_column(column, justify=justify)
    for r in results:
        table.add_row(rich_safe(r.recording.name), rich_safe(r.session), str(r.students), f"{r.seconds:.0f}",
                      f"{r.fps:.1f}" if r.frames else "-", r.status)
    Console(width=160).print(table)
    failed = [r for r in results if not r.ok]
    for r in results:
        if r.replaced:
            typer.echo(f"retried: {printable(r.session)}: a worker was lost; its partial session was replaced",
                       err=True)
    for r in failed:
        typer.echo(f"{r.status}: {printable(r.session)}: {printable(r.reason)}", err=True)
    typer.echo(f"{len(results)} recording(s): {sum(r.status == 'finished' for r in results)} finished, "
               f"{sum(r.status == 'skipped' for r in results)} skipped, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("batch")(batch)
