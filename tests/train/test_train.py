"""Training, registry and export: a real smoke training on a few hundred FER-2013 faces.

Needs the ``train`` extra (torch); the data set is read from ../shared/datasets (never copied).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from classmood.train.architectures import count_parameters, create_model, list_models
from classmood.train.augment import augment, normalize
from classmood.train.config import TrainConfig
from classmood.train.data import load_image_folder
from classmood.train.export import Probabilities, compare_with_torch, export_onnx
from classmood.train.trainer import channels_last_format, lr_at
from fixtures.paths import FER, ROOT

needs_fer = pytest.mark.skipif(not FER.is_dir(), reason="FER-2013 not found in ../shared/datasets")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "classmood", *args], check=False, capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=600)


def test_every_registered_architecture_maps_faces_to_seven_logits():
    x = torch.randn(2, 1, 48, 48)
    for name in list_models():
        model = create_model(name).eval()
        with torch.no_grad():
            assert model(x).shape == (2, 7), name
        assert count_parameters(model) > 10_000, name
    with pytest.raises(KeyError, match="unknown architecture"):
        create_model("no_such_net")


@pytest.mark.parametrize("name", ["dexpression", "mini_xception", "vgg13_se"])
def test_cpu_training_step_in_the_chosen_memory_format(name):
    model = create_model(name)
    layout = channels_last_format(model, torch.device("cpu"))
    depthwise = any(isinstance(m, torch.nn.Conv2d) and m.groups > 1 for m in model.modules())
    assert layout == (torch.contiguous_format if depthwise else torch.channels_last)
    model = model.to(memory_format=layout)
    x = torch.randn(4, 1, 48, 48).contiguous(memory_format=layout)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(x).float().logsumexp(1).mean()
    loss.backward()  # the layout that crashes depthwise backward is never chosen
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_channel_attention_gates_each_channel_and_exports_to_onnx(tmp_path):
    from classmood.train.architectures import SqueezeExcite

    se = SqueezeExcite(32).eval()
    x = torch.randn(2, 32, 6, 6)
    with torch.no_grad():
        gate = se.gate(x)
        assert gate.shape == (2, 32, 1, 1) and bool(((gate > 0) & (gate < 1)).all())
        assert torch.allclose(se(x), x * gate)
    model = create_model("vgg13_se").eval()
    assert sum(isinstance(m, SqueezeExcite) for m in model.modules()) == 4  # one per stage
    assert count_parameters(model) < 1.02 * count_parameters(create_model("vgg13"))
    path = tmp_path / "se.onnx"
    export_onnx([model], path, name="vgg13_se", check=False)
    assert compare_with_torch(Probabilities([model], flip=False).eval(), path, n=3, seed=2) < 1e-4


def test_augment_keeps_shape_and_changes_pixels_but_normalize_is_exact():
    faces = torch.randint(0, 256, (16, 48, 48), dtype=torch.uint8)
    out = augment(faces)
    assert out.shape == (16, 1, 48, 48) and out.dtype == torch.float32
    plain = normalize(faces)
    assert not torch.allclose(out, plain)
    assert torch.allclose(plain[0, 0], (faces[0].float() / 255 - 0.5) / 0.25)


def test_schedule_warms_up_then_decays_to_zero():
    cfg = TrainConfig(lr=0.1, warmup_frac=0.1)
    assert lr_at(0.0, cfg) == 0.0
    assert lr_at(0.05, cfg) == pytest.approx(0.05)
    assert lr_at(0.1, cfg) == pytest.approx(0.1)
    assert lr_at(0.55, cfg) == pytest.approx(0.05)
    assert lr_at(1.0, cfg) == pytest.approx(0.0, abs=1e-12)


def test_schedule_with_weight_averaging_decays_to_the_swa_rate_and_holds_it():
    cfg = TrainConfig(lr=0.1, warmup_frac=0.1, swa_start=0.6, swa_lr=0.01)
    assert lr_at(0.1, cfg) == pytest.approx(0.1)
    assert lr_at(0.35, cfg) == pytest.approx(0.055)  # half-way down the cosine, between lr and swa_lr
    assert lr_at(0.6, cfg) == pytest.approx(0.01)
    assert lr_at(0.99, cfg) == pytest.approx(0.01)


def test_config_rejects_unknown_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("arch: vgg7_w32\nlearning_rate: 0.1\n")
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_file(path)
    result = cli("train", str(path))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error:") and "learning_rate" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("text, message", [("", "holds no settings"), ("# only a comment\n", "holds no settings"),
                                           ("arch: [vgg7_w32\n", "not valid YAML"), ("- vgg7_w32\n", "holds no settings"),
                                           ("qat_observe_steps: 100\nswa_start: 0.5\n", "do not go together")])
def test_config_file_without_settings_is_refused_not_trained_on_defaults(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    result = cli("train", str(path), "--out", str(tmp_path / "run"))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error:") and message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


def test_export_ensemble_with_flip_matches_torch_and_loads_in_the_runtime(tmp_path):
    from classmood.classify import EmotionClassifier

    members = [create_model("vgg7_w16").eval(), create_model("mini_xception").eval()]
    path = tmp_path / "not" / "yet" / "ens.onnx"  # export makes the folder
    meta = export_onnx(members, path, name="ens", flip=True, metadata={"description": "test"})
    assert meta["members"] == 2 and meta["flip_tta"] is True
    assert json.loads(path.with_suffix(".json").read_text())["classes"][3] == "happy"
    wrapper = Probabilities(members, flip=True).eval()
    assert compare_with_torch(wrapper, path, n=4, seed=1) < 1e-4
    # the graph really averages the mirror image: a left-right asymmetric face changes the output without it
    x = torch.randn(1, 1, 48, 48)
    with torch.no_grad():
        assert torch.allclose(wrapper(x), wrapper(torch.flip(x, dims=[3])), atol=1e-6)
    clf = EmotionClassifier(str(path))
    probs = clf.predict_crops(np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8))
    assert probs.shape == (3, 7)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_export_with_test_time_views_matches_torch_and_averages_the_views(tmp_path):
    from classmood.train.augment import TEST_VIEWS, view_theta, warp

    model = create_model("vgg7_w16").eval()
    path = tmp_path / "views.onnx"
    meta = export_onnx([model], path, name="views", flip=True, views=("s+", "rot-"))
    assert meta["tta_views"] == ["id", "s+", "rot-"]
    wrapper = Probabilities([model], flip=True, views=("s+", "rot-")).eval()
    assert compare_with_torch(wrapper, path, n=4, seed=2) < 1e-4
    # the graph is the mean over the face, its two warped views and the three mirrors, computed by hand here
    x = torch.randn(2, 1, 48, 48)
    warped = [x] + [warp(x, view_theta(**TEST_VIEWS[v]).expand(2, 2, 3)) for v in ("s+", "rot-")]
    with torch.no_grad():
        by_hand = torch.stack([model(v).softmax(1) for w in warped for v in (w, torch.flip(w, dims=[3]))]).mean(0)
        assert torch.allclose(wrapper(x), by_hand, atol=1e-5)
    assert all((w - x).abs().mean() > 0.1 for w in warped[1:])  # the views really move the pixels
    with pytest.raises(ValueError, match="unknown test-time view"):
        Probabilities([model], flip=False, views=("zoom",))
    result = cli("export-model", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "x.onnx"), "--views", "zoom")
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_user_checkpoint_loads_where_shapes_match(tmp_path):
    source = create_model("resnet50")
    state = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in source.state_dict().items()}
    state["stem.0.weight"] = torch.randn(64, 3, 7, 7)  # an ImageNet stem: skipped, its shape differs
    ckpt = tmp_path / "imagenet.pt"
    torch.save(state, ckpt)
    model = create_model("resnet50", imagenet_checkpoint=str(ckpt))
    loaded = model.state_dict()
    assert torch.equal(loaded["stages.0.body.0.0.weight"], state["stages.0.body.0.0.weight"])
    assert loaded["stem.0.weight"].shape == (64, 1, 3, 3)


@needs_fer
def test_smoke_training_logs_checkpoints_resumes_distils_and_exports(tiny_fer, tmp_path):
    run = tmp_path / "run"
    common = ["--train-data", str(tiny_fer / "train"), "--val-data", str(tiny_fer / "publictest"),
              "--batch-size", "32", "--out", str(run)]
    first = cli("train", "--arch", "vgg7_w16", "--epochs", "1", *common)
    assert first.returncode == 0, first.stderr[-2000:]
    for name in ("config.yaml", "log.csv", "last.pt", "best.pt", "summary.json", "curves.png", "confusion.png"):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    assert summary["n"] == 7 * 8 - 0 and len(summary["confusion"]) == 7
    assert 0.0 <= summary["accuracy"] <= 1.0

    # a second call with more epochs resumes from last.pt instead of starting over
    second = cli("train", "--arch", "vgg7_w16", "--epochs", "2", *common)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resumed at epoch 1" in second.stdout
    rows = (run / "log.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]

    # distillation from the trained checkpoint, then export of the student with its measured accuracy
    student = tmp_path / "student"
    distil = cli("train", "--arch", "vgg7_w16", "--epochs", "1", "--teacher", str(run / "best.pt"),
                 *common[:-1], str(student))
    assert distil.returncode == 0, distil.stderr[-2000:]
    onnx_path = tmp_path / "student.onnx"
    exported = cli("export-model", str(student / "best.pt"), "--out", str(onnx_path), "--evaluate", str(tiny_fer / "publictest"))
    assert exported.returncode == 0, exported.stderr[-2000:]
    meta = json.loads(onnx_path.with_suffix(".json").read_text())
    assert 0.0 <= meta["publictest_accuracy"] <= 1.0 and meta["input_size"] == 48


@needs_fer
def test_distillation_from_an_onnx_teacher_uses_its_cached_probabilities(tiny_fer, tmp_path):
    from classmood.classify.onnx_classifier import EmotionClassifier
    from classmood.train.config import TrainConfig
    from classmood.train.data import load_image_folder
    from classmood.train.targets import FixedProbabilities, OnnxTeacher, TargetSource
    from classmood.train.trainer import Trainer

    cfg = TrainConfig(arch="vgg7_w16", out_dir=str(tmp_path / "kd"), train_data=str(tiny_fer / "train"),
                      val_data=str(tiny_fer / "publictest"), epochs=1, batch_size=16, teacher_model="realtime",
                      device="cpu", threads=1)
    trainer = Trainer(cfg)
    assert isinstance(trainer.targets, OnnxTeacher)
    trainer.fit()
    (cache,) = (tmp_path / "kd").glob("teacher_probs_*.npy")
    cached = np.load(cache)
    faces = load_image_folder(tiny_fer / "train")
    assert cached.shape == (len(faces), 7)
    # the targets are the bundled model's own probabilities on the unaugmented training faces
    assert np.allclose(cached, EmotionClassifier("realtime").predict_crops(faces.images), atol=1e-5)
    teacher = FixedProbabilities(cfg.distill_temperature)
    teacher.probs = torch.from_numpy(cached)
    logits = torch.zeros(4, 7)
    y = torch.from_numpy(faces.labels[:4])
    with_teacher = trainer._loss(logits, y, teacher(None, torch.arange(4)))
    assert TargetSource()(None, torch.arange(4)) is None  # no teacher: the labels alone
    assert not torch.isclose(with_teacher, trainer._loss(logits, y, None))


def test_the_config_picks_one_source_of_soft_targets(tmp_path):
    from classmood.train.targets import (
        CachedViews,
        CheckpointTeachers,
        OnnxTeacher,
        ProbabilitiesFile,
        TargetSource,
        make_targets,
    )

    teacher = str(ROOT / "checkpoints" / "realtime_soup12.pt")

    def pick(**settings):
        return make_targets(TrainConfig(**settings), tmp_path, torch.device("cpu"))

    assert type(pick()) is TargetSource
    assert type(pick(teachers=[teacher])) is CheckpointTeachers
    replayed = pick(teachers=[teacher], teacher_views=2)
    assert isinstance(replayed, CachedViews) and type(replayed.source) is CheckpointTeachers
    assert type(pick(teacher_probs="p.npy", teachers=[teacher])) is ProbabilitiesFile
    assert type(pick(teacher_model="realtime", teacher_probs="p.npy")) is OnnxTeacher
    assert type(pick(teacher_views=2)) is TargetSource  # stored views need teacher checkpoints


@needs_fer
def test_distillation_from_a_precomputed_probabilities_file(tiny_fer, tmp_path):
    from classmood.train.config import TrainConfig
    from classmood.train.data import load_image_folder
    from classmood.train.trainer import Trainer

    labels = load_image_folder(tiny_fer / "train").labels
    probs = np.full((len(labels), 7), 0.02, np.float16)
    probs[np.arange(len(labels)), (labels + 1) % 7] = 0.88  # a teacher that is always wrong, on purpose
    np.save(tmp_path / "teacher.npy", probs)
    cfg = TrainConfig(arch="vgg7_w16", out_dir=str(tmp_path / "kd"), train_data=str(tiny_fer / "train"),
                      val_data=str(tiny_fer / "publictest"), epochs=1, batch_size=16,
                      teacher_probs=str(tmp_path / "teacher.npy"), device="cpu", threads=1)
    trainer = Trainer(cfg)
    trainer.fit()
    probs = trainer.targets.probs
    assert probs.shape == (len(labels), 7)
    assert torch.allclose(probs.sum(1), torch.ones(len(labels)))  # renormalised from fp16
    assert probs.argmax(1).tolist() == ((labels + 1) % 7).tolist()
    np.save(tmp_path / "short.npy", probs[:-1])
    with pytest.raises(ValueError, match="expected"):
        Trainer(TrainConfig(**{**cfg.to_dict(), "teacher_probs": str(tmp_path / "short.npy"),
                               "out_dir": str(tmp_path / "kd2")})).fit()


@needs_fer
def test_data_loader_decodes_folders_and_skips_junk(tmp_path):
    happy = tmp_path / "happy"
    happy.mkdir()
    for src in sorted((FER / "train" / "happy").iterdir())[:3]:
        (happy / src.name).symlink_to(src)
    (happy / "broken.jpg").write_bytes(b"not an image")
    faces = load_image_folder(tmp_path)
    assert faces.images.shape == (3, 48, 48) and faces.images.dtype == np.uint8
    assert set(faces.labels.tolist()) == {3}


@needs_fer
@pytest.mark.parametrize("method", ["minmax", "percentile"])
def test_int8_quantisation_keeps_the_contract_and_most_predictions(tiny_fer, tmp_path, method):
    """Min-max and a histogram calibration (percentile: it needs equal calibration batches; 10 faces per
    class of the tiny set's 7 classes is 70, not a multiple of 32)."""
    import onnx
    import onnxruntime as ort

    from classmood.train.quantize import quantize_int8

    torch.manual_seed(0)
    model = create_model("vgg7_w16").eval()
    fp32, int8 = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    export_onnx([model], fp32, name="fp32")
    export_onnx([model], int8, name="int8")
    quantize_int8(int8, tiny_fer / "train", per_class=10, method=method)
    graph = onnx.load(str(int8)).graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in graph.node}
    # the convolution of the picture itself keeps uint8 weights (AVX2 kernels saturate on int8 there)
    weight_types = {t.name: t.data_type for t in graph.initializer}
    dequantize_of = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    types = [weight_types[dequantize_of[c.input[1]]] for c in convs]
    assert types == [onnx.TensorProto.UINT8] + [onnx.TensorProto.INT8] * (len(convs) - 1)
    faces = normalize(torch.from_numpy(load_image_folder(tiny_fer / "publictest").images)).numpy()
    def run(p):
        return ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"faces": faces})[0]

    a, b = run(fp32), run(int8)
    assert b.shape == a.shape and np.allclose(b.sum(axis=1), 1.0, atol=1e-3)
    assert np.abs(a - b).max() < 0.1


