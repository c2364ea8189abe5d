"""A tiny real run of the benchmark's own pipeline (classmood only, no peer venv), then its report."""

import json
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, UTC

import pytest

from benchmarks import charts, markdown, report
from benchmarks.inputs import QUICK, prepare
from benchmarks.offline_check import PeerCheck
from benchmarks.runner import measure_all
from benchmarks.systems import default_systems
from fixtures.paths import ROOT

TINY = replace(QUICK, name="tiny", crops_per_class=2, clips_per_count=1, frames_per_clip=2, warmup=0,
               scenes=1, video_frames=1, fer_gallery_frames=1, face_counts=(1, 9))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    inputs = prepare(TINY, work)
    systems = [s for s in default_systems() if s.key == "classmood_realtime"]
    said = []
    results = measure_all(systems, inputs, TINY, work, said.append)
    return inputs, results, said


def test_inputs_are_written_with_truth(tiny_run):
    inputs, _, _ = tiny_run
    assert len(inputs.crops) == 14 and inputs.crops_path.is_file()
    assert [len(c) for c in inputs.frames[9]] == [2]
    assert all(len(b) == 9 for b in inputs.frame_truth[9][0])  # every portrait tile's face is truth
    names = [d.name for d in inputs.detection_sets]
    assert any("FER-2013" in n for n in names) and all(len(d.images) == len(d.truth) for d in inputs.detection_sets)


def test_measurements_are_real_and_complete(tiny_run):
    _, (result,), said = tiny_run
    assert result.accuracy["n"] == 14 and 0.0 <= result.accuracy["accuracy"] <= 1.0
    for n in (1, 9):
        s = result.speed[n]
        assert s["fps"] > 0 and s["frames"] == 2 and s["still"]["frames"] == 2 and s["unfollowed"]["frames"] == 2
        assert s["peak_rss_mb"] > 50  # each face count's own worker
        assert {"detect", "classify"} <= set(s["stages_ms"])
        assert s["detection"]["true_positives"] + s["detection"]["false_negatives"] == (2 if n == 1 else 18)
    assert result.peak_rss_mb > 50 and result.versions["onnxruntime"] != "-"
    assert any("frames/s" in line for line in said)


def test_report_json_markdown_and_charts(tiny_run, tmp_path):
    inputs, results, _ = tiny_run
    checks = [PeerCheck("peer", "1.0", [], ["peer/x.py:3: urlretrieve(u, p)"], "downloads its model weights at "
                        "run time: cannot run offline")]
    data = report.build_results(results, inputs, TINY, checks, "python -m benchmarks run --quick",
                                datetime.now(UTC), 1.0)
    assert set(data["accuracy"]) == {"classmood_realtime"}
    assert data["speedup_vs_fer"] == {}  # no fer in this run: no invented speedup
    report.write_json(data, tmp_path / "benchmarks" / "results.json")
    assert json.loads((tmp_path / "benchmarks" / "results.json").read_text())["speed"]["9"]["frame_size"] == [1920, 1080]
    paths = charts.write_charts(data, tmp_path / "benchmarks")
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    page = markdown.render(data, {k: f"benchmarks/{p.name}" for k, p in paths.items()})
    assert "## End-to-end speed" in page and "![speed](benchmarks/speed.png)" in page
    assert "| 9 | 1920x1080 |" in page and "`peer` 1.0" in page and "cannot run offline" in page
    assert "classmood (realtime), live without following" in page and "| classmood (realtime) (MiB) |" in page
    # the report command rebuilds the same page from the JSON alone
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "report", "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "benchmarks.md").read_text() == page


def test_verdicts_say_plainly_when_a_target_is_missed():
    data = {"speedup_vs_fer": {"1": 2.0, "49": 30.0}, "speedup_vs_fer_still": {"1": 1.5},
            "accuracy": {"classmood_realtime": {"accuracy": 0.6, "n": 10}, "fer": {"accuracy": 0.65, "n": 10}},
            "detection": {"photos": {"classmood_realtime": {"recall": 0.9}, "fer": {"recall": 0.6}}}}
    lines = report.verdicts(data)
    assert "2.0x" in lines[0] and "does NOT meet" in lines[0] and "1.5x" in lines[0]
    assert "meets the >= 5x" in lines[1] and "NOT" not in lines[1]
    assert "NOT more accurate" in lines[2]
    assert "higher" in lines[3] and "NOT" not in lines[3]


def test_a_missed_speed_target_says_where_the_time_goes():
    data = {"speedup_vs_fer": {"1": 3.0}, "accuracy": {}, "detection": {},
            "speed": {"1": {"classmood_realtime": {"stages_ms": {"detect": 45.0, "classify": 5.0}},
                            "fer": {"stages_ms": {"detect": 140.0, "classify": 3.0}}}}}
    (line,) = report.verdicts(data)
    assert "does NOT meet" in line and "Why: face detection is 90%" in line and "45 ms" in line
    data["speed"]["1"]["classmood_realtime"]["stages_ms"] = {"detect": 5.0, "classify": 45.0}
    (line,) = report.verdicts(data)
    assert "face detection is 10%" in line and "the emotion model takes most of the time, 45.0 ms a face" in line
