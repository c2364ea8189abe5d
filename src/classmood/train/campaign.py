"""``python -m classmood.train.campaign``: one GPU window's whole training campaign, in one command.

probe -> diverse ensemble -> distillation into the ``realtime`` architecture -> quantisation-aware
fine-tune -> ONNX export -> publictest, inside a hard wall-clock budget (``--budget-s``), copying
logs, reports and weights to ``--out`` as it goes, so a window cut off at any point leaves usable
results there. The plan (architectures, members, target epochs, shares of the budget) is a YAML file,
``configs/gpu_campaign.yaml``; epochs are scaled down from its targets by what the probe measured.

A module of the package, not a lab script: it is the product's way of rebuilding its models on a lent
GPU, the test suite runs it end to end on the CPU, and on the device it needs only what the ``train``
extra needs (torch, numpy, pyyaml, opencv; onnx and onnxruntime for the export).

    PYTHONPATH=src python3 -m classmood.train.campaign --data .gpu/c3/fer.npz --out "$OUT" --budget-s 540

What lands in ``--out`` (at most 8 files, the device tool's limit): ``campaign.log``; ``report.json``
(probe, plan, every member's held-out figures, ensemble weights, phases, what was returned);
``publictest.json`` (publictest once per final model); ``runs.tar.gz`` (every run's logs and
summaries); ``weights.tar.partNN`` (checkpoints, slimmed as ``checkpoint.slim_weights``, and the
exported ONNX models, most useful first, within the transfer limit; ``experiments/scripts/unpack_campaign.py``
unpacks them).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import platform
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from classmood.train.augment import normalize
from classmood.train.checkpoint import qat_ranges, read_checkpoint, slim_weights
from classmood.train.config import TrainConfig
from classmood.train.data import FaceArrays, load_split, save_arrays
from classmood.train.fleet import Member, MemberGroup, ensemble_weights, holdout_split, probe, scaled_lr, train_fleet
from classmood.train.inference import flip_probabilities, load_checkpoint_model
from classmood.train.targets import CheckpointTeachers, load_teachers
from classmood.train.trainer import Trainer, pick_device

DEFAULT_PLAN = Path(__file__).resolve().parents[3] / "configs" / "gpu_campaign.yaml"
PART_BYTES = 15 * 2**20  # the device tool returns files of at most 16 MiB, 64 MiB together, 8 files
MAX_PARTS = 4  # with campaign.log, report.json, publictest.json and runs.tar.gz: 8 files
GROUP_KEYS = ("name", "arch", "members", "mode", "teacher_count")  # the rest of a plan entry is TrainConfig fields


class Courier:
    """Copies what the campaign has so far to ``out``: the log at every line, the report when it changes,
    run logs and weights at most every ``every_s`` seconds (and whenever forced, at each phase's end)."""

    def __init__(self, out: Path, work: Path, every_s: float = 60.0):
        self.out, self.work, self.every_s = out, work, every_s
        out.mkdir(parents=True, exist_ok=True)
        self.report: dict = {}
        self.returns: list[tuple[str, Path]] = []  # (name in the tar, file), most useful first
        self._blobs: dict[Path, tuple[int, bytes]] = {}
        self.last = 0.0
        self.started = time.time()

    def log(self, msg: str) -> None:
        line = f"[campaign {time.time() - self.started:6.1f}s] {msg}"
        print(line, flush=True)
        with open(self.out / "campaign.log", "a") as fh:
            fh.write(line + "\n")

    def _write(self, name: str, data: bytes) -> None:
        tmp = self.out / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(self.out / name)

    def save_report(self, **update) -> None:
        self.report.update(update)
        self._write("report.json", json.dumps(self.report, indent=1, default=str).encode())

    def sync(self, force: bool = False) -> None:
        if not force and time.time() - self.last < self.every_s:
            return
        self.last = time.time()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path in sorted((self.work / "runs").rglob("*")):
                if path.is_file() and path.suffix not in (".pt", ".npz", ".onnx"):
                    tar.add(path, arcname=str(path.relative_to(self.work / "runs")))
        self._write("runs.tar.gz", buffer.getvalue())
        self._pack_weights()

    def put_first(self, entries: list[tuple[str, Path]]) -> None:
        """Return ``entries`` before everything else (an entry of the same name is moved, not repeated)."""
        names = {name for name, _ in entries}
        self.returns = [*entries, *((n, p) for n, p in self.returns if n not in names)]

    def _blob(self, path: Path) -> bytes:
        """The file as it travels, slimmed once per version of it (a finished member's file never changes)."""
        stamp = path.stat().st_mtime_ns
        if self._blobs.get(path, (None,))[0] != stamp:
            self._blobs[path] = (stamp, slimmed(path) if path.suffix == ".pt" else path.read_bytes())
        return self._blobs[path][1]

    def _pack_weights(self) -> None:
        buffer, sent, left = io.BytesIO(), [], []
        budget = PART_BYTES * MAX_PARTS - 64 * 1024
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, path in self.returns:
                if not path.exists():
                    continue
                blob = self._blob(path)
                if buffer.tell() + len(blob) + 1024 > budget:
                    left.append(name)
                    continue
                info = tarfile.TarInfo(name)
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
                sent.append(name)
        data = buffer.getvalue() if sent else b""  # nothing to return yet: no empty archive
        parts = [data[i:i + PART_BYTES] for i in range(0, len(data), PART_BYTES)]
        for i, part in enumerate(parts):
            self._write(f"weights.tar.part{i:02d}", part)
        for old in self.out.glob("weights.tar.part*"):
            if int(old.name[-2:]) >= len(parts):
                old.unlink()
        self.save_report(returned=sent, left_on_device=left, weights_mb=round(len(data) / 1e6, 1))


def slimmed(path: Path) -> bytes:
    """A checkpoint as it travels: fp16 weights (int8 per channel above 3M parameters); a quantisation-aware
    one (with int8 activation ranges) unchanged, its weights already on the int8 grid."""
    ckpt = read_checkpoint(path)
    if "qat" not in ckpt:
        ckpt = {k: v for k, v in ckpt.items() if k != "optimizer"}
        ckpt["model"] = slim_weights(ckpt["model"])
    blob = io.BytesIO()
    torch.save(ckpt, blob)
    return blob.getvalue()


def load_data(source: Path, limit_per_class: int | None, seed: int) -> dict[str, FaceArrays]:
    """``train`` and ``publictest`` from a packed cache (``gpu_prepare.py``) or a folder holding both image folders."""
    splits = {}
    for split in ("train", "publictest"):
        arrays = load_split(source, split) if source.is_file() else load_split(source / split)
        splits[split] = arrays.subset(limit_per_class, seed)
    return splits


def group_config(entry: dict, defaults: dict, out_dir: Path, device: str, seed: int) -> TrainConfig:
    """The TrainConfig of a plan entry: plan defaults, then the entry's own fields; the learning rate is
    given for batches of 128 and scaled to the batch."""
    fields = {**defaults, **{k: v for k, v in entry.items() if k not in GROUP_KEYS}}
    fields["lr"] = scaled_lr(fields.get("lr", 0.05), fields.get("batch_size", 128))
    return TrainConfig(arch=entry["arch"], out_dir=str(out_dir), device=device, seed=seed, **fields)


def scale_epochs(targets: dict[str, int], epochs_per_s: dict[str, float], seconds: float) -> dict[str, int]:
    """Each group's target epochs, all scaled by one factor (at most 1) so that they fit ``seconds`` run
    one after another at the probed rates (interleaving shares the device, it does not add to it)."""
    need = sum(targets[n] / max(epochs_per_s[n], 1e-9) for n in targets)
    factor = min(1.0, seconds / need) if need > 0 else 1.0
    return {n: max(1, math.floor(targets[n] * factor)) for n in targets}


class Campaign:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.started = time.time()
        self.plan = yaml.safe_load(Path(args.plan).read_text())
        self.work = Path(args.work or tempfile.mkdtemp(prefix="classmood_campaign_"))
        self.out = Path(args.out)
        self.runs = self.work / "runs"
        self.runs.mkdir(parents=True, exist_ok=True)
        self.courier = Courier(self.out, self.work, every_s=self.plan.get("sync_every_s", 60))
        self.log = self.courier.log
        self.device = pick_device(args.device)
        if args.threads:
            torch.set_num_threads(args.threads)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        self.seed = int(self.plan.get("seed", 0))
        self.defaults = dict(self.plan.get("defaults", {}))
        self.phases: dict[str, float] = {}

    # --- time ---------------------------------------------------------------------------------------
    def left(self) -> float:
        """Seconds left for training: the budget minus what has passed and the reserve for the export,
        publictest and the last copy."""
        return self.args.budget_s - (time.time() - self.started) - float(self.plan.get("reserve_s", 45))

    def share(self, phase: str, *after: str) -> float:
        """``phase``'s part of the training time left, shared with the phases ``after`` it by the plan's shares."""
        shares = self.plan["shares"]
        return max(0.0, self.left()) * shares[phase] / sum(shares[p] for p in (phase, *after))

    # --- data -----------------------------------------------------------------------------------------
    def load(self) -> None:
        t = time.time()
        data = load_data(Path(self.args.data), self.args.limit_per_class, self.seed)
        train, self.public = data["train"], data["publictest"]
        fit_idx, held_idx = holdout_split(train.labels, float(self.plan.get("holdout_fraction", 0.1)), self.seed)
        self.fit, self.held = train.select(fit_idx), train.select(held_idx)
        save_arrays({"fit": self.fit, "holdout": self.held}, self.work / "split.npz")  # for the QAT run's Trainer
        dev = self.device
        self.fit_t = (torch.from_numpy(self.fit.images).to(dev), torch.from_numpy(self.fit.labels).to(dev))
        self.held_t = (torch.from_numpy(self.held.images).to(dev), torch.from_numpy(self.held.labels).to(dev))
        self.log(f"data: {len(self.fit)} fit / {len(self.held)} held-out faces of train (stratified, seed {self.seed}), "
                 f"{len(self.public)} publictest, on {dev} in {time.time() - t:.1f}s")
        self.courier.save_report(data={"fit": len(self.fit), "holdout": len(self.held), "publictest": len(self.public),
                                       "holdout_fraction": self.plan.get("holdout_fraction", 0.1), "seed": self.seed})

    # --- groups ---------------------------------------------------------------------------------------
    def group(self, entry: dict, epochs: int, mode: str, *, folder: str | None = None, targets=None,
              eval_every: int = 1) -> MemberGroup:
        name = folder or entry["name"]
        out = (self.work if folder else self.runs) / name  # probe groups stay out of what is returned
        cfg = group_config({**entry, "epochs": epochs}, self.defaults, out, str(self.device), self.seed)
        return MemberGroup(name, cfg, int(entry.get("members", 1)), self.fit_t, self.held_t, out,
                           mode=mode, compile=self.args.compile, shared_batch=targets is not None, targets=targets,
                           eval_every=eval_every, patience=int(self.plan.get("patience", 0)), log=self.log)

    def probe_all(self) -> dict[str, dict]:
        """Epochs per second of every group of the plan (ensemble and student), each mode it may run in."""
        entries = [*self.plan["ensemble"], self.plan["student"]]
        modes = {}
        for e in entries:
            mode = e.get("mode", "auto")
            if mode == "auto":  # on the CPU grouped convolutions are ~20x slower than a loop: not worth timing
                both = e.get("members", 1) > 1 and self.device.type == "cuda"
                modes[e["name"]] = ["vmap", "loop"] if both else ["loop"]
            else:
                modes[e["name"]] = [mode]
        seconds = self.args.probe_s / sum(len(m) for m in modes.values())
        results = {}
        for entry in entries:
            t = time.time()
            result = probe(lambda mode, e=entry: self.group(e, 1, mode, folder="probe"), modes[entry["name"]], seconds,
                           warmup=int(self.plan.get("probe_warmup_steps", 3)))
            results[entry["name"]] = {"arch": entry["arch"], **result}
            timed = ", ".join(f"{m} {r['epochs_per_s']:.3f} epochs/s" if "error" not in r else f"{m} failed ({r['error']})"
                              for m, r in result["modes"].items())
            if result["mode"] is None:
                self.log(f"probe {entry['name']} ({entry['arch']}): {timed}; left out of the campaign")
                continue
            result["seconds_for_300_epochs"] = round(300 / max(result["epochs_per_s"], 1e-9), 1)
            self.log(f"probe {entry['name']} ({entry['arch']} x{result['members']}, batch {result['batch_size']}): {timed}"
                     f" -> {result['mode']}; 300 epochs in {result['seconds_for_300_epochs']:.0f}s ({time.time() - t:.0f}s)")
        probe_info = {"device": self.device_name(), "seconds": self.args.probe_s, "faces": len(self.fit),
                      "compile": self.args.compile, "groups": results}
        (self.runs / "probe.json").write_text(json.dumps(probe_info, indent=1))
        self.courier.save_report(probe=probe_info)
        return results

    def device_name(self) -> str:
        if self.device.type == "cuda":
            return torch.cuda.get_device_name(self.device)
        return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"

    # --- phases ---------------------------------------------------------------------------------------
    def ensemble(self, rates: dict[str, dict]) -> list[Member]:
        entries = [e for e in self.plan["ensemble"] if rates[e["name"]]["mode"] is not None]
        self.weights: dict[str, float] = {}
        if not entries:
            self.log("ensemble: no group of the plan could run (see the probe); nothing to train")
            return []
        seconds = self.share("ensemble", "distill", "qat")
        epochs = scale_epochs({e["name"]: int(e["epochs"]) for e in entries},
                              {e["name"]: rates[e["name"]]["epochs_per_s"] for e in entries}, seconds)
        self.log(f"ensemble: {seconds:.0f}s for " + ", ".join(f"{n} {k} of {e['epochs']} epochs" for (n, k), e in zip(epochs.items(), entries)))
        groups = [self.group(e, epochs[e["name"]], rates[e["name"]]["mode"], eval_every=self.eval_every(epochs[e["name"]]))
                  for e in entries]
        self.courier.save_report(plan={"ensemble": {g.name: {"arch": g.cfg.arch, "members": g.members, "epochs": g.cfg.epochs,
                                                             "batch_size": g.batch, "lr": g.cfg.lr, "mode": g.mode} for g in groups}})
        self.courier.put_first([(f"{g.member_name(k)}.pt", g.checkpoint_path(k)) for g in groups for k in range(g.members)])
        spent = train_fleet(groups, seconds, on_epoch=lambda g: self.courier.sync())
        members = [m for g in groups for m in g.finish(self.fit.images, int(self.defaults.get("bn_faces", 8000)))]
        weights = ensemble_weights([m.holdout_probs for m in members], self.held.labels)
        mixed = sum(w * m.holdout_probs for w, m in zip(weights, members))
        self.weights = {m.name: float(w) for m, w in zip(members, weights)}
        ranked = sorted(members, key=lambda m: (-self.weights[m.name], -m.holdout_acc))
        self.courier.put_first([(f"{m.name}.pt", m.path) for m in ranked])
        self.phases["ensemble"] = round(spent, 1)
        self.courier.save_report(members={m.name: {"arch": m.arch, "epoch": m.epoch, "holdout_acc_flip": round(m.holdout_acc, 4),
                                                   "bn_remeasured": m.bn_remeasured, "weight": round(self.weights[m.name], 3)} for m in members},
                                 ensemble_holdout_acc_flip=round(float((mixed.argmax(1) == self.held.labels).mean()), 4),
                                 phases=self.phases)
        self.courier.sync(force=True)
        self.log(f"ensemble done in {spent:.0f}s: " + ", ".join(f"{m.name} {m.holdout_acc:.4f} (w {self.weights[m.name]:.2f})" for m in members))
        return members

    def eval_every(self, epochs: int) -> int:
        return max(1, epochs // int(self.plan.get("evaluations", 30)))

    def distill(self, members: list[Member], rates: dict[str, dict]) -> Member | None:
        entry = self.plan["student"]
        chosen = sorted((m for m in members if self.weights[m.name] > 0), key=lambda m: -self.weights[m.name])
        chosen = chosen[:int(entry.get("teacher_count", 6))]
        if not chosen:
            return None
        total = sum(self.weights[m.name] for m in chosen)
        weights = [self.weights[m.name] / total for m in chosen]
        teachers = CheckpointTeachers(load_teachers([str(m.path) for m in chosen], self.device),
                                      float(entry.get("distill_temperature", 3.0)), weights)
        seconds = self.share("distill", "qat")
        rate = rates[entry["name"]]
        # a teacher's forward pass costs about a third of its training step, per face
        teach_s = sum(1 / (3 * rates[self.group_of(m)]["faces_per_s"]) for m in chosen) * rate["batch_size"]
        steps_per_epoch = rate["steps_per_s"] / rate["epochs_per_s"]
        per_epoch = steps_per_epoch * (1 / rate["steps_per_s"] + teach_s)
        epochs = scale_epochs({"student": int(entry["epochs"])}, {"student": 1 / per_epoch}, seconds)["student"]
        self.log(f"distillation: {seconds:.0f}s, {entry['arch']} x{entry.get('members', 1)} for {epochs} of {entry['epochs']} epochs, "
                 f"teachers {', '.join(f'{m.name} ({w:.2f})' for m, w in zip(chosen, weights))}")
        group = self.group(entry, epochs, rate["mode"], targets=teachers, eval_every=self.eval_every(epochs))
        self.courier.put_first([(f"{group.member_name(k)}.pt", group.checkpoint_path(k)) for k in range(group.members)])
        spent = train_fleet([group], seconds, on_epoch=lambda g: self.courier.sync())
        students = group.finish(self.fit.images, int(self.defaults.get("bn_faces", 8000)))
        best = max(students, key=lambda m: m.holdout_acc)
        self.teachers = chosen
        self.courier.put_first([(f"{m.name}.pt", m.path) for m in sorted(students, key=lambda m: -m.holdout_acc)])
        self.phases["distill"] = round(spent, 1)
        self.courier.save_report(students={m.name: {"epoch": m.epoch, "holdout_acc_flip": round(m.holdout_acc, 4)} for m in students},
                                 teachers={m.name: w for m, w in zip(chosen, weights)}, phases=self.phases)
        self.courier.sync(force=True)
        self.log(f"distillation done in {spent:.0f}s: best {best.name} {best.holdout_acc:.4f} on the held-out faces")
        return best

    def group_of(self, member: Member) -> str:
        return member.name.rsplit("_m", 1)[0]

    def qat(self, student: Member) -> Path | None:
        entry = dict(self.plan["qat"])
        seconds = self.left()
        if seconds < float(entry.pop("min_s", 10)):
            self.log(f"quantisation-aware fine-tune skipped: {seconds:.0f}s left")
            return None
        top = int(entry.pop("teacher_count", 3))
        observe = int(entry.pop("observe_steps", 200))
        batch = int(entry.get("batch_size", self.defaults.get("batch_size", 128)))
        steps = max(1, len(self.fit) // batch) * int(entry["epochs"])
        cfg = TrainConfig(**{**self.defaults, **entry}, arch=student.arch,
                          out_dir=str(self.runs / "realtime_qat"), train_data=str(self.work / "split.npz"), train_split="fit",
                          val_data=str(self.work / "split.npz"), val_split="holdout", time_budget_s=seconds,
                          init_checkpoint=str(student.path), teachers=[str(m.path) for m in self.teachers[:top]],
                          qat_observe_steps=min(observe, max(1, steps // 4)), seed=self.seed, device=str(self.device),
                          threads=self.args.threads)
        cfg.lr = scaled_lr(cfg.lr, cfg.batch_size)
        self.log(f"quantisation-aware fine-tune of {student.name}: up to {cfg.epochs} epochs in {seconds:.0f}s, "
                 f"ranges observed {cfg.qat_observe_steps} steps, teachers {', '.join(m.name for m in self.teachers[:top])}")
        result = Trainer(cfg).fit(resume=False)
        path = self.runs / "realtime_qat" / "qat.pt"
        self.courier.put_first([("realtime_qat.pt", path)])
        self.phases["qat"] = round(result.seconds, 1)
        self.courier.save_report(qat={"epochs": result.epochs, "holdout_acc_flip": round(read_checkpoint(path)["val_acc_flip"], 4)},
                                 phases=self.phases)
        self.courier.sync(force=True)
        return path

    def export(self, student: Member, qat: Path | None) -> Path | None:
        """The realtime candidate as ONNX (flip TTA in the graph), int8 with the QAT run's own activation
        ranges (or calibrated on fit faces when the fine-tune did not run)."""
        try:
            from classmood.train.export import export_onnx
            from classmood.train.quantize import quantize_int8
        except ImportError as exc:  # onnx / onnxruntime missing on the machine: the checkpoints still return
            self.log(f"ONNX export skipped: {exc}")
            return None
        source = qat or student.path
        path = self.runs / "export" / "realtime.onnx"
        meta = export_onnx([load_checkpoint_model(source)], path, name="realtime", flip=True,
                           metadata={"architecture": student.arch, "description": f"campaign candidate from {source.name}"})
        points = qat_ranges(read_checkpoint(source))
        quantize_int8(path, self.fit, points=points, seed=self.seed)
        meta["quantization"] = ("int8 static QDQ, per channel, activation ranges from quantisation-aware training" if points
                                else "int8 static QDQ, per channel, calibrated on fit faces")
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
        self.courier.put_first([("realtime.onnx", path), ("realtime.json", path.with_suffix(".json"))])
        return path

    def publictest(self, members: list[Member], student: Member | None, onnx_path: Path | None) -> dict:
        """Publictest, once per final model: the best single network and the ensemble (both chosen and
        weighted on the held-out faces), the distilled student (fp32) and the int8 realtime candidate."""
        faces = torch.from_numpy(self.public.images).to(self.device)
        labels = self.public.labels

        def probs_of(member: Member) -> np.ndarray:
            return flip_probabilities(load_checkpoint_model(member.path, self.device), faces).cpu().numpy()

        def acc(p: np.ndarray) -> float:
            return round(float((p.argmax(1) == labels).mean()), 4)

        result: dict = {"faces": len(labels), "flip_tta": True, "chosen_on": "held-out part of train"}
        single = max(members, key=lambda m: m.holdout_acc)
        probs = {m.name: probs_of(m) for m in members if self.weights[m.name] > 0 or m is single}
        result["best_single"] = {"member": single.name, "arch": single.arch, "accuracy": acc(probs[single.name])}
        mixed = sum(self.weights[n] * p for n, p in probs.items())
        result["ensemble"] = {"weights": {n: w for n, w in self.weights.items() if w > 0}, "accuracy": acc(mixed)}
        if student is not None:
            result["student_fp32"] = {"member": student.name, "arch": student.arch, "accuracy": acc(probs_of(student))}
        if onnx_path is not None:
            import onnxruntime as ort

            session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
            got = session.run(None, {"faces": normalize(torch.from_numpy(self.public.images)).numpy()})[0]
            result["realtime_int8_onnx"] = {"file": onnx_path.name, "accuracy": acc(got)}
        self.courier._write("publictest.json", json.dumps(result, indent=1).encode())
        self.log("publictest: " + ", ".join(f"{k} {v['accuracy']:.2%}" for k, v in result.items() if isinstance(v, dict) and "accuracy" in v))
        return result

    def run(self) -> int:
        args = self.args
        self.log(f"torch {torch.__version__} on {self.device_name()}; budget {args.budget_s:.0f}s, plan {args.plan}")
        self.courier.save_report(started=time.strftime("%Y-%m-%d %H:%M:%S"), budget_s=args.budget_s, device=self.device_name(),
                                 torch=torch.__version__, argv=sys.argv[1:], plan_file=str(args.plan), plan_text=self.plan)
        self.load()
        rates = self.probe_all()
        if args.probe_only:
            self.courier._write("probe.json", (self.runs / "probe.json").read_bytes())
            self.courier.sync(force=True)
            return 0
        members = self.ensemble(rates)
        runnable = rates[self.plan["student"]["name"]]["mode"] is not None
        student = self.distill(members, rates) if members and runnable and self.left() > 5 else None
        if student is None:
            self.log(f"distillation skipped ({self.left():.0f}s of training time left, or no ensemble member): "
                     "no realtime candidate from this window")
        qat = self.qat(student) if student is not None else None
        onnx_path = self.export(student, qat) if student is not None else None
        self.courier.sync(force=True)
        if members:
            self.publictest(members, student, onnx_path)
        self.phases["total"] = round(time.time() - self.started, 1)
        self.courier.save_report(phases=self.phases, finished=True)
        self.courier.sync(force=True)
        self.log(f"done in {time.time() - self.started:.0f}s of {args.budget_s:.0f}")
        return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m classmood.train.campaign", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="packed cache (.npz from gpu_prepare.py) or a folder with train/ and publictest/")
    ap.add_argument("--out", required=True, help="where results are copied as they come (the device's $OUT)")
    ap.add_argument("--plan", default=str(DEFAULT_PLAN), help="campaign plan (YAML); default configs/gpu_campaign.yaml")
    ap.add_argument("--budget-s", type=float, default=540, help="hard wall-clock budget of the whole command, copying included")
    ap.add_argument("--probe-s", type=float, default=60, help="seconds of the probe, shared by every group and mode")
    ap.add_argument("--probe-only", action="store_true", help="measure epochs/s per architecture, write probe.json, stop")
    ap.add_argument("--work", default=None, help="local work folder (default: a new temporary folder)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--compile", action="store_true", help="torch.compile each group's forward: compiled in the probe (its warmup_s) and again for "
                    "each phase's groups, so it pays only where the probe's gain over a phase exceeds that")
    ap.add_argument("--limit-per-class", type=int, default=None, help="dry runs: at most this many faces per class of each split")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return Campaign(parse_args(argv)).run()


if __name__ == "__main__":
    sys.exit(main())
