"""The sketch model: photo -> pencil sketch (the generator G of :mod:`portraitcli.train.sketch`).

Pre- and post-processing are plain NumPy and shared by training and inference, so the
network sees exactly the same tensors in both.

Reference:
    Liao and Lin, "Research on Sketching Face Headshot Generation based on Improved
    CycleGAN" (sketch-v4 and before; sketch-v5 keeps its SE block and supervised L1 on an
    ImageNet MobileNetV2 U-Net); data: CUHK Face Sketch database (Wang and Tang, TPAMI 2009).
"""

from __future__ import annotations

import numpy as np

from portraitcli.face.exposure import match_template_exposure
from portraitcli.models.base import ImageModel, padding, register

#: Native frame of the model: the CUFS crops, width x height in pixels.
CROP_SIZE = (200, 250)
#: The network input is the crop reflect-padded to a multiple of this (4 down-samplings).
SIZE_MULTIPLE = 16


def photo_to_tensor(photo: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """Turn an aligned RGB photo crop into the generator's input.

    Args:
        photo: (H, W, 3) uint8 RGB, the face in the model's framing.
        multiple: the padding multiple (16 for the sketch model's four down-samplings).

    Returns:
        (3, H', W') float32 in [-1, 1], channels RGB, reflect-padded so that H' and W'
        are the next multiples of ``multiple``.
    """
    top, bottom, left, right = padding(*photo.shape[:2], multiple)
    x = np.pad(photo, ((top, bottom), (left, right), (0, 0)), mode="reflect")
    return (x.astype(np.float32).transpose(2, 0, 1) / 127.5) - 1.0


def sketch_to_tensor(sketch: np.ndarray) -> np.ndarray:
    """Turn a grayscale sketch into the generator's target (training only).

    Args:
        sketch: (H, W) uint8 grayscale.

    Returns:
        (1, H', W') float32 in [-1, 1], padded as :func:`photo_to_tensor`.
    """
    top, bottom, left, right = padding(*sketch.shape[:2], SIZE_MULTIPLE)
    x = np.pad(sketch, ((top, bottom), (left, right)), mode="reflect")
    return x.astype(np.float32)[None] / 127.5 - 1.0


def tensor_to_sketch(y: np.ndarray, height: int, width: int, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """Turn the generator's output back into an 8-bit sketch of the crop's size.

    Args:
        y: (1, H', W') or (H', W') float in [-1, 1] (values outside are clipped).
        height: H of the crop given to :func:`photo_to_tensor`.
        width: W of that crop.
        multiple: the padding multiple the input was padded to.

    Returns:
        (height, width) uint8 grayscale, 0 black, 255 white.
    """
    y = np.asarray(y).reshape(y.shape[-2:])
    top, _, left, _ = padding(height, width, multiple)
    y = y[top : top + height, left : left + width]
    return np.clip(np.rint((y + 1.0) * 127.5), 0, 255).astype(np.uint8)


@register("sketch")
class SketchModel(ImageModel):
    """Photo -> pencil sketch with the shipped SE-U-Net generator.

    ``run`` takes an aligned crop (H, W, 3) uint8 RGB of any size whose sides are at
    least 16 px (the model was trained at 200x250) and returns (H, W) uint8 grayscale.
    When the model's template records the training photos' exposure, the crop's face
    region is first matched to it (:func:`~portraitcli.face.exposure.match_template_exposure`)
    unless ``run(crop, match_exposure=False)``.
    """

    def run(self, crop: np.ndarray, match_exposure: bool = True) -> np.ndarray:
        if match_exposure:
            crop = match_template_exposure(crop, self.spec.template)
        x = photo_to_tensor(crop)[None]
        (y,) = self.session.run(None, {self.input_name: x})
        return tensor_to_sketch(y[0], crop.shape[0], crop.shape[1])
