"""Paste a model's output crop back into the original image with a feathered mask.

As facexlib's ``paste_faces_to_input_image``: inverse-warp the crop and a soft mask of the
crop's area, then alpha-blend. Pure functions: nothing is kept between images.
"""

from __future__ import annotations

import cv2
import numpy as np


def feather_mask(size: tuple[int, int], feather: float = 0.08) -> np.ndarray:
    """A soft rectangular mask for a crop.

    Args:
        size: (width, height) of the crop in pixels.
        feather: width of the soft border as a fraction of the shorter side.

    Returns:
        (height, width) float32 in [0, 1]: 1 inside, falling to 0 at the border.
    """
    w, h = size
    f = max(1, int(round(feather * min(w, h))))
    mask = np.zeros((h, w), np.float32)
    mask[f : h - f, f : w - f] = 1.0
    k = 2 * f + 1
    return cv2.GaussianBlur(mask, (k, k), f / 2.0, borderType=cv2.BORDER_CONSTANT)


def paste_back(image: np.ndarray, crop: np.ndarray, M: np.ndarray, feather: float = 0.08) -> np.ndarray:
    """Composite a processed crop into the image it was aligned from.

    Args:
        image: (H, W, 3) uint8 RGB, the original.
        crop: (h, w, 3) uint8 RGB or (h, w) uint8 grayscale (repeated to RGB), the model's
            output in the crop frame (resized to the aligned crop's size by the caller if it
            was produced at another size).
        M: (2, 3) image -> crop transform used to align.
        feather: soft border width as a fraction of the crop's shorter side.

    Returns:
        (H, W, 3) uint8 RGB, the image with the crop blended in.
    """
    H, W = image.shape[:2]
    h, w = crop.shape[:2]
    if crop.ndim == 2:
        crop = np.repeat(crop[:, :, None], 3, axis=2)
    M_inv = cv2.invertAffineTransform(np.asarray(M, np.float64))
    warped = cv2.warpAffine(crop, M_inv, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(feather_mask((w, h), feather), M_inv, (W, H), flags=cv2.INTER_LINEAR, borderValue=0)
    a = mask[:, :, None]
    out = warped.astype(np.float32) * a + image.astype(np.float32) * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
