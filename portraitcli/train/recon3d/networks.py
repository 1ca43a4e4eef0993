"""Networks of the 3-D reconstruction: depth, albedo, confidence, viewpoint and light.

Reference:
    S. Wu, C. Rupprecht, A. Vedaldi, "Unsupervised Learning of Probably Symmetric
    Deformable 3D Objects from Images in the Wild", CVPR 2020 (Unsup3d), section 3 and its
    code (``Encoder``, ``EDDeconv``, ``ConfNet``). Narrower than the paper's (``nf`` 32
    instead of 64 by default) so that training fits on 2 CPU cores.

All networks take the face crop (N, 3, S, S) float RGB in [-1, 1], S = 64 (the encoders
reduce 64 px to 1 px with four stride-2 convolutions and one 4x4 valid convolution).

Beside Unsup3d's networks, an optional *view-depth* network (not in the paper): a U-Net with
the ImageNet MobileNetV2 encoder that predicts the depth in the input's own view, pixel by
pixel, supervised on synthetic faces with known shape (``synth_train``). Unsup3d's depth is a
canonical map that a separately predicted viewpoint must turn into the view, and neither
learned the person's shape from photos alone (issue 35); a pixel-aligned prediction reads
the silhouette and shading where they are.
"""

from __future__ import annotations

import torch
from torch import nn

from portraitcli.train.recon3d.renderer import CENTER

#: Canonical depth range (Unsup3d: min_depth 0.9, max_depth 1.1).
DEPTH_RANGE = (0.9, 1.1)
#: |pitch|, |yaw|, |roll| at most this many degrees (Unsup3d: xyz_rotation_range 60).
ROTATION_RANGE = 60.0
#: The view-depth network's output: ``CENTER z + VIEW_DEPTH_RANGE * tanh(.)``.
VIEW_DEPTH_RANGE = 0.1
#: Decoder widths of the view-depth U-Net (:class:`~portraitcli.train.common.networks.MobileNetUNet`).
VIEW_DEPTH_DECODER = (64, 48, 32, 16)
#: |tx|, |ty| at most this (Unsup3d: xy_translation_range 0.1); tz is 0.
TRANSLATION_RANGE = 0.1
SIZE = 64


