"""Paste a model's output crop back into the original image.

Inverse-warp the crop, blend it through a soft mask (the face and hair from 68 landmarks,
or the crop's feathered rectangle as facexlib's ``paste_faces_to_input_image``), with its
tone matched to the image at the seam. Pure functions: nothing is kept between images.
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


def face_mask(
    image_hw: tuple[int, int], outline: np.ndarray, forehead: float = 0.7, feather: float = 0.1
) -> np.ndarray:
    """A soft face-and-hair mask from dlib's 68 landmarks.

    The jaw line (points 0-16) and the eyebrows (17-26) raised towards the top of the head
    by ``forehead`` times the chin-to-brow distance (forehead and hairline) span a convex
    polygon, which is blurred by ``feather`` times that distance.

    Args:
        image_hw: (H, W) of the image.
        outline: (68, 2) float landmarks (x, y) in pixels (iBUG 300-W order).

    Returns:
        (H, W) float32 in [0, 1].
    """
    pts = np.asarray(outline, np.float64)
    jaw, brows = pts[0:17], pts[17:27]
    up = brows.mean(0) - jaw[8]
    size = float(np.linalg.norm(up))
    if size < 1.0:
        return np.zeros(image_hw, np.float32)
    raised = brows + forehead * up
    hull = cv2.convexHull(np.concatenate([jaw, raised[::-1]]).astype(np.float32)).astype(np.int32)
    mask = np.zeros(image_hw, np.float32)
    cv2.fillConvexPoly(mask, hull, 1.0)
    sigma = max(1.0, feather * size)
    return cv2.GaussianBlur(mask, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)


def tone_offset(base: np.ndarray, pasted: np.ndarray, band: np.ndarray, size: float) -> np.ndarray:
    """The offset that brings ``pasted`` to ``base``'s tone along a seam, varying smoothly.

    The difference ``base - pasted`` is averaged over the ``band`` pixels near each point
    (a Gaussian of ``0.04 * size`` px, normalised by the band's own weight), so the local mean
    on both sides of the seam agrees; far from the band it goes over smoothly to the band's
    overall mean difference.

    Args:
        base, pasted: (H, W) or (H, W, 3) float32 images.
        band: (H, W) bool, the seam.
        size: the pasted region's size in px (the side of a square of its area).

    Returns:
        (H, W) or (H, W, 3) float32 offset to add to ``pasted``.
    """
    weight = band.astype(np.float32)
    diff = (base - pasted) * (weight if base.ndim == 2 else weight[..., None])
    sigma = max(2.0, 0.04 * size)
    num = cv2.GaussianBlur(diff, (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)
    overall = (base[band] - pasted[band]).mean(0)
    prior = 0.05  # the weight of the overall mean: where the band is far, it takes over smoothly
    den_c = den if base.ndim == 2 else den[..., None]
    return ((num + prior * overall) / (den_c + prior)).astype(np.float32)


def paste_back(
    image: np.ndarray,
    crop: np.ndarray,
    M: np.ndarray,
    feather: float = 0.08,
    outline: np.ndarray | None = None,
    match_tone: bool = True,
) -> np.ndarray:
    """Composite a processed crop into the image it was aligned from.

    The crop is inverse-warped; with ``outline`` (68 landmarks) it is blended through a soft
    face-and-hair mask (:func:`face_mask`), else through the crop's feathered rectangle
    (facexlib's ``paste_faces_to_input_image``). Before blending, with ``match_tone``, the
    crop's tone is matched to the image's along the seam band (where the mask is between
    0.05 and 0.6) by a smoothly varying offset (:func:`tone_offset`), so no step shows at
    the boundary.

    Args:
        image: (H, W, 3) uint8 RGB or (H, W) uint8 grayscale (a whole-photo drawing).
        crop: (h, w, 3) uint8 RGB or (h, w) uint8 grayscale (repeated to RGB for an RGB
            image), the model's output in the crop frame (resized to the aligned crop's size
            by the caller if it was produced at another size).
        M: (2, 3) image -> crop transform used to align.
        feather: soft border width of the rectangle as a fraction of the crop's shorter side.
        outline: (68, 2) landmarks of the face in the image, or None.
        match_tone: match the crop's tone to the image at the seam.

    Returns:
        The image with the crop blended in: same shape and dtype as ``image``.
    """
    H, W = image.shape[:2]
    h, w = crop.shape[:2]
    if crop.ndim == 2 and image.ndim == 3:
        crop = np.repeat(crop[:, :, None], 3, axis=2)
    M_inv = cv2.invertAffineTransform(np.asarray(M, np.float64))
    warped = cv2.warpAffine(crop, M_inv, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(feather_mask((w, h), feather), M_inv, (W, H), flags=cv2.INTER_LINEAR, borderValue=0)
    if outline is not None:
        mask = np.minimum(mask, face_mask((H, W), outline))
    base = image.astype(np.float32)
    warped_f = warped.astype(np.float32)
    band = (mask > 0.05) & (mask < 0.6)
    if match_tone and band.sum() >= 16:
        warped_f = warped_f + tone_offset(base, warped_f, band, float(np.sqrt((mask > 0.5).sum())))
    a = mask if image.ndim == 2 else mask[:, :, None]
    out = warped_f * a + base * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
