"""Small hostile files built in a test: image headers that lie about their size, float and odd-mode images."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid PNG header claiming ``width`` x ``height`` 8-bit gray pixels, with one tiny data chunk."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + _chunk(b"IEND", b""))
    return path


def jpeg_bomb(path: Path, width: int, height: int) -> Path:
    """A JPEG whose frame header (SOF0) claims ``width`` x ``height``; the scan data is a few bytes."""
    from PIL import Image

    Image.new("L", (8, 8)).save(path, "JPEG")
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def float_tiff(path: Path, bgr: np.ndarray, scale: float = 1.0, offset: float = 0.0) -> Path:
    """``bgr`` as a one-channel float32 TIFF holding ``gray / 255 * scale + offset`` (1.0 scale: 0..1 floats)."""
    import cv2
    from PIL import Image

    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0 * scale + offset
    Image.fromarray(gray.astype(np.float32), "F").save(path, "TIFF")
    return path
