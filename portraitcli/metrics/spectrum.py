"""Checkerboard artifacts measured in the Fourier domain.

A decoder that up-samples with stride-2 transposed convolutions overlaps its kernels
unevenly and prints a pattern of period 2 pixels on its output (Odena, Dumoulin and Olah,
"Deconvolution and Checkerboard Artifacts", Distill 2016). In the 2-D DFT such a pattern is
energy on the Nyquist row and column (frequency 1/2 cycle per pixel), where drawings and
photos have no more energy than at the neighbouring frequencies.
"""

from __future__ import annotations

import numpy as np

#: Offsets (in DFT bins) of the rows and columns the Nyquist lines are compared with.
NEIGHBOUR_BAND = (2, 6)


def nyquist_spike(image: np.ndarray, band: tuple[int, int] = NEIGHBOUR_BAND) -> float:
    """How far the Nyquist row and column of an image's spectrum stand above their neighbours.

    ``mean |X[H/2, :]| and |X[:, W/2]|`` over ``mean |X[H/2 + d, :]| and |X[:, W/2 + d]|``
    for ``band[0] <= |d| <= band[1]``, where ``X`` is the 2-D DFT of the image less its
    mean. 1.0 means no spike; a period-2 checkerboard raises it. The immediate neighbours
    (``|d| < band[0]``) are left out so that spectral leakage of the spike does not count
    as background.

    Args:
        image: (H, W) grayscale, any real dtype and range (the ratio is scale-free). H and W
            must be even (the Nyquist bin exists) and at least ``2 * band[1] + 2``.
        band: the smallest and largest offset of the reference lines, in bins.

    Returns:
        The ratio, a float >= 0 (1.0 for no spike).

    Raises:
        ValueError: not a 2-D image, an odd side, or a side too small for ``band``.
    """
    if image.ndim != 2:
        raise ValueError(f"expected an (H, W) image, got shape {image.shape}")
    h, w = image.shape
    lo, hi = band
    if h % 2 or w % 2 or min(h, w) < 2 * hi + 2:
        raise ValueError(f"image sides must be even and at least {2 * hi + 2} px, got {w}x{h}")
    x = image.astype(np.float64)
    magnitude = np.abs(np.fft.fft2(x - x.mean()))
    ny, nx = h // 2, w // 2
    offsets = [d for d in range(-hi, hi + 1) if abs(d) >= lo]
    spike = np.concatenate([magnitude[ny, :], magnitude[:, nx]]).mean()
    around = np.concatenate([magnitude[ny + d, :] for d in offsets] + [magnitude[:, nx + d] for d in offsets]).mean()
    if around == 0:  # a constant image, or one made of Nyquist lines alone
        return 1.0 if spike == 0 else float("inf")
    return float(spike / around)
