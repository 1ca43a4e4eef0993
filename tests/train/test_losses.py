"""The per-window histogram loss against SciPy's 1-D Wasserstein distance."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from portraitcli.train.common.losses import patch_histogram_loss  # noqa: E402


def test_patch_histogram_loss_is_the_mean_window_wasserstein_distance() -> None:
    from scipy.stats import wasserstein_distance

    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 1, 32, 48, generator=g), torch.rand(2, 1, 32, 48, generator=g) ** 3
    expected = np.mean(
        [
            wasserstein_distance(x[n, 0, i : i + 16, j : j + 16].flatten(), y[n, 0, i : i + 16, j : j + 16].flatten())
            for n in range(2)
            for i in (0, 16)
            for j in (0, 16, 32)
        ]
    )
    assert patch_histogram_loss(x, y, 16).item() == pytest.approx(expected, rel=1e-5)


def test_patch_histogram_loss_ignores_where_strokes_are_inside_a_window() -> None:
    y = torch.zeros(1, 1, 16, 16)
    y[..., 3, :] = 1.0  # one dark stroke...
    moved = torch.zeros_like(y)
    moved[..., 9, :] = 1.0  # ...drawn six rows lower: the same tone distribution
    assert patch_histogram_loss(moved, y).item() == 0.0
    grey = torch.full_like(y, 1 / 16)  # the pixel-loss optimum of an unpredictable stroke
    assert patch_histogram_loss(grey, y).item() > 0.1
    assert (grey - y).abs().mean() < (moved - y).abs().mean()  # where L1 prefers the grey


def test_patch_histogram_loss_refuses_mismatched_or_small_inputs() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        patch_histogram_loss(torch.zeros(1, 1, 16, 16), torch.zeros(1, 1, 16, 32))
    with pytest.raises(ValueError, match="smaller"):
        patch_histogram_loss(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))


def test_nyquist_loss_sees_a_checkerboard_the_spike_metric_sees() -> None:
    from skimage import color, data

    from portraitcli.metrics.spectrum import nyquist_spike
    from portraitcli.train.common.losses import nyquist_loss

    gray = color.rgb2gray(data.astronaut())[40:104, 180:228].astype(np.float32)  # 64x48, a real photo
    smooth = torch.from_numpy(gray)[None, None]
    checker = smooth.clone()
    checker[..., ::2, ::2] += 0.2
    assert nyquist_loss(smooth, smooth).item() == 0.0
    assert nyquist_loss(checker, smooth).item() > 10 * nyquist_loss(smooth + 0.5, smooth).item()  # offsets: none
    assert nyquist_spike(checker[0, 0].numpy()) > 1.1 > nyquist_spike(smooth[0, 0].numpy())
    # orthonormal: the same pattern over a 4x larger image gives the same loss
    big = lambda t: t.repeat(1, 1, 2, 2)  # noqa: E731
    same = nyquist_loss(checker, smooth).item()
    assert nyquist_loss(big(checker), big(smooth)).item() == pytest.approx(same, rel=0.2)
    with pytest.raises(ValueError, match="even"):
        nyquist_loss(torch.zeros(1, 1, 15, 16), torch.zeros(1, 1, 15, 16))
