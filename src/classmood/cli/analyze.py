"""Commands ``analyze``, ``evaluate`` and ``models``: the face emotion pipeline from the shell."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from classmood.errors import ClassmoodError, cli_errors
from classmood.logs import log_to_stderr
from classmood.terminal import json_text, printable, rich_safe

ModelOption = Annotated[str, typer.Option("--model", "-m", help="Bundled model name (realtime, accurate) or path to an .onnx file with its .json beside it.")]


def _setup_logging() -> None:
    """Warnings (skipped files, truncated videos) as one ``warning:`` line each on stderr."""
    log_to_stderr("classmood", "warning: %(message)s", logging.WARNING)


def _emit_json(obj: dict) -> None:
    """One JSON line; control characters and undecodable bytes of file names stay escaped (``\\uXXXX``)."""
    typer.echo(json_text(obj))


@cli_errors
def analyze(
    source: Annotated[str, typer.Argument(help="Photo, folder of photos, video file, webcam index (0), 'screen' / 'screen:N' / 'screen:LEFT,TOP,W,H', or stream URL.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for annotated output (image, or mp4 + per-frame CSV/Parquet for videos and live sources).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    every: Annotated[int, typer.Option("--every", min=1, help="Analyse every N-th frame of a video (or file of a folder).")] = 1,
    max_faces: Annotated[int | None, typer.Option("--max-faces", min=1, help="Keep at most N faces per frame (highest detector score first).")] = None,
    model: ModelOption = "realtime",
    min_score: Annotated[float, typer.Option("--min-score", min=0.0, max=1.0, help="Face detector score threshold.")] = 0.6,
    detect_size: Annotated[int, typer.Option("--detect-size", min=160, help="Longest side (px) frames are scaled to for face detection; raise it (e.g. 960) for galleries of tiny tiles.")] = 640,
    max_frames: Annotated[int | None, typer.Option("--max-frames", min=1, help="Stop after N analysed frames (live sources run until Ctrl-C otherwise).")] = None,
    show: Annotated[bool, typer.Option("--show", help="Show the annotated frames in a window (needs a display); close it or press q to stop.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Find every face in SOURCE and recognise its emotion.

    A photo with --json prints {"faces": [{"box": \\[x, y, w, h], "score", "emotion",
    "probabilities"}], "width", "height"} in pixels of the original image. A photo
    without faces is not an error: "faces" is empty and the exit status 0.
    A folder skips unreadable files with a warning (exit 1 only if none could be read).
    Videos and live sources print a summary (with --json: one JSON object with
    per-frame "results"). Nothing is stored unless --out is given. A truncated or
    corrupt video exits 1, with "truncated": true, "frames_read" and "frames_expected"
    in the JSON and its outputs named <stem>.truncated.*.
    """
    from classmood.detect import YuNetDetector
    from classmood.output import write_image
    from classmood.output.window import LiveWindow
    from classmood.pipeline import Pipeline
    from classmood.runner import output_stem, run_folder, run_stream
    from classmood.sources import open_source, source_kind

    _setup_logging()
    kind = source_kind(source)
    progress = not quiet and kind != "image"
    with open_source(source, every=every, max_frames=max_frames) as src:
        photo = next(iter(src)) if kind == "image" else None  # a bad file fails before the model loads
        window = LiveWindow() if show else None
        detector = YuNetDetector(score_threshold=min_score, max_side=detect_size)
        pipeline = Pipeline(detector, model=model, max_faces=max_faces, annotate=bool(out or show))
        if photo is not None:
            result = pipeline.process(photo)
            written = []
            if out is not None:
                written.append(write_image(out / f"{output_stem(source)}.annotated.jpg", result.annotated))
            if as_json:
                _emit_json({"faces": result.detections.to_dicts(),
                            "width": result.frame.width, "height": result.frame.height})
            else:
                _print_faces(result.detections.to_faces(), result.frame.width, result.frame.height)
                _print_outputs(written)
            if window is not None:
                window.show(result.annotated)
                window.wait()
            return
        if kind == "folder":
            summary = run_folder(pipeline, src, out, progress=progress, window=window)
        else:
            summary = run_stream(pipeline, src, source, kind, out, progress=progress, keep_results=as_json,
                                 window=window)
    if window is not None:
        window.close()
    if as_json:
        _emit_json(summary.to_dict())
    else:
        _print_summary(summary)
    if summary.truncation is not None:
        kept = f"; outputs kept as {output_stem(source)}.truncated.*" if summary.outputs else ""
        raise ClassmoodError(f"{summary.truncation.reason}: only frames 0-{summary.truncation.frames_read - 1} "
                             f"were read{kept}")


