"""Image -> faces -> aligned crops -> model -> output, for one image.

Pure functions over arrays: the detector and the model are passed in, so one of each
serves a whole batch and nothing leaks from one image to the next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from portraitcli.errors import BadInputError, NoFaceError, UsageError
from portraitcli.face.align import align_face, warp_affine
from portraitcli.face.paste import paste_back
from portraitcli.types import Face, LoadedImage, Template

FACE_MODES = ("largest", "all")
#: Largest ``--aligned`` input, in pixels (2048 x 2048): the model runs at the input's own
#: size there, and its activations take about 0.8 GiB per megapixel.
MAX_ALIGNED_PIXELS = 2048 * 2048
NO_FACE_POLICIES = ("error", "skip", "whole")


class Detector(Protocol):
    def detect(self, rgb: np.ndarray) -> list[Face]: ...


@dataclass(frozen=True)
class PipelineOptions:
    """How one image is processed.

    Attributes:
        faces: ``largest`` (one output) or ``all`` (one per face, or all pasted back).
        aligned: the input already is a crop in the model's framing: no detection, the
            model runs on the image at its own size.
        on_no_face: ``error`` (NoFaceError), ``skip`` (no output) or ``whole`` (the whole
            image is treated as the crop).
        paste_back: composite the result into the original image instead of returning the
            crop.
        size: output width in pixels for crop outputs (height follows the template's
            aspect); None keeps the template's size.
    """

    faces: str = "largest"
    aligned: bool = False
    on_no_face: str = "error"
    paste_back: bool = False
    size: int | None = None

    def __post_init__(self) -> None:
        if self.faces not in FACE_MODES:
            raise UsageError(f"--faces must be one of {', '.join(FACE_MODES)}, got {self.faces!r}")
        if self.on_no_face not in NO_FACE_POLICIES:
            raise UsageError(f"--on-no-face must be one of {', '.join(NO_FACE_POLICIES)}, got {self.on_no_face!r}")
        if self.size is not None and not 16 <= self.size <= 8192:
            raise UsageError(f"--size must be between 16 and 8192 px, got {self.size}")


@dataclass
class Result:
    """What the pipeline made of one image.

    Attributes:
        images: the output images, each (H, W, 3) or (H, W) uint8; empty when skipped.
        alphas: the alpha to re-attach to each output ((H, W) uint8) or None.
        faces: the faces used (empty for ``--aligned`` and ``whole``).
        mode: ``aligned``, ``faces`` or ``whole``; ``skipped`` when no face was found
            and the policy is ``skip``.
    """

    images: list[np.ndarray] = field(default_factory=list)
    alphas: list[np.ndarray | None] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)
    mode: str = "faces"


def _resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (img.shape[1], img.shape[0]) == size:
        return img
    shrink = size[0] < img.shape[1]
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4)


def _output_size(template: Template, width: int | None) -> tuple[int, int]:
    if width is None:
        return template.size
    tw, th = template.size
    return width, max(1, round(width * th / tw))


def run_whole(image: LoadedImage, run_model: Callable[[np.ndarray], np.ndarray], template: Template) -> Result:
    """Treat the whole image as the crop: resize it to the template's scale, run, resize back.

    The image is scaled so that it fits the template's size (aspect kept), the model runs
    on it, and the output is brought back to the image's size.
    """
    h, w = image.rgb.shape[:2]
    tw, th = template.size
    s = min(tw / w, th / h)
    small = _resize(image.rgb, (max(16, round(w * s)), max(16, round(h * s))))
    out = _resize(run_model(small), (w, h))
    return Result([out], [image.alpha], [], "whole")


def process(
    image: LoadedImage,
    run_model: Callable[[np.ndarray], np.ndarray],
    template: Template,
    detector: Detector | None,
    options: PipelineOptions,
) -> Result:
    """Run a model on the face(s) of one image.

    Args:
        image: the decoded input (``rgb`` (H, W, 3) uint8 RGB, optional alpha).
        run_model: aligned crop (h, w, 3) uint8 RGB -> output (h, w) or (h, w, 3) uint8.
        template: the model's framing.
        detector: face detector; unused (may be None) with ``options.aligned``.
        options: faces / aligned / on_no_face / paste_back / size.

    Returns:
        A Result with the output image(s) and the alpha to re-attach to each.

    Raises:
        NoFaceError: no face found and ``on_no_face == "error"``.
        BadInputError: an ``aligned`` input over :data:`MAX_ALIGNED_PIXELS`.
        UsageError: a detector is needed but None was given.
    """
    rgb = image.rgb
    if options.aligned:
        h, w = rgb.shape[:2]
        if h * w > MAX_ALIGNED_PIXELS:
            raise BadInputError(
                f"{image.path}: {w}x{h} is too large for --aligned (the model runs at the input's size; "
                f"at most {MAX_ALIGNED_PIXELS / 1e6:.1f} megapixels): resize the crop or leave out --aligned"
            )
        out = run_model(rgb)
        alpha = image.alpha
        if options.size is not None and not options.paste_back:
            size = (options.size, max(1, round(options.size * rgb.shape[0] / rgb.shape[1])))
            out = _resize(out, size)
            alpha = None if alpha is None else _resize(alpha, size)
        return Result([out], [alpha], [], "aligned")
    if detector is None:
        raise UsageError("a face detector is needed unless --aligned is given")
    faces = detector.detect(rgb)
    if not faces:
        if options.on_no_face == "skip":
            return Result(mode="skipped")
        if options.on_no_face == "whole":
            return run_whole(image, run_model, template)
        h, w = rgb.shape[:2]
        raise NoFaceError(
            f"{image.path}: no face found in the {w}x{h} image "
            "(use --on-no-face whole to process the whole image, or --aligned for ready crops)"
        )
    if options.faces == "largest":
        faces = faces[:1]
    result = Result(faces=list(faces))
    composite = rgb
    out_size = _output_size(template, options.size)
    for face in faces:
        aligned = align_face(rgb, face, template)
        out = run_model(aligned.crop)
        if options.paste_back:
            out = _resize(out, template.size)
            composite = paste_back(composite, out, aligned.M)
        else:
            result.images.append(_resize(out, out_size))
            alpha = None
            if image.alpha is not None:
                alpha = _resize(warp_affine(image.alpha, aligned.M, template.size), out_size)
            result.alphas.append(alpha)
    if options.paste_back:
        result.images, result.alphas = [composite], [image.alpha]
    return result
