"""The truth beside a rendered meeting video, and the scores measured against it.

Per frame: the layout, each shown tile and each visible face with its student. Per student per
second (from the second the student is first shown): ``state`` as issue 21 defines it, the
``name`` on the label and the ``tile`` box. A second's state is what most of its frames show:

* ``present``: the student's face is seen in a tile;
* ``camera_off``: the student's tile is shown without a face;
* ``away``: no tile, and the tile comes back later (a leave and rejoin, or a layout that hides it);
* ``left``: no tile, and it never comes back before the end.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable, Sequence
from pathlib import Path

from classmood.assets.window import WindowFrame

STATES = ("present", "camera_off", "away", "left")


def frame_record(frame: WindowFrame) -> dict:
    """One frame's truth: time, layout, tiles and faces (boxes ``[x, y, w, h]`` in window pixels)."""
    return {"t": round(frame.timestamp, 4), "layout": frame.layout,
            "tiles": [{"student": s.student_id, "box": list(s.box), "camera_on": s.camera_on} for s in frame.tiles],
            "faces": [{"student": f.student_id, "box": list(f.box)} for f in frame.faces]}


def second_rows(frames: Sequence[dict], fps: float, names: dict[str, str | None]) -> list[dict]:
    """Per student per second: ``student``, ``second``, ``state``, ``name``, ``tile`` (box or None)."""
    seen: dict[int, dict[str, Counter]] = {}
    tile_at: dict[tuple[int, str], list[int]] = {}
    for index, frame in enumerate(frames):
        second = int(index / fps + 1e-9)
        faces = {f["student"] for f in frame["faces"]}
        votes = seen.setdefault(second, {s: Counter() for s in names})
        for tile in frame["tiles"]:
            who = tile["student"]
            votes[who]["present" if who in faces else "camera_off"] += 1
            tile_at[second, who] = tile["box"]
        for who, counter in votes.items():
            if not any(t["student"] == who for t in frame["tiles"]):
                counter["gone"] += 1
    order = {"present": 0, "camera_off": 1, "gone": 2}
    shown = {s: [sec for sec in sorted(seen) if seen[sec][s]["present"] + seen[sec][s]["camera_off"]] for s in names}
    rows = []
    for student, name in names.items():
        if not shown[student]:
            continue
        last_shown = shown[student][-1]
        for second in range(shown[student][0], max(seen) + 1):
            state = min(seen[second][student].items(), key=lambda kv: (-kv[1], order[kv[0]]))[0]
            if state == "gone":
                state = "away" if second < last_shown else "left"
            rows.append({"student": student, "second": second, "state": state, "name": name,
                         "tile": tile_at.get((second, student)) if state in ("present", "camera_off") else None})
    return rows


def write_truth(path: Path, truth: dict) -> None:
    """Write ``truth`` as UTF-8 JSON (names kept as they are), atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def truth_path(video: Path) -> Path:
    """Where a video's truth lies: ``x.mp4`` -> ``x.truth.json``."""
    video = Path(video)
    return video.with_name(f"{video.stem}.truth.json")


def load_truth(video_or_truth: Path) -> dict:
    """The truth of a rendered video (give the video or its ``.truth.json``)."""
    path = Path(video_or_truth)
    if not path.name.endswith(".truth.json"):
        path = truth_path(path)
    return json.loads(path.read_text(encoding="utf-8"))


def count_id_switches(truth: Sequence[Sequence[Hashable]], predicted: Sequence[Sequence[Hashable]]) -> int:
    """ID switches (CLEAR-MOT style): times a true student's assigned id differs from their last one.

    ``truth[k]`` and ``predicted[k]`` pair frame ``k``'s matched true students with the ids given."""
    last: dict[Hashable, Hashable] = {}
    switches = 0
    for students, ids in zip(truth, predicted):
        for student, sid in zip(students, ids):
            if student in last and last[student] != sid:
                switches += 1
            last[student] = sid
    return switches
