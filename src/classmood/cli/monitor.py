"""Command ``monitor``: watch a class live (or a recording), show it in the terminal, record it."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from classmood.errors import ClassmoodError, cli_errors
from classmood.terminal import rich_safe


@cli_errors
def monitor(
    source: Annotated[str, typer.Argument(help="Video file, recorded class, webcam index (0), 'screen' / 'screen:N' / 'screen:LEFT,TOP,W,H' (the meeting's gallery view), or stream URL.")],
    session: Annotated[str, typer.Option("--session", "-s", help="Name of the recorded session.")],
    resume: Annotated[bool, typer.Option("--resume", help="Continue an existing session of this name (e.g. after a crash).")] = False,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: $CLASSMOOD_DATABASE_URL or SQLite in the user data folder), e.g. postgresql+psycopg://user:pw@host/db.")] = None,
    every: Annotated[int, typer.Option("--every", min=1, help="Analyse every N-th frame of a video.")] = 1,
    model: Annotated[str, typer.Option("--model", "-m", help="Emotion model: realtime, accurate, or a path to an .onnx file.")] = "realtime",
    detect_size: Annotated[int, typer.Option("--detect-size", min=160, help="Longest side (px) for face detection; 960 suits galleries of small tiles.")] = 960,
    min_score: Annotated[float, typer.Option("--min-score", min=0.0, max=1.0, help="Face detector score threshold.")] = 0.6,
    max_faces: Annotated[int, typer.Option("--max-faces", min=1, help="At most this many faces per frame.")] = 60,
    max_fps: Annotated[float, typer.Option("--max-fps", min=0.5, help="Frames per second taken from a screen capture.")] = 5.0,
    absent_after: Annotated[float, typer.Option("--absent-after", min=1.0, help="Seconds away before an 'absent' alert.")] = 60.0,
    camera_off_absent: Annotated[bool, typer.Option("--camera-off-absent/--camera-off-present", help="Whether a student whose gallery tile shows no face (camera off) counts toward the 'absent' alert.")] = False,
    negative_after: Annotated[float, typer.Option("--negative-after", min=1.0, help="Seconds looking angry/disgusted/fearful/sad before an alert.")] = 120.0,
    mood_drop: Annotated[float, typer.Option("--mood-drop", min=0.01, max=1.0, help="Drop of class engagement (0-1) over the last minute versus the 5 before it that raises an alert.")] = 0.15,
    names: Annotated[bool, typer.Option("--names/--no-names", help="Read names under gallery tiles with OCR (RapidOCR or Tesseract) when installed.")] = True,
    max_frames: Annotated[int | None, typer.Option("--max-frames", min=1, help="Stop after N frames.")] = None,
    view: Annotated[bool, typer.Option("--view/--no-view", help="Live terminal view (off: one line per alert).")] = True,
    teacher: Annotated[str | None, typer.Option("--teacher", help="Who records this class, stored with it (default $CLASSMOOD_TEACHER or your login name); for a database many teachers share.")] = None,
    keep_days: Annotated[int | None, typer.Option("--keep-days", min=0, help="Delete recorded sessions older than this many days at start (default $CLASSMOOD_RETENTION_DAYS or 30; 0 keeps all).")] = None,
) -> None:
    """Monitor a class: stable student ids, emotions with confidence, engagement, alerts, recorded per second.

    Stop with Ctrl-C; the session is then finished and kept. Only per-second aggregates per
    pseudonymous student are stored, never frames. See docs/monitoring.md.
    """
    from rich.console import Console

    from classmood.class_session import ClassSettings
    from classmood.class_session.watch import watch_class
    from classmood.cli.consent import ask_for_confirmation
    from classmood.cli.monitor_view import MonitorView
    from classmood.consent import current_confirmation
    from classmood.store.erasure import retention_days

    console = Console(stderr=True)
    session = session.strip()
    if not session:
        raise ClassmoodError("--session needs a name, e.g. --session \"physics 3B\"")
    settings = ClassSettings(model=model, every=every, detect_size=detect_size, min_score=min_score,
                             max_faces=max_faces, absent_after_s=absent_after, negative_after_s=negative_after,
                             camera_off_is_absent=camera_off_absent,
                             mood_drop=mood_drop, read_names=names)
    days = retention_days(keep_days)
    consent = current_confirmation() or ask_for_confirmation()  # once, at the first class
    watched = watch_class(source, session, settings=settings, db=db, resume=resume, max_frames=max_frames,
                          max_fps=max_fps, retention_days=days, consent=consent, teacher=teacher)
    class_session, src, recorder = watched.session, watched.source, watched.session.recorder
    with watched:
        if watched.purged:
            console.print(f"retention: deleted {len(watched.purged)} session(s) older than {days} days "
                          "(--keep-days 0 keeps all)", highlight=False)
        if watched.nothing_left:
            typer.echo(f"session {session!r} already covers all of {source}; nothing left to analyse")
            return
        if resume:
            console.print(f"resuming session {rich_safe(repr(session))} at {recorder.resume_at or recorder.offset:.1f} s",
                          highlight=False)
        if names and not class_session.reads_names:
            console.print("note: no OCR installed (pip install 'classmood[ocr]'): students get ids S01, S02... "
                          "(rename with `classmood sessions rename`)")
        view_ = MonitorView(console, session, src.frame_count, live=view and console.is_terminal)
        started, frames, stopped = time.perf_counter(), 0, False
        with view_:
            try:
                for snapshot in watched.snapshots():
                    frames += 1
                    view_.update(snapshot, frames / max(time.perf_counter() - started, 1e-6))
            except KeyboardInterrupt:
                stopped = True
        elapsed = time.perf_counter() - started
        if watched.status_when_source_ends == "interrupted" and not stopped:
            console.print(f"warning: the {watched.kind} stopped sending frames; everything up to then is recorded "
                          f"(continue with --resume)", highlight=False)
        typer.echo(f"session {session!r}: {frames} frames in {elapsed:.1f} s ({frames / max(elapsed, 1e-6):.1f} frames/s), "
                   f"{len(class_session.aggregator.students)} students; stored in {watched.store.url.split('://')[0]} "
                   f"database. Report: classmood report {session!r} --out report.html")
        if src.truncation is not None:
            raise ClassmoodError(f"{src.truncation.reason}: session {session!r} is marked truncated, "
                                 "with everything read before that recorded")


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor)
