"""Paired data augmentation: the same geometric jitter for a photo and its target drawing."""

from __future__ import annotations

import cv2
import numpy as np


def paired_jitter(
    photo: np.ndarray, target: np.ndarray, rng: np.random.Generator, shift: float, scale: float, color: float
) -> tuple[np.ndarray, np.ndarray]:
    """Random flip, small similarity jitter (same for both) and photo color jitter.

    Args:
        photo: (H, W, 3) uint8 RGB.
        target: (H, W) or (H, W, C) uint8, the drawing (or any image) aligned with the photo.
        rng: the random generator (draws in a fixed order, so runs are reproducible).
        shift: max shift, a fraction of each side.
        scale: max relative zoom.
        color: max relative brightness / contrast / saturation change (0: none).

    Returns:
        The augmented pair, same shapes and dtypes.
    """
    sketch = target
    h, w = sketch.shape[:2]
    if rng.random() < 0.5:
        photo, sketch = photo[:, ::-1], sketch[:, ::-1]
    s = 1.0 + rng.uniform(-scale, scale)
    tx, ty = rng.uniform(-shift, shift, 2) * (w, h)
    M = np.array([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]])
    photo = cv2.warpAffine(
        np.ascontiguousarray(photo), M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    sketch = cv2.warpAffine(
        np.ascontiguousarray(sketch), M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    if color > 0:
        a = color
        x = photo.astype(np.float32)
        gray = x.mean(axis=2, keepdims=True)
        x = gray + (x - gray) * (1 + rng.uniform(-a, a))  # saturation
        x = (x - x.mean()) * (1 + rng.uniform(-a, a)) + x.mean()  # contrast
        x = x + 255 * rng.uniform(-a, a) / 2  # brightness
        photo = np.clip(x, 0, 255).astype(np.uint8)
    return photo, sketch


def random_crop(
    photo: np.ndarray, target: np.ndarray, side: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The same random ``side`` x ``side`` window of a photo and its target; both unchanged when ``side`` is 0."""
    if side <= 0:
        return photo, target
    h, w = photo.shape[:2]
    top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    return photo[top : top + side, left : left + side], target[top : top + side, left : left + side]
