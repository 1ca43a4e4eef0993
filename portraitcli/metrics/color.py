"""Skin colour error of a recovered face: CIE76 delta E between mean CIELAB skin colours.

A destylized face can have the person's shape and the wrong skin tone (a dark-skinned person
coming back light-skinned); PSNR mixes that with everything else. This measure looks only at
skin: three discs of an aligned face's template (both cheeks and the nose bridge, between the
eyes and the nose tip, where neither hair nor glasses nor the mouth usually are), their pixels'
mean colour in CIELAB (D65, scikit-image's ``rgb2lab``), and the Euclidean distance of the
two means (CIE 1976 delta E*ab; about 2.3 is a just-noticeable difference, Sharma 2003).
"""

from __future__ import annotations

import numpy as np

#: Disc radius as a fraction of the outer eye-corner distance.
SKIN_RADIUS = 0.12


def skin_mask(kps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The skin discs of an aligned face: both cheeks and the nose bridge.

    Centres at half height between the eye corners and the nose tip: horizontally at each
    eye's centre (the cheeks) and at the nose tip (the bridge); radius
    :data:`SKIN_RADIUS` times the outer eye-corner distance.

    Args:
        kps: (5, 2) template landmarks, px (dlib's 5 points: one eye's outer and inner
            corners, the other eye's outer and inner corners, the nose tip).
        size: (height, width) of the face images, px.

    Returns:
        (height, width) bool.
    """
    kps = np.asarray(kps, np.float64)
    eye_a, eye_b, nose = kps[0:2].mean(0), kps[2:4].mean(0), kps[4]
    y = (eye_a[1] + eye_b[1]) / 4 + nose[1] / 2
    radius = SKIN_RADIUS * float(np.linalg.norm(kps[0] - kps[2]))
    yy, xx = np.mgrid[: size[0], : size[1]]
    mask = np.zeros(size, bool)
    for cx in (eye_a[0], eye_b[0], nose[0]):
        mask |= (xx - cx) ** 2 + (yy - y) ** 2 <= radius**2
    return mask


def mean_lab(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(3,) float64 mean CIELAB (L* in [0, 100]) of the ``mask`` pixels of an (H, W, 3) uint8 RGB image."""
    from skimage.color import rgb2lab

    return rgb2lab(rgb[mask][None].astype(np.float64) / 255.0)[0].mean(0)


def skin_delta_e(pred: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> float:
    """CIE76 delta E*ab between the mean skin colours of two aligned faces.

    Args:
        pred, ref: (H, W, 3) uint8 RGB, the same framing.
        mask: (H, W) bool, :func:`skin_mask`.

    Returns:
        ``||mean_lab(pred) - mean_lab(ref)||_2``, >= 0 (0: the same mean skin colour).
    """
    return float(np.linalg.norm(mean_lab(pred, mask) - mean_lab(ref, mask)))
