"""The label-reader study's model on rendered tiles of real names it never saw (Latin, accented,
Cyrillic, Greek) in every label style, in the label fonts (trained on) and three unseen fonts.

    python experiments/label_reader/check.py
"""

from __future__ import annotations

import numpy as np
from lines import UNSEEN_FONT_FILES, render_line
from reader import LabelReaderEngine

from classmood.assets.labels import FONT_FILES, STYLES, label_fonts
from classmood.track.names import NameReader

NAMES = ["Ada Lovelace", "Grace Hopper", "José Núñez", "Zoë Åberg", "Łukasz Żak", "Søren Kierkegård",
         "Дмитрий Петров", "Анна Смирнова", "Ελένη Παππά", "Γιώργος Νικολάου", "Ольга Иванова", "Íñigo Ibáñez"]


def main() -> None:
    for label, fonts in (("label fonts", FONT_FILES), ("unseen fonts", UNSEEN_FONT_FILES)):
        rng = np.random.default_rng(11)
        for threshold in (0.0, 0.3, 0.6):
            reader = NameReader(LabelReaderEngine(), min_confidence=threshold)
            reads = [(name, reader.read_region(render_line(rng, label_fonts(fonts), text=name, style=style).line))
                     for style in STYLES for name in NAMES]
            right = sum(read == name for name, read in reads)
            wrong = sum(read is not None and read != name for name, read in reads)
            print(f"{label}, min confidence {threshold}: right {right}/{len(reads)}, wrong {wrong}")


if __name__ == "__main__":
    main()
