"""Licensed face media shipped with classmood: real portraits, the sample class video, a gallery composer.

Every file here is public domain or CC0; ``LICENSES.md`` names the source of each.
"""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent

#: The demo video of a meeting gallery (see ``LICENSES.md``); its face truth is in ``SAMPLE_TRUTH``.
SAMPLE_VIDEO = ASSETS_DIR / "sample_class.mp4"
SAMPLE_TRUTH = ASSETS_DIR / "sample_class.truth.json"
