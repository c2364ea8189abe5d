"""Fixtures of the training tests: a tiny FER-2013 image folder (symlinks into ../shared, nothing copied)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.paths import FER


@pytest.fixture(scope="module")
def tiny_fer(tmp_path_factory) -> Path:
    """20 train faces per class as an image folder (symlinks into ../shared, nothing copied)."""
    root = tmp_path_factory.mktemp("fer_tiny")
    for split, per_class in (("train", 20), ("publictest", 8)):
        for cls_dir in sorted((FER / split).iterdir()):
            dest = root / split / cls_dir.name
            dest.mkdir(parents=True)
            for src in sorted(cls_dir.iterdir())[:per_class]:
                (dest / src.name).symlink_to(src)
    return root
