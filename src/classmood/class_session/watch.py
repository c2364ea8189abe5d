"""A class session opened on a video source: what ``classmood monitor`` and ``classmood.monitor()`` run.

``watch_class(source, name)`` opens the source (file, webcam, screen, stream), checks the session
name before any model loads, opens the recorded ``ClassSession`` (or an unrecorded one without a
name) and, on ``resume`` of a video file, continues where its record is complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from classmood.class_session.session import ClassSession
from classmood.class_session.settings import ClassSettings
from classmood.class_session.snapshot import ClassSnapshot
from classmood.consent import Confirmation, require_confirmation
from classmood.sources import Source, open_source, source_kind
from classmood.store import Store
from classmood.store.erasure import purge_older_than

LIVE_KINDS = ("webcam", "screen", "stream")


@dataclass
class WatchedClass:
    """A class session and the source it watches; close it (or use ``with``) to release both."""

    session: ClassSession
    source: Source
    kind: str  # video, webcam, screen, stream, folder or image
    store: Store | None
    status_when_source_ends: str  # interrupted for a live feed that stops sending, else finished
    nothing_left: bool = False  # a resumed video whose record already covers all of it
    purged: tuple[str, ...] = ()  # sessions deleted at start as older than the retention

    def snapshots(self) -> Iterator[ClassSnapshot]:
        """Analyse the source to its end (or until closed); the session always ends."""
        if self.nothing_left:
            return
        yield from self.session.run(self.source, status_when_source_ends=self.status_when_source_ends)

    def close(self) -> None:
        self.source.close()
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> WatchedClass:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def watch_class(source: str | int | Path, name: str | None = None, *, settings: ClassSettings | None = None,
                db: str | None = None, resume: bool = False, max_frames: int | None = None, max_fps: float = 5.0,
                retention_days: int = 0, consent: Confirmation | None = None, pipeline=None,
                teacher: str | None = None, **options) -> WatchedClass:
    """Open ``source`` and a class session on it, recorded as ``name`` in ``db`` (default database)
    unless ``name`` is None. The detector and classifier (``settings.pipeline()``) load only once
    the name is accepted. With ``retention_days`` > 0, sessions older than that are deleted first.
    The deployer's confirmation of the notice (``consent``, default: the one on record) is needed
    and is stored with the session, as are ``teacher`` and this machine (``store.origin``).
    ``pipeline``: one already loaded with these settings (a batch
    worker analyses many recordings with one). Raises ``ClassmoodError`` in one line."""
    settings = settings or ClassSettings()
    consent = consent or require_confirmation()
    kind = source_kind(source)
    src = open_source(source, every=settings.every, max_frames=max_frames, max_fps=max_fps)
    ends = "interrupted" if kind in LIVE_KINDS and max_frames is None else "finished"
    store = None
    try:
        if name is None:
            return WatchedClass(ClassSession(settings.pipeline(), settings, **options), src, kind, None, ends)
        store = Store(db)
        source_file = str(Path(str(source).removeprefix("file://")).resolve()) if kind == "video" else None
        ClassSession.check(store, name, resume=resume, source_file=source_file)  # before the models load
        purged = tuple(purge_older_than(store, retention_days).sessions)
        session = ClassSession.open(store, name, pipeline or settings.pipeline(), settings, source=str(source),
                                    resume=resume, source_file=source_file, consent=consent, teacher=teacher,
                                    **options)
        watched = WatchedClass(session, src, kind, store, ends, purged=purged)
        if session.recorder.resume_at is not None:  # a video file continues where its record is complete
            src.seek(session.recorder.resume_at)
            if src.frame_count == 0:
                session.finish(session.recorder.resumed_status or "finished")
                watched.nothing_left = True
        return watched
    except BaseException:
        src.close()
        if store is not None:
            store.close()
        raise


def monitor(source: str | int | Path, session: str | None = None, *, model: str = "realtime",
            settings: ClassSettings | None = None, db: str | None = None, resume: bool = False,
            max_frames: int | None = None) -> Iterator[ClassSnapshot]:
    """Watch a class: one ``ClassSnapshot`` per analysed frame of ``source`` (a video file, a webcam
    index, ``screen`` or a stream URL), recorded per second as ``session`` in the database
    (``db``, default ``$CLASSMOOD_DATABASE_URL`` or SQLite in the user data folder), or not
    recorded when ``session`` is None. Stopping early (``break``) ends the session as finished::

        for snapshot in classmood.monitor("lesson.mp4", session="physics 3B"):
            print(snapshot.timestamp, snapshot.mood.engagement, [a.kind for a in snapshot.opened])
    """
    settings = settings or ClassSettings(model=model)
    with watch_class(source, session, settings=settings, db=db, resume=resume, max_frames=max_frames) as watched:
        yield from watched.snapshots()
