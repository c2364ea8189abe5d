"""File names and URLs handed to OpenCV.

OpenCV's Python binding crashes the whole process (segmentation fault) on a ``str`` holding
undecodable bytes, which is how Python spells a POSIX file name that is not valid UTF-8. Every
path or URL given to ``cv2.VideoCapture`` / ``cv2.VideoWriter`` goes through ``opencv_path``,
which refuses such a name with one clear error instead.
"""

from __future__ import annotations

from pathlib import Path

from classmood.errors import ClassmoodError


def opencv_path(path: str | Path) -> str:
    """``path`` as the string OpenCV takes; ``ClassmoodError`` when it is not valid UTF-8."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        from classmood.terminal import printable

        raise ClassmoodError(f"{printable(text)}: this path is not valid UTF-8, which OpenCV cannot open; "
                             "rename it") from None
    return text
