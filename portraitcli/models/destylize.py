"""The destylize model: stylized portrait -> photorealistic, aligned face (IFRP; 128 px for
destylize-v5's SRN, the model's own input size for any other).

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


def resize_square(image: np.ndarray, side: int) -> np.ndarray:
    """(H, W, C) uint8 resized to (side, side, C) with Pillow bicubic; ``image`` itself when it is that size."""
    if image.shape[:2] == (side, side):
        return image
    return np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC))


def output_to_faces(y: np.ndarray) -> np.ndarray:
    """(N, 3, H, W) float in [-1, 1] (clipped) -> (N, H, W, 3) uint8 RGB faces."""
    return np.clip(np.rint((np.asarray(y).transpose(0, 2, 3, 1) + 1.0) * 127.5), 0, 255).astype(np.uint8)


@register("destylize")
class DestylizeModel(ImageModel):
    """Stylized face crop -> recovered face.

    ``run`` takes a crop (H, W, 3) uint8 RGB in the model's framing (resized to the model's
    fixed input side S with Pillow bicubic when it is another size) and returns (S, S, 3)
    uint8 RGB; the spatial transformers inside the network do the fine alignment.
    """

    @property
    def size(self) -> int:
        """The model's input and output side in px, from its ONNX input (destylize-v5: 128)."""
        side = self.session.get_inputs()[0].shape[-1]
        return side if isinstance(side, int) else SIZE

    def run(self, crop: np.ndarray) -> np.ndarray:
        crop = resize_square(crop, self.size)
        (y,) = self.session.run(None, {self.input_name: crops_to_input(crop[None])})
        return output_to_faces(y)[0]
