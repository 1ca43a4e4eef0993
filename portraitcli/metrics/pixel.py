"""Per-image fidelity metrics: SSIM and PSNR in the Wang et al. setting, via scikit-image.

References:
    Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from
    error visibility to structural similarity", IEEE TIP 2004 (11x11 Gaussian window,
    sigma 1.5, K1 0.01, K2 0.03, population covariance).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The settings every SSIM in this project uses, recorded in each report.
SSIM_SETTINGS: dict[str, Any] = {
    "implementation": "skimage.metrics.structural_similarity",
    "gaussian_weights": True,
    "sigma": 1.5,
    "use_sample_covariance": False,
    "K1": 0.01,
    "K2": 0.03,
    "data_range": 255,
}


#: ITU-R BT.601 luma weights (R, G, B): every luma in the project uses these.
BT601_LUMA = (0.299, 0.587, 0.114)


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma in floating point: (..., 3) RGB (any range) -> (...) float64, same range."""
    return np.asarray(rgb, np.float64) @ np.asarray(BT601_LUMA)


def _check_pair(pred: np.ndarray, ref: np.ndarray) -> None:
    if pred.shape != ref.shape:
        raise ValueError(f"shapes differ: pred {pred.shape} vs ref {ref.shape}")
    if pred.ndim not in (2, 3):
        raise ValueError(f"expected (H, W) or (H, W, 3) images, got {pred.shape}")


def ssim(pred: np.ndarray, ref: np.ndarray, data_range: float = 255.0) -> float:
    """Mean structural similarity (Wang et al. 2004) of two images.

    Args:
        pred: (H, W) grayscale or (H, W, 3) RGB, uint8 or float, values in [0, data_range].
        ref: same shape as ``pred``.
        data_range: the value span of the images (255 for 8-bit).

    Returns:
        Mean SSIM in [-1, 1]; RGB images average the per-channel SSIM maps.

    Raises:
        ValueError: the shapes differ or are not images.
    """
    from skimage.metrics import structural_similarity

    _check_pair(pred, ref)
    return float(
        structural_similarity(
            np.asarray(pred, np.float64),
            np.asarray(ref, np.float64),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=data_range,
            channel_axis=2 if pred.ndim == 3 else None,
        )
    )


def psnr(pred: np.ndarray, ref: np.ndarray, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio ``10 log10(data_range^2 / MSE)`` in decibels.

    Args:
        pred: (H, W) or (H, W, 3), values in [0, data_range].
        ref: same shape as ``pred``.
        data_range: the value span (255 for 8-bit).

    Returns:
        PSNR in dB; ``inf`` for identical images.

    Raises:
        ValueError: the shapes differ or are not images.
    """
    from skimage.metrics import peak_signal_noise_ratio

    _check_pair(pred, ref)
    with np.errstate(divide="ignore"):
        return float(
            peak_signal_noise_ratio(np.asarray(ref, np.float64), np.asarray(pred, np.float64), data_range=data_range)
        )


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma exactly as Pillow's ``convert("L")``: (H, W, 3) uint8 -> (H, W) uint8.

    ``L = (19595 R + 38470 G + 7471 B + 2^15) >> 16``, Pillow's fixed-point form of
    ``0.299 R + 0.587 G + 0.114 B``.
    """
    if rgb.ndim == 2:
        return rgb
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def seam_step(out: np.ndarray, base: np.ndarray, band: np.ndarray, sigma: float = 3.0) -> float:
    """The tone step a paste-back made at its seam, in gray levels.

    Twice the mean absolute change of the local mean (a Gaussian of ``sigma`` px) over the
    ``band`` where the paste mask is about 0.5, where the result is half pasted face, half
    the image around it: strokes that differ leave the local mean alone, a pasted patch of
    another tone does not.

    Args:
        out: (H, W) or (H, W, 3) uint8, the image after the paste.
        base: the same image before it (same shape).
        band: (H, W) bool, the seam (e.g. 0.4 < mask < 0.6).

    Returns:
        Gray levels (0 to 255); under about 8 a step is not seen.
    """
    import cv2

    a, b = (cv2.GaussianBlur(np.asarray(x, np.float32), (0, 0), sigma) for x in (out, base))
    return 2 * float(np.abs(a[band] - b[band]).mean())
