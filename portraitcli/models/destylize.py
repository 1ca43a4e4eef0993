"""The destylize model: stylized portrait -> photorealistic, aligned 128x128 face (IFRP SRN).

Reference: Shiri et al., "Identity-preserving Face Recovery from Portraits", WACV 2018.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from portraitcli.models.base import ImageModel, register

SIZE = 128


def crops_to_input(crops: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB crops -> (N, 3, H, W) float32 in [-1, 1], the SRN's input."""
    return np.ascontiguousarray(crops.astype(np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0)


def output_to_faces(y: np.ndarray) -> np.ndarray:
    """(N, 3, H, W) float in [-1, 1] (clipped) -> (N, H, W, 3) uint8 RGB faces."""
    return np.clip(np.rint((np.asarray(y).transpose(0, 2, 3, 1) + 1.0) * 127.5), 0, 255).astype(np.uint8)


@register("destylize")
class DestylizeModel(ImageModel):
    """Stylized face crop -> recovered face.

    ``run`` takes a crop (H, W, 3) uint8 RGB in the model's framing (resized to 128x128 with
    Pillow bicubic when it is another size) and returns (128, 128, 3) uint8 RGB; the
    spatial transformers inside the network do the fine alignment.
    """

    def run(self, crop: np.ndarray) -> np.ndarray:
        if crop.shape[:2] != (SIZE, SIZE):
            crop = np.asarray(Image.fromarray(crop).resize((SIZE, SIZE), Image.Resampling.BICUBIC))
        (y,) = self.session.run(None, {self.input_name: crops_to_input(crop[None])})
        return output_to_faces(y)[0]
