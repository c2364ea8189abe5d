"""Licensed face media shipped with classmood (real portraits, the sample class video) and the
generator of rendered meeting windows built from them.

``meeting`` (``Meeting``, ``class_of``) renders a class in a Zoom, Meet, Teams, Webex or Jitsi window
(``apps``, ``window``) following a script (``timeline``) and writes the video with its truth
(``truth``); ``gallery`` draws the webcam tiles, ``labels`` the names, ``portraits`` loads the faces.
``scripts/render_meeting.py`` is its command line. ``LICENSES.md`` names the source and licence of
every file here.
"""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent

#: The demo video of a meeting gallery (see ``LICENSES.md``); its face truth is in ``SAMPLE_TRUTH``.
SAMPLE_VIDEO = ASSETS_DIR / "sample_class.mp4"
SAMPLE_TRUTH = ASSETS_DIR / "sample_class.truth.json"

#: A real webcam recording of one talking face (160x120, 15 fps, 4.5 s); face boxes in ``WEBCAM_TRUTH``.
WEBCAM_CLIP = ASSETS_DIR / "webcam_clip.mp4"
WEBCAM_TRUTH = ASSETS_DIR / "webcam_clip.truth.json"
