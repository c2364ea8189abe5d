"""A meeting's script: what changes when (re-order, join, leave, rejoin, camera, speaker, layout, page).

``scene_at`` replays the changes up to a time and says who is in the meeting in which tile order,
whose camera is off, who speaks and which layout the window shows. ``default_changes`` is the
script of ``render_meeting.py --events default``; ``changes_from_json`` reads a script from a file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHANGE_KINDS = ("reorder", "join", "leave", "rejoin", "camera_off", "camera_on", "speaker", "layout", "page")
LAYOUTS = ("gallery", "speaker", "share")


@dataclass(frozen=True, slots=True)
class Change:
    """At ``at`` seconds: ``kind`` happens to ``student`` (``reorder``: ``order`` takes the first tiles;
    ``layout``: the window switches to ``layout``; ``page``: the gallery shows page ``page``, from 1).
    A student with a ``join`` is not there before it;
    a joining or rejoining student's tile comes last, as meeting apps add one."""

    at: float
    kind: str
    student: str | None = None
    order: tuple[str, ...] = ()
    layout: str | None = None
    page: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in CHANGE_KINDS:
            raise ValueError(f"unknown change {self.kind!r}; choose from {', '.join(CHANGE_KINDS)}")
        if not self.at >= 0:
            raise ValueError(f"change {self.kind} at {self.at} s: times start at 0")
        if self.kind == "layout" and self.layout not in LAYOUTS:
            raise ValueError(f"unknown layout {self.layout!r}; choose from {', '.join(LAYOUTS)}")
        if self.kind == "reorder" and not self.order:
            raise ValueError("a reorder needs the new order of students")
        if self.kind == "page" and not (isinstance(self.page, int) and self.page >= 1):
            raise ValueError(f"a page change needs a page number from 1, not {self.page!r}")
        if self.kind not in ("reorder", "layout", "page") and not self.student:
            raise ValueError(f"change {self.kind} needs a student")

    def to_dict(self) -> dict:
        out = {"at": self.at, "kind": self.kind}
        if self.student:
            out["student"] = self.student
        if self.order:
            out["order"] = list(self.order)
        if self.layout:
            out["layout"] = self.layout
        if self.page:
            out["page"] = self.page
        return out


@dataclass(frozen=True, slots=True)
class Scene:
    """The meeting at one moment: students in the meeting in tile order, cameras off, speaker, layout,
    gallery page (from 1)."""

    order: tuple[str, ...]
    camera_off: frozenset[str]
    speaker: str | None
    layout: str
    page: int = 1


def scene_at(students: Sequence[str], changes: Sequence[Change], t: float) -> Scene:
    """The scene at ``t`` seconds: ``students`` in their first tile order, then ``changes`` up to ``t``."""
    joining = {c.student for c in changes if c.kind == "join"}
    order = [s for s in students if s not in joining]
    off: set[str] = set()
    speaker, layout, page = None, "gallery", 1
    for change in sorted((c for c in changes if c.at <= t), key=lambda c: c.at):
        who = change.student
        if change.kind == "reorder":
            named = [s for s in change.order if s in order]
            order = named + [s for s in order if s not in named]
        elif change.kind in ("join", "rejoin"):
            if who not in order:
                order.append(who)
        elif change.kind == "leave":
            if who in order:
                order.remove(who)
        elif change.kind == "camera_off":
            off.add(who)
        elif change.kind == "camera_on":
            off.discard(who)
        elif change.kind == "speaker":
            speaker = who
        elif change.kind == "page":
            page = change.page
        else:
            layout = change.layout
    return Scene(tuple(order), frozenset(off & set(order)), speaker if speaker in order else None, layout, page)


def shuffles(students: Sequence[str], every_s: float, seconds: float, seed: int = 0) -> list[Change]:
    """A random re-order of all tiles every ``every_s`` seconds (none when ``every_s`` <= 0), drawn
    in turn from one generator seeded with ``seed``."""
    if every_s <= 0:
        return []
    rng = np.random.default_rng(seed)
    return [Change(k * every_s, "reorder", order=tuple(students[i] for i in rng.permutation(len(students))))
            for k in range(1, int(seconds // every_s) + 1) if k * every_s < seconds]


def default_changes(students: Sequence[str], seconds: float, seed: int = 0) -> list[Change]:
    """The default script over ``seconds``, at fixed shares of it: a speaker, a re-order, a latecomer
    joins, a camera goes off and on, a student leaves and rejoins, speaker view and back, the
    screen-share strip and back, and a student leaves for good. Needs 5 students and 20 s."""
    if len(students) < 5:
        raise ValueError("the default events need at least 5 students")
    if seconds < 20:
        raise ValueError("the default events need at least 20 seconds")
    rng = np.random.default_rng(seed)
    late, off, rejoiner, leaver, speaker = (students[i] for i in rng.choice(len(students), 5, replace=False))

    def at(share: float) -> float:
        return float(round(share * seconds))

    present = [s for s in students if s != late]
    return [
        Change(at(0.05), "speaker", speaker),
        Change(at(0.12), "reorder", order=tuple(present[i] for i in rng.permutation(len(present)))),
        Change(at(0.18), "join", late),
        Change(at(0.25), "camera_off", off),
        Change(at(0.40), "camera_on", off),
        Change(at(0.30), "leave", rejoiner),
        Change(at(0.45), "rejoin", rejoiner),
        Change(at(0.52), "layout", layout="speaker"),
        Change(at(0.60), "layout", layout="gallery"),
        Change(at(0.66), "layout", layout="share"),
        Change(at(0.72), "layout", layout="gallery"),
        Change(at(0.80), "leave", leaver),
    ]


def changes_from_json(path: Path) -> list[Change]:
    """A script written as a JSON list of changes (``Change.to_dict``'s keys)."""
    try:
        items = json.loads(Path(path).read_text(encoding="utf-8"))
        return [Change(float(i["at"]), i["kind"], i.get("student"), tuple(i.get("order", ())), i.get("layout"),
                       i.get("page")) for i in items]
    except (OSError, json.JSONDecodeError, TypeError, KeyError, AttributeError) as error:
        raise ValueError(f"cannot read events from {path}: {error}") from None
