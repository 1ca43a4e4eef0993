from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from portraitcli.metrics.pixel import psnr, ssim, to_gray


def _reference_ssim(x: np.ndarray, y: np.ndarray, L: float = 255.0) -> float:
    """Wang et al. 2004, written out: Gaussian window sigma 1.5 (11x11), K1 .01, K2 .03,
    population (co)variances, mean over the valid region (5 px border cropped)."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    f = lambda a: gaussian_filter(a, 1.5, truncate=3.5)  # noqa: E731
    mx, my = f(x), f(y)
    vx, vy, cxy = f(x * x) - mx**2, f(y * y) - my**2, f(x * y) - mx * my
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s[5:-5, 5:-5].mean())


def test_ssim_matches_written_out_formula() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (250, 200)).astype(np.uint8)
    y = np.clip(x.astype(int) + rng.normal(0, 25, x.shape), 0, 255).astype(np.uint8)
    assert ssim(x, y) == pytest.approx(_reference_ssim(x, y), abs=1e-9)
    assert ssim(x, x) == pytest.approx(1.0)


def test_ssim_rgb_is_channel_mean() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
    y = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
    expected = np.mean([_reference_ssim(x[..., c], y[..., c]) for c in range(3)])
    assert ssim(x, y) == pytest.approx(expected, abs=1e-9)


def test_psnr_formula() -> None:
    x = np.zeros((20, 20), np.uint8)
    y = np.full((20, 20), 10, np.uint8)
    assert psnr(y, x) == pytest.approx(10 * np.log10(255**2 / 100.0))
    assert psnr(x, x) == float("inf")


def test_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(np.zeros((20, 20)), np.zeros((20, 21)))


def test_to_gray_matches_pillow() -> None:
    rgb = np.random.default_rng(2).integers(0, 256, (50, 60, 3)).astype(np.uint8)
    np.testing.assert_array_equal(to_gray(rgb), np.asarray(Image.fromarray(rgb).convert("L")))


def test_paired_difference_bootstrap() -> None:
    from portraitcli.evaluation.stats import paired_difference

    rng = np.random.default_rng(0)
    other = rng.uniform(0.4, 0.7, 100)
    clear = paired_difference(other + 0.02 + rng.normal(0, 0.005, 100), other)
    assert clear["mean"] == pytest.approx(0.02, abs=2e-3) and clear["ci95"][0] > 0
    tie = paired_difference(other + rng.normal(0, 0.05, 100), other)
    assert tie["ci95"][0] < 0 < tie["ci95"][1]
    assert paired_difference(other, other) == {"mean": 0.0, "ci95": [0.0, 0.0]}
