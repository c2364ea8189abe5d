"""Issue 21's figures on rendered meeting windows: names, id switches, camera-off seconds, layout cost.

Renders meeting windows of 25 and 49 students (``classmood.assets.meeting``: shipped portraits, real
fonts, several apps, light and dark, the default events: a re-order, a latecomer, a camera off and
on, a leave and rejoin, speaker view, a screen-share strip, a student leaving for good) and watches
each as ``classmood monitor`` does (the real detector, emotion model, tracker, tile watch and OCR),
recording into a fresh SQLite file. Against the truth written beside each video it measures:

* names: students whose stored name is their label; the longest a wrong name was shown;
* id switches (a true student's face given another id than before);
* camera-off seconds stored as ``camera_off`` (and the whole state table against the truth);
* with ``--overhead-minutes M``: frames/s of one M-minute 25-student class with the layout and name
  work on and off (the issue's budget: at most 10% more time per frame).

    python benchmarks/meeting_windows.py --seconds 60 --fps 5 --overhead-minutes 10

Writes docs/meeting_windows.md and docs/benchmarks/meeting_windows.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from tqdm import tqdm

from classmood.assets.meeting import NAMES, Meeting, class_of
from classmood.assets.portraits import load_face_images, portraits_from_faces
from classmood.assets.timeline import default_changes
from classmood.assets.truth import count_id_switches
from classmood.class_session import ClassSession, ClassSettings
from classmood.sources import VideoFileSource
from classmood.store import Store
from classmood.store.states import student_states_frame
from classmood.geometry import iou_matrix

ROOT = Path(__file__).resolve().parents[1]
FER = ROOT / ".." / "shared" / "datasets" / "fer2013" / "publictest"
#: (students, app, theme): 25 and 49 students, five apps, light and dark
WINDOWS = ((25, "zoom", "dark"), (25, "meet", "light"), (25, "teams", "dark"), (25, "webex", "light"),
           (49, "zoom", "light"), (49, "meet", "dark"), (49, "teams", "light"), (49, "jitsi", "dark"))
MATCH_IOU = 0.3


@dataclass
class Watched:
    """What the class session said while watching one video."""

    matches: list[tuple[list[str], list[int]]]  # per frame: true students and the ids their faces got
    names_by_second: dict[int, dict[int, str]]  # names shown (read or corrected) at each second
    states: pd.DataFrame  # the export's table
    seconds: float  # wall time of the whole run
    frames: int


def render(folder: Path, students: int, app: str, theme: str, seconds: float, fps: float, seed: int,
           faces: str = "fer") -> tuple[Path, dict]:
    """One window's video and truth: students with distinct FER-2013 faces (``faces="fer"``, read in
    place from the shared data set) or the 9 shipped portraits (``"portraits"``: look-alike students,
    each person shown up to 6 times, harder than any real class)."""
    portraits = None
    if faces == "fer":
        portraits = portraits_from_faces(load_face_images(FER, students, seed=seed))
    names = [NAMES[i] for i in np.random.default_rng(seed).permutation(len(NAMES))[:students]]  # all different
    people = class_of(students, seed, portraits, names, varied=faces != "fer")
    ids = [p.student_id for p in people]
    meeting = Meeting(tuple(people), app=app, theme=theme, size=(1920, 1080),
                      changes=tuple(default_changes(ids, seconds, seed)))
    video = folder / f"{app}-{theme}-{students}.mp4"
    return video, meeting.write(video, seconds, fps)


def watch(video: Path, truth: dict, folder: Path, *, layout_work: bool = True) -> Watched:
    """Run the class session on ``video`` as ``classmood monitor`` does; match faces to the truth."""
    store = Store(f"sqlite:///{folder / f'{video.stem}-{int(layout_work)}.db'}")
    settings = ClassSettings(read_names=layout_work)
    name = f"{video.stem}-{int(layout_work)}"
    session = ClassSession.open(store, name, settings.pipeline(), settings,
                                tiles_every_s=1.0 if layout_work else float("inf"))
    matches, names_by_second = [], {}
    started = time.perf_counter()
    frames = 0
    for snapshot in tqdm(session.run(VideoFileSource(video)), total=truth["frame_count"], desc=video.stem,
                         unit="frame", leave=False):
        k = snapshot.frame_index
        faces = truth["frames"][k]["faces"] if k < len(truth["frames"]) else []
        matches.append(_match(faces, snapshot.detections.boxes, snapshot.detections.student_ids))
        names_by_second.setdefault(int(snapshot.timestamp), dict(session.aggregator.names))
        frames += 1
    elapsed = time.perf_counter() - started
    states = student_states_frame(store, name)
    store.close()
    return Watched(matches, names_by_second, states, elapsed, frames)


def _match(faces: list[dict], boxes: np.ndarray, ids: np.ndarray) -> tuple[list[str], list[int]]:
    if not faces or len(boxes) == 0:
        return [], []
    iou = iou_matrix(np.asarray([f["box"] for f in faces], np.float32), np.asarray(boxes, np.float32))
    rows, cols = linear_sum_assignment(-iou)
    pairs = [(faces[r]["student"], int(ids[c])) for r, c in zip(rows, cols) if iou[r, c] >= MATCH_IOU]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def score(truth: dict, watched: Watched) -> dict:
    """The issue's figures for one video."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for students, ids in watched.matches:
        for student, sid in zip(students, ids):
            votes[student][sid] += 1
    main_id = {student: counter.most_common(1)[0][0] for student, counter in votes.items()}
    names = {s: info["name"] for s, info in truth["students"].items()}
    stored = {sid: (None if pd.isna(name) else name)
              for sid, name in watched.states.drop_duplicates("student").set_index("student")["name"].items()}
    right = sum(stored.get(main_id.get(s)) == name for s, name in names.items())
    wrong = sum(stored.get(main_id.get(s)) not in (None, name) for s, name in names.items())
    wrong_seconds = Counter()  # per true student: seconds in which their face carried another's name
    for second, shown in watched.names_by_second.items():
        frame = int(second * truth["fps"])
        if frame < len(watched.matches):
            for student, sid in zip(*watched.matches[frame]):
                if shown.get(sid) not in (None, names[student]):
                    wrong_seconds[student] += 1
    latin = [s for s, name in names.items() if _latin(name)]
    table = _states_against_truth(truth, watched.states, main_id)
    camera_off = table[table["truth"] == "camera_off"]
    return {
        "students": len(names), "ids": int(watched.states["student"].nunique()),
        "names_unread": sum(stored.get(main_id.get(s)) is None for s in names),
        "wrong": {names[s]: stored.get(main_id.get(s)) for s in names if stored.get(main_id.get(s)) not in (None, names[s])},
        "id_switches": count_id_switches([m[0] for m in watched.matches], [m[1] for m in watched.matches]),
        "names_right": right, "names_wrong": wrong, "names_right_pct": 100.0 * right / len(names),
        "latin_names": len(latin), "latin_names_right": sum(stored.get(main_id.get(s)) == names[s] for s in latin),
        "longest_wrong_name_s": max(wrong_seconds.values(), default=0),
        "camera_off_seconds": len(camera_off),
        "camera_off_stored_pct": 100.0 * float((camera_off["stored"] == "camera_off").mean()) if len(camera_off) else None,
        "states": pd.crosstab(table["stored"], table["truth"]).to_dict(),  # {true state: {stored state: seconds}}
        "frames_per_s": watched.frames / watched.seconds,
    }


