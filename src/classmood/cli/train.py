"""Commands ``train``, ``soup`` and ``export-model``: emotion models (needs the ``train`` extra: torch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from classmood.errors import ClassmoodError, cli_errors


def _require_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ClassmoodError("training needs torch: pip install 'classmood[train]' torch==2.13.0") from None


@cli_errors
def train(
    config: Annotated[Path | None, typer.Argument(help="YAML/JSON config (see configs/); every choice of the run is recorded in OUT/config.yaml.")] = None,
    arch: Annotated[str | None, typer.Option("--arch", help="Architecture from the registry (see --list).")] = None,
    out: Annotated[str | None, typer.Option("--out", help="Run folder: checkpoints, log.csv, curves.png, summary.json.")] = None,
    train_data: Annotated[str | None, typer.Option("--train-data", help="Image folder with one sub-folder per class.")] = None,
    val_data: Annotated[str | None, typer.Option("--val-data", help="Validation image folder (model selection).")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=0)] = None,
    time_budget: Annotated[float | None, typer.Option("--time-budget", help="Seconds; the schedule runs over this time instead of epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1)] = None,
    lr: Annotated[float | None, typer.Option("--lr")] = None,
    limit_per_class: Annotated[int | None, typer.Option("--limit-per-class", min=1, help="Smoke runs: at most N faces per class.")] = None,
    teacher: Annotated[list[str] | None, typer.Option("--teacher", help="Checkpoint to distil from (repeatable).")] = None,
    teacher_model: Annotated[str | None, typer.Option("--teacher-model", help="ONNX model (path or bundled name, e.g. accurate) to distil from; its targets are computed once.")] = None,
    init: Annotated[str | None, typer.Option("--init", help="Start from this checkpoint's weights.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda.")] = None,
    no_bf16: Annotated[bool, typer.Option("--no-bf16", help="Train in float32 (bf16 autocast is ~2x faster on CPUs with AVX-512 bf16).")] = False,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore OUT/last.pt instead of resuming from it.")] = False,
    list_archs: Annotated[bool, typer.Option("--list", help="List the architectures and exit.")] = False,
) -> None:
    """Train an emotion model on an image-folder data set (resumes OUT/last.pt after an interruption)."""
    _require_torch()
    from classmood.train.architectures import count_parameters, create_model, list_models, unknown_architecture
    from classmood.train.config import TrainConfig
    from classmood.train.trainer import train as run_training

    if list_archs:
        for name in list_models():
            typer.echo(f"{name:14s} {count_parameters(create_model(name)) / 1e6:6.2f}M params")
        return
    overrides = {
        "arch": arch, "out_dir": out, "train_data": train_data, "val_data": val_data, "epochs": epochs,
        "time_budget_s": time_budget, "batch_size": batch_size, "lr": lr, "limit_per_class": limit_per_class,
        "teachers": teacher or None, "teacher_model": teacher_model, "init_checkpoint": init, "device": device, "bf16": False if no_bf16 else None,
    }
    try:
        cfg = TrainConfig.from_file(config, **overrides) if config else TrainConfig.from_dict({k: v for k, v in overrides.items() if v is not None})
    except (ValueError, TypeError) as exc:
        raise ClassmoodError(f"bad training config: {exc}") from None
    if cfg.arch not in list_models():
        raise ClassmoodError(unknown_architecture(cfg.arch))
    for path in (cfg.train_data, cfg.val_data):
        if not Path(path).exists():
            raise ClassmoodError(f"data set not found: {path}")
    try:
        result = run_training(cfg, resume=not fresh)
    except FileNotFoundError as exc:
        raise ClassmoodError(str(exc)) from None
    typer.echo(f"best validation accuracy (flip TTA) {result.best_val_acc:.4f} after {result.epochs} epochs, "
               f"{result.seconds:.0f}s; run folder {result.out_dir}")


@cli_errors
def export_model(
    checkpoints: Annotated[list[Path], typer.Argument(help="One checkpoint, or several to export as one ensemble.")],
    out: Annotated[Path, typer.Option("--out", help="Path of the .onnx file; its .json metadata is written beside it.")],
    name: Annotated[str | None, typer.Option("--name", help="Model name in the metadata (default: file stem).")] = None,
    flip: Annotated[bool, typer.Option("--flip/--no-flip", help="Average each face with its mirror image inside the graph.")] = False,
    views: Annotated[str, typer.Option("--views", help="Extra test-time views averaged inside the graph, comma-separated: l,r,u,dn (2 px shifts), s+,s- (scale), rot+,rot- (6 degrees); each also mirrored with --flip.")] = "",
    description: Annotated[str, typer.Option("--description")] = "",
    int8: Annotated[Path | None, typer.Option("--int8", help="Quantise to int8 (ONNX Runtime static QDQ), calibrated on faces from this labelled folder (e.g. FER-2013 train).")] = None,
    keep_float: Annotated[str, typer.Option("--keep-float", help="With --int8: layer groups left float32, comma-separated: first (the first convolution), head (the fully connected layers).")] = "",
    observe_ranges: Annotated[int, typer.Option("--observe-ranges", min=0, help="With --int8: take activation ranges from this many augmented batches of the folder's faces through the int8 simulation (moving average of each batch's min/max, as quantisation-aware training starts) instead of min-max over 280 clean faces; 0: min-max.")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="With --int8: which random faces calibrate (or which batches --observe-ranges sees).")] = 0,
    evaluate_on: Annotated[Path | None, typer.Option("--evaluate", help="Labelled face folder (e.g. FER-2013 publictest): measure the exported model on it and record the accuracy in its metadata.")] = None,
) -> None:
    """Export checkpoints to ONNX (softmax, ensemble mean and flip TTA inside the graph), checked against torch."""
    _require_torch()
    from classmood.train.export import export_onnx
    from classmood.train.inference import load_checkpoint_model
    from classmood.train.quantize import parse_keep_float

    missing = [str(p) for p in checkpoints if not p.is_file()]
    if missing:
        raise ClassmoodError(f"checkpoint not found: {', '.join(missing)}")
    try:
        groups = parse_keep_float(keep_float)
    except ValueError as exc:
        raise ClassmoodError(f"--keep-float: {exc}") from None
    points = trained_ranges(checkpoints) if int8 is not None else None
    ranges = "activation ranges from quantisation-aware training" if points else f"calibrated on {int8} (seed {seed})"
    if int8 is not None and points is None and observe_ranges:
        if len(checkpoints) > 1:
            raise ClassmoodError("--observe-ranges quantises one network, not an ensemble")
        ranges = f"activation ranges observed on {observe_ranges} augmented batches of {int8} (seed {seed})"
    members = [load_checkpoint_model(p) for p in checkpoints]
    archs = sorted({type(m).__name__ for m in members})
    extra_views = tuple(v.strip() for v in views.split(",") if v.strip())
    try:
        meta = export_onnx(members, out, name=name or out.stem, flip=flip, views=extra_views,
                           metadata={"architecture": "+".join(archs), "description": description})
    except ValueError as exc:
        raise ClassmoodError(str(exc)) from None
    if int8 is not None:
        from classmood.train.quantize import quantize_int8

        if points is None and observe_ranges:
            from classmood.train.data import load_image_folder
            from classmood.train.qat import observe_ranges as observe

            points = observe(members[0], load_image_folder(int8).images, steps=observe_ranges, seed=seed)
        try:
            quantize_int8(out, int8, keep_float=groups, points=points, seed=seed)
        except ValueError as exc:
            out.unlink()  # no half-made model is left where the int8 one was asked for
            out.with_suffix(".json").unlink(missing_ok=True)
            raise ClassmoodError(str(exc)) from None
        meta.update(quantization=f"int8 static QDQ, per channel, {ranges}" + (f"; float32: {', '.join(groups)}" if groups else ""),
                    **({} if points else {"calibrated_on": str(int8)}))
        out.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    if evaluate_on is not None:
        from classmood.classify.evaluate import evaluate

        meta.update(evaluate(evaluate_on, out).model_card(evaluate_on))
        out.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    accuracy = f", accuracy {meta['publictest_accuracy']:.2%} on {evaluate_on}" if evaluate_on else ""
    typer.echo(f"wrote {out} ({meta['members']} member(s), {meta['params'] / 1e6:.2f}M params, flip TTA {flip}, views {', '.join(meta['tta_views'])}{accuracy})")


def trained_ranges(checkpoints: list[Path]) -> list[tuple[float, int]] | None:
    """The int8 activation ranges a quantisation-aware checkpoint carries (None for ordinary ones)."""
    from classmood.train.checkpoint import qat_ranges, read_checkpoint

    found = [qat_ranges(read_checkpoint(p)) for p in checkpoints]
    if all(points is None for points in found):
        return None
    if len(checkpoints) > 1:
        raise ClassmoodError("a quantisation-aware checkpoint is exported on its own, not in an ensemble")
    return found[0]


@cli_errors
def soup(
    checkpoints: Annotated[list[Path], typer.Argument(help="Checkpoints of one architecture that share a parent (warm restarts of one run); one checkpoint: only its batch norm is re-measured.")],
    out: Annotated[Path, typer.Option("--out", help="Path of the soup checkpoint (.pt).")],
    train_data: Annotated[Path, typer.Option("--train-data", help="Face folder whose faces (and mirrors) re-measure the batch-norm statistics; labels unused.")] = Path("../shared/datasets/fer2013/train"),
    faces_limit: Annotated[int | None, typer.Option("--faces", min=64, help="Re-measure on this many random faces of the folder (all by default; 8,000 are enough and far quicker for big nets).")] = None,
) -> None:
    """Average the weights of fine-tunes into one model (a model soup) and re-measure its batch norm on clean faces."""
    _require_torch()

    from classmood.train.checkpoint import fp16_weights, write_checkpoint
    from classmood.train.data import load_image_folder
    from classmood.train.soup import make_soup

    missing = [str(p) for p in checkpoints if not p.is_file()]
    if missing:
        raise ClassmoodError(f"checkpoint not found: {', '.join(missing)}")
    if not train_data.is_dir():
        raise ClassmoodError(f"data set not found: {train_data}")
    try:
        faces = load_image_folder(train_data).sample(faces_limit)
        arch, model = make_soup(checkpoints, faces.images)
    except (ValueError, FileNotFoundError) as exc:
        raise ClassmoodError(str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    write_checkpoint({"arch": arch, "model": fp16_weights(model.state_dict()),
                      "config": {"arch": arch, "soup_of": [str(p) for p in checkpoints], "bn_recalibrated_on": str(train_data), "bn_faces": len(faces)}}, out)
    typer.echo(f"wrote {out}: {arch} soup of {len(checkpoints)} checkpoint(s), batch norm re-measured on {len(faces)} faces + mirrors")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("soup")(soup)
    app.command("export-model")(export_model)
