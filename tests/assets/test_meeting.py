"""The meeting window generator: every app and theme is a gallery the layout finder and the real
detector agree with, scripted events give the issue's states, and the command line's contract."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import cv2
import pytest

from classmood.assets.apps import APPS, THEMES
from classmood.assets.meeting import NAMES, Meeting, class_of
from classmood.assets.timeline import Change, default_changes, scene_at
from classmood.assets.truth import STATES, count_id_switches, load_truth
from classmood.track.layout import find_tiles
from fixtures.faces import match_faces
from fixtures.paths import ROOT

SCRIPT = ROOT / "scripts" / "render_meeting.py"


def _centre(row: list[tuple]) -> float:
    return (row[0][0] + row[-1][0] + row[-1][2]) / 2


def _near(found: tuple, truth: tuple, tolerance: int = 4) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(found, truth))


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("app", APPS)
def test_each_app_and_theme_is_a_gallery_the_layout_finder_and_the_detector_agree_with(app, theme):
    people = class_of(10, seed=APPS.index(app))
    panel = "participants" if app in ("teams", "zoom") else None
    frame = Meeting(people, app, theme, (1280, 720), [Change(0, "speaker", "S02")], panel).frame(1.0)
    assert len(frame.tiles) == 10 and len(frame.faces) == 10
    found = find_tiles(frame.image).tiles
    assert len(found) == 10, (found, [t.box for t in frame.tiles])
    for tile in frame.tiles:  # each drawn tile is found where it is, within a few pixels
        assert any(_near(box, tile.box) for box in found), (tile.box, found)
    detected, extra, ious = match_faces([f.box for f in frame.faces], frame.image)
    assert detected >= 9 and extra == 0 and min(ious) > 0.5


# 2x2: Meet (toolbar on the gallery's background), Webex and Jitsi draw more round toolbar buttons than
# the gallery has tiles, and find_tiles must not take them for tiles.
@pytest.mark.parametrize("count", [4, 23, 47])  # 2x2, 5x5 and 7x7 with a shorter, centred last row
@pytest.mark.parametrize("app", APPS)
def test_grids_from_2x2_to_7x7_at_full_hd_are_found(app, count):
    for theme in THEMES:
        frame = Meeting(class_of(count, seed=count), app, theme, (1920, 1080), panel="chat" if count == 23 else None
                        ).frame(0.5)
        rows = sorted({t.box[1] for t in frame.tiles})
        first, last = ([t.box for t in frame.tiles if t.box[1] == row] for row in (rows[0], rows[-1]))
        assert len(last) <= len(first) and abs(_centre(last) - _centre(first)) <= 2
        found = find_tiles(frame.image).tiles
        assert len(found) == count and all(any(_near(box, t.box) for box in found) for t in frame.tiles), theme


def test_49_faces_of_a_7x7_window_are_found_by_the_detector():
    frame = Meeting(class_of(49, seed=7), "zoom", "dark", (1920, 1080)).frame(0.0)
    detected, extra, _ = match_faces([f.box for f in frame.faces], frame.image)
    assert len(frame.faces) == 49 and detected >= 47 and extra == 0


def test_speaker_view_and_screen_share_show_some_students():
    people = class_of(12, seed=4)
    changes = [Change(0, "speaker", "S05"), Change(1, "layout", layout="speaker"), Change(2, "layout", layout="share"),
               Change(3, "layout", layout="gallery")]
    meeting = Meeting(people, "meet", "dark", (1280, 720), changes)
    speaker, share, gallery = meeting.frame(1.5), meeting.frame(2.5), meeting.frame(3.5)
    assert speaker.layout == "speaker" and speaker.tiles[0].student_id == "S05"
    big = speaker.tiles[0].box
    assert big[2] * big[3] > 10 * speaker.tiles[1].box[2] * speaker.tiles[1].box[3]
    assert 2 <= len(speaker.tiles) < 12 and 2 <= len(share.tiles) < 12 and len(gallery.tiles) == 12
    detected, _, _ = match_faces([f.box for f in speaker.faces], speaker.image)
    assert detected >= len(speaker.faces) - 1


def test_turning_the_gallery_page_shows_the_others_and_their_truth_follows(tmp_path):
    people = class_of(30, seed=6)
    meeting = Meeting(people, "teams", "dark", (1280, 720), [Change(2, "page", page=2), Change(4, "page", page=1)],
                      page=16)
    first, second = meeting.frame(0.0), meeting.frame(2.5)
    assert [t.student_id for t in first.tiles] == [f"S{i:02d}" for i in range(1, 17)]
    assert [t.student_id for t in second.tiles] == [f"S{i:02d}" for i in range(17, 31)]
    assert len(find_tiles(second.image).tiles) == 14
    truth = meeting.write(tmp_path / "pages.mp4", 6, 1)
    assert [_states(truth, "S01")[s] for s in range(6)] == ["present", "present", "away", "away", "present", "present"]
    assert min(_states(truth, "S20")) == 2  # first shown on page 2
    with pytest.raises(ValueError, match="page number"):
        Change(1, "page", page=0)


def test_scene_follows_joins_leaves_rejoins_and_reorders():
    ids = ["S01", "S02", "S03", "S04"]
    changes = [Change(1, "join", "S04"), Change(2, "leave", "S02"), Change(3, "reorder", order=("S03", "S01")),
               Change(4, "rejoin", "S02"), Change(5, "camera_off", "S01"), Change(6, "camera_on", "S01")]
    assert scene_at(ids, changes, 0).order == ("S01", "S02", "S03")
    assert scene_at(ids, changes, 1).order == ("S01", "S02", "S03", "S04")  # a newcomer's tile comes last
    assert scene_at(ids, changes, 3).order == ("S03", "S01", "S04")
    assert scene_at(ids, changes, 4).order == ("S03", "S01", "S04", "S02")
    assert scene_at(ids, changes, 5.5).camera_off == {"S01"} and not scene_at(ids, changes, 6).camera_off
    with pytest.raises(ValueError, match="unknown change"):
        Change(1, "asleep", "S01")
    with pytest.raises(ValueError, match="unknown layout"):
        Change(1, "layout", layout="theatre")


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    """A 20 s, 2 fps Teams window (light) of 8 students following the default script."""
    people = class_of(8, seed=2)
    changes = default_changes([p.student_id for p in people], 20, seed=2)
    path = tmp_path_factory.mktemp("meeting") / "class.mp4"
    truth = Meeting(people, "teams", "light", (1280, 720), changes).write(path, 20, 2)
    return path, truth, changes


def _states(truth: dict, student: str) -> dict[int, str]:
    return {r["second"]: r["state"] for r in truth["seconds"] if r["student"] == student}


def test_events_give_the_right_truth_states(scripted):
    _, truth, changes = scripted
    at = {(c.kind, c.student): int(c.at) for c in changes if c.student}
    kinds = {c.kind: c.student for c in changes if c.student and c.kind != "leave"}
    off = kinds["camera_off"]
    states = _states(truth, off)
    assert {states[s] for s in range(at["camera_off", off], at["camera_on", off])} == {"camera_off"}
    assert states[at["camera_on", off]] == "present"
    rejoiner = kinds["rejoin"]
    states = _states(truth, rejoiner)
    assert {states[s] for s in range(at["leave", rejoiner], at["rejoin", rejoiner])} == {"away"}
    assert states[at["rejoin", rejoiner]] == "present"
    leaver = next(c.student for c in changes if c.kind == "leave" and c.student != rejoiner)
    states = _states(truth, leaver)
    assert {states[s] for s in range(at["leave", leaver], 20)} == {"left"}
    late = kinds["join"]
    assert min(_states(truth, late)) == at["join", late]  # no rows before joining
    assert {r["state"] for r in truth["seconds"]} <= set(STATES)
    # speaker view hides most tiles for a while: those students are away, then back
    hidden = {r["student"] for r in truth["seconds"] if r["second"] == 11 and r["state"] == "away"}
    assert len(hidden) >= 2


def test_truth_rows_carry_the_label_and_the_tile_and_faces_sit_in_their_tiles(scripted):
    _, truth, _ = scripted
    names = {s: v["name"] for s, v in truth["students"].items()}
    assert set(names.values()) <= set(NAMES)
    for row in truth["seconds"]:
        assert row["name"] == names[row["student"]]
        assert (row["tile"] is not None) == (row["state"] in ("present", "camera_off"))
    for frame in truth["frames"]:
        tiles = {t["student"]: t["box"] for t in frame["tiles"]}
        for face in frame["faces"]:
            x, y, w, h = face["box"]
            tx, ty, tw, th = tiles[face["student"]]
            assert tx <= x and ty <= y and x + w <= tx + tw and y + h <= ty + th


def test_cli_writes_a_playable_video_and_its_truth(tmp_path):
    out = tmp_path / "x.mp4"
    done = subprocess.run([sys.executable, str(SCRIPT), "--students", "6", "--app", "webex", "--theme", "dark",
                           "--size", "1280x720", "--seconds", "20", "--fps", "1", "--events", "default",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.mp4", "x.truth.json"]
    truth = load_truth(out)
    capture = cv2.VideoCapture(str(out))
    frames = 0
    while (read := capture.read())[0]:
        assert read[1].shape == (720, 1280, 3)
        frames += 1
    assert frames == truth["frame_count"] == 20 and truth["app"] == "webex"
    assert json.loads((tmp_path / "x.truth.json").read_text(encoding="utf-8"))["students"]["S01"]["name"]


def _cli():
    spec = importlib.util.spec_from_file_location("render_meeting", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("args", [["--students", "1"], ["--app", "skype"], ["--theme", "blue"], ["--fps", "0"],
                                  ["--size", "100x100"], ["--events", "missing.json"], ["--students", "3"]])
def test_cli_bad_arguments_are_one_line_and_exit_2(tmp_path, capsys, args):
    with pytest.raises(SystemExit) as exit_:
        _cli().main(["--seconds", "20", *args, "--out", str(tmp_path / "x.mp4")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_follows_a_script_from_a_json_file(tmp_path, capsys):
    script = tmp_path / "events.json"
    script.write_text(json.dumps([{"at": 1, "kind": "camera_off", "student": "S02"},
                                  {"at": 2, "kind": "leave", "student": "S01"}]), encoding="utf-8")
    assert _cli().main(["--students", "3", "--size", "1280x720", "--seconds", "4", "--fps", "1", "--events",
                        str(script), "--out", str(tmp_path / "x.mp4")]) == 0
    assert "x.truth.json" in capsys.readouterr().out
    truth = load_truth(tmp_path / "x.truth.json")
    assert [_states(truth, s) for s in ("S01", "S02", "S03")] == [
        {0: "present", 1: "present", 2: "left", 3: "left"}, {0: "present", 1: "camera_off", 2: "camera_off",
                                                              3: "camera_off"}, dict.fromkeys(range(4), "present")]


def test_id_switches_count_changes_of_a_students_id():
    truth = [["S01", "S02"], ["S01", "S02"], ["S02", "S01"], ["S01"]]
    assert count_id_switches(truth, [[1, 2], [1, 2], [2, 1], [1]]) == 0
    assert count_id_switches(truth, [[1, 2], [2, 1], [2, 1], [1]]) == 4  # both swap, then both swap back
