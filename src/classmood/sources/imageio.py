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

    Grayscale, RGBA, palette, CMYK, 16-bit and float images are converted; raises
    ``ClassmoodError`` for missing, empty, truncated, non-image or oversized files.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():  # missing, or a folder, pipe or device that would block or never end
        raise ClassmoodError(f"{path}: " + ("not a regular file" if path.exists() else "no such file"))
    if path.stat().st_size == 0:
        raise ClassmoodError(f"{path}: file is empty (0 bytes)")
    limit = f"over the {max_pixels / 1e6:.0f} MP limit; downscale it first"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise ClassmoodError(f"{path}: image is {width}x{height} ({width * height / 1e6:.0f} MP), {limit}")
                img.load()
                img = ImageOps.exif_transpose(img)
                return _to_bgr(img, path)
    except ClassmoodError:
        raise
    except Image.DecompressionBombError:  # Pillow refuses headers over ~179 MP before we see the size
        claimed = f"its header claims over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} MP"
        raise ClassmoodError(f"{path}: {claimed}, {limit}") from None
    except UnidentifiedImageError:
        raise ClassmoodError(f"{path}: not a readable image") from None
    except PermissionError:
        raise ClassmoodError(f"{path}: permission denied (this user may not read it)") from None
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data
        raise ClassmoodError(f"{path}: corrupt or truncated image ({exc})") from None


def _to_bgr(img, path: Path) -> np.ndarray:
    """Pillow image of any mode -> contiguous BGR uint8 (``path`` names the file in errors)."""
    if img.mode.startswith("I") or img.mode == "F":  # 16/32-bit integer or float gray
        gray = gray_to_uint8(np.asarray(img), sixteen_bit=img.mode.startswith("I;16"))
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    try:
        if img.mode == "P":  # palette, possibly with a transparent colour
            img = img.convert("RGBA")
        if img.mode not in ("RGB", "L"):  # RGBA, LA, CMYK, YCbCr...: drop alpha, keep colour
            img = img.convert("RGB")
    except ValueError:  # a mode Pillow cannot convert
        raise ClassmoodError(f"{path}: {img.mode} images cannot be converted to colour") from None
    arr = np.asarray(img)
    if arr.ndim == 2:
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    return np.ascontiguousarray(arr[:, :, ::-1])


def gray_to_uint8(arr: np.ndarray, sixteen_bit: bool = False) -> np.ndarray:
    """Scale a gray image of any numeric range to uint8.

    16-bit data is divided by 257; floats in 0..1 are multiplied by 255; integers in
    0..255 stay, in 256..65535 are 16-bit; anything else (HDR or signed floats, wide
    32-bit integers) is stretched from its own min..max. NaN and infinities become black.
    """
    is_float = np.issubdtype(arr.dtype, np.floating)
    arr = arr.astype(np.float64)
    finite = np.isfinite(arr)
    arr = np.where(finite, arr, 0.0)
    low, high = (float(arr[finite].min()), float(arr[finite].max())) if finite.any() else (0.0, 0.0)
    if is_float and low >= 0 and high <= 1.0:
        arr = arr * 255.0
    elif sixteen_bit or (not is_float and low >= 0 and 255 < high <= 65535):
        arr = arr / 257.0
    elif low < 0 or high > 255:
        arr = (arr - low) * (255.0 / (high - low)) if high > low else np.zeros_like(arr)
    return np.clip(np.round(arr), 0, 255).astype(np.uint8)
