"""The draw model: photo + drawing style -> artistic portrait drawing.

Pre- and post-processing are plain NumPy, shared by training and inference.

Reference:
    Guo et al., "Generating Artistic Portraits from Face Photos with Feature
    Disentanglement and Reconstruction", Electronics 2024; data: FS2K (Fan et al., MIR
    2022), three drawing styles.
"""

from __future__ import annotations

import numpy as np

from portraitcli.errors import UsageError
from portraitcli.models.base import ImageModel, padding, register
from portraitcli.models.sketch import tensor_to_sketch

#: The network input is reflect-padded to a multiple of this (the image U-Net's four
#: down-samplings, plus the DWT's halving for the information U-Net).
SIZE_MULTIPLE = 32
#: FS2K's drawing styles, numbered as ``--style``.
STYLES = (1, 2, 3)


def photo_to_input(photo: np.ndarray, style: int, n_styles: int = len(STYLES)) -> np.ndarray:
    """Turn an aligned RGB crop and a style into the generator's input.

    Args:
        photo: (H, W, 3) uint8 RGB, the face in the model's framing.
        style: 1 .. n_styles.
        n_styles: S.

    Returns:
        (3 + S, H', W') float32: RGB in [-1, 1], then S one-hot planes (1 for ``style``),
        reflect-padded so that H' and W' are the next multiples of 32.

    Raises:
        UsageError: style out of range.
    """
    if not 1 <= style <= n_styles:
        raise UsageError(f"--style must be one of {', '.join(map(str, range(1, n_styles + 1)))}; got {style}")
    top, bottom, left, right = padding(*photo.shape[:2], SIZE_MULTIPLE)
    x = np.pad(photo, ((top, bottom), (left, right), (0, 0)), mode="reflect")
    rgb = x.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    planes = np.zeros((n_styles, *rgb.shape[1:]), np.float32)
    planes[style - 1] = 1.0
    return np.concatenate([rgb, planes])


def drawing_to_tensor(drawing: np.ndarray) -> np.ndarray:
    """(H, W) uint8 drawing -> (1, H', W') float32 in [-1, 1], padded as :func:`photo_to_input` (training)."""
    top, bottom, left, right = padding(*drawing.shape[:2], SIZE_MULTIPLE)
    x = np.pad(drawing, ((top, bottom), (left, right)), mode="reflect")
    return x.astype(np.float32)[None] / 127.5 - 1.0


def tensor_to_drawing(y: np.ndarray, height: int, width: int) -> np.ndarray:
    """(1, H', W') float in [-1, 1] -> (height, width) uint8 drawing, the padding removed."""
    return tensor_to_sketch(y, height, width, SIZE_MULTIPLE)


@register("draw")
class DrawModel(ImageModel):
    """Photo -> portrait drawing in one of FS2K's three styles (``run(crop, style=1)``).

    ``run`` takes an aligned crop (H, W, 3) uint8 RGB (sides >= 32 px; the model was
    trained at 256x256) and returns (H, W) uint8 grayscale.
    """

    def run(self, crop: np.ndarray, style: int = 1) -> np.ndarray:
        x = photo_to_input(crop, style)[None]
        (y,) = self.session.run(None, {self.input_name: x})
        return tensor_to_drawing(y[0], crop.shape[0], crop.shape[1])
