"""The GPU campaign (``python -m classmood.train.campaign``) run end to end on the CPU on a few faces, and the
parts of the fleet it rests on: held-out split, vectorised members, ensemble weights. Never a real training."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from classmood.train.checkpoint import read_checkpoint, unslim_weights  # noqa: E402 - after importorskip
from classmood.train.config import TrainConfig  # noqa: E402 - after importorskip
from classmood.train.fleet import MemberGroup, ensemble_weights, holdout_split, probe, scaled_lr  # noqa: E402 - after importorskip
from fixtures.paths import FER, ROOT  # noqa: E402 - after importorskip

needs_fer = pytest.mark.skipif(not FER.is_dir(), reason="FER-2013 not found in ../shared/datasets")

TINY_PLAN = """
seed: 0
holdout_fraction: 0.15
probe_warmup_steps: 1
reserve_s: 8
sync_every_s: 0
shares: {ensemble: 0.6, distill: 0.3, qat: 0.1}
defaults: {batch_size: 16, lr: 0.05, bn_faces: 50}
ensemble:
  - {name: small, arch: vgg7_w16, members: 2, epochs: 2, mode: vmap}
  - {name: mini, arch: mini_xception, members: 1, epochs: 2}
student: {name: student, arch: vgg7_w16, members: 2, epochs: 2, teacher_count: 2}
qat: {epochs: 1, batch_size: 16, lr: 0.0005, observe_steps: 2, teacher_count: 1, min_s: 1}
"""


def test_holdout_split_is_stratified_disjoint_and_fixed_by_its_seed():
    labels = np.repeat(np.arange(7), [50, 10, 30, 80, 40, 20, 60])
    fit, held = holdout_split(labels, 0.1, seed=3)
    assert len(np.intersect1d(fit, held)) == 0 and len(fit) + len(held) == len(labels)
    assert [int((labels[held] == c).sum()) for c in range(7)] == [5, 1, 3, 8, 4, 2, 6]
    assert np.array_equal(held, holdout_split(labels, 0.1, seed=3)[1])
    assert not np.array_equal(held, holdout_split(labels, 0.1, seed=4)[1])
    assert scaled_lr(0.05, 512) == pytest.approx(0.2)


def test_ensemble_weights_favour_the_member_that_is_right_and_sum_to_one():
    labels = np.array([0, 1, 2, 0, 1, 2])
    right = np.eye(3)[labels] * 0.8 + 0.2 / 3
    wrong = np.eye(3)[(labels + 1) % 3] * 0.8 + 0.2 / 3
    weights = ensemble_weights([wrong, right, np.full((6, 3), 1 / 3)], labels)
    assert weights.sum() == pytest.approx(1.0) and weights.argmax() == 1 and weights[0] == 0


def test_vectorised_members_see_what_separate_networks_see(tmp_path):
    """One step of vmap over stacked members and of a loop over the same members (same seed, same batch):
    the same forward pass (equal batch-norm statistics), and two members that differ from each other."""
    faces = torch.randint(0, 256, (40, 48, 48), dtype=torch.uint8)
    labels = torch.arange(40) % 7
    cfg = TrainConfig(arch="vgg7_w16", epochs=1, batch_size=8, lr=0.05, bf16=False, device="cpu")
    states = {}
    for mode in ("vmap", "loop"):
        group = MemberGroup(mode, cfg, 2, (faces, labels), (faces[:7], labels[:7]), tmp_path / mode, mode=mode,
                            shared_batch=True, log=lambda _: None)
        torch.manual_seed(0)  # the same order and augmentation for both
        group.step(0.5)
        states[mode] = [group.member_state(k) for k in range(2)]
        assert group.member_model(1)(torch.zeros(1, 1, 48, 48)).shape == (1, 7)
    bn = [k for k in states["loop"][0] if k.startswith("features.") and k.endswith("running_mean")]  # before dropout
    for k in range(2):
        assert all(torch.allclose(states["vmap"][k][name], states["loop"][k][name], atol=1e-5) for name in bn)
    weight = "features.0.0.weight"
    assert not torch.allclose(states["vmap"][0][weight], states["vmap"][1][weight])


def test_probe_keeps_the_mode_that_runs_and_reports_the_one_that_failed(tmp_path):
    faces, labels = torch.randint(0, 256, (24, 48, 48), dtype=torch.uint8), torch.arange(24) % 7
    cfg = TrainConfig(arch="vgg7_w16", batch_size=8, device="cpu")

    def make(mode):
        if mode == "vmap":
            raise RuntimeError("CUDA out of memory (as a device would say)")
        return MemberGroup("p", cfg, 2, (faces, labels), (faces[:7], labels[:7]), tmp_path, mode=mode, log=lambda _: None)

    result = probe(make, ["vmap", "loop"], 0.1, warmup=1)
    assert result["mode"] == "loop" and result["epochs_per_s"] > 0 and result["steps_per_s"] > 0
    assert "out of memory" in result["modes"]["vmap"]["error"]
    assert probe(make, ["vmap"], 0.1)["mode"] is None  # the campaign leaves such a group out


@needs_fer
def test_cpu_dry_run_of_the_campaign_writes_every_artefact_and_its_checkpoints_load_and_export(tiny_fer, tmp_path):
    from classmood.train.export import export_onnx
    from classmood.train.inference import load_checkpoint_model

    plan, out = tmp_path / "plan.yaml", tmp_path / "out"
    plan.write_text(TINY_PLAN)
    done = subprocess.run([sys.executable, "-m", "classmood.train.campaign", "--plan", str(plan), "--data", str(tiny_fer),
                           "--out", str(out), "--work", str(tmp_path / "work"), "--device", "cpu", "--threads", "1",
                           "--limit-per-class", "12", "--budget-s", "45", "--probe-s", "1"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["campaign.log", "publictest.json", "report.json", "runs.tar.gz", "weights.tar.part00"]
    assert all((out / f).stat().st_size < 16 * 2**20 for f in files)  # what the device tool returns

    report = json.loads((out / "report.json").read_text())
    assert report["finished"] and report["left_on_device"] == []
    assert set(report["probe"]["groups"]) == {"small", "mini", "student"}
    assert report["probe"]["groups"]["small"]["mode"] == "vmap" and report["probe"]["groups"]["small"]["epochs_per_s"] > 0
    assert set(report["members"]) == {"small_m0", "small_m1", "mini_m0"}
    assert sum(m["weight"] for m in report["members"].values()) == pytest.approx(1.0, abs=0.01)
    assert report["data"]["holdout"] == 14 and report["data"]["publictest"] == 56  # 2 of 12 a class held out; 8 publictest
    public = json.loads((out / "publictest.json").read_text())
    assert {"best_single", "ensemble", "student_fp32", "realtime_int8_onnx"} <= set(public)
    assert all(0 <= v["accuracy"] <= 1 for v in public.values() if isinstance(v, dict) and "accuracy" in v)
    with tarfile.open(out / "runs.tar.gz") as tar:
        names = tar.getnames()
    assert {"probe.json", "small/log.csv", "student/log.csv", "realtime_qat/log.csv"} <= set(names)

    with tarfile.open(fileobj=io.BytesIO((out / "weights.tar.part00").read_bytes())) as tar:
        returned = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    assert {"realtime.onnx", "realtime.json", "realtime_qat.pt", "student_m0.pt", "small_m0.pt", "mini_m0.pt"} <= set(returned)
    assert "quantisation-aware" in json.loads(returned["realtime.json"])["quantization"]
    for name in ("small_m1.pt", "mini_m0.pt", "student_m0.pt", "realtime_qat.pt"):
        ckpt = read_checkpoint(io.BytesIO(returned[name]), name=name)
        path = tmp_path / name
        torch.save({**ckpt, "model": unslim_weights(ckpt["model"])}, path)
        model = load_checkpoint_model(path)
        meta = export_onnx([model], tmp_path / f"{name}.onnx", name=name, flip=True)
        assert meta["members"] == 1
    assert read_checkpoint(io.BytesIO(returned["realtime_qat.pt"]))["qat"]["points"]
    log = (out / "campaign.log").read_text()
    assert "probe small" in log and "publictest:" in log and "done in" in log
