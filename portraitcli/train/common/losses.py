"""Losses and helpers shared by the GAN trainings."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F


def lsgan_loss(pred: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Least-squares GAN loss (Mao et al., ICCV 2017): ``mean((D(x) - t)^2)``, t in {0, 1}."""
    target = torch.ones_like(pred) if target_is_real else torch.zeros_like(pred)
    return F.mse_loss(pred, target)


class ImagePool:
    """History of generated images for the discriminator (Shrivastava et al., CVPR 2017).

    As in CycleGAN: once the pool holds ``size`` images, each new image is returned with
    probability 0.5, else swapped with a random stored one.
    """

    def __init__(self, size: int = 50, rng: random.Random | None = None) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.rng = rng or random.Random(0)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The stored images, so that a resumed run continues with the same history."""
        return {"images": torch.cat(self.images, 0) if self.images else torch.empty(0)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        images = state["images"]
        self.images = [img[None] for img in images] if images.numel() else []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) new fakes -> (N, C, H, W) for D: each the new image or, half the
        time once the pool is full, a stored one (which the new image then replaces)."""
        if self.size == 0:
            return images.detach()  # D's step must not reach back into G's freed graph
        out = []
        for img in images.detach():
            img = img[None]
            if len(self.images) < self.size:
                self.images.append(img)
                out.append(img)
            elif self.rng.random() < 0.5:
                i = self.rng.randrange(self.size)
                out.append(self.images[i].clone())
                self.images[i] = img
            else:
                out.append(img)
        return torch.cat(out, 0)


def _gaussian_window(sigma: float = 1.5, radius: int = 5) -> torch.Tensor:
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


#: The value range the trainers gave ``ssim_map`` until 2026-11-23 (sketch-v1/v2, destylize
#: runs 00039-00040): their [-1, 1] tensors taken as if they were [0, 2] values, unshifted.
#: SSIM's luminance term is not shift-invariant, so that is not the evaluation's SSIM (on
#: sketch-v2's CUHK test sketches 0.574 against the evaluation's 0.624; on recovered faces,
#: whose mid-tones sit near 0 in [-1, 1], 0.11 against 0.54). Kept to resume and reproduce
#: those runs (the configs' ``ssim_as_evaluated=False``).
LEGACY_SSIM_RANGE = (0.0, 2.0)


def ssim_map(
    x: torch.Tensor, y: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0), sigma: float = 1.5
) -> torch.Tensor:
    """Differentiable SSIM map (Wang et al. 2004) with an 11x11 Gaussian window.

    The evaluation's SSIM (:func:`portraitcli.metrics.pixel.ssim`: scikit-image,
    gaussian_weights=True, sigma 1.5, population covariance, K1 0.01, K2 0.03, on 8-bit
    images with data_range 255), on the "valid" region (5 px border dropped). The images are
    shifted to start at 0 (``x - low``, data range ``high - low``), which makes the result
    that of the same images as [0, 255] values: SSIM's luminance term and its constants C1,
    C2 are invariant to scale but not to an offset.

    Args:
        x, y: (N, C, H, W) float tensors with values in ``value_range`` = (low, high).

    Returns:
        (N, C, H - 10, W - 10) SSIM map, values in [-1, 1].
    """
    low, high = value_range
    data_range = high - low
    x, y = x - low, y - low
    c = x.shape[1]
    g = _gaussian_window(sigma).to(x)
    wx = g.view(1, 1, 1, -1).expand(c, 1, 1, -1)
    wy = g.view(1, 1, -1, 1).expand(c, 1, -1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, wx, groups=c), wy, groups=c)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    return ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))


