"""Differentiable 2-D Haar wavelet transform (DWT) and its inverse (IDWT) in plain PyTorch.

One level of the orthonormal Haar transform on each 2x2 block ``[[a, b], [c, d]]`` of
every channel, with PyWavelets' conventions (``pywt.dwt2(x, "haar")``)::

    cA = (a + b + c + d) / 2     approximation (LL)
    cH = (a + b - c - d) / 2     horizontal detail (low-pass along x, high-pass along y)
    cV = (a - b + c - d) / 2     vertical detail
    cD = (a - b - c + d) / 2     diagonal detail (HH)

The four 2x2 kernels form an orthogonal matrix, so the inverse is the transposed
convolution with the same kernels and reconstruction is exact. Both are a grouped
``conv2d`` / ``conv_transpose2d`` with fixed weights plus a reshape, which export to ONNX.

Reference: S. Mallat, "A theory for multiresolution signal decomposition: the wavelet
representation", TPAMI 1989; checked against PyWavelets in ``tests/train``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Sub-band order of the output channels, as ``pywt.dwt2`` returns them.
SUBBANDS = ("cA", "cH", "cV", "cD")


def _haar_kernels(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(4, 1, 2, 2) Haar analysis kernels in :data:`SUBBANDS` order."""
    k = torch.tensor(
        [
            [[1.0, 1.0], [1.0, 1.0]],
            [[1.0, 1.0], [-1.0, -1.0]],
            [[1.0, -1.0], [1.0, -1.0]],
            [[1.0, -1.0], [-1.0, 1.0]],
        ],
        dtype=dtype,
    )
    return (k / 2).unsqueeze(1)


class HaarDWT(nn.Module):
    """One-level 2-D Haar DWT of every channel.

    Input (N, C, H, W) float with even H and W; output (N, 4C, H/2, W/2) ordered
    sub-band-major: channels ``[cA of the C channels, cH ..., cV ..., cD ...]``.

    Args:
        channels: C (fixed, so that the exported graph has constant kernels).

    Raises:
        ValueError: H or W is odd, or the input does not have C channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.register_buffer("kernels", _haar_kernels().repeat(channels, 1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if not torch.jit.is_tracing() and (c != self.channels or h % 2 or w % 2):
            raise ValueError(f"HaarDWT needs {self.channels} channels and even height and width, got {c}x{h}x{w}")
        y = F.conv2d(x, self.kernels.to(x.dtype), stride=2, groups=c)  # (N, C*4, h, w), channel-major
        return y.reshape(n, c, 4, h // 2, w // 2).transpose(1, 2).reshape(n, 4 * c, h // 2, w // 2)


class HaarIDWT(nn.Module):
    """Inverse of :class:`HaarDWT`: (N, 4C, h, w) sub-band-major -> (N, C, 2h, 2w).

    Args:
        channels: C, the channel count of the reconstruction.

    Raises:
        ValueError: the input does not have 4C channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.register_buffer("kernels", _haar_kernels().repeat(channels, 1, 1, 1), persistent=False)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        n, c4, h, w = y.shape
        c = self.channels
        if not torch.jit.is_tracing() and c4 != 4 * c:
            raise ValueError(f"HaarIDWT needs 4C = {4 * c} channels, got {c4}")
        y = y.reshape(n, 4, c, h, w).transpose(1, 2).reshape(n, 4 * c, h, w)
        return F.conv_transpose2d(y, self.kernels.to(y.dtype), stride=2, groups=c)
