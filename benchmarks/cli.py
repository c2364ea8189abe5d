"""``python -m benchmarks run [--quick]``: set up peers, measure every system, write the report."""

from __future__ import annotations

import shlex
import sys
import time
from datetime import datetime, UTC
from pathlib import Path

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="classmood benchmarks against its peers (fer, ...).")


@app.callback()
def _main() -> None:
    """classmood benchmarks against its peers."""


@app.command()
def run(
    quick: bool = typer.Option(False, "--quick", help="Small smoke run (~3 min) written under .bench/results/quick."),
    out: Path = typer.Option(None, "--out", help="Folder for benchmarks.md (default: docs/, or .bench/results/quick "
                                                  "with --quick); charts and results.json go to OUT/benchmarks/."),
    offline_check: bool = typer.Option(True, "--offline-check/--no-offline-check",
                                       help="Download and inspect other peer packages for run-time downloads."),
) -> None:
    """Measure classmood and fer on the same inputs and write docs/benchmarks.md with charts and JSON."""
    from rich.console import Console

    from benchmarks.systems import BENCH_DIR, REPO_ROOT, BenchmarkError

    console = Console(stderr=True)
    out = out or (BENCH_DIR / "results" / "quick" if quick else REPO_ROOT / "docs")
    try:
        _run(quick, out, offline_check, console)
    except (BenchmarkError, FileNotFoundError, ValueError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]")
        raise typer.Exit(130) from None


@app.command("report")
def report_command(
    out: Path = typer.Option(None, "--out", help="Folder holding benchmarks.md and benchmarks/results.json "
                                                  "(default: docs/)."),
) -> None:
    """Rewrite benchmarks.md and the charts from an existing results.json (no measuring)."""
    import json

    from rich.console import Console

    from benchmarks import report
    from benchmarks.systems import REPO_ROOT

    console = Console(stderr=True)
    out = out or REPO_ROOT / "docs"
    source = out / "benchmarks" / "results.json"
    try:
        data = json.loads(source.read_text())
        data["verdicts"] = report.verdicts(data)
        target = _write_page(data, out)
    except (OSError, ValueError, KeyError) as exc:
        console.print(f"[red]error:[/red] cannot rebuild the report from {source}: {exc!r}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"wrote {target} and its charts from {source}", highlight=False)


def _write_page(data: dict, out: Path) -> Path:
    """Charts, then the markdown page (atomically), for one results dict."""
    from benchmarks import charts, markdown

    paths = charts.write_charts(data, out / "benchmarks")
    page = markdown.render(data, {k: str(p.relative_to(out)) for k, p in paths.items()})
    target = out / "benchmarks.md"
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(page)
    tmp.replace(target)
    return target


def _run(quick: bool, out: Path, offline_check: bool, console) -> None:
    from benchmarks import report
    from benchmarks.inputs import FULL, QUICK, prepare
    from benchmarks.offline_check import check_all
    from benchmarks.runner import measure_all
    from benchmarks.systems import BENCH_DIR, BenchmarkError, default_systems, missing_model, model_fingerprint

    started, t0 = datetime.now(UTC), time.perf_counter()
    config = QUICK if quick else FULL

    def say(text: str) -> None:
        console.print(f"[dim]{time.perf_counter() - t0:6.0f}s[/dim] {text}", highlight=False)

    systems, skipped = [], {}
    for system in default_systems():
        reason = missing_model(system)
        if reason:
            skipped[system.name] = reason
            say(f"[yellow]skipping {system.name}: {reason}[/yellow]")
        else:
            systems.append(system)
    for system in systems:
        if system.venv is not None:
            with console.status(f"setting up the {system.venv.name} venv (first run: several minutes)..."):
                system.venv.ensure(BENCH_DIR / "logs" / f"setup_{system.venv.name}.log")
            say(f"{system.venv.name} venv ready at {system.venv.path}")

    fingerprints = {s.key: model_fingerprint(s) for s in systems}
    work = BENCH_DIR / "work" / config.name
    with console.status("building inputs (FER-2013 crops, meeting frames, detection photos)..."):
        inputs = prepare(config, work)
    frames = sum(len(clip) for clips in inputs.frames.values() for clip in clips)
    say(f"inputs: {len(inputs.crops)} crops, {frames} meeting frames, "
        f"{sum(len(d.images) for d in inputs.detection_sets)} detection images")

    with console.status("measuring (accuracy, detection, then speed face count by face count)..."):
        results = measure_all(systems, inputs, config, work, say)

    checks = []
    if offline_check:
        with console.status("checking other peers for run-time weight downloads..."):
            checks = check_all(BENCH_DIR / "peer_sources")
        say(f"offline check: {sum('can run offline' in c.verdict for c in checks)} of {len(checks)} peers can run offline")

    changed = [s.name for s in systems if model_fingerprint(s) != fingerprints[s.key]]
    if changed:  # a half-old, half-new run would report figures no model has
        raise BenchmarkError(f"the bundled model of {', '.join(changed)} changed during the run; run it again")

    command = "python -m benchmarks " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    data = report.build_results(results, inputs, config, checks, command.strip(), started, time.perf_counter() - t0)
    data["meta"]["skipped_systems"] = skipped
    for key, digest in fingerprints.items():
        if digest:
            data["meta"]["systems"][key]["model_sha256"] = digest
    report.write_json(data, out / "benchmarks" / "results.json")
    target = _write_page(data, out)
    for line in data["verdicts"]:
        say(line)
    say(f"wrote {target}, {out / 'benchmarks' / 'results.json'} and the charts")