def _latin(name: str) -> bool:
    """Whether every letter of ``name`` is of the Latin script (accents included)."""
    return all("LATIN" in unicodedata.name(c, "") for c in name if c.isalpha())


def _states_against_truth(truth: dict, states: pd.DataFrame, main_id: dict[str, int]) -> pd.DataFrame:
    stored = states.set_index(["student", "second"])["state"]
    rows = []
    for row in truth["seconds"]:
        sid = main_id.get(row["student"])
        rows.append({"truth": row["state"], "stored": stored.get((sid, row["second"]), "missing")})
    return pd.DataFrame(rows, columns=["truth", "stored"])


def overhead(folder: Path, minutes: float, fps: float, seed: int) -> dict:
    """Frames/s of one 25-student class with the layout and name work on, then off."""
    folder = folder / "overhead"  # its own video and databases, apart from the windows' of the same name
    folder.mkdir(exist_ok=True)
    video, truth = render(folder, 25, "zoom", "dark", minutes * 60, fps, seed)  # distinct faces
    on = watch(video, truth, folder, layout_work=True)
    off = watch(video, truth, folder, layout_work=False)
    per_frame_on, per_frame_off = on.seconds / on.frames, off.seconds / off.frames
    return {"minutes": minutes, "fps": fps, "ms_per_frame_with": 1000 * per_frame_on,
            "ms_per_frame_without": 1000 * per_frame_off, "added_pct": 100 * (per_frame_on / per_frame_off - 1)}


