"""Compare two ``classmood analyze VIDEO --json`` results (inside and outside the container).

Same frames, the same number of faces in each, and each face matched to the nearest one in the
other run: box corners within ``--box-px`` pixels, probabilities within ``--prob``, and the same
emotion unless the top two are closer than ``--prob`` (a tie that rounding may break either way).
Prints one summary line; exit 1 with one ``error:`` line on the first difference.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Tolerance:
    box_px: float
    prob: float


@dataclass
class Agreement:
    """How far the two runs are apart so far."""

    frames: int = 0
    faces: int = 0
    box_px: float = 0.0
    prob: float = 0.0


def face_difference(a: dict, b: dict, tol: Tolerance, seen: Agreement) -> str | None:
    """Why faces ``a`` and ``b`` differ beyond ``tol``, or None (``seen`` keeps the largest gaps)."""
    box = max(abs(x - y) for x, y in zip(a["box"], b["box"]))
    prob = max(abs(a["probabilities"][k] - b["probabilities"][k]) for k in a["probabilities"])
    seen.box_px, seen.prob = max(seen.box_px, box), max(seen.prob, prob)
    if box > tol.box_px:
        return f"boxes {a['box']} and {b['box']} differ by {box} px"
    if prob > tol.prob:
        return f"probabilities differ by {prob:.4f}"
    if a["emotion"] != b["emotion"]:
        top = sorted(a["probabilities"].values(), reverse=True)
        if top[0] - top[1] > tol.prob:
            return f"emotion {a['emotion']} vs {b['emotion']}"
    return None


def compare(outside: dict, inside: dict, tol: Tolerance) -> tuple[str | None, Agreement]:
    """The first difference (or None) and how far apart the runs were up to it."""
    seen = Agreement()
    frames_a, frames_b = outside["results"], inside["results"]
    if len(frames_a) != len(frames_b):
        return f"{len(frames_a)} frames outside, {len(frames_b)} inside", seen
    for fa, fb in zip(frames_a, frames_b):
        if len(fa["faces"]) != len(fb["faces"]):
            return f"frame {fa['index']}: {len(fa['faces'])} faces outside, {len(fb['faces'])} inside", seen
        for face in fa["faces"]:
            nearest = min(fb["faces"], key=lambda g: sum(abs(x - y) for x, y in zip(face["box"], g["box"])))
            why = face_difference(face, nearest, tol, seen)
            if why:
                return f"frame {fa['index']}: {why}", seen
            seen.faces += 1
        seen.frames += 1
    return None, seen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outside", type=Path)
    ap.add_argument("inside", type=Path)
    ap.add_argument("--box-px", type=float, default=2.0)
    ap.add_argument("--prob", type=float, default=0.02)
    args = ap.parse_args(argv)
    try:
        runs = [json.loads(p.read_text()) for p in (args.outside, args.inside)]
    except (OSError, ValueError) as exc:
        print(f"error: cannot read an analysis: {exc}", file=sys.stderr)
        return 1
    why, seen = compare(*runs, Tolerance(args.box_px, args.prob))
    if why:
        print(f"error: the container's analysis differs from the one outside: {why}", file=sys.stderr)
        return 1
    if not seen.faces:  # two empty runs agree, but prove nothing
        print("error: neither run found a face to compare", file=sys.stderr)
        return 1
    print(f"same analysis inside and outside: {seen.frames} frames, {seen.faces} faces, boxes at most "
          f"{seen.box_px:g} px apart (allowed {args.box_px:g}), probabilities at most {seen.prob:.4f} (allowed {args.prob:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
