"""``python -m classmood.train CONFIG [key=value ...]``: train without the ``classmood`` CLI.

Values are parsed as YAML (``epochs=3``, ``teachers=[a.pt,b.pt]``). Used by the GPU
campaign script, where only torch is installed.
"""

from __future__ import annotations

import sys

import yaml

from classmood.train.config import TrainConfig
from classmood.train.trainer import train


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip())
        return 2
    overrides = {}
    for item in argv[1:]:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    result = train(TrainConfig.from_file(argv[0], **overrides))
    print(f"[{result.out_dir}] best publictest accuracy (flip TTA) {result.best_val_acc:.4f} "
          f"after {result.epochs} epochs, {result.seconds:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
