"""Plain data types shared by the layers (no behaviour, no heavy imports).

Image contract: inside the library an image is ``(H, W, 3) uint8 RGB``; a mask or a
grayscale image is ``(H, W) uint8``. Coordinates are pixels, x right and y down, with
pixel centres at integer coordinates (OpenCV's convention).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LoadedImage:
    """An image as read from disk.

    Attributes:
        rgb: (H, W, 3) uint8 RGB, EXIF orientation applied.
        alpha: (H, W) uint8 alpha (255 opaque) if the file had transparency, else None.
        path: where it was read from.
        format: Pillow's format name ("JPEG", "PNG", ...).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    path: Path
    format: str


@dataclass(frozen=True)
class Face:
    """One detected face.

    Attributes:
        bbox: (x1, y1, x2, y2) float pixels in the image.
        kps: (5, 2) float32 landmarks (x, y) in pixels, in the order of
            :data:`portraitcli.face.detect.KPS_NAMES` (dlib's 5-point model): outer and
            inner corner of the subject's left eye (on the image's right), outer and
            inner corner of the right eye, base of the nose.
        score: the detector's confidence (dlib HOG: SVM margin; higher is surer).
    """

    bbox: tuple[float, float, float, float]
    kps: np.ndarray
    score: float

    @property
    def area(self) -> float:
        """Area of the bounding box in square pixels."""
        x1, y1, x2, y2 = self.bbox
        return max(x2 - x1, 0.0) * max(y2 - y1, 0.0)


@dataclass(frozen=True)
class Exposure:
    """The face region's luma statistics of a model's training photos.

    Attributes:
        mean: mean BT.601 luma of the face region, 8-bit units (0 to 255).
        std: its standard deviation, same units.

    See :mod:`portraitcli.face.exposure`.
    """

    mean: float
    std: float


@dataclass(frozen=True)
class Template:
    """Where a model wants the 5 landmarks in its crop.

    Attributes:
        size: (width, height) of the crop in pixels.
        kps: (5, 2) float32 landmark positions (x, y) in the crop, same order as
            :attr:`Face.kps`.
        exposure: the training photos' face-region luma statistics, which a crop is
            matched to before the model runs; None for models that do not match exposure.
    """

    size: tuple[int, int]
    kps: np.ndarray = field(repr=False)
    exposure: Exposure | None = None

    def scaled(self, width: int, height: int) -> Template:
        """The same framing at another crop size (landmarks scaled per axis)."""
        sx, sy = width / self.size[0], height / self.size[1]
        kps = (self.kps * np.array([sx, sy], np.float32)).astype(np.float32)
        return Template((width, height), kps, self.exposure)


@dataclass(frozen=True)
class Aligned:
    """A face warped into a model's framing.

    Attributes:
        crop: (h, w, 3) uint8 RGB, w x h = the template's size.
        M: (2, 3) float64 similarity transform from image to crop pixels.
        face: the detection it came from, or None for ``--aligned`` / whole-image input.
        valid: (h, w) float32 in [0, 1], the share of each crop pixel that lies inside the
            image (0 where the crop reaches past the photo's edge); None: all inside.
    """

    crop: np.ndarray
    M: np.ndarray
    face: Face | None
    valid: np.ndarray | None = None

    @property
    def padded(self) -> float:
        """The share of the crop that lies outside the image (0 to 1)."""
        return 0.0 if self.valid is None else float(1.0 - self.valid.mean())