def ssim_loss(x: torch.Tensor, y: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
    """``1 - mean SSIM(x, y)`` (:func:`ssim_map`), a structural loss (Zhao et al., "Loss
    Functions for Image Restoration with Neural Networks", IEEE TCI 2017)."""
    return 1.0 - ssim_map(x, y, value_range).mean()


def patch_histogram_loss(x: torch.Tensor, y: torch.Tensor, patch: int = 16) -> torch.Tensor:
    """Mean 1-D Wasserstein-1 distance between the intensity histograms of co-located patches.

    Each non-overlapping ``patch`` x ``patch`` window of x and of y is flattened and sorted;
    the loss is the mean absolute difference of the sorted values, the optimal-transport
    distance between the two windows' value distributions (the histogram loss of Risser et
    al., "Stable and Controllable Neural Texture Synthesis and Style Transfer Using Histogram
    Losses", 2017, taken per window). It asks each region for the target's tone *distribution*
    (white paper and dark strokes in the proportions the artist used) without asking for the
    strokes at the artist's exact positions, which no generator can predict and a pixel loss
    averages into grey.

    Args:
        x, y: (N, C, H, W) float tensors of the same shape (any range; the loss is in its units).
        patch: the window side in pixels; H and W are cropped to multiples of it.

    Returns:
        A scalar tensor, differentiable in x (through the sort's permutation).

    Raises:
        ValueError: shapes differ or the image is smaller than one window.
    """
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    if x.shape[-1] < patch or x.shape[-2] < patch:
        raise ValueError(f"image {tuple(x.shape[-2:])} is smaller than one {patch} px window")
    xs = F.unfold(x, patch, stride=patch).sort(dim=1).values  # (N, C*patch*patch, L) per-window sorted
    ys = F.unfold(y, patch, stride=patch).sort(dim=1).values
    return (xs - ys).abs().mean()


def nyquist_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of x's and y's spectral magnitudes on the Nyquist row and column.

    A period-2 pattern (the checkerboard of stride-2 up-sampling, Odena et al., Distill 2016,
    or of an inverse wavelet transform whose finest sub-bands are mispredicted) is energy at
    1/2 cycle per pixel, which :func:`~portraitcli.metrics.spectrum.nyquist_spike` measures; this
    loss asks the output for the target's energy there. With ``X = rfft2(x - mean x)``
    (orthonormal, so independent of the image size)::

        L = mean(| |X[H/2, :]| - |Y[H/2, :]| |) + mean(| |X[:, W/2]| - |Y[:, W/2]| |)

    Args:
        x, y: (N, C, H, W) float tensors of the same shape, H and W even.

    Returns:
        A scalar tensor, differentiable in x.

    Raises:
        ValueError: shapes differ or a side is odd.
    """
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        raise ValueError(f"sides must be even (a Nyquist bin), got {h}x{w}")
    fx = torch.fft.rfft2(x - x.mean(dim=(-2, -1), keepdim=True), norm="ortho").abs()
    fy = torch.fft.rfft2(y - y.mean(dim=(-2, -1), keepdim=True), norm="ortho").abs()
    return (fx[..., h // 2, :] - fy[..., h // 2, :]).abs().mean() + (fx[..., -1] - fy[..., -1]).abs().mean()


class FaceIdentityLoss:
    """``weight * (1 - cos)`` between FaceNet embeddings of two aligned face batches, batch mean:
    a face recognizer's identity loss (Schroff et al. 2015's embedding, Sandberg's weights).

    Args:
        net: a :class:`~portraitcli.nets.facenet.FaceNet`.
        box: (x1, y1, x2, y2) px, FaceNet's crop in the template's framing.
        weight: the loss weight (``lambda_facenet`` of destylize, ``lambda_id`` of cartoon).
    """

    def __init__(self, net: torch.nn.Module, box: tuple[float, float, float, float], weight: float) -> None:
        self.net, self.box, self.weight = net, box, weight

    def distance(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) in [-1, 1] twice -> the mean cosine distance (scalar; gradient to ``fake``)."""
        from portraitcli.nets.facenet import crop_faces, identity_distance

        with torch.no_grad():
            target = self.net(crop_faces(real, self.box))
        return identity_distance(self.net(crop_faces(fake, self.box)), target).mean()
