from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from portraitcli.metrics.spectrum import nyquist_spike


def _reference_spike(x: np.ndarray, lo: int = 2, hi: int = 6) -> float:
    """The same ratio with the DFT written out as matrix products (no FFT)."""
    h, w = x.shape
    x = x.astype(np.float64) - x.mean()
    dft_rows = np.exp(-2j * np.pi * np.outer(np.arange(h), np.arange(h)) / h)
    dft_cols = np.exp(-2j * np.pi * np.outer(np.arange(w), np.arange(w)) / w)
    mag = np.abs(dft_rows @ x @ dft_cols)
    lines = lambda d: np.concatenate([mag[h // 2 + d, :], mag[:, w // 2 + d]])  # noqa: E731
    around = [lines(d) for d in range(-hi, hi + 1) if abs(d) >= lo]
    return float(lines(0).mean() / np.concatenate(around).mean())


def test_matches_the_written_out_dft() -> None:
    x = np.random.default_rng(0).normal(size=(24, 20))
    assert nyquist_spike(x) == pytest.approx(_reference_spike(x), rel=1e-10)


def test_a_photo_has_no_spike_and_a_checkerboard_raises_it() -> None:
    photo = data.camera()[:250, :200].astype(np.float64)
    checker = np.indices(photo.shape).sum(0) % 2 * 6.0  # 6 gray levels of period-2 pattern
    assert 0.8 < nyquist_spike(photo) < 1.2
    assert nyquist_spike(photo + checker) > 1.8
    assert nyquist_spike(10 * photo) == pytest.approx(nyquist_spike(photo))  # scale-free


def test_constant_image_and_bad_shapes() -> None:
    assert nyquist_spike(np.full((32, 32), 7.0)) == 1.0
    for bad in (np.zeros((33, 32)), np.zeros((12, 12)), np.zeros((32, 32, 3))):
        with pytest.raises(ValueError):
            nyquist_spike(bad)


def test_transposed_convolutions_print_the_checkerboard_and_resize_convolutions_do_not() -> None:
    """Untrained SE-U-Nets on a photo: ConvT decoders spike, nearest x2 + 3x3 ones do not."""
    torch = pytest.importorskip("torch")
    from portraitcli.train.common.networks import SEUNet

    photo = data.camera()[:256, :208].astype(np.float32) / 127.5 - 1.0
    x = torch.from_numpy(np.stack([photo] * 3))[None]
    spikes = {}
    for upsample in ("transpose", "resize"):
        torch.manual_seed(0)
        with torch.no_grad():
            G = SEUNet(3, 1, (32, 64, 128, 256), upsample=upsample).eval()
            spikes[upsample] = nyquist_spike(G(x)[0, 0].numpy())
    assert spikes["transpose"] > 2.0 and spikes["resize"] < 1.2, spikes


def test_draw_benchmark_spike_crops_odd_sides_and_sees_a_checkerboard() -> None:
    from portraitcli.evaluation.draw import mean_spike

    rng = np.random.default_rng(0)
    paper = np.clip(230 + 10 * rng.standard_normal((97, 81)), 0, 255).astype(np.uint8)  # odd sides
    dotted = paper.astype(np.int16)
    dotted[::2, ::2] -= 60  # a period-2 pattern
    assert mean_spike([paper]) < 1.2 < mean_spike([paper, dotted.clip(0, 255).astype(np.uint8)])
