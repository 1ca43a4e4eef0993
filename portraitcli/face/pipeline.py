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
from portraitcli.face.align import align_face, blank_outside, warp_affine
from portraitcli.face.paste import paste_back
from portraitcli.types import Face, LoadedImage, Template

FACE_MODES = ("largest", "all")
#: Largest ``--aligned`` input, in pixels (2048 x 2048): the model runs at the input's own
#: size there, and its activations take about 0.8 GiB per megapixel.
MAX_ALIGNED_PIXELS = 2048 * 2048
NO_FACE_POLICIES = ("error", "skip", "whole")


#: ``--whole``: tiles of this side (px) with this overlap run through the model, so a photo
#: of any size takes bounded memory.
TILE, TILE_OVERLAP = 512, 64
#: A drawing model's paste-back draws the whole photo at the faces' scale, at most this big.
MAX_WHOLE_PIXELS = 16_000_000


class Detector(Protocol):
    def detect(self, rgb: np.ndarray) -> list[Face]: ...


@dataclass(frozen=True)
class PipelineOptions:
    """How one image is processed.

    Attributes:
        faces: ``largest`` (one output) or ``all`` (one per face, left to right, or all
            pasted back).
        aligned: the input already is a crop in the model's framing: no detection, the
            model runs on the image at its own size.
        on_no_face: ``error`` (NoFaceError), ``skip`` (no output) or ``whole`` (the whole
            image is treated as the crop).
        paste_back: composite the result into the original image instead of returning the
            crop: into the photo for colour models, into the whole photo drawn in the same
            style for drawing models (grayscale outputs).
        size: output width in pixels for crop outputs (height follows the template's
            aspect); None keeps the template's size.
        whole: run the model on the whole image at its own resolution, in overlapping
            tiles (no face detection).
        whole_side: with ``whole``, resize the image so that its longer side is this many
            px and run the model on it in one piece instead of tiles (a style transfer,
            whose strokes must keep their size relative to the picture); None: tiles.
        rotate: when no face is found, try the image turned by 90, 180 and 270 degrees.
    """

    faces: str = "largest"
    aligned: bool = False
    on_no_face: str = "error"
    paste_back: bool = False
    size: int | None = None
    whole: bool = False
    rotate: bool = True
    whole_side: int | None = None

    def __post_init__(self) -> None:
        if self.faces not in FACE_MODES:
            raise UsageError(f"--faces must be one of {', '.join(FACE_MODES)}, got {self.faces!r}")
        if self.on_no_face not in NO_FACE_POLICIES:
            raise UsageError(f"--on-no-face must be one of {', '.join(NO_FACE_POLICIES)}, got {self.on_no_face!r}")
        if self.size is not None and not 16 <= self.size <= 8192:
            raise UsageError(f"--size must be between 16 and 8192 px, got {self.size}")
        if self.whole and (self.aligned or self.paste_back):
            raise UsageError("--whole runs on the whole photo: it does not go with --aligned or --paste-back")


@dataclass
class Result:
    """What the pipeline made of one image.

    Attributes:
        images: the output images, each (H, W, 3) or (H, W) uint8; empty when skipped.
        alphas: the alpha to re-attach to each output ((H, W) uint8) or None.
        faces: the faces used, in output order (empty for ``--aligned``, ``--whole`` and
            ``whole``), in the input image's coordinates.
        mode: ``aligned``, ``faces``, ``whole`` (no face: the whole image as the crop),
            ``whole-image`` (``--whole``); ``skipped`` when no face was found and the policy
            is ``skip``.
        rotation: degrees (counter-clockwise) the image was turned to find its faces.
        padded: per face, the share of its crop that lay outside the photo.
    """

    images: list[np.ndarray] = field(default_factory=list)
    alphas: list[np.ndarray | None] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)
    mode: str = "faces"
    rotation: int = 0
    padded: list[float] = field(default_factory=list)


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