def write_page(results: dict, out_md: Path) -> None:
    lines = [
        "# Meeting windows: names, identities, camera-off (issue 21)", "",
        f"Measured {results['when']} on {results['machine']} with `python benchmarks/meeting_windows.py "
        f"{results['args']}`: each window {results['seconds']:.0f} s at {results['fps']:g} frames/s, 1920x1080, the "
        "default events (a re-order, a latecomer, a camera off and on, a leave and rejoin, speaker view, a "
        "screen-share strip, a student leaving for good). Targets: the right name for 96% of students, no wrong "
        "name shown for more than 2 s, 0 id switches, 95% of camera-off seconds stored as `camera_off`.", "",
        "| window | students | ids | id switches | names right | Latin-script names right | names wrong | longest wrong name | camera-off seconds stored as such | frames/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["windows"]:
        cam = "-" if r["camera_off_stored_pct"] is None else f"{r['camera_off_stored_pct']:.0f}% of {r['camera_off_seconds']}"
        lines.append(f"| {r['app']} {r['theme']} | {r['students']} | {r['ids']} | {r['id_switches']} | "
                     f"{r['names_right']} ({r['names_right_pct']:.0f}%) | {r['latin_names_right']} of {r['latin_names']} | "
                     f"{r['names_wrong']} | {r['longest_wrong_name_s']} s | "
                     f"{cam} | {r['frames_per_s']:.1f} |")
    total = results["total"]
    lines += ["", "*ids* counts the students stored; fewer than the class means faces the detector never found in two "
              "frames (FER-2013 faces pasted without hair or shoulders; a face seen once is no student until seen "
              "again), more means a student stored twice."]
    lines += ["", f"All windows: names right {total['names_right_pct']:.1f}% (Latin-script names "
              f"{total['latin_names_right_pct']:.1f}%), wrong {total['names_wrong']}, "
              f"id switches {total['id_switches']}, camera-off seconds stored as such {total['camera_off_stored_pct']:.1f}%."]
    if results.get("overhead"):
        o = results["overhead"]
        lines += ["", f"Layout and name work over a {o['minutes']:g}-minute 25-student class at {o['fps']:g} frames/s: "
                  f"{o['ms_per_frame_with']:.1f} ms per frame with it, {o['ms_per_frame_without']:.1f} ms without "
                  f"(**{o['added_pct']:+.1f}%**; budget +10%)."]
    out_md.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each window's video (>= 20)")
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--windows", type=int, default=len(WINDOWS), help="how many of the 8 windows")
    parser.add_argument("--overhead-minutes", type=float, default=0.0, help="also time the layout work (0: no)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faces", choices=("fer", "portraits"), default="fer",
                        help="distinct FER-2013 faces (default) or the 9 shipped portraits (look-alikes)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "meeting_windows.md")
    args = parser.parse_args()
    results = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": platform.machine(),
               "args": " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"),
               "seconds": args.seconds, "fps": args.fps, "windows": []}
    with tempfile.TemporaryDirectory(prefix="classmood-meetings-") as tmp:
        folder = Path(tmp)
        for students, app, theme in WINDOWS[: args.windows]:
            video, truth = render(folder, students, app, theme, args.seconds, args.fps, args.seed, args.faces)
            result = {"app": app, "theme": theme, **score(truth, watch(video, truth, folder))}
            results["windows"].append(result)
            print(json.dumps({k: v for k, v in result.items() if k != "states"}), flush=True)
        if args.overhead_minutes > 0:
            results["overhead"] = overhead(folder, args.overhead_minutes, args.fps, args.seed)
            print(json.dumps(results["overhead"]), flush=True)
    windows = results["windows"]
    cam_total = sum(r["camera_off_seconds"] for r in windows)
    cam_right = sum(r["camera_off_seconds"] * (r["camera_off_stored_pct"] or 0) / 100 for r in windows)
    results["total"] = {
        "names_right_pct": 100 * sum(r["names_right"] for r in windows) / sum(r["students"] for r in windows),
        "latin_names_right_pct": 100 * sum(r["latin_names_right"] for r in windows) / sum(r["latin_names"] for r in windows),
        "names_wrong": sum(r["names_wrong"] for r in windows), "id_switches": sum(r["id_switches"] for r in windows),
        "camera_off_stored_pct": 100 * cam_right / cam_total if cam_total else 0.0}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_page(results, args.out)
    json_path = args.out.parent / "benchmarks" / "meeting_windows.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    print(f"wrote {args.out} and {json_path}")


if __name__ == "__main__":
    main()
