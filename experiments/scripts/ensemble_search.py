#!/usr/bin/env python3
"""Search ensembles of trained runs on publictest: every subset of 2..K members, mean probabilities.

Reads ``EVALS/<run>.npy`` (flip-TTA probabilities, from ``unpack_campaign.py``) and
``EVALS/_labels.npy``; prints the best subsets per size and their cost in GFLOPs per face.
Subsets are chosen on publictest itself, so their figures carry selection optimism.

    python experiments/scripts/ensemble_search.py --evals .gpu/evals --max-members 5 --json .gpu/ensembles.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--evals", type=Path, required=True)
    ap.add_argument("--runs", nargs="*", help="candidate runs (default: every <run>.npy)")
    ap.add_argument("--max-members", type=int, default=5)
    ap.add_argument("--top", type=int, default=3, help="subsets shown per size")
    ap.add_argument("--json", type=Path, help="write the best subset of each size here")
    args = ap.parse_args()
    labels = np.load(args.evals / "_labels.npy")
    names = args.runs or sorted(p.stem for p in args.evals.glob("*.npy") if not p.stem.startswith("_"))
    probs = {n: np.load(args.evals / f"{n}.npy").astype(np.float32) for n in names}
    probs = {n: p for n, p in probs.items() if p.shape == (len(labels), 7)}
    print(f"{len(probs)} candidates on {len(labels)} faces")
    for n in sorted(probs, key=lambda n: -float((probs[n].argmax(1) == labels).mean())):
        print(f"  {n:<22} {(probs[n].argmax(1) == labels).mean():.2%}")
    best = []
    for k in range(2, args.max_members + 1):
        scored = sorted(((float((sum(probs[n] for n in combo).argmax(1) == labels).mean()), combo)
                         for combo in itertools.combinations(sorted(probs), k)), reverse=True)[:args.top]
        for acc, combo in scored:
            print(f"{k} members {acc:.2%}  {' + '.join(combo)}")
        best.append({"members": list(scored[0][1]), "accuracy": round(scored[0][0], 4)})
    if args.json:
        args.json.write_text(json.dumps(best, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
