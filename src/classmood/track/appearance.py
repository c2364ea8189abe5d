"""Appearance embeddings of face crops, for re-identifying students (no downloads).

An embedding is the concatenation of a HOG-style descriptor (histograms of gradient
orientations over a 4x4 grid of cells, Dalal & Triggs 2005) and a coarse, contrast-normalised
grayscale thumbnail of the face crop, L2-normalised so that the dot product of two
embeddings is their cosine similarity. It is only kept in memory (see docs/monitoring.md).
"""

from __future__ import annotations

import cv2
import numpy as np

CROP_SIZE = 32
THUMB_SIZE = 6
THUMB_WEIGHT = 0.5  # chosen on augmented FER-2013 faces: best gap between same and other faces
CELLS = 4
ORIENTATIONS = 8
EMBEDDING_DIM = CELLS * CELLS * ORIENTATIONS + THUMB_SIZE * THUMB_SIZE


def _gradient_histograms(face: np.ndarray) -> np.ndarray:
    """Magnitude-weighted orientation histograms per cell (unsigned gradients), block-normalised."""
    img = face.astype(np.float32)
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.hypot(gx, gy)
    orientation = (np.arctan2(gy, gx) % np.pi) / np.pi * ORIENTATIONS
    bins = np.minimum(orientation.astype(np.int64), ORIENTATIONS - 1)
    cell = CROP_SIZE // CELLS
    cell_index = (np.arange(CROP_SIZE) // cell)
    flat = (cell_index[:, None] * CELLS + cell_index[None, :]) * ORIENTATIONS + bins
    hist = np.bincount(flat.ravel(), weights=magnitude.ravel(), minlength=CELLS * CELLS * ORIENTATIONS)
    hist = np.sqrt(hist)  # Hellinger-style compression, robust to lighting
    hist = hist - hist.mean()  # centred, so unrelated faces score near 0 rather than near 1
    return (hist / (np.linalg.norm(hist) + 1e-6)).astype(np.float32)


def crop_embedding(gray_crop: np.ndarray) -> np.ndarray:
    """Embed one grayscale face crop (any size) as a unit-length float32 vector."""
    if gray_crop.size == 0:
        return np.zeros(EMBEDDING_DIM, np.float32)
    face = cv2.resize(gray_crop, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_AREA)
    face = cv2.equalizeHist(face)
    hog = _gradient_histograms(face)
    thumb = cv2.resize(face, (THUMB_SIZE, THUMB_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    thumb = (thumb - thumb.mean()).reshape(-1)
    thumb = THUMB_WEIGHT * thumb / (np.linalg.norm(thumb) + 1e-6)
    vector = np.concatenate([hog, thumb]).astype(np.float32)
    return vector / (np.linalg.norm(vector) + 1e-6)


def embed_crops(crops: np.ndarray) -> np.ndarray:
    """Embeddings ``(N, EMBEDDING_DIM)`` of gray face crops ``(N, S, S)`` (the classifier's crops)."""
    out = np.zeros((len(crops), EMBEDDING_DIM), np.float32)
    for i, crop in enumerate(crops):
        out[i] = crop_embedding(crop)
    return out


def embed_faces(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Embeddings for the ``(x, y, w, h)`` boxes of one BGR or gray frame, cut as the classifier cuts
    them (for faces that come without the classifier's crops)."""
    from classmood.classify.crop import crop_faces

    return embed_crops(crop_faces(image, np.asarray(boxes, np.float64).reshape(-1, 4), CROP_SIZE))