def _down(c_in: int, c_out: int, norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.GroupNorm(max(1, c_out // 16), c_out))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


def _up(c_in: int, c_out: int) -> list[nn.Module]:
    return [
        nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
        nn.GroupNorm(max(1, c_out // 16), c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
        nn.GroupNorm(max(1, c_out // 16), c_out),
        nn.ReLU(inplace=True),
    ]


class Encoder(nn.Module):
    """Image -> vector (Unsup3d ``Encoder``): (N, 3, 64, 64) -> (N, out_features) in [-1, 1] (tanh)."""

    def __init__(self, out_features: int, nf: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            *_down(3, nf, False),
            *_down(nf, 2 * nf, False),
            *_down(2 * nf, 4 * nf, False),
            *_down(4 * nf, 8 * nf, False),
            nn.Conv2d(8 * nf, 8 * nf, 4, 1, 0),
            nn.ReLU(inplace=True),
            nn.Conv2d(8 * nf, out_features, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(x).flatten(1))


class EncoderDecoder(nn.Module):
    """Image -> map (Unsup3d ``EDDeconv``): (N, 3, 64, 64) -> (N, out_channels, 64, 64), no activation.

    A bottleneck of ``zdim`` numbers at 1x1, then transposed convolutions back to 64 px.
    """

    def __init__(self, out_channels: int, nf: int = 32, zdim: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            *_down(3, nf, True),
            *_down(nf, 2 * nf, True),
            *_down(2 * nf, 4 * nf, True),
            *_down(4 * nf, 8 * nf, False),
            nn.Conv2d(8 * nf, zdim, 4, 1, 0),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(zdim, 8 * nf, 4, 1, 0),
            nn.ReLU(inplace=True),
            *_up(8 * nf, 4 * nf),
            *_up(4 * nf, 2 * nf),
            *_up(2 * nf, nf),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(nf, nf, 3, 1, 1, bias=False),
            nn.GroupNorm(max(1, nf // 16), nf),
            nn.ReLU(inplace=True),
            nn.Conv2d(nf, out_channels, 5, 1, 2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _border_mask(size: int, width: int = 2) -> torch.Tensor:
    m = torch.zeros(size, size)
    m[:width] = m[-width:] = 1.0
    m[:, :width] = m[:, -width:] = 1.0
    return m


class Recon3dNet(nn.Module):
    """The four Unsup3d predictors plus the confidence network.

    ``forward(image)`` returns a dict:

    - ``depth`` (N, H, W): canonical depth in ``DEPTH_RANGE``; the 2-px image border is
      pushed to a far value (Unsup3d's ``border_depth``) so the face's silhouette falls
      off rather than wrapping;
    - ``albedo`` (N, 3, H, W) in [-1, 1];
    - ``confidence`` (N, 4, H, W) > 0 (softplus): sigma of the photometric loss of the
      reconstruction and of its flipped twin, then of the perceptual loss (both twins);
    - ``view`` (N, 6): pitch, yaw, roll in degrees (|.| <= ROTATION_RANGE), tx, ty
      (|.| <= TRANSLATION_RANGE), tz = 0;
    - ``light`` (N, 4): ambient k_s and diffuse k_d in [0, 1], light direction lx, ly in [-1, 1];
    - with ``view_depth``, ``view_depth`` (N, H, W): camera-space z of the surface seen at
      each input pixel, within ``VIEW_DEPTH_RANGE`` of the canonical face's distance
      (:meth:`predict_view_depth`).

    ``pretrained``: the view-depth encoder starts from ImageNet (False: random, for tests
    and for loading a checkpoint).
    """

    def __init__(
        self, nf: int = 32, zdim: int = 128, size: int = SIZE, view_depth: bool = False, pretrained: bool = True
    ) -> None:
        super().__init__()
        if size != SIZE:
            raise ValueError(f"the networks take {SIZE} px crops, got {size}")
        self.depth_net = EncoderDecoder(1, nf, zdim)
        self.albedo_net = EncoderDecoder(3, nf, zdim)
        self.confidence_net = EncoderDecoder(4, nf // 2, zdim // 2)
        self.view_net = Encoder(5, nf)
        self.light_net = Encoder(4, nf)
        self.view_depth_net: nn.Module | None = None
        if view_depth:
            from portraitcli.train.common.networks import MobileNetUNet

            self.view_depth_net = MobileNetUNet(1, decoder=VIEW_DEPTH_DECODER, pretrained=pretrained)
        self.register_buffer("border", _border_mask(size), persistent=False)

    def predict_view_depth(self, image: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) -> (N, S, S) the depth in the input's view (the view-depth network).

        Raises:
            ValueError: the network was built without ``view_depth``.
        """
        if self.view_depth_net is None:
            raise ValueError("this reconstruction has no view-depth network (view_depth=False)")
        return CENTER[2] + VIEW_DEPTH_RANGE * self.view_depth_net(image)[:, 0]

    def canonical_depth(self, image: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) -> (N, S, S) canonical depth in ``DEPTH_RANGE``, the border pushed far."""
        lo, hi = DEPTH_RANGE
        raw = self.depth_net(image)[:, 0]
        raw = torch.tanh(raw - raw.mean(dim=(1, 2), keepdim=True))  # Unsup3d: zero-mean, then tanh
        depth = CENTER[2] + raw * (hi - lo) / 2
        far = 0.7 * hi + 0.3 * lo
        return depth * (1 - self.border) + far * self.border

    def predict_view(self, image: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) -> (N, 6) viewpoint: pitch, yaw, roll in degrees, tx, ty, tz = 0 (see ``forward``)."""
        v = self.view_net(image)
        return torch.cat([v[:, :3] * ROTATION_RANGE, v[:, 3:5] * TRANSLATION_RANGE, torch.zeros_like(v[:, :1])], 1)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        depth = self.canonical_depth(image)
        view = self.predict_view(image)
        lt = self.light_net(image)
        light = torch.cat([(lt[:, :2] + 1) / 2, lt[:, 2:]], 1)
        out = {
            "depth": depth,
            "albedo": torch.tanh(self.albedo_net(image)),
            "confidence": nn.functional.softplus(self.confidence_net(image)),
            "view": view,
            "light": light,
        }
        if self.view_depth_net is not None:
            out["view_depth"] = self.predict_view_depth(image)
        return out


def shrink_to_prior(depth: torch.Tensor, prior: torch.Tensor, blend: float, border: torch.Tensor) -> torch.Tensor:
    """Shrink canonical depths towards a shape prior: ``d + blend (p' - d)`` inside the border.

    ``p'`` is the prior (S, S) shifted to each depth's mean over the pixels inside the
    border (the prior fixes the shape, not the distance); the far border (S, S mask
    ``border``, 1 on it) is left as the network made it. ``blend`` 0 keeps the network's
    depth (N, S, S), 1 gives the prior at the network's distance. A shrinkage estimator:
    on synthetic faces the networks' own depth, trained without depth labels, strays from
    the mean face in ways that cost accuracy (docs/experiments/log.md), so the exported model may
    pull it back by a ``prior_blend`` chosen on synthetic validation faces.
    """
    inside = 1.0 - border
    n_inside = inside.sum()
    mean_d = (depth * inside).sum(dim=(1, 2), keepdim=True) / n_inside
    mean_p = (prior * inside).sum() / n_inside
    return depth + blend * (prior - mean_p + mean_d - depth) * inside


class InferenceNet(nn.Module):
    """The graph exported to ONNX: image (N, 3, 64, 64) in [-1, 1] ->
    (depth (N, 64, 64), albedo (N, 3, 64, 64), view (N, 6), light (N, 4)[, view_depth (N, 64, 64)])
    as :class:`Recon3dNet`, the depth shrunk towards ``prior`` (S, S) by ``prior_blend``
    (:func:`shrink_to_prior`) when given."""

    def __init__(self, net: Recon3dNet, prior: torch.Tensor | None = None, prior_blend: float = 0.0) -> None:
        super().__init__()
        self.net = net
        self.prior_blend = float(prior_blend)
        if prior_blend and prior is None:
            raise ValueError("prior_blend needs the prior depth")
        self.register_buffer("prior", prior if prior is not None else torch.zeros(1), persistent=False)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.net(image)
        depth = out["depth"]
        if self.prior_blend:
            depth = shrink_to_prior(depth, self.prior, self.prior_blend, self.net.border)
        maps = (depth, out["albedo"], out["view"], out["light"])
        return (*maps, out["view_depth"]) if "view_depth" in out else maps