@needs_fer
def test_int8_can_leave_the_first_convolution_and_the_head_in_float(tiny_fer, tmp_path):
    """With flip TTA each layer appears twice (plain and mirror): both copies of the first convolution and
    of the two fully connected layers keep float weights, every other convolution is int8."""
    import onnx

    from classmood.train.quantize import float_nodes, quantize_int8

    torch.manual_seed(0)
    path = tmp_path / "mixed.onnx"
    export_onnx([create_model("vgg7_w16").eval()], path, name="mixed", flip=True)
    graph = onnx.load(str(path)).graph
    convs = [n.name for n in graph.node if n.op_type == "Conv"]
    assert float_nodes(onnx.load(str(path)), ["first"]) == [convs[0], convs[len(convs) // 2]]
    with pytest.raises(ValueError, match="unknown layer group 'last'"):
        float_nodes(onnx.load(str(path)), ["last"])
    quantize_int8(path, tiny_fer / "train", per_class=10, keep_float=("first", "head"))
    graph = onnx.load(str(path)).graph
    dequantized = {out for n in graph.node if n.op_type == "DequantizeLinear" for out in n.output}
    float_weight = {n.name: n.input[1] not in dequantized for n in graph.node if n.op_type in ("Conv", "Gemm")}
    kept = {name for name, is_float in float_weight.items() if is_float}
    assert kept == {convs[0], convs[len(convs) // 2]} | {n for n in float_weight if "Gemm" in n}
    assert len(float_weight) - len(kept) == len(convs) - 2  # the rest is int8


@pytest.mark.parametrize(("args", "message"), [
    (["missing.pt"], "checkpoint not found: missing.pt"),
    ([str(ROOT / "checkpoints" / "realtime_soup12.pt"), "--int8", "train", "--keep-float", "first,last"],
     "--keep-float: unknown layer group 'last' to keep float; choose from first, head"),
])
def test_export_refuses_bad_requests_in_one_line_before_writing_anything(tmp_path, args, message):
    out = tmp_path / "m.onnx"
    done = cli("export-model", *args, "--out", str(out), cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.strip() == f"error: {message}"
    assert not out.exists()


@needs_fer
def test_packed_jpeg_cache_stores_the_shared_header_once_and_decodes_identically(tiny_fer, tmp_path):
    from classmood.train.data import load_image_folder, load_split, pack_jpeg_cache

    cache = tmp_path / "fer.npz"
    pack_jpeg_cache({"train": tiny_fer / "train", "publictest": tiny_fer / "publictest"}, cache)
    raw = sum(p.stat().st_size for p in tiny_fer.rglob("*") if p.is_file())
    assert cache.stat().st_size < raw * 0.9  # FER-2013 JPEGs share ~330 header bytes
    with np.load(cache, allow_pickle=False) as z:  # plain arrays: nothing in it is unpickled
        assert all(z[k].dtype != object for k in z.files)
    for split in ("train", "publictest"):
        packed, folder = load_split(cache, split), load_image_folder(tiny_fer / split)
        assert np.array_equal(packed.images, folder.images) and np.array_equal(packed.labels, folder.labels)


class _OpensAFile:
    """Unpickling this calls ``open(path, "w")``: the file appearing proves the loader ran the payload."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _hostile_checkpoint(path: Path, marker: Path) -> Path:
    """A checkpoint shaped like ours whose weights, when unpickled, create ``marker``; checked live."""
    torch.save({"arch": "vgg7_w16", "model": {"conv.weight": _OpensAFile(marker)}}, path)
    torch.load(path, weights_only=False)["model"]["conv.weight"].close()  # the unsafe load: the payload runs
    assert marker.exists()
    marker.unlink()
    return path


def test_every_stored_checkpoint_loads_as_plain_data_without_an_allow_list():
    from classmood.train.checkpoint import read_model_checkpoint
    from classmood.train.inference import load_checkpoint_model

    stored = sorted((ROOT / "checkpoints").glob("*.pt"))
    assert len(stored) >= 5  # what ship_models.sh and configs/realtime_qat.yaml need
    for path in stored:
        assert isinstance(read_model_checkpoint(path)["arch"], str)
        with torch.no_grad():
            assert load_checkpoint_model(path)(torch.zeros(1, 1, 48, 48)).shape == (1, 7), path.name


@needs_fer
@pytest.mark.parametrize("command", ["export", "export-int8", "soup", "init", "teacher", "resume", "imagenet"])
def test_a_checkpoint_whose_loading_would_run_code_is_refused_in_one_line_and_runs_nothing(tiny_fer, tmp_path, command):
    marker = tmp_path / "created_by_the_checkpoint"
    run = tmp_path / "run"
    run.mkdir()
    evil = _hostile_checkpoint(run / "last.pt" if command == "resume" else tmp_path / "evil.pt", marker)
    data = ["--train-data", str(tiny_fer / "train")]
    train = ["train", "--arch", "vgg7_w16", "--epochs", "1", *data, "--val-data", str(tiny_fer / "publictest"),
             "--out", str(run)]
    args = {
        "export": ["export-model", str(evil), "--out", str(tmp_path / "m.onnx")],
        "export-int8": ["export-model", str(evil), "--out", str(tmp_path / "m.onnx"), "--int8", str(tiny_fer / "train")],
        "soup": ["soup", str(evil), "--out", str(tmp_path / "soup.pt"), *data],
        "init": [*train, "--init", str(evil)],
        "teacher": [*train, "--teacher", str(evil)],
        "resume": train,
        "imagenet": ["train", str(tmp_path / "resnet50.yaml"), *train[3:]],
    }[command]
    (tmp_path / "resnet50.yaml").write_text(f"arch: resnet50\nimagenet_checkpoint: {evil}\n")
    done = cli(*args)
    assert done.returncode == 1, done.stdout[-2000:]
    assert done.stderr.strip() == (f"error: {evil} is refused as a checkpoint: it asks to run Python code (io.open) "
                                   "when loaded; only tensors and plain data are read")
    assert not marker.exists()
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "soup.pt").exists()


@needs_fer
@pytest.mark.parametrize("kind", ["pickle", "npz-object-array"])
def test_a_data_cache_whose_loading_would_run_code_is_refused_in_one_line_and_runs_nothing(tiny_fer, tmp_path, kind):
    import pickle

    marker = tmp_path / "created_by_the_cache"
    payload = np.array([_OpensAFile(marker)], dtype=object)
    if kind == "pickle":  # the cache format classmood wrote before (pack_jpeg_cache)
        cache, expected = tmp_path / "fer.pkl", "data caches are read only as .npz arrays"
        cache.write_bytes(pickle.dumps({"_prefix": b"", "train": payload}))
        pickle.loads(cache.read_bytes())["train"][0].close()
    else:
        cache, expected = tmp_path / "fer.npz", "is not a readable data cache (Object arrays cannot be loaded"
        np.savez(cache, images_train=payload, labels_train=np.zeros(1, np.int64))
        np.load(cache, allow_pickle=True)["images_train"][0].close()
    assert marker.exists()  # the payload is live: an unsafe loader runs it
    marker.unlink()
    config = tmp_path / "cfg.yaml"
    config.write_text(f"arch: vgg7_w16\nepochs: 1\ntrain_data: {cache}\ntrain_split: train\n"
                      f"val_data: {tiny_fer / 'publictest'}\nout_dir: {tmp_path / 'run'}\n")
    done = cli("train", str(config))
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr[-2000:]
    assert done.stderr.startswith(f"error: {cache}") and expected in done.stderr
    assert not marker.exists()


def test_slimmed_weights_are_small_and_predict_like_the_original():
    from classmood.train.checkpoint import slim_weights, unslim_weights

    torch.manual_seed(0)
    for name, int8 in (("vgg7_w32", False), ("vgg13", True)):  # 1.2M params stay fp16; 5.2M go int8
        model = create_model(name).eval()
        state = model.state_dict()
        slim = slim_weights(state)
        assert any(isinstance(v, dict) for v in slim.values()) is int8
        restored = create_model(name).eval()
        restored.load_state_dict(unslim_weights(slim))
        x = torch.randn(16, 1, 48, 48)
        with torch.no_grad():
            a, b = model(x).softmax(1), restored(x).softmax(1)
        assert (a - b).abs().max() < 0.02
        float_bytes = sum(v.numel() * 4 for v in state.values() if v.is_floating_point())
        slim_bytes = sum(t.numel() * t.element_size() for v in slim.values()
                         for t in (v.values() if isinstance(v, dict) else [v]) if t.is_floating_point() or t.dtype == torch.int8)
        assert slim_bytes < float_bytes * (0.27 if int8 else 0.51)


def test_checkpoints_written_under_an_old_architecture_name_load_under_the_new_one(tmp_path):
    """The compact VGG students were named after the shipped realtime model; the name now means the model only."""
    from classmood.train.checkpoint import RENAMED_ARCHS, read_model_checkpoint
    from classmood.train.soup import average_weights

    shipped = ROOT / "checkpoints" / "realtime_qat13.pt"
    assert torch.load(shipped, weights_only=True)["arch"] == "realtime"  # as it was written
    assert read_model_checkpoint(shipped)["arch"] == "vgg7_w32"
    with pytest.raises(KeyError, match="unknown architecture 'realtime' \\(now called 'vgg7_w32'\\)"):
        create_model("realtime")
    refused = cli("train", "--arch", "realtime_xs", "--epochs", "1", "--out", str(tmp_path / "run"))
    assert refused.returncode == 1 and "unknown architecture 'realtime_xs' (now called 'vgg7_w16')" in refused.stderr
    for old, new in RENAMED_ARCHS.items():
        torch.save({"arch": old, "model": create_model(new).state_dict()}, tmp_path / "old.pt")
        torch.save({"arch": new, "model": create_model(new).state_dict()}, tmp_path / "new.pt")
        assert average_weights([tmp_path / "old.pt", tmp_path / "new.pt"])[0] == new  # one architecture


@needs_fer
def test_soup_averages_weights_and_remeasures_batch_norm(tiny_fer, tmp_path):
    from classmood.train.soup import average_weights, recalibrate_batchnorm

    torch.manual_seed(0)
    paths = []
    for i in range(3):
        model = create_model("vgg7_w16")
        torch.save({"arch": "vgg7_w16", "model": model.state_dict()}, tmp_path / f"m{i}.pt")
        paths.append(tmp_path / f"m{i}.pt")
    states = [torch.load(p, weights_only=True)["model"] for p in paths]
    arch, mean = average_weights(paths)
    name = next(k for k, v in mean.items() if v.ndim == 4)
    assert arch == "vgg7_w16" and torch.allclose(mean[name], sum(s[name] for s in states) / 3)

    faces = load_image_folder(tiny_fer / "train").images
    model = create_model(arch)
    model.load_state_dict(mean)
    recalibrate_batchnorm(model, faces, batch_size=len(faces) // 5)  # equal batches: the mean of means is exact
    assert not model.training and all(p.is_contiguous() for p in model.parameters())  # layout handed back
    first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    first_bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    x = torch.from_numpy(faces)
    with torch.no_grad():
        out = first_conv(normalize(torch.cat([x, x.flip(2)])))
    assert torch.allclose(first_bn.running_mean, out.mean((0, 2, 3)), atol=1e-5)

    torch.save({"arch": "vgg7_w32", "model": create_model("vgg7_w32").state_dict()}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="different architectures"):
        average_weights([paths[0], tmp_path / "other.pt"])
    made = cli("soup", str(paths[0]), str(paths[1]), "--out", str(tmp_path / "soup.pt"), "--train-data", str(tiny_fer / "train"))
    assert made.returncode == 0, made.stderr[-2000:]
    assert torch.load(tmp_path / "soup.pt", weights_only=True)["config"]["soup_of"] == [str(paths[0]), str(paths[1])]
    # one checkpoint: its own weights, batch norm re-measured on clean faces
    alone = cli("soup", str(paths[2]), "--out", str(tmp_path / "alone.pt"), "--train-data", str(tiny_fer / "train"), "--faces", "70")
    assert alone.returncode == 0, alone.stderr[-2000:]
    assert "70 faces" in alone.stdout
    remeasured = torch.load(tmp_path / "alone.pt", weights_only=True)["model"]
    assert torch.allclose(remeasured[name].float(), states[2][name].half().float())
    bn_mean = next(k for k in remeasured if k.endswith("running_mean"))
    assert not torch.allclose(remeasured[bn_mean].float(), states[2][bn_mean])
    bad = cli("soup", str(paths[0]), str(tmp_path / "other.pt"), "--out", str(tmp_path / "bad.pt"), "--train-data", str(tiny_fer / "train"))
    assert bad.returncode != 0 and "different architectures" in bad.stderr and "Traceback" not in bad.stderr


@needs_fer
def test_weight_averaging_keeps_the_mean_of_epoch_ends_across_resumes_and_batch_norm_is_remeasured(tiny_fer, tmp_path):
    from classmood.train.trainer import Trainer

    out = tmp_path / "swa"
    ends = []
    for epochs in (1, 2, 3):  # each call resumes last.pt, trains one more epoch, ends at progress 1 >= swa_start
        cfg = TrainConfig(arch="vgg7_w16", out_dir=str(out), train_data=str(tiny_fer / "train"),
                          val_data=str(tiny_fer / "publictest"), epochs=epochs, batch_size=16, lr=0.01,
                          swa_start=0.5, swa_lr=0.01, bn_faces=50, device="cpu", threads=1)
        Trainer(cfg).fit()
        ends.append(torch.load(out / "last.pt", weights_only=True)["model"])
    swa = torch.load(out / "swa.pt", weights_only=True)
    assert swa["swa_averaged"] == 3 and swa["bn_faces"] == 50
    weight = next(k for k, v in ends[0].items() if v.ndim == 4)
    assert torch.allclose(swa["model"][weight], sum(e[weight] for e in ends) / 3, atol=1e-6)
    assert not torch.allclose(swa["model"][weight], ends[-1][weight])

    best, best_bn = (torch.load(out / f"{n}.pt", weights_only=True)["model"] for n in ("best", "best_bn"))
    bn_mean = next(k for k in best if k.endswith("running_mean"))
    assert torch.equal(best_bn[weight], best[weight]) and not torch.allclose(best_bn[bn_mean], best[bn_mean])
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["swa_val_acc_flip"] <= 1 and 0 <= summary["best_bn_val_acc_flip"] <= 1


@needs_fer
def test_cached_teaching_keeps_each_views_teacher_targets_and_replays_them_without_the_teachers(tiny_fer, tmp_path):
    from classmood.train.inference import load_checkpoint_model
    from classmood.train.trainer import Trainer
    from classmood.train.view_cache import to_pixels

    teacher_path = str(ROOT / "checkpoints" / "realtime_soup12.pt")
    out = tmp_path / "cached"

    def config(epochs: int) -> TrainConfig:
        return TrainConfig(arch="vgg7_w16", out_dir=str(out), train_data=str(tiny_fer / "train"),
                           val_data=str(tiny_fer / "publictest"), epochs=epochs, batch_size=16, lr=0.01,
                           teachers=[teacher_path], teacher_views=2, bf16=False, device="cpu", threads=1)

    Trainer(config(2)).fit()  # epochs 1 and 2 run the teacher and fill slots 0 and 1
    teacher = load_checkpoint_model(teacher_path)
    slots = [np.load(out / f"teacher_views_{k}.npz") for k in (0, 1)]
    n = 7 * 20
    for slot in slots:
        assert slot["filled"].sum() == n - n % 16  # every face of the epoch's full batches
        assert slot["views"].shape == (n, 48, 48) and slot["views"].dtype == np.uint8
    keep = slots[0]["filled"]
    # the stored targets are the teacher's probabilities (T=3) on the stored augmented views
    with torch.no_grad():
        logits = teacher(normalize(torch.from_numpy(slots[0]["views"][keep])))
    assert np.allclose(slots[0]["soft"][keep], logits.div(3.0).softmax(1).numpy(), atol=0.02)
    assert not np.array_equal(slots[0]["views"][keep], slots[1]["views"][keep])  # two different augmentations
    assert not np.array_equal(slots[0]["views"][keep], load_image_folder(tiny_fer / "train").images[keep])

    class NoTeacher(torch.nn.Module):
        def forward(self, x):
            raise AssertionError("a replayed epoch ran the teacher")

    resumed = Trainer(config(4))  # epochs 3 and 4 replay slots 0 and 1 from the run folder
    resumed.targets.source.models = [NoTeacher()]
    assert resumed.fit().epochs == 4
    x = normalize(torch.randint(0, 256, (4, 48, 48), dtype=torch.uint8))
    assert torch.equal(to_pixels(x).float(), (x[:, 0] * 0.25 + 0.5).mul(255).round())


@needs_fer
def test_quantisation_aware_training_freezes_int8_ranges_that_the_export_writes(tiny_fer, tmp_path):
    """A QAT run keeps batch norm frozen, stops observing ranges after qat_observe_steps, leaves weights on
    the int8 grid; the export writes exactly its ranges and ONNX Runtime then matches the torch simulation."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    from classmood.train.qat import load_simulation

    run, onnx_path = tmp_path / "qat", tmp_path / "qat.onnx"
    config = tmp_path / "qat.yaml"
    config.write_text(f"arch: vgg7_w16\nout_dir: {run}\ntrain_data: {tiny_fer / 'train'}\nval_data: {tiny_fer / 'publictest'}\n"
                      "epochs: 2\nbatch_size: 32\nlr: 0.01\nqat_observe_steps: 2\n")
    done = cli("train", str(config))
    assert done.returncode == 0, done.stderr[-2000:]
    ckpt = torch.load(run / "qat.pt", weights_only=True)
    points = ckpt["qat"]["points"]
    assert len(points) == 7 + 1 + 2 * 2  # input, 7 convolution outputs, flattened features, 2 linear layers in and out
    state = ckpt["model"]
    assert torch.equal(state["features.0.1.running_mean"], torch.zeros(16))  # batch norm never updated
    last = torch.load(run / "last.pt", weights_only=True)["model"]
    assert {int(v) for k, v in last.items() if k.endswith(".seen")} == {2}  # ranges frozen after 2 of 8 steps
    bn = {k: state[f"features.0.1.{k}"] for k in ("weight", "running_var")}
    folded = state["features.0.0.weight"] * (bn["weight"] / torch.sqrt(bn["running_var"] + 1e-5)).view(-1, 1, 1, 1)
    steps = folded / (folded.abs().flatten(1).amax(1).view(-1, 1, 1, 1) / 127)
    assert torch.allclose(steps, steps.round(), atol=1e-3)  # folded weights lie on the int8 grid

    exported = cli("export-model", str(run / "qat.pt"), "--out", str(onnx_path), "--flip", "--int8", str(tiny_fer / "train"))
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert "quantisation-aware" in json.loads(onnx_path.with_suffix(".json").read_text())["quantization"]
    model = onnx.load(str(onnx_path))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    written = {float(init[n.input[1]]) for n in model.graph.node if n.op_type == "QuantizeLinear"}
    assert written == {float(np.float32(scale)) for scale, _ in points}

    faces = torch.from_numpy(load_image_folder(tiny_fer / "publictest").images)
    got = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(None, {"faces": normalize(faces).numpy()})[0]
    sim = load_simulation(run / "qat.pt")
    with torch.no_grad():
        expected = ((sim(normalize(faces)).softmax(1) + sim(normalize(faces.flip(2))).softmax(1)) / 2).numpy()
    assert np.abs(got - expected).max() < 0.03 and (got.argmax(1) == expected.argmax(1)).mean() >= 0.95


@needs_fer
def test_observed_ranges_are_reproducible_and_written_into_the_int8_export(tiny_fer, tmp_path):
    """--observe-ranges: ranges from augmented batches through the int8 simulation, the same for the same seed."""
    import onnx
    from onnx import numpy_helper

    from classmood.train.inference import load_checkpoint_model
    from classmood.train.qat import observe_ranges

    torch.manual_seed(0)
    ckpt, onnx_path = tmp_path / "m.pt", tmp_path / "m.onnx"
    torch.save({"arch": "vgg7_w16", "model": create_model("vgg7_w16").state_dict()}, ckpt)
    faces = load_image_folder(tiny_fer / "train").images
    points = observe_ranges(load_checkpoint_model(ckpt), faces, steps=3, seed=4)
    done = cli("export-model", str(ckpt), "--out", str(onnx_path), "--int8", str(tiny_fer / "train"),
               "--observe-ranges", "3", "--seed", "4")
    assert done.returncode == 0, done.stderr[-2000:]
    model = onnx.load(str(onnx_path))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    written = {float(init[n.input[1]]) for n in model.graph.node if n.op_type == "QuantizeLinear"}
    assert written == {float(np.float32(scale)) for scale, _ in points}
    assert "observed on 3 augmented batches" in json.loads(onnx_path.with_suffix(".json").read_text())["quantization"]
    other = cli("export-model", str(ckpt), str(ckpt), "--out", str(tmp_path / "e.onnx"), "--int8", str(tiny_fer / "train"),
                "--observe-ranges", "3")
    assert other.returncode == 1 and "not an ensemble" in other.stderr and not (tmp_path / "e.onnx").exists()