def _ramp(n: int, overlap: int, first: bool, last: bool) -> np.ndarray:
    """1-D blending weights of a tile of ``n`` px: linear ramps over ``overlap`` px on inner sides."""
    w = np.ones(n, np.float32)
    k = min(overlap, n // 2)
    if k > 0:
        ramp = (np.arange(k, dtype=np.float32) + 0.5) / k
        if not first:
            w[:k] = ramp
        if not last:
            w[n - k :] = ramp[::-1]
    return w


def run_tiled(
    rgb: np.ndarray, run_model: Callable[[np.ndarray], np.ndarray], tile: int = TILE, overlap: int = TILE_OVERLAP
) -> np.ndarray:
    """Run a fully convolutional model over an image of any size in overlapping tiles.

    Tiles of ``tile`` px step by ``tile - overlap``; each output tile is weighted by linear
    ramps across the overlaps and the weighted sum is normalised, so no seam shows and
    memory is bounded by one tile plus the float output.

    Args:
        rgb: (H, W, 3) uint8 RGB.
        run_model: (h, w, 3) uint8 -> (h, w) or (h, w, 3) uint8, any size >= 32 px.

    Returns:
        (H, W) or (H, W, 3) uint8.
    """
    h, w = rgb.shape[:2]
    step = max(1, tile - overlap)
    ys = list(range(0, max(1, h - overlap), step)) if h > tile else [0]
    xs = list(range(0, max(1, w - overlap), step)) if w > tile else [0]
    acc: np.ndarray | None = None
    weight = np.zeros((h, w), np.float32)
    for iy, y0 in enumerate(ys):
        y1 = min(h, y0 + tile)
        y0 = max(0, y1 - tile)
        for ix, x0 in enumerate(xs):
            x1 = min(w, x0 + tile)
            x0 = max(0, x1 - tile)
            out = run_model(np.ascontiguousarray(rgb[y0:y1, x0:x1])).astype(np.float32)
            if acc is None:
                acc = np.zeros((h, w, *out.shape[2:]), np.float32)
            wy = _ramp(y1 - y0, overlap, iy == 0, iy == len(ys) - 1)
            wx = _ramp(x1 - x0, overlap, ix == 0, ix == len(xs) - 1)
            wt = wy[:, None] * wx[None, :]
            acc[y0:y1, x0:x1] += out * (wt if out.ndim == 2 else wt[..., None])
            weight[y0:y1, x0:x1] += wt
    assert acc is not None
    acc /= weight if acc.ndim == 2 else weight[..., None]
    return np.clip(np.rint(acc), 0, 255).astype(np.uint8)


def _detect_turned(rgb: np.ndarray, detector: Detector, rotate: bool) -> tuple[list[Face], int]:
    """Faces of the image, or of the image turned by 90, 180, 270 degrees when it has none
    (``rotate``); returns the faces (in the turned image's coordinates) and the turn."""
    faces = detector.detect(rgb)
    if faces or not rotate:
        return faces, 0
    for k in (1, 3, 2):  # a quarter turn either way is likelier than upside down
        faces = detector.detect(np.ascontiguousarray(np.rot90(rgb, k)))
        if faces:
            return faces, 90 * k
    return [], 0


def _unturn_points(pts: np.ndarray, k: int, turned_hw: tuple[int, int]) -> np.ndarray:
    """(N, 2) points (x, y) of ``np.rot90(image, k)`` (whose size is ``turned_hw``) in the image's coordinates."""
    x, y = pts[:, 0].astype(np.float64), pts[:, 1].astype(np.float64)
    h, w = turned_hw
    for _ in range(k % 4):  # undo one counter-clockwise quarter turn of an image h px high
        x, y = (h - 1) - y, x
        h, w = w, h
    return np.stack([x, y], 1)


def _unturn_face(face: Face, k: int, turned_hw: tuple[int, int]) -> Face:
    """A face found in ``np.rot90(image, k)`` in the image's coordinates."""
    kps = _unturn_points(np.asarray(face.kps), k, turned_hw).astype(np.float32)
    x1, y1, x2, y2 = face.bbox
    corners = _unturn_points(np.array([[x1, y1], [x2, y2]]), k, turned_hw)
    (bx1, by1), (bx2, by2) = corners.min(0), corners.max(0)
    return Face(bbox=(float(bx1), float(by1), float(bx2), float(by2)), kps=kps, score=face.score)


def process(
    image: LoadedImage,
    run_model: Callable[[np.ndarray], np.ndarray],
    template: Template,
    detector: Detector | None,
    options: PipelineOptions,
    run_tile: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Result:
    """Run a model on the face(s) of one image.

    Args:
        image: the decoded input (``rgb`` (H, W, 3) uint8 RGB, optional alpha).
        run_model: aligned crop (h, w, 3) uint8 RGB -> output (h, w) or (h, w, 3) uint8.
        template: the model's framing.
        detector: face detector; unused (may be None) with ``options.aligned`` or
            ``options.whole``. With a ``outline(rgb, face)`` method (68 landmarks), pasted
            faces get a face-and-hair mask instead of the crop's feathered rectangle.
        options: faces / aligned / on_no_face / paste_back / size / whole / rotate.
        run_tile: the model for whole-photo tiles (``--whole``, a drawing's paste-back), when
            it must differ from the crops' (no per-face preprocessing); default ``run_model``.

    Returns:
        A Result with the output image(s) and the alpha to re-attach to each.

    Raises:
        NoFaceError: no face found and ``on_no_face == "error"``.
        BadInputError: an ``aligned`` input over :data:`MAX_ALIGNED_PIXELS`.
        UsageError: a detector is needed but None was given.
    """
    rgb = image.rgb
    if options.whole and options.whole_side is not None:
        h, w = rgb.shape[:2]
        s = options.whole_side / max(h, w)
        out = (run_tile or run_model)(_resize(rgb, (max(16, round(w * s)), max(16, round(h * s)))))
        alpha = None if image.alpha is None else _resize(image.alpha, (out.shape[1], out.shape[0]))
        return Result([out], [alpha], [], "whole-image")
    if options.whole:
        return Result([run_tiled(rgb, run_tile or run_model)], [image.alpha], [], "whole-image")
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
    faces, turn = _detect_turned(rgb, detector, options.rotate)
    if not faces:
        if options.on_no_face == "skip":
            return Result(mode="skipped")
        if options.on_no_face == "whole":
            return run_whole(image, run_model, template)
        h, w = rgb.shape[:2]
        raise NoFaceError(
            f"{image.path}: no face found in the {w}x{h} image, nor turned by 90, 180 or 270 degrees "
            "(use --on-no-face whole to process the whole image, or --aligned for ready crops)"
        )
    work = np.ascontiguousarray(np.rot90(rgb, turn // 90)) if turn else rgb
    work_alpha = (
        image.alpha if image.alpha is None or not turn else np.ascontiguousarray(np.rot90(image.alpha, turn // 90))
    )
    if options.faces == "largest":
        faces = faces[:1]
    else:  # reading order: left to right
        faces = sorted(faces, key=lambda f: (f.bbox[0] + f.bbox[2]) / 2)
    if options.paste_back:
        out = paste_faces(work, faces, run_model, template, detector, run_tile)
        if turn:
            out = np.ascontiguousarray(np.rot90(out, -(turn // 90)))
        return Result([out], [image.alpha], _faces_in_image(faces, turn, work.shape[:2]), "faces", turn, [])
    result = Result(faces=_faces_in_image(faces, turn, work.shape[:2]), rotation=turn)
    out_size = _output_size(template, options.size)
    for face in faces:
        aligned = align_face(work, face, template)
        out = blank_outside(run_model(aligned.crop), aligned.valid)
        result.images.append(_resize(out, out_size))
        result.padded.append(round(aligned.padded, 4))
        alpha = None
        if work_alpha is not None:
            alpha = _resize(warp_affine(work_alpha, aligned.M, template.size), out_size)
        result.alphas.append(alpha)
    return result


def _faces_in_image(faces: list[Face], turn: int, turned_hw: tuple[int, int]) -> list[Face]:
    return faces if not turn else [_unturn_face(f, turn // 90, turned_hw) for f in faces]


def drawn_at_scale(rgb: np.ndarray, run_model: Callable[[np.ndarray], np.ndarray], scale: float) -> np.ndarray:
    """The whole photo drawn by a drawing model at ``scale`` (the photo resized by it, drawn in
    tiles, resized back; at most :data:`MAX_WHOLE_PIXELS` drawn): (H, W) uint8."""
    h, w = rgb.shape[:2]
    scale = min(scale, float(np.sqrt(MAX_WHOLE_PIXELS / (h * w))))
    small = _resize(rgb, (max(32, round(w * scale)), max(32, round(h * scale))))
    base = _resize(run_tiled(small, run_model), (w, h))
    return base if base.ndim == 2 else base.mean(axis=2).round().astype(np.uint8)


def paste_faces(
    rgb: np.ndarray,
    faces: list[Face],
    run_model: Callable[[np.ndarray], np.ndarray],
    template: Template,
    detector: Detector,
    run_tile: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Every face's output composited into the image, with a soft face-and-hair mask and the
    tone matched at the seam.

    A colour model's faces go into the photo. A drawing model's (grayscale output) go into
    the whole photo drawn in the same style (:func:`run_tiled`) at the faces' scale (the
    photo resized by the alignment's scale, then back), so the result is one drawing whose
    strokes match across the seam.

    ``run_tile`` draws the photo's tiles (default ``run_model``): a model whose crops get a
    per-face preprocessing (the sketch model's exposure matching) runs without it there.

    Returns:
        (H, W, 3) uint8 RGB, or (H, W) uint8 for a drawing model.
    """
    outputs = []
    for face in faces:
        aligned = align_face(rgb, face, template)
        out = _resize(run_model(aligned.crop), template.size)
        outline = detector.outline(rgb, face) if hasattr(detector, "outline") else None
        outputs.append((out, aligned.M, outline))
    if any(o.ndim == 2 for o, _, _ in outputs):
        scale = float(np.mean([np.sqrt(abs(np.linalg.det(M[:, :2]))) for _, M, _ in outputs]))
        base = drawn_at_scale(rgb, run_tile or run_model, scale)
    else:
        base = rgb
    for out, M, outline in outputs:
        if base.ndim == 2 and out.ndim == 3:
            out = out.mean(axis=2).round().astype(np.uint8)
        base = paste_back(base, out, M, outline=outline)
    return base
