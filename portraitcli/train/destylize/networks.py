"""Networks of the destylize model: Style Removal Network with spatial transformers, and DN.

Reference:
    F. Shiri, X. Yu, F. Porikli, R. Hartley, P. Koniusz, "Identity-preserving Face Recovery
    from Portraits", WACV 2018. The Style Removal Network (SRN) is an encoder-decoder with
    spatial transformer networks (STN; Jaderberg et al., NeurIPS 2015) interleaved in the
    encoder and the decoder (four in the paper), so that an unaligned, rotated, scaled
    portrait comes out as an aligned face without landmarks; batch normalization and leaky
    ReLU (0.2). The Discriminative Network (DN) is a convolutional classifier of recovered
    versus real faces.

Sizing for the project's CPUs: 128x128 RGB in and out; the encoder halves the size four
times (4x4 stride-2 convolutions, widths 32-64-128-256), the decoder doubles it back (4x4
stride-2 transposed convolutions); STNs after the first two encoder stages and after the
first two decoder stages, each a small localization network predicting a 2x3 affine matrix
(initialised to the identity) applied with ``affine_grid`` / ``grid_sample`` (bilinear,
zero padding), which export to ONNX at opset >= 20.

``SRN(use_stn=False)`` is the same encoder-decoder without the STNs.
Shapes: SRN (N, 3, 128, 128) float RGB in [-1, 1] -> (N, 3, 128, 128) in [-1, 1] (tanh);
DN (N, 3, 128, 128) -> (N, 1) real/fake score (no sigmoid: trained with a logistic loss).

The v6 candidate (:class:`AlignedUNet`, ``arch=mobilenet``; not shipped yet) keeps the paper's
spatial transformer but moves it to the image, in front of an ImageNet MobileNetV2 U-Net: the
SRN's 8x8 bottleneck cannot carry a face's geometry at 256 px, and a U-Net's skip connections
would carry the input's misalignment straight to the output unless the image is aligned first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SIZE = 128


def affine_warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample (N, C, H, W) maps at ``affine_grid(theta)`` for (N, 2, 3) ``theta``: bilinear,
    zeros outside, ``align_corners=False`` (exports to ONNX at opset >= 20)."""
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class SpatialTransformer(nn.Module):
    """Warp a feature map by an affine transform predicted from it (Jaderberg et al. 2015).

    Localization network: two 3x3 stride-2 convolutions, then either

    - ``grid=0``: global average pooling and a linear layer to the 6 numbers. Pooling away
      the positions leaves a head that cannot see where the face is, so it cannot predict a
      shift (our destylize-v1; run 00016 in docs/experiments/log.md);
    - ``grid=g``: average pooling to a g x g map, which keeps where the features are, then
      two fully connected layers (``hidden`` units, leaky ReLU) to the 6 numbers, as in
      Jaderberg et al.'s localization networks. The pooling is a fixed ``AvgPool2d`` (its
      kernel set from ``side``) because ONNX cannot export an adaptive pooling of a map whose
      size it does not know (the output of an earlier STN's ``grid_sample``).

    The last linear layer starts at zero weights with the identity as bias, so the module
    starts as the identity warp.

    Shape: (N, C, H, W) -> (N, C, H, W); with ``grid`` > 0, H = W = ``side``, a multiple of
    ``4 * grid`` (the convolutions halve it twice). The last forward's (N, 2, 3) matrices
    stay in ``last_theta`` (for a loss on them; None before the first call).

    Raises:
        ValueError: ``grid`` < 0, or ``side`` not a positive multiple of ``4 * grid``.
    """

    def __init__(self, channels: int, hidden: int = 32, grid: int = 0, side: int = 0) -> None:
        super().__init__()
        if grid < 0 or (grid > 0 and (side <= 0 or side % (4 * grid))):
            raise ValueError(f"grid must be >= 0 and side a positive multiple of 4 * grid, got {grid=}, {side=}")
        conv = [
            nn.Conv2d(channels, hidden, 3, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(hidden, hidden, 3, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        if grid == 0:
            head: list[nn.Module] = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        else:
            head = [
                nn.AvgPool2d(side // (4 * grid)),
                nn.Flatten(),
                nn.Linear(hidden * grid * grid, hidden),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        self.localization = nn.Sequential(*conv, *head)
        self.theta = nn.Linear(hidden, 6)
        nn.init.zeros_(self.theta.weight)
        with torch.no_grad():
            self.theta.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))
        self.last_theta: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        theta = self.theta(self.localization(x)).view(-1, 2, 3)
        self.last_theta = theta
        return affine_warp(x, theta)


def _down(c_in: int, c_out: int, norm: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.LeakyReLU(0.2, inplace=True),
    )


class SRN(nn.Module):
    """Style Removal Network: encoder-decoder with four interleaved spatial transformers.

    With ``skips`` each decoder stage but the first also receives the encoder feature of the
    same size, taken *after* the encoder's spatial transformers (the skip connections of the
    journal version, Shiri et al., IJCV 2019); without, it is the WACV paper's plain
    encoder-decoder.

    Args:
        channels: encoder widths (the decoder mirrors them).
        use_stn: False removes the spatial transformers (an ablation).
        skips: U-Net skip connections between encoder and decoder.
        stn_grid: the localization heads' pooled map size (:class:`SpatialTransformer`'s
            ``grid``; 0 = global pooling, as destylize-v1), capped per STN at a quarter of its
            feature map's side.
        size: the input's side in pixels (fixes each STN's feature-map size).
    """

    def __init__(
        self,
        channels: tuple[int, ...] = (32, 64, 128, 256),
        use_stn: bool = True,
        skips: bool = True,
        stn_grid: int = 0,
        size: int = SIZE,
    ) -> None:
        super().__init__()
        self.skips = skips

        def stn(c: int, side: int) -> SpatialTransformer:
            return SpatialTransformer(c, grid=min(stn_grid, side // 4), side=side)

        self.encoder = nn.ModuleList()
        self.enc_stn = nn.ModuleList()
        c_prev = 3
        for i, c in enumerate(channels):
            self.encoder.append(_down(c_prev, c, norm=i > 0))
            self.enc_stn.append(stn(c, size >> (i + 1)) if use_stn and i < 2 else nn.Identity())
            c_prev = c
        self.bottleneck = nn.Sequential(
            nn.Conv2d(c_prev, c_prev, 3, 1, 1, bias=False), nn.BatchNorm2d(c_prev), nn.LeakyReLU(0.2, inplace=True)
        )
        self.decoder = nn.ModuleList()
        self.dec_stn = nn.ModuleList()
        widths = list(reversed(channels[:-1])) + [channels[0]]
        skip_widths = list(reversed(channels[:-1])) + [0]
        for i, (c, c_skip) in enumerate(zip(widths, skip_widths)):
            self.decoder.append(_up(c_prev, c))
            self.dec_stn.append(stn(c, size >> (len(channels) - 1 - i)) if use_stn and i < 2 else nn.Identity())
            c_prev = c + (c_skip if skips else 0)
        self.head = nn.Conv2d(c_prev, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        feats = []
        for down, stn in zip(self.encoder, self.enc_stn):
            h = stn(down(h))
            feats.append(h)
        h = self.bottleneck(h)
        skips = list(reversed(feats[:-1]))
        for i, (up, stn) in enumerate(zip(self.decoder, self.dec_stn)):
            h = stn(up(h))
            if self.skips and i < len(skips):
                h = torch.cat([h, skips[i]], dim=1)
        return torch.tanh(self.head(h))


class ImageAligner(nn.Module):
    """A spatial transformer on the input image whose localization network is ImageNet MobileNetV2.

    The localization sees the image at half size through MobileNetV2's ``features[0:14]``
    (stride 16: an 8x8 map of 96 channels for a 256 px input; ImageNet weights, batch norms
    frozen at the ImageNet statistics), a 1x1 convolution to 32 channels, 2x2 average
    pooling (a 4x4 map: it keeps where the face is) and two fully connected layers to the
    six numbers of an ``affine_grid`` matrix. The last layer starts at zero weights with the
    identity as bias, so the module starts as the identity warp (Jaderberg et al., NeurIPS
    2015). The last forward's (N, 2, 3) matrices stay in ``last_theta``.

    Args:
        size: the input's side in px, a multiple of 64.
        pretrained: load the ImageNet weights (False: random, for shape tests).

    Shape: (N, 3, size, size) float RGB in [-1, 1] -> the same, warped (zeros outside, -1 is black).

    Raises:
        ValueError: ``size`` not a positive multiple of 64.
    """

    def __init__(self, size: int = 256, pretrained: bool = True, hidden: int = 64) -> None:
        super().__init__()
        if size <= 0 or size % 64:
            raise ValueError(f"size must be a positive multiple of 64, got {size}")
        from portraitcli.train.common.perceptual import IMAGENET_MEAN, IMAGENET_STD, MobileNetV2, imagenet_mobilenet_v2

        net = imagenet_mobilenet_v2() if pretrained else MobileNetV2()
        self.features = net.features[:14]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        side = size // 64  # the pooled map: half size, stride 16, then 2x2 pooling
        self.localization = nn.Sequential(
            nn.Conv2d(96, 32, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * side * side, hidden),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.theta = nn.Linear(hidden, 6)
        nn.init.zeros_(self.theta.weight)
        with torch.no_grad():
            self.theta.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))
        self.last_theta: torch.Tensor | None = None

    def train(self, mode: bool = True) -> ImageAligner:
        super().train(mode)
        for m in self.features.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = (F.avg_pool2d((x + 1) / 2, 2) - self.mean) / self.std
        theta = self.theta(self.localization(self.features(h))).view(-1, 2, 3)
        self.last_theta = theta
        return affine_warp(x, theta)


class AlignedUNet(nn.Module):
    """The v6 candidate generator: :class:`ImageAligner`, then an ImageNet MobileNetV2 U-Net.

    The U-Net is :class:`~portraitcli.train.common.networks.MobileNetUNet` with three output
    channels (SE bottleneck, nearest-neighbour up-sampling, no checkerboard); its skip
    connections carry the aligned drawing's geometry to full resolution, which the SRN's
    bottleneck loses. ``unet.head`` is the output convolution (wrapped by :class:`CanvasHead`
    for ``mean_canvas``, :func:`output_head`).

    Shape: (N, 3, size, size) float RGB in [-1, 1] -> (N, 3, size, size) in [-1, 1] (tanh).
    """

    def __init__(self, size: int = 256, pretrained: bool = True) -> None:
        super().__init__()
        from portraitcli.train.common.networks import MobileNetUNet

        self.align = ImageAligner(size, pretrained)
        self.unet = MobileNetUNet(3, pretrained=pretrained)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unet(self.align(x))


def output_head(G: nn.Module) -> nn.Module:
    """The generator's output convolution (or the :class:`CanvasHead` around it)."""
    return G.unet.head if isinstance(G, AlignedUNet) else G.head


def set_output_head(G: nn.Module, head: nn.Module) -> None:
    """Replace the generator's output head (see :func:`output_head`)."""
    if isinstance(G, AlignedUNet):
        G.unet.head = head
    else:
        G.head = head


def first_theta(G: nn.Module) -> torch.Tensor | None:
    """The (N, 2, 3) matrices of the generator's first spatial transformer in its last
    forward (the SRN's first encoder STN, :class:`AlignedUNet`'s image aligner); None
    without one."""
    if isinstance(G, AlignedUNet):
        return G.align.last_theta
    stn = getattr(G, "enc_stn", None)
    return stn[0].last_theta if stn is not None and isinstance(stn[0], SpatialTransformer) else None


class CanvasHead(nn.Module):
    """An output head that adds a learnable canvas: ``conv(h) + canvas``, before the tanh.

    The canvas starts as the mean training face in pre-tanh units (``atanh`` of it, set by
    :meth:`init_canvas`) and the convolution starts at zero, so an untrained generator
    already outputs the mean face and learns the face-specific difference from it. The
    stylized inputs keep little of a face's colours, so the mean face is a strong prior
    (it scores 14.2 dB / SSIM 0.52 on the validation pairs); without the canvas the networks
    spend epochs getting back to it.

    Shape: (N, C, 128, 128) -> (N, 3, 128, 128) float (pre-tanh).
    """

    def __init__(self, conv: nn.Conv2d, size: int = SIZE) -> None:
        super().__init__()
        self.conv = conv
        nn.init.zeros_(conv.weight)
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)
        self.canvas = nn.Parameter(torch.zeros(1, conv.out_channels, size, size))

    @torch.no_grad()
    def init_canvas(self, mean_face: torch.Tensor, limit: float = 0.97) -> None:
        """Set the canvas to ``atanh(mean_face)``; ``mean_face`` (C, H, W) in [-1, 1], clipped to ``limit``."""
        self.canvas.copy_(torch.atanh(mean_face.clamp(-limit, limit))[None])

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.conv(h) + self.canvas


class DN(nn.Module):
    """Discriminative Network: 4x4 stride-2 convolutions down to 8x8, then a linear score.

    Shape: (N, 3, 128, 128) -> (N, 1).
    """

    def __init__(self, ndf: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _down(3, ndf, norm=False), _down(ndf, 2 * ndf), _down(2 * ndf, 4 * ndf), _down(4 * ndf, 8 * ndf)
        )
        self.score = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(8 * ndf * 16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.score(self.features(x))
