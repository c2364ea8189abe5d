"""The generator of rendered meeting windows: a class of named students, an app, a script, a video and its truth.

``Meeting(class_of(25), app="zoom", theme="dark", changes=default_changes(...))`` renders any moment
with ``frame(t)`` and writes ``x.mp4`` with ``x.truth.json`` beside it with ``write`` (see
``assets.truth`` for the truth). ``scripts/render_meeting.py`` is its command line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from classmood.assets.apps import APPS, THEMES, app_style
from classmood.assets.gallery import Look, Participant, varied_participants, write_gallery_video
from classmood.assets.portraits import Portrait
from classmood.assets.timeline import Change, scene_at, shuffles
from classmood.assets.truth import frame_record, second_rows, truth_path, write_truth
from classmood.assets.window import PAGE, WindowFrame, render_window

PANELS = ("chat", "participants")

#: Students' names: Latin, accented and non-Latin (kept as they are: the truth is the label's text).
NAMES = (
    "Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov", "Linus Berg",
    "Radia Perlman", "Niklaus Wirth", "Sophie Wilson", "José Álvarez", "Zoë Müller", "Łukasz Nowak",
    "Chloé Lefèvre", "Søren Dahl", "Ana Luísa Gonçalves", "Mária Horváth", "Çağla Yılmaz", "Ines Šimić",
    "Αλέξης Παππάς", "Мария Иванова", "Олег Петров", "Frances Allen", "Donald Knuth", "Katherine Johnson",
    "Tim Berners", "Hedy Lamarr", "Emmy Noether", "Kurt Gödel", "Dorothy Vaughan", "John Backus",
    "Margaret Hamilton", "Ken Thompson", "Shafi Goldwasser", "Leslie Lamport", "Frida Ekström", "Noël Dupont",
    "Βασιλική Λάμπρου", "Юлия Смирнова", "Björn Ångström", "Íñigo Ibáñez", "Jean Sammet", "Annie Easley",
    "Mary Kenneth", "Karen Spärck", "Vint Cerf", "Bob Kahn", "Judea Pearl", "Andrew Yao", "Manuel Blum",
)


def class_of(count: int, seed: int = 0, portraits: Sequence[Portrait] | None = None,
             names: Sequence[str] | None = None, varied: bool = True) -> list[Participant]:
    """``count`` students ``S01``... with real portraits (default: the shipped ones), webcam looks
    (``varied=False``: one plain look, e.g. for tight face crops) and names (default: ``NAMES`` in a
    seeded order)."""
    people = varied_participants(count, seed, portraits)
    if not varied:
        people = [replace(person, look=Look()) for person in people]
    if names is None:
        pool = list(NAMES) * (count // len(NAMES) + 1)
        names = [pool[i] for i in np.random.default_rng(seed).permutation(len(pool))[:count]]
    if len(names) < count:
        raise ValueError(f"{count} students need {count} names, got {len(names)}")
    return [replace(person, label=name) for person, name in zip(people, names)]


@dataclass(frozen=True, slots=True)
class Meeting:
    """A meeting window of ``app`` in ``theme`` at ``size``, with ``participants`` in their first tile
    order, following ``changes``; ``panel`` (``chat``/``participants``) shows a side panel; a gallery
    page holds ``page`` tiles (a ``page`` change turns to another)."""

    participants: tuple[Participant, ...]
    app: str = "zoom"
    theme: str = "dark"
    size: tuple[int, int] = (1920, 1080)
    changes: tuple[Change, ...] = ()
    panel: str | None = None
    page: int = PAGE

    def __post_init__(self) -> None:
        object.__setattr__(self, "participants", tuple(self.participants))
        object.__setattr__(self, "changes", tuple(self.changes))
        app_style(self.app, self.theme)  # refuses an unknown app or theme
        if self.panel not in (None, *PANELS):
            raise ValueError(f"unknown panel {self.panel!r}; choose from {', '.join(PANELS)}")
        ids = [p.student_id for p in self.participants]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError("a meeting needs students with distinct ids")
        unknown = {c.student for c in self.changes if c.student} - set(ids)
        if unknown:
            raise ValueError(f"events name students not in the meeting: {', '.join(sorted(unknown))}")
        if self.page < 1:
            raise ValueError(f"a gallery page holds at least 1 tile, not {self.page}")
        width, height = self.size
        if width < 320 or height < 180:
            raise ValueError(f"window {width}x{height} is too small (at least 320x180)")

    @property
    def style(self):
        return app_style(self.app, self.theme).scaled(self.size[1])

    def frame(self, t: float) -> WindowFrame:
        """The window at ``t`` seconds."""
        scene = scene_at([p.student_id for p in self.participants], self.changes, t)
        by_id = {p.student_id: p for p in self.participants}
        shown = [by_id[s] for s in scene.order]
        if scene.layout == "gallery":  # the page asked for, or the last one
            first = min(scene.page - 1, (len(shown) - 1) // self.page) * self.page
            shown = shown[max(first, 0):]
        return render_window(self.style, self.size, scene.layout, shown, scene.camera_off, scene.speaker, self.panel, t,
                             self.page)

    def frames(self, seconds: float, fps: float) -> Iterator[WindowFrame]:
        """The windows of ``seconds`` at ``fps`` (frame ``k`` at ``k / fps`` s)."""
        if not seconds > 0 or not fps > 0:
            raise ValueError("seconds and fps must be positive")
        for k in range(max(1, int(round(seconds * fps)))):
            yield self.frame(k / fps)

    def write(self, path: Path, seconds: float, fps: float) -> dict:
        """Render ``seconds`` at ``fps`` to ``path`` (mp4) and its truth beside it (``x.truth.json``);
        returns the truth. Either both files are written whole, or neither is left."""
        path = Path(path)
        records: list[dict] = []

        def recorded():
            for frame in self.frames(seconds, fps):
                records.append(frame_record(frame))
                yield frame

        write_gallery_video(path, recorded(), fps)
        width, height = self.size
        truth = {
            "video": path.name, "app": self.app, "theme": self.theme, "width": width, "height": height,
            "fps": fps, "frame_count": len(records), "duration_s": len(records) / fps, "panel": self.panel,
            "students": {p.student_id: {"name": p.label, "portrait": p.portrait.portrait_id,
                                        "person": p.portrait.person} for p in self.participants},
            "events": [c.to_dict() for c in self.changes],
            "frames": records,
            "seconds": second_rows(records, fps, {p.student_id: p.label for p in self.participants}),
        }
        try:
            write_truth(truth_path(path), truth)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return truth


def scripted_meeting(people: Sequence[Participant], reorder_every_s: float = 0.0,
                     away: dict[int, Sequence[tuple[float, float]]] | None = None, seconds: float = 60.0,
                     seed: int = 0, **window) -> Meeting:
    """A meeting of ``people`` whose tiles re-order every ``reorder_every_s`` (``timeline.shuffles``) and
    where ``away`` = {index in ``people``: [(leaves, rejoins), ...]}; ``window``: ``Meeting``'s other fields."""
    ids = [p.student_id for p in people]
    changes = shuffles(ids, reorder_every_s, seconds, seed)
    for index, spans in (away or {}).items():
        for leaves, rejoins in _merged(spans):
            changes += [Change(leaves, "leave", ids[index]), Change(rejoins, "rejoin", ids[index])]
    return Meeting(tuple(people), changes=tuple(changes), **window)


def _merged(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Time spans with the overlapping ones joined."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


__all__ = ["APPS", "THEMES", "PANELS", "NAMES", "Meeting", "class_of", "scripted_meeting"]
