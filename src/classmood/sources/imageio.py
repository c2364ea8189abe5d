"""Robust still-image decoding: any bit depth or channel layout -> BGR uint8.

Pillow reads the header first, so a huge image is refused before it is decoded
and a truncated file is an error rather than a half-grey picture.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from classmood.errors import ClassmoodError

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".pgm", ".ppm", ".pbm"}
)
#: Largest picture decoded (8K UHD is 33 MP); bigger ones are refused, not downscaled silently.
MAX_PIXELS = 40_000_000


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode ``path`` to a BGR uint8 ``(H, W, 3)`` array, honouring EXIF rotation.

    Grayscale, RGBA, palette and 16-bit images are converted; raises
    ``ClassmoodError`` for missing, empty, truncated, non-image or oversized files.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ClassmoodError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ClassmoodError(f"{path}: file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise ClassmoodError(
                        f"{path}: image is {width}x{height} ({width * height / 1e6:.0f} MP), "
                        f"over the {max_pixels / 1e6:.0f} MP limit; downscale it first"
                    )
                img.load()
                img = ImageOps.exif_transpose(img)
                return _to_bgr(img)
    except ClassmoodError:
        raise
    except UnidentifiedImageError:
        raise ClassmoodError(f"{path}: not a readable image") from None
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data
        raise ClassmoodError(f"{path}: corrupt or truncated image ({exc})") from None


def _to_bgr(img) -> np.ndarray:
    """Pillow image of any mode -> contiguous BGR uint8."""
    if img.mode.startswith("I") or img.mode == "F":  # 16/32-bit integer or float gray
        arr = np.asarray(img).astype(np.float64)
        if img.mode.startswith("I;16") or (arr.max(initial=0) > 255 and arr.max() <= 65535):
            arr = arr / 257.0
        gray = np.clip(arr, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if img.mode == "P":  # palette, possibly with a transparent colour
        img = img.convert("RGBA")
    if img.mode not in ("RGB", "L"):  # RGBA, LA, CMYK, YCbCr...: drop alpha, keep colour
        img = img.convert("RGB")
    arr = np.asarray(img)
    if arr.ndim == 2:
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    return np.ascontiguousarray(arr[:, :, ::-1])
