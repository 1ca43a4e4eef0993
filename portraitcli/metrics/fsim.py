"""FSIM, the feature similarity index (Zhang, Zhang, Mou and Zhang, IEEE TIP 20(8), 2011), grayscale.

Written from the paper and its authors' reference code (``FeatureSIM.m``, with Kovesi's
``phasecong2`` and ``lowpassfilter``), in numpy and scipy, for 8-bit grayscale images:

1. Both images are smoothed by an F x F box filter and subsampled by F, with
   ``F = max(1, round(min(H, W) / 256))`` (CUFS's 200x250: F = 1, no change).
2. Phase congruency PC (Kovesi 1999, the PC_2 measure): log-Gabor filters at 4 scales
   (wavelengths 6, 12, 24, 48 px; sigma_f / f0 = 0.55) and 4 orientations (angular sigma =
   pi / 4 / 1.2), each orientation's energy ``sum_s E_s . phi - |E_s x phi|`` (phi the
   amplitude-weighted mean phase) less a noise threshold (Rayleigh model of the smallest
   scale's median energy, k = 2, divided by 1.7), summed over orientations and divided by
   the summed amplitudes.
3. Gradient magnitude G with the Scharr kernels ``[3 0 -3; 10 0 -10; 3 0 -3] / 16``.
4. ``S_PC = (2 PC1 PC2 + T1) / (PC1^2 + PC2^2 + T1)``, ``S_G = (2 G1 G2 + T2) / (G1^2 + G2^2 + T2)``
   with T1 = 0.85, T2 = 160, and ``FSIM = sum(S_PC S_G PC_m) / sum(PC_m)``, PC_m = max(PC1, PC2)
   (the paper's eq. 7-10 with alpha = beta = 1).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.signal import convolve2d

from portraitcli.errors import BadInputError

#: The paper's constants.
T1 = 0.85
T2 = 160.0
#: phasecong2's settings in FeatureSIM.m.
N_SCALE = 4
N_ORIENT = 4
MIN_WAVELENGTH = 6.0
MULT = 2.0
SIGMA_ON_F = 0.55
D_THETA_ON_SIGMA = 1.2
K_NOISE = 2.0
EPSILON = 1e-4
SCHARR_X = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]], np.float64) / 16


def conv2_same(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """MATLAB's ``conv2(image, kernel, 'same')``: true convolution, zero padding, the central
    part of the full result (starting at ``ceil((k - 1) / 2)``, MATLAB's choice for even k)."""
    full = convolve2d(image, kernel, mode="full")
    kh, kw = kernel.shape
    top, left = math.ceil((kh - 1) / 2), math.ceil((kw - 1) / 2)
    return full[top : top + image.shape[0], left : left + image.shape[1]]


def _frequency_grid(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised radius (0 .. ~0.7) and angle of each FFT sample, zero frequency at [0, 0]."""

    def axis(n: int) -> np.ndarray:
        return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1) if n % 2 else np.arange(-n / 2, n / 2) / n

    x, y = np.meshgrid(axis(cols), axis(rows))
    radius = np.fft.ifftshift(np.sqrt(x**2 + y**2))
    theta = np.fft.ifftshift(np.arctan2(-y, x))
    return radius, theta


def lowpass_filter(rows: int, cols: int, cutoff: float = 0.45, n: int = 15) -> np.ndarray:
    """Kovesi's Butterworth low-pass ``1 / (1 + (r / cutoff)^(2n))``, zero frequency at [0, 0]."""
    radius, _ = _frequency_grid(rows, cols)
    return 1.0 / (1.0 + (radius / cutoff) ** (2 * n))


@functools.lru_cache(maxsize=8)
def _filter_bank(rows: int, cols: int) -> tuple[tuple[tuple[np.ndarray, np.ndarray, float], ...], ...]:
    """The log-Gabor filters of one image size, per orientation and scale: (frequency
    response, spatial filter scaled as phasecong2 scales it, sum of the squared response)."""
    radius, theta = _frequency_grid(rows, cols)
    radius[0, 0] = 1.0  # log(0) otherwise; the filters are zeroed there below
    lp = lowpass_filter(rows, cols)
    log_gabor = []
    for s in range(N_SCALE):
        f0 = 1.0 / (MIN_WAVELENGTH * MULT**s)
        g = np.exp(-(np.log(radius / f0) ** 2) / (2 * math.log(SIGMA_ON_F) ** 2)) * lp
        g[0, 0] = 0.0
        log_gabor.append(g)
    theta_sigma = math.pi / N_ORIENT / D_THETA_ON_SIGMA
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    bank = []
    for o in range(N_ORIENT):
        angle = o * math.pi / N_ORIENT
        ds = sin_t * math.cos(angle) - cos_t * math.sin(angle)
        dc = cos_t * math.cos(angle) + sin_t * math.sin(angle)
        spread = np.exp(-(np.abs(np.arctan2(ds, dc)) ** 2) / (2 * theta_sigma**2))
        filters = []
        for s in range(N_SCALE):
            filt = log_gabor[s] * spread
            filters.append((filt, np.real(np.fft.ifft2(filt)) * math.sqrt(rows * cols), float(np.sum(filt**2))))
        bank.append(tuple(filters))
    return tuple(bank)


def phase_congruency(image: np.ndarray) -> np.ndarray:
    """Kovesi's phase congruency (PC_2, ``phasecong2`` as FeatureSIM.m sets it up).

    Args:
        image: (H, W) float64 grayscale, 0..255.

    Returns:
        (H, W) float64 PC in [0, 1]: near 1 on step edges and lines, 0 on flat regions
        (and 0 where no filter responds at all, where the reference code divides 0 by 0).
    """
    rows, cols = image.shape
    spectrum = np.fft.fft2(image)
    energy_all = np.zeros((rows, cols))
    amplitude_all = np.zeros((rows, cols))
    for filters in _filter_bank(rows, cols):
        responses = [np.fft.ifft2(spectrum * filt) for filt, _, _ in filters]
        sum_e = sum(np.real(r) for r in responses)
        sum_o = sum(np.imag(r) for r in responses)
        amplitude_all += sum(np.abs(r) for r in responses)
        x_energy = np.sqrt(sum_e**2 + sum_o**2) + EPSILON
        mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
        energy = np.zeros((rows, cols))
        for r in responses:
            e, od = np.real(r), np.imag(r)
            energy += e * mean_e + od * mean_o - np.abs(e * mean_o - od * mean_e)
        # noise: a Rayleigh model fitted to the smallest scale's median squared amplitude
        mean_e2n = -float(np.median(np.abs(responses[0]) ** 2)) / math.log(0.5)
        noise_power = mean_e2n / filters[0][2]
        spatial = [f for _, f, _ in filters]
        sum_an2 = sum(float(np.sum(f**2)) for f in spatial)
        sum_ai_aj = sum(float(np.sum(spatial[i] * spatial[j])) for i in range(N_SCALE) for j in range(i + 1, N_SCALE))
        noise_energy2 = 2 * noise_power * sum_an2 + 4 * noise_power * sum_ai_aj
        tau = math.sqrt(noise_energy2 / 2)
        threshold = (tau * math.sqrt(math.pi / 2) + K_NOISE * math.sqrt((2 - math.pi / 2) * tau**2)) / 1.7
        energy_all += np.maximum(energy - threshold, 0.0)
    return np.divide(energy_all, amplitude_all, out=np.zeros_like(energy_all), where=amplitude_all > 0)


def gradient_magnitude(image: np.ndarray) -> np.ndarray:
    """Scharr gradient magnitude (FeatureSIM.m's kernels, zero padding): (H, W) -> (H, W) float64."""
    gx = conv2_same(image, SCHARR_X)
    gy = conv2_same(image, SCHARR_X.T)
    return np.sqrt(gx**2 + gy**2)


def fsim_from_maps(pc1: np.ndarray, pc2: np.ndarray, g1: np.ndarray, g2: np.ndarray) -> float:
    """The paper's pooling (eq. 7-10, alpha = beta = 1) of phase congruency and gradient maps."""
    s_pc = (2 * pc1 * pc2 + T1) / (pc1**2 + pc2**2 + T1)
    s_g = (2 * g1 * g2 + T2) / (g1**2 + g2**2 + T2)
    pc_m = np.maximum(pc1, pc2)
    return float(np.sum(s_pc * s_g * pc_m) / np.sum(pc_m))


def fsim_maps(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An image's phase congruency and gradient maps after FSIM's downsampling:
    (H, W) 0..255 -> ((h, w), (h, w)) float64. Pass a reference's to :func:`fsim` to score
    many images against it."""
    a = np.asarray(image, np.float64)
    rows, cols = a.shape
    f = max(1, math.floor(min(rows, cols) / 256 + 0.5))
    if f > 1:
        a = conv2_same(a, np.full((f, f), 1.0 / (f * f)))[::f, ::f]
    return phase_congruency(a), gradient_magnitude(a)


def fsim(
    reference: np.ndarray, distorted: np.ndarray, reference_maps: tuple[np.ndarray, np.ndarray] | None = None
) -> float:
    """FSIM of two 8-bit grayscale images (1.0: identical structure).

    Args:
        reference, distorted: (H, W) uint8 (or float on 0..255), the same shape, at least 16 px a side.
        reference_maps: the reference's :func:`fsim_maps`, when already computed.

    Returns:
        FSIM in (0, 1].

    Raises:
        BadInputError: the shapes differ, an image is not 2-D, or it is too small or flat
            (no phase congruency anywhere).
    """
    a, b = np.asarray(reference, np.float64), np.asarray(distorted, np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise BadInputError(f"FSIM needs two grayscale images of one shape, got {a.shape} and {b.shape}")
    if min(a.shape) < 16:
        raise BadInputError(f"FSIM needs images of at least 16 px a side, got {a.shape}")
    pc1, g1 = reference_maps if reference_maps is not None else fsim_maps(a)
    pc2, g2 = fsim_maps(b)
    if not np.any(np.maximum(pc1, pc2) > 0):
        raise BadInputError("FSIM is undefined for images without structure (phase congruency 0 everywhere)")
    return fsim_from_maps(pc1, pc2, g1, g2)
