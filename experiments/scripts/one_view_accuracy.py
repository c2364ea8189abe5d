#!/usr/bin/env python3
"""Publictest accuracy of a model's one-view twin: the faces as they are, mirrored, and the two averaged.

What a stream's first frame of a face gets (one view) against what every later frame of a still face
gets (both views over two frames, ``classify/mirror_over_time.py``), next to the model itself:

    python experiments/scripts/one_view_accuracy.py [--model realtime] [--data ../shared/datasets/fer2013/publictest]

Reported, not chosen by: nothing is selected on these figures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from classmood.classify import EmotionClassifier
from classmood.classify.onnx_classifier import cpu_session
from classmood.emotions import EMOTIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="realtime")
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/fer2013/publictest"))
    args = parser.parse_args()
    classifier = EmotionClassifier(args.model)
    twin = cpu_session(classifier.info.one_view_path)
    faces, labels = [], []
    for label, emotion in enumerate(EMOTIONS):
        for path in sorted((args.data / emotion).glob("*.jpg")):
            faces.append(cv2.resize(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), (classifier.size, classifier.size)))
            labels.append(label)
    faces, labels = np.stack(faces), np.array(labels)
    batches = range(0, len(faces), 256)
    model = np.concatenate([classifier.predict_crops(faces[i:i + 256]) for i in batches])
    plain = np.concatenate([classifier._infer(twin, faces[i:i + 256]) for i in batches])
    mirrored = np.concatenate([classifier._infer(twin, np.ascontiguousarray(faces[i:i + 256, :, ::-1])) for i in batches])
    for name, probs in (("model", model), ("one view", plain), ("mirrored", mirrored),
                        ("both views averaged", (plain + mirrored) / 2)):
        print(f"{name:>20}: {100 * float((probs.argmax(1) == labels).mean()):.2f}% of {len(labels)} faces")


if __name__ == "__main__":
    main()
