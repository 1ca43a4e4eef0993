"""Losses of the 3-D reconstruction (Unsup3d, Wu et al., CVPR 2020, eq. 2 and its code).

With a predicted confidence sigma per pixel, the photometric loss is the negative
log-likelihood of a Laplacian, ``sqrt(2) |a - b| / sigma + log sigma``, and the perceptual
loss that of a Gaussian, ``(phi(a) - phi(b))^2 / (2 sigma^2) + log sigma``, each averaged
over the valid pixels of the rendering.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

EPS = 1e-7


def _masked_mean(loss: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (loss * mask).sum() / mask.sum().clamp_min(1.0)


def photometric_loss(a: torch.Tensor, b: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Confidence-weighted L1.

    Args:
        a, b: (N, 3, H, W) images in [-1, 1].
        sigma: (N, 1, H, W) > 0 confidence (scale of the Laplacian).
        mask: (N, 1, H, W) 0/1 valid pixels.
    """
    loss = (a - b).abs().mean(1, keepdim=True) * math.sqrt(2) / (sigma + EPS) + torch.log(sigma + EPS)
    return _masked_mean(loss, mask)


def perceptual_nll(
    features_a: list[torch.Tensor], features_b: list[torch.Tensor], sigma: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Confidence-weighted perceptual loss, averaged over the feature layers.

    Args:
        features_a, features_b: lists of (N, C_l, h_l, w_l) feature maps.
        sigma: (N, 1, H, W) > 0 confidence, average-pooled to each layer's size.
        mask: (N, 1, H, W) 0/1; a feature pixel counts when all its input pixels are valid.
    """
    losses = []
    for fa, fb in zip(features_a, features_b):
        size = fa.shape[-2:]
        s = F.adaptive_avg_pool2d(sigma, size)
        m = (F.adaptive_avg_pool2d(mask, size) > 0.99).float()
        loss = ((fa - fb) ** 2).mean(1, keepdim=True) / (2 * s**2 + EPS) + torch.log(s + EPS)
        losses.append(_masked_mean(loss, m))
    return torch.stack(losses).mean()


def smoothness_loss(depth: torch.Tensor) -> torch.Tensor:
    """Mean absolute first difference of (N, H, W) depth maps (horizontal plus vertical), the 2-px border left out."""
    d = depth[:, 2:-2, 2:-2]
    return (d[:, :, 1:] - d[:, :, :-1]).abs().mean() + (d[:, 1:] - d[:, :-1]).abs().mean()
