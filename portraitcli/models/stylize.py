"""Exemplar style transfer: photo + style image -> the photo painted in that style.

The shipped model is our fast arbitrary-style network (whitening and colouring transforms on
an ImageNet MobileNetV2 encoder, :mod:`portraitcli.train.stylize.networks`): one ONNX graph with inputs
``content``, ``style`` and ``alpha``. The slow reference, Gatys et al.'s image
optimisation, is :mod:`portraitcli.models.gatys` (needs PyTorch). Both share the
pre-processing here and the colour-preserving variant (:func:`luminance_transfer`).

References:
    Li, Fang, Yang, Wang, Lu and Yang, "Universal Style Transfer via Feature Transforms",
    NeurIPS 2017. Huang and Belongie, "Arbitrary Style Transfer in Real-time with Adaptive
    Instance Normalization", ICCV 2017. Gatys, Bethge, Hertzmann and Shechtman, "Preserving Color in
    Neural Artistic Style Transfer", arXiv:1606.05897, 2016 (luminance-only transfer).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from portraitcli.errors import BadInputError
from portraitcli.models.base import ImageModel, padding, register

#: The network's stride: inputs are reflect-padded to multiples of it.
SIZE_MULTIPLE = 16
#: The style image is resized so that its longer side is this many px (the training scale ratio:
#: contents and styles were cropped alike, so a 512 px photo wants a style about half its size).
STYLE_SIDE = 256
#: Smallest style image side accepted, px.
MIN_STYLE_SIDE = 32
#: RGB -> YIQ (NTSC), the colour space of Gatys et al.'s luminance-only transfer.
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float32)


def to_tensor(rgb: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (1, 3, H', W') float32 in [-1, 1], reflect-padded to multiples of ``multiple``."""
    top, bottom, left, right = padding(rgb.shape[0], rgb.shape[1], multiple)
    x = np.pad(rgb, ((top, bottom), (left, right), (0, 0)), mode="reflect") if top + bottom + left + right else rgb
    return (x.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1.0).copy()


def to_image(y: np.ndarray, height: int, width: int, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """(3, H', W') float in [-1, 1] -> (height, width, 3) uint8 RGB, the padding removed."""
    top, _, left, _ = padding(height, width, multiple)
    y = np.asarray(y)[:, top : top + height, left : left + width].transpose(1, 2, 0)
    return np.clip(np.rint((y + 1.0) * 127.5), 0, 255).astype(np.uint8)


def prepare_style(style: np.ndarray, side: int = STYLE_SIDE) -> np.ndarray:
    """A style image resized so that its longer side is ``side`` px (area filter down, cubic up).

    Args:
        style: (H, W, 3) uint8 RGB.

    Raises:
        BadInputError: a side is shorter than :data:`MIN_STYLE_SIDE` px.
    """
    h, w = style.shape[:2]
    if min(h, w) < MIN_STYLE_SIDE:
        raise BadInputError(f"the style image is {w}x{h}: both sides must be at least {MIN_STYLE_SIDE} px")
    s = side / max(h, w)
    size = (max(SIZE_MULTIPLE, round(w * s)), max(SIZE_MULTIPLE, round(h * s)))
    return cv2.resize(style, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def _yiq(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ RGB_TO_YIQ.T


def _gray3(y: np.ndarray) -> np.ndarray:
    return np.repeat(np.clip(np.rint(y), 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def luminance_transfer(
    content: np.ndarray, style: np.ndarray, transfer: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """Style transfer that keeps the content's colours (Gatys et al. 2016, "luminance-only transfer").

    The style's luminance is matched to the content's mean and standard deviation (their
    eq. 1), ``transfer`` runs on the two luminance images (as gray RGB), and the result's
    luminance Y is combined with the content's I and Q channels (YIQ colour space).

    Args:
        content: (H, W, 3) uint8 RGB.
        style: (h, w, 3) uint8 RGB.
        transfer: (content, style) uint8 RGB -> (H, W, 3) uint8 RGB, any style transfer.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    yc, ys = _yiq(content), _yiq(style)[..., 0]
    luma_style = (ys - ys.mean()) * (yc[..., 0].std() / (ys.std() + 1e-6)) + yc[..., 0].mean()
    out = transfer(_gray3(yc[..., 0]), _gray3(luma_style))
    yiq = np.concatenate([_yiq(out)[..., :1], yc[..., 1:]], axis=2)
    rgb = yiq @ np.linalg.inv(RGB_TO_YIQ).T
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


@register("stylize")
class StylizeModel(ImageModel):
    """Photo + style image -> stylized photo with the shipped fast model.

    ``run`` takes the content (H, W, 3) uint8 RGB (any size with sides >= 16 px; the
    network is fully convolutional) and returns (H, W, 3) uint8 RGB.
    """

    def run(
        self, crop: np.ndarray, style: np.ndarray, strength: float = 1.0, preserve_color: bool = False
    ) -> np.ndarray:
        """Stylize ``crop`` with ``style`` ((h, w, 3) uint8 RGB, resized by :func:`prepare_style`).

        Args:
            strength: the transform's alpha in [0, 1]: 0 keeps the content's feature statistics
                (a reconstruction of the photo), 1 takes the style's.
            preserve_color: keep the photo's colours (:func:`luminance_transfer`).
        """
        style = prepare_style(style)
        if preserve_color:
            return luminance_transfer(crop, style, lambda c, s: self._run(c, s, strength))
        return self._run(crop, style, strength)

    def _run(self, content: np.ndarray, style: np.ndarray, strength: float) -> np.ndarray:
        feeds = {
            "content": to_tensor(content),
            "style": to_tensor(style),
            "alpha": np.array([strength], np.float32),
        }
        (y,) = self.session.run(None, feeds)
        return to_image(y[0], content.shape[0], content.shape[1])
