"""Exposure matching: bring an aligned face crop to the brightness and contrast a model saw.

The sketch model learned from the CUFS CUHK student photos, studio shots whose skin is
bright (the face region's mean luma is about 202 of 255 over the 88 training photos). A
user's photo of a darker face, or an under-exposed one, lies far outside that range and
its features dissolve into a gray mush. Matching the first two moments of the face
region's luma to those of the training photos (a gain and an offset, the grayscale case of
Reinhard et al., "Color Transfer between Images", IEEE CG&A 2001) moves such a crop back
into the range the model knows, while a crop that already matches is left nearly as it is.

Only the face region is measured (the background, hair and clothes vary freely), and one
gain and one offset are applied to all three channels, so hue is kept.
"""

from __future__ import annotations

import numpy as np

from portraitcli.metrics.pixel import luma
from portraitcli.types import Exposure, Template

#: The gain is clipped to this range, so a flat or noisy crop is not blown up.
GAIN_LIMITS = (0.5, 2.0)


def face_region(kps: np.ndarray) -> tuple[int, int, int, int]:
    """The box of skin and features measured for exposure: eyes to mouth, outer eye corners.

    Args:
        kps: (5, 2) float landmarks (x, y) in pixels, dlib 5-point order (the two eyes'
            outer and inner corners, then the base of the nose).

    Returns:
        ``(x0, y0, x1, y1)`` int pixels, half-open: columns ``x0:x1``, rows ``y0:y1``.
        With ``d`` the distance between the eye centres, the box spans the outer eye
        corners horizontally and from ``0.3 d`` above the eye line to ``0.7 d`` below the
        nose base vertically (the mouth), so it scales with the face.
    """
    kps = np.asarray(kps, np.float64)
    eye_a, eye_b = kps[0:2].mean(0), kps[2:4].mean(0)
    d = float(np.linalg.norm(eye_a - eye_b))
    eye_y = (eye_a[1] + eye_b[1]) / 2
    x0, x1 = kps[:4, 0].min(), kps[:4, 0].max()
    y0, y1 = eye_y - 0.3 * d, kps[4, 1] + 0.7 * d
    return int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1))


def luma_stats(rgb: np.ndarray, region: tuple[int, int, int, int]) -> tuple[float, float]:
    """Mean and standard deviation of BT.601 luma in ``region`` of an RGB image.

    Args:
        rgb: (H, W, 3) uint8 RGB.
        region: ``(x0, y0, x1, y1)`` as :func:`face_region` gives, clipped to the image.

    Returns:
        ``(mean, std)`` in 8-bit luma units (0 to 255); std is the population std.

    Raises:
        ValueError: the region holds no pixel of the image.
    """
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = region
    x0, x1 = max(0, x0), min(w, x1)
    y0, y1 = max(0, y0), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"face region {region} lies outside the {w}x{h} image")
    y = luma(rgb[y0:y1, x0:x1])
    return float(y.mean()), float(y.std())


def reference_exposure(crops: list[np.ndarray], kps: np.ndarray) -> Exposure:
    """The exposure a model was trained on: mean face-region luma statistics of its photos.

    Args:
        crops: the training photos, each (H, W, 3) uint8 RGB in the model's framing.
        kps: (5, 2) the template landmarks of that framing.

    Returns:
        The mean over the photos of the face region's luma mean and of its luma std.

    Raises:
        ValueError: ``crops`` is empty.
    """
    if not crops:
        raise ValueError("no photos to measure the reference exposure on")
    region = face_region(kps)
    stats = np.array([luma_stats(c, region) for c in crops])
    return Exposure(mean=round(float(stats[:, 0].mean()), 2), std=round(float(stats[:, 1].mean()), 2))


def match_exposure(rgb: np.ndarray, kps: np.ndarray, reference: Exposure) -> np.ndarray:
    """Give an aligned crop's face region the reference luma mean and std.

    ``out = (rgb - m) * g + m_ref`` on every channel, with ``m``, ``s`` the face region's
    luma mean and std (:func:`luma_stats`), ``g = clip(s_ref / s, *GAIN_LIMITS)``, then
    rounded and clipped to 0..255.

    Args:
        rgb: (H, W, 3) uint8 RGB, the face in the model's framing.
        kps: (5, 2) the template landmarks at this crop's size (``Template.scaled``).
        reference: the training photos' statistics (:func:`reference_exposure`).

    Returns:
        (H, W, 3) uint8 RGB, a new array.

    Raises:
        ValueError: the face region lies outside the crop.
    """
    mean, std = luma_stats(rgb, face_region(kps))
    gain = float(np.clip(reference.std / max(std, 1e-6), *GAIN_LIMITS))
    out = (rgb.astype(np.float64) - mean) * gain + reference.mean
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def match_template_exposure(rgb: np.ndarray, template: Template | None) -> np.ndarray:
    """A crop in ``template``'s framing, at any size, matched to the template's exposure.

    Args:
        rgb: (H, W, 3) uint8 RGB framed like ``template`` (any H, W: the landmarks are
            scaled to the crop, as ``--aligned`` and ``--size`` crops need).
        template: the model's template; None, or one without an exposure, leaves the crop
            as it is (the same array is returned).

    Returns:
        (H, W, 3) uint8 RGB.
    """
    if template is None or template.exposure is None:
        return rgb
    return match_exposure(rgb, template.scaled(rgb.shape[1], rgb.shape[0]).kps, template.exposure)