def _print_faces(faces, width: int, height: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not faces:
        console.print(f"No face found in the {width}x{height} image.")
        return
    table = Table(title=f"{len(faces)} face(s) in {width}x{height} image")
    for col in ("#", "box (x, y, w, h)", "detector", "emotion", "confidence", "runner-up"):
        table.add_column(col)
    for i, f in enumerate(faces):
        ranked = sorted(f.probabilities.items(), key=lambda kv: -kv[1])
        table.add_row(str(i), str(tuple(f.box)), f"{f.score:.2f}", ranked[0][0], f"{ranked[0][1]:.0%}",
                      f"{ranked[1][0]} {ranked[1][1]:.0%}")
    console.print(table)


def _print_outputs(paths) -> None:
    for p in paths:
        typer.echo(f"wrote {printable(p)}")


def _print_summary(summary) -> None:
    from rich.console import Console

    console = Console()
    line = f"{summary.frames} frame(s), {summary.faces} face(s) in {summary.seconds:.1f} s ({summary.fps:.1f} frames/s)"
    if summary.dropped:
        line += f", {summary.dropped} live frame(s) dropped to keep up"
    console.print(line)
    if summary.stage_ms():
        console.print("ms per frame: " + ", ".join(f"{k} {v:.1f}" for k, v in summary.stage_ms().items()))
    total = sum(summary.emotions.values())
    if total:
        console.print("emotions: " + ", ".join(f"{e} {n / total:.0%}" for e, n in summary.emotions.most_common()))
    for s in summary.skipped:
        console.print(f"skipped {rich_safe(s['error'])}", highlight=False)
    _print_outputs(summary.outputs)


@cli_errors
def evaluate(
    directory: Annotated[Path, typer.Argument(help="Folder with one sub-folder per class (angry, disgust, fear, happy, neutral, sad, surprise).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    model: ModelOption = "realtime",
    detect: Annotated[bool, typer.Option("--detect", help="Find the face first (YuNet) instead of taking each image as a face crop.")] = False,
    per_class: Annotated[int | None, typer.Option("--per-class", min=1, help="Use at most N images per class (sorted by name).")] = None,
    flip: Annotated[bool, typer.Option("--flip", help="Also average each face with its mirror image (test-time augmentation outside the model).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Measure a model's accuracy on labelled faces.

    JSON: {"accuracy", "n", "correct", "classes", "confusion" (rows = true class),
    "per_class": {class: {"precision", "recall", "n"}}, "model", "detect", "flip",
    "undetected", "skipped", "seconds", "images_per_s"}. With --detect an image
    whose face is not found counts as wrong.
    """
    from classmood.classify.evaluate import evaluate as run_evaluation

    _setup_logging()
    report = run_evaluation(directory, model, detect=detect, per_class=per_class, progress=not quiet, flip=flip)
    data = report.to_dict()
    if as_json:
        _emit_json(data)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"model {rich_safe(data['model'])}: accuracy {data['accuracy']:.1%} on {data['n']} images "
                  f"({data['images_per_s']} img/s, undetected {data['undetected']}, skipped {data['skipped']})")
    table = Table("class", "precision", "recall", "n")
    for name, m in data["per_class"].items():
        table.add_row(name, f"{m['precision']:.1%}", f"{m['recall']:.1%}", str(m["n"]))
    console.print(table)


def measure_speed(model, batch: int, repeats: int = 20) -> float:
    """Median milliseconds per face for batches of ``batch`` random 48x48 crops."""
    import time

    import numpy as np

    from classmood.classify import EmotionClassifier

    clf = model if isinstance(model, EmotionClassifier) else EmotionClassifier(model)
    crops = np.random.default_rng(0).integers(0, 256, (batch, clf.size, clf.size), dtype=np.uint8)
    clf.predict_crops(crops)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        clf.predict_crops(crops)
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times)) / batch


@cli_errors
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    speed: Annotated[bool, typer.Option("--speed/--no-speed", help="Measure inference speed on this machine.")] = True,
) -> None:
    """List the bundled emotion models with size, accuracy and speed (measured here, now)."""
    from classmood.classify import EmotionClassifier, list_models

    rows = []
    for info in list_models():
        row = {"name": info.name, "version": info.version, "architecture": info.architecture,
               "params": info.params, "size_mb": round(info.size_bytes / 1e6, 2),
               "publictest_accuracy": info.publictest_accuracy, "input_size": info.input_size,
               "description": info.description, "path": str(info.path)}
        if speed:
            clf = EmotionClassifier(info)
            row["ms_per_face_batch1"] = round(measure_speed(clf, 1), 3)
            row["ms_per_face_batch25"] = round(measure_speed(clf, 25), 3)
        rows.append(row)
    if not rows:
        raise ClassmoodError("no emotion model installed (expected classmood/models/*.onnx)")
    if as_json:
        _emit_json({"models": rows})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Bundled emotion models (speed measured now, on this machine)")
    table.add_column("model", no_wrap=True)
    for col in ("version", "architecture", "params", "size", "publictest acc.", "ms/face (1)", "ms/face (25)"):
        table.add_column(col)
    for r in rows:
        acc = r["publictest_accuracy"]
        table.add_row(r["name"], r["version"], r["architecture"], f"{r['params']:,}" if r["params"] else "-",
                      f"{r['size_mb']:.2f} MB", f"{acc:.1%}" if isinstance(acc, (int, float)) else "-",
                      str(r.get("ms_per_face_batch1", "-")), str(r.get("ms_per_face_batch25", "-")))
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
    app.command("evaluate")(evaluate)
    app.command("models")(models)
