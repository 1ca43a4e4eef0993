"""Backdrop replacement: teach the sketch model that a photo's background is blank paper.

Every CUFS training photo is a studio portrait in front of a plain blue backdrop, and the
artists leave the backdrop as white paper. A network trained on them alone learns "blue
backdrop -> white", not "background -> white": on everyday photos (dark rooms, foliage,
street scenes) it draws the background as a dark photograph, and its sketches are far from
the artists' in tone (measured on 150 FS2K test photos: mean gray 153 against the artists'
202; 30% of pixels near white against 61%). Replacing the backdrop of the training photo by
another picture while keeping the artist's white paper as the target (a cut-and-paste
augmentation, as in Dwibedi et al., ICCV 2017) is meant to make the background's content
irrelevant to the drawing. Measured (docs/experiments/log.md, 2026-12-07): 8 epochs of
fine-tuning sketch-v5 with half the pairs re-backed did not lighten the real photos'
backgrounds (KID 0.095 against v5's 0.090); the option stays off in the shipped recipe.

:func:`backdrop_mask` finds the backdrop (the colour of the photo's top and upper sides,
connected to the border); :func:`replace_backdrop` composites a new background behind the
person with a feathered edge.
"""

from __future__ import annotations

import cv2
import numpy as np

#: CIELAB distance (OpenCV's 8-bit Lab, L scaled to 0..255) within which a pixel counts as backdrop.
BACKDROP_DISTANCE = 20.0


def backdrop_mask(
    photo: np.ndarray, distance: float = BACKDROP_DISTANCE, grow: int = 1, feather: float = 2.0
) -> np.ndarray:
    """The studio backdrop of a portrait: (H, W) float32 in [0, 1], 1 on the backdrop.

    The backdrop colour is the median CIELAB colour of the top rows and the upper two thirds
    of the side columns (the lower corners often hold clothes); backdrop pixels are those
    within ``distance`` of it that are connected to the image border through such pixels (so
    a blue shirt or an eye's highlight in the middle is not backdrop). The edge is feathered
    by a Gaussian of ``feather`` pixels.

    Args:
        photo: (H, W, 3) uint8 RGB.
        distance: the colour distance threshold (OpenCV 8-bit Lab units).
        grow: dilation in pixels (a 3x3 cross, ``grow`` times).
        feather: sigma of the edge blur in pixels (0: a hard mask).
    """
    h, w = photo.shape[:2]
    lab = cv2.cvtColor(np.ascontiguousarray(photo), cv2.COLOR_RGB2LAB).astype(np.float32)
    band = max(2, h // 50)
    upper = (2 * h) // 3
    border = np.concatenate(
        [lab[:band].reshape(-1, 3), lab[:upper, :band].reshape(-1, 3), lab[:upper, -band:].reshape(-1, 3)]
    )
    near = (np.linalg.norm(lab - np.median(border, axis=0), axis=2) < distance).astype(np.uint8)
    _, labels = cv2.connectedComponents(near, connectivity=4)
    edge = np.concatenate([labels[0], labels[:upper, 0], labels[:upper, -1]])
    keep = np.unique(edge)  # label 0 is every pixel that is not near the colour
    mask = np.isin(labels, keep[keep > 0]).astype(np.uint8)
    if grow > 0:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)), iterations=grow)
    mask = mask.astype(np.float32)
    if feather > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), feather)
    return mask


def replace_backdrop(photo: np.ndarray, mask: np.ndarray, background: np.ndarray) -> np.ndarray:
    """``photo`` with ``background`` where ``mask`` is 1: ``mask * background + (1 - mask) * photo``.

    Args:
        photo, background: (H, W, 3) uint8 RGB of the same size.
        mask: (H, W) float in [0, 1] (:func:`backdrop_mask`).

    Returns:
        (H, W, 3) uint8 RGB.
    """
    m = mask[..., None]
    return np.clip(m * background.astype(np.float32) + (1 - m) * photo.astype(np.float32) + 0.5, 0, 255).astype(
        np.uint8
    )


def random_background(sources: list[np.ndarray], size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A background picture of ``size`` (W, H): a random window (a quarter to the whole, flipped
    at random) of one of ``sources`` ((H, W, 3) uint8 RGB photos), resized bilinearly."""
    src = sources[int(rng.integers(len(sources)))]
    sh, sw = src.shape[:2]
    frac = rng.uniform(0.5, 1.0)
    ch, cw = max(8, int(sh * frac)), max(8, int(sw * frac))
    y, x = int(rng.integers(0, sh - ch + 1)), int(rng.integers(0, sw - cw + 1))
    window = src[y : y + ch, x : x + cw]
    if rng.random() < 0.5:
        window = window[:, ::-1]
    return cv2.resize(np.ascontiguousarray(window), size, interpolation=cv2.INTER_LINEAR)
