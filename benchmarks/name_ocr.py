"""Reading students' names under their meeting tiles: RapidOCR against Tesseract, on rendered tiles.

Tiles of real, licensed portraits (classmood.assets) at the sizes of 5x5 and 7x7 galleries in a
1920x1080 and a 1280x720 meeting window, each with a name label drawn as meeting apps draw them
(``classmood.assets.labels``: dark translucent box, white text with a shadow, pill, light theme)
in real TrueType fonts (DejaVu Sans, Liberation Sans, bold, condensed, narrow). Names: plain Latin,
accented Latin, and non-Latin scripts (Cyrillic, Greek). Both engines read the same label
strip, cut as the product cuts it (``track.names``: the line of text, binarised), from

* the tile's bottom band (``tile``: what a reader that knows the gallery's tiles gets), and
* the strip under the detected face (``face``: what classmood's reader gets today, from the face box).

A name counts as right only when read exactly (spaces normalised); ``wrong`` is any other text,
``empty`` no text (a label that cannot be read must stay empty, never garbage). ``accepted`` is what
the product keeps: the same text from the first two reads (which the engine may take differently). Writes the JSON and
the results section of docs/names.md.

    python benchmarks/name_ocr.py [--per-style 12] [--json docs/benchmarks/name_ocr.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from classmood.assets.gallery import gallery_layout, render_tile, varied_participants
from classmood.assets.labels import STYLES, draw_label, label_fonts
from classmood.track.names import (
    ENGINES, NameReader, label_region, rapidocr_available, tesseract_available, tile_label_strip,
)

ROOT = Path(__file__).resolve().parents[1]
NAMES = {
    "latin": ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Donald Knuth", "Hedy Lamarr", "Ken Thompson",
              "Barbara Liskov", "Tim Berners-Lee", "Radia Perlman", "Leslie Lamport", "Shafi Goldwasser",
              "Mary O'Connor", "Fei-Fei Li", "Judea Pearl", "Yann LeCun", "Daphne Koller"],
    "accented": ["José Núñez", "Zoë Åberg", "Łukasz Żak", "Chloé Lefèvre", "Jürgen Müller", "Ines Ibáñez",
                 "Søren Kierkegård", "Çağla Yıldız", "Ana María Pérez", "François Dupré", "Dvořák Jiří",
                 "Björk Guðmundsdóttir"],
    "non-latin": ["Дмитрий Петров", "Ελένη Παππά", "Анна Смирнова", "Γιώργος Νικολάου", "Ольга Иванова",
                  "Σοφία Δημητρίου"],  # scripts the label fonts have glyphs for (no CJK font here)
}
#: (window, grid): the tile sizes of a meeting window's gallery
WINDOWS = [((1920, 1080), 5), ((1920, 1080), 7), ((1280, 720), 5), ((1280, 720), 7)]
RESULTS_MARK = "<!-- name-ocr-results -->"


@dataclass
class Case:
    tile: np.ndarray
    face_box: tuple[int, int, int, int]
    name: str
    script: str
    style: str
    font: str
    window: str


def cases(per_style: int, seed: int = 0) -> list[Case]:
    """Rendered labelled tiles: every style gets ``per_style`` names from each script, in rotating
    windows and fonts."""
    rng = np.random.default_rng(seed)
    fonts = label_fonts()
    people = varied_participants(64, seed=seed)
    out = []
    k = 0
    for style in STYLES:
        for script, names in NAMES.items():
            for name in rng.choice(names, size=min(per_style, len(names)), replace=False):
                (width, height), grid = WINDOWS[k % len(WINDOWS)]
                _, _, tile_w, tile_h = gallery_layout(grid * grid, width, height)[0]
                picture, box = render_tile(people[k % len(people)], tile_w, tile_h, t=float(k))
                font = fonts[k % len(fonts)]
                draw_label(picture, (0, 0, tile_w, tile_h), str(name), style=style, font=font)
                if box is not None:
                    out.append(Case(picture, box, str(name), script, style, font.stem, f"{width}x{height} {grid}x{grid}"))
                k += 1
    return out


def measure(engine: str, items: list[Case], strip: str) -> dict:
    reader = NameReader(ENGINES[engine]())
    rows, seconds = [], []
    for case in tqdm(items, desc=f"{engine} ({strip})", leave=False, disable=None):
        height, width = case.tile.shape[:2]
        region, span = (tile_label_strip(case.tile, (0, 0, width, height)), None) if strip == "tile" else \
            label_region(case.tile, case.face_box)
        t0 = time.perf_counter()
        text = reader.read_region(region, span)
        seconds.append(time.perf_counter() - t0)
        again = reader.read_region(region, span, attempt=1)  # the second look a name needs to be accepted
        truth = " ".join(case.name.split())
        accepted = text if text is not None and text == again else None
        rows.append({"name": case.name, "read": text, "script": case.script, "style": case.style, "font": case.font,
                     "window": case.window, "right": text == truth, "accepted": accepted,
                     "accepted_right": accepted == truth, "accepted_wrong": accepted is not None and accepted != truth})

    def share(selected: list[dict], what: str) -> float:
        if not selected:
            return 0.0
        test = {"right": lambda r: r["right"], "wrong": lambda r: r["read"] is not None and not r["right"],
                "empty": lambda r: r["read"] is None}[what]
        return round(sum(map(test, selected)) / len(selected), 4)

    by = {key: {value: {what: share([r for r in rows if r[key] == value], what) for what in ("right", "wrong", "empty")}
                for value in sorted({r[key] for r in rows})} for key in ("script", "style", "window")}
    return {"engine": engine, "strip": strip, "labels": len(rows),
            **{what: share(rows, what) for what in ("right", "wrong", "empty")},
            **{what: round(sum(r[what] for r in rows) / len(rows), 4) for what in ("accepted_right", "accepted_wrong")},
            "ms_per_read_median": round(1000 * statistics.median(seconds), 1),
            "ms_per_read_p95": round(1000 * float(np.percentile(seconds, 95)), 1), "by": by,
            "mistakes": [r for r in rows if not r["right"]][:40]}


def markdown(report: dict) -> str:
    lines = [RESULTS_MARK, "",
             f"Measured {report['date']} on {report['machine']} with `python benchmarks/name_ocr.py"
             f" --per-style {report['per_style']}` ({report['labels']} labels; JSON: `docs/benchmarks/name_ocr.json`).", "",
             "| engine | label strip from | one read: right | wrong | empty | accepted (two equal reads): right | "
             "wrong | ms per read (median / p95) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        lines.append(f"| {r['engine']} | {r['strip']} | {r['right']:.1%} | {r['wrong']:.1%} | {r['empty']:.1%} | "
                     f"{r['accepted_right']:.1%} | {r['accepted_wrong']:.1%} | "
                     f"{r['ms_per_read_median']} / {r['ms_per_read_p95']} |")
    lines += ["", "Right names by script and by label style (label strip from the tile):", "",
              "| engine | " + " | ".join([*NAMES, *STYLES]) + " |", "|---|" + "---|" * (len(NAMES) + len(STYLES))]
    for r in report["results"]:
        if r["strip"] == "tile":
            cells = [f"{r['by']['script'][s]['right']:.0%}" for s in NAMES] + \
                    [f"{r['by']['style'][s]['right']:.0%}" for s in STYLES]
            lines.append(f"| {r['engine']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-style", type=int, default=12, help="names per script and label style")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "benchmarks" / "name_ocr.json")
    parser.add_argument("--page", type=Path, default=ROOT / "docs" / "names.md")
    args = parser.parse_args()
    engines = [name for name, ok in (("rapidocr", rapidocr_available()), ("tesseract", tesseract_available())) if ok]
    if not engines:
        raise SystemExit("neither rapidocr nor tesseract is installed: pip install -e '.[ocr]'")
    items = cases(args.per_style)
    results = [measure(engine, items, strip) for engine in engines for strip in ("tile", "face")]
    report = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
              "per_style": args.per_style, "labels": len(items), "results": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    if args.page.exists() and RESULTS_MARK in args.page.read_text():
        head = args.page.read_text().split(RESULTS_MARK)[0]
        args.page.write_text(head + markdown(report))
    for r in results:
        print(f"{r['engine']:>9} {r['strip']:>4}: right {r['right']:.1%}, wrong {r['wrong']:.1%}, "
              f"empty {r['empty']:.1%}; accepted right {r['accepted_right']:.1%}, wrong {r['accepted_wrong']:.1%}; "
              f"{r['ms_per_read_median']} ms/read")


if __name__ == "__main__":
    main()
