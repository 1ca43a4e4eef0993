"""The 2-D cartoon model: face photo -> Toonify-style cartoon of the same face (stage 1 of cartoon3d).

Pre- and post-processing are plain NumPy, shared by training and inference.

Reference:
    Wang et al., "3D Cartoon Face Generation with Controllable Expressions from a Single
    GAN Image" (stage 1: a cartoon image of the face). Their fine-tuned StyleGAN2 cannot be
    had here, so this is a paired image-to-image generator (pix2pix, Isola et al., CVPR
    2017, plus a perceptual loss) trained on the Toonify-style pairs of ``datasets/toon``.
"""

from __future__ import annotations

import numpy as np

from portraitcli.models.base import ImageModel, padding, register
from portraitcli.models.sketch import photo_to_tensor

#: The network input is reflect-padded to a multiple of this (five down-samplings).
SIZE_MULTIPLE = 32


def photo_to_input(photo: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB crop -> (3, H', W') float32 in [-1, 1], reflect-padded to multiples of 32."""
    return photo_to_tensor(photo, SIZE_MULTIPLE)


def tensor_to_image(y: np.ndarray, height: int, width: int, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """(3, H', W') float in [-1, 1] -> (height, width, 3) uint8 RGB, the padding removed."""
    top, _, left, _ = padding(height, width, multiple)
    y = np.asarray(y)[:, top : top + height, left : left + width].transpose(1, 2, 0)
    return np.clip(np.rint((y + 1.0) * 127.5), 0, 255).astype(np.uint8)


@register("cartoon")
class CartoonModel(ImageModel):
    """Photo -> cartoon with the shipped generator.

    ``run`` takes an aligned crop (H, W, 3) uint8 RGB (sides >= 32 px; trained at 256x256
    in the toon pairs' FFHQ-like framing) and returns (H, W, 3) uint8 RGB.
    """

    def run(self, crop: np.ndarray) -> np.ndarray:
        (y,) = self.session.run(None, {self.input_name: photo_to_input(crop)[None]})
        return tensor_to_image(y[0], crop.shape[0], crop.shape[1])
