"""MTCNN face detection with ONNX Runtime, dlib's 5 landmarks inside its boxes.

MTCNN (Zhang, Zhang, Li and Qiao, IEEE SPL 2016) is a cascade: P-Net scans an image
pyramid for 12 px face windows, R-Net re-scores 24 px crops of the survivors and O-Net
48 px crops, each stage regressing the box and suppressing overlaps (NMS). The networks
are the authors' weights converted to ONNX by :mod:`portraitcli.train.mtcnn` and shipped
in ``weights/face/`` (MIT; provenance in ``mtcnn.json``).

The crop templates of every model were fitted on dlib's 5-point landmarks (eye corners
and nose base), not on MTCNN's (eye centres, nose tip, mouth corners), so the landmarks
still come from dlib's shape predictor, run in the MTCNN box mapped onto the box dlib's
HOG detector would have drawn (:data:`HOG_BOX`, fitted on FS2K training photos). When
MTCNN finds nothing, dlib's HOG detector runs as a fallback.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from portraitcli.errors import WeightsError
from portraitcli.face.detect import FaceDetector
from portraitcli.types import Face

#: Face probability thresholds of P-Net, R-Net and O-Net (the authors' values).
THRESHOLDS = (0.6, 0.7, 0.8)
#: IoU thresholds of the non-maximum suppression after each stage.
NMS_IOU = (0.7, 0.7, 0.7)
#: Image pyramid step (the authors' 0.709) and P-Net's window, px.
PYRAMID_FACTOR, PNET_CELL, PNET_STRIDE = 0.709, 12, 2
#: MTCNN box (x1, y1, x2, y2) -> dlib HOG box: the HOG box's centre offset and side, as
#: fractions of the MTCNN box's width: ``(dx, dy, side)``. Fitted with
#: ``benchmarks/detector.py --fit`` on 300 FS2K training photos (median over the 288 faces both find once).
HOG_BOX = (-0.003, 0.102, 1.156)
#: Largest distance between MTCNN's and dlib's eye positions accepted, in inter-ocular distances.
EYE_TOLERANCE = 0.3


def face_weights_dir() -> Path:
    """The packaged ``weights/face`` folder (wheels: ``portraitcli/weights/face``; a source
    checkout: ``weights/face``). ``$PORTRAIT_WEIGHTS`` swaps our trained models, not these.

    Raises:
        WeightsError: neither folder holds ``mtcnn.json``.
    """
    here = Path(__file__).resolve().parent.parent
    candidates = [here / "weights" / "face", here.parent / "weights" / "face"]
    for folder in candidates:
        if (folder / "mtcnn.json").is_file():
            return folder
    raise WeightsError(f"no mtcnn.json in {', '.join(map(str, candidates))}; reinstall portraitcli")


def nms(boxes: np.ndarray, iou: float, mode: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression.

    Args:
        boxes: (N, >=5) float, columns x1, y1, x2, y2, score (pixels, inclusive corners as
            in MTCNN: width = x2 - x1 + 1).
        iou: overlap above which the lower-scored box is dropped.
        mode: ``union`` (intersection over union) or ``min`` (intersection over the smaller
            box's area, MTCNN's last stage).

    Returns:
        Indices of the kept boxes, highest score first.
    """
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    x1, y1, x2, y2, score = (boxes[:, i] for i in range(5))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-score, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        denom = np.minimum(area[i], area[rest]) if mode == "min" else area[i] + area[rest] - inter
        order = rest[inter / denom <= iou]
    return np.asarray(keep, np.int64)


def calibrate(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Apply a stage's box regression: each corner moves by its offset times the box size.

    Args:
        boxes: (N, >=4) x1, y1, x2, y2.
        offsets: (N, 4) fractions of the box's width (x) and height (y).
    """
    out = boxes.copy()
    wh = np.stack([boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1], 1)
    out[:, :4] = boxes[:, :4] + offsets * np.concatenate([wh, wh], 1)
    return out


def square(boxes: np.ndarray) -> np.ndarray:
    """Grow each box to a square of its longer side about the same centre."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side - 1
    out[:, 3] = out[:, 1] + side - 1
    return out


def _normalize(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [-1, 1] ((x - 127.5) / 128, the authors' scaling)."""
    return ((rgb.astype(np.float32) - 127.5) * 0.0078125).transpose(2, 0, 1)


def crops(rgb: np.ndarray, boxes: np.ndarray, side: int) -> np.ndarray:
    """Square boxes cut out of the image (zeros outside it) and resized.

    Returns:
        (N, 3, side, side) float32 in [-1, 1].
    """
    h, w = rgb.shape[:2]
    out = np.zeros((len(boxes), 3, side, side), np.float32)
    for i, (x1, y1, x2, y2) in enumerate(np.round(boxes[:, :4]).astype(int)):
        bw, bh = x2 - x1 + 1, y2 - y1 + 1
        if bw < 2 or bh < 2:
            continue
        patch = np.zeros((bh, bw, 3), np.uint8)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w - 1), min(y2, h - 1)
        if sx2 < sx1 or sy2 < sy1:
            continue
        patch[sy1 - y1 : sy2 - y1 + 1, sx1 - x1 : sx2 - x1 + 1] = rgb[sy1 : sy2 + 1, sx1 : sx2 + 1]
        out[i] = _normalize(cv2.resize(patch, (side, side), interpolation=cv2.INTER_LINEAR))
    return out


def eyes_agree(row: np.ndarray, kps: np.ndarray, tolerance: float = EYE_TOLERANCE) -> bool:
    """Whether MTCNN's eye centres and dlib's eyes (the midpoints of its eye corners) agree:
    each pair within ``tolerance`` x dlib's inter-ocular distance. They part when MTCNN has
    found a face turned by 90 degrees or a false face, where dlib's shape model, fitted to
    upright faces, places its points on nothing; such detections are dropped (the callers'
    ``--rotate`` search then turns the photo).

    Args:
        row: (15,) one row of :meth:`MTCNNFaceDetector.boxes`, in the same coordinates as ``kps``.
        kps: (5, 2) dlib's landmarks in :data:`~portraitcli.face.detect.KPS_NAMES` order.

    Returns:
        True when the two agree.
    """
    left, right = kps[0:2].mean(0), kps[2:4].mean(0)  # the subject's left eye is on the image's right
    iod = float(np.hypot(*(left - right)))
    mtcnn = np.array([[row[5], row[10]], [row[6], row[11]]])  # eyes in image order: x-left first
    ours = np.array([right, left]) if right[0] <= left[0] else np.array([left, right])
    return iod > 0 and bool(np.all(np.hypot(*(mtcnn - ours).T) <= tolerance * iod))


def hog_box(box: np.ndarray, fit: tuple[float, float, float] = HOG_BOX) -> tuple[float, float, float, float]:
    """Map an MTCNN box (x1, y1, x2, y2) onto dlib HOG's framing of the same face (see :data:`HOG_BOX`)."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    w = x2 - x1 + 1
    cx, cy = (x1 + x2 + 1) / 2 + fit[0] * w, (y1 + y2 + 1) / 2 + fit[1] * w
    half = fit[2] * w / 2
    return (cx - half, cy - half, cx + half, cy + half)


class MTCNNFaceDetector(FaceDetector):
    """MTCNN boxes, dlib's 5-point landmarks in them, dlib HOG when MTCNN finds nothing.

    Same interface as :class:`~portraitcli.face.detect.FaceDetector`: ``detect``,
    ``landmarks``, ``outline``. Detection runs on the image scaled so its longer side is at
    most ``max_side`` px; faces smaller than ``min_face`` px there are not looked for.

    Args:
        min_face: the smallest face side searched, in px of the scaled image.
        max_side: longer side of the image the cascade sees, px.
        threads: ONNX Runtime intra-op threads per network (the networks are small: 1).
        fallback: run dlib's HOG detector when MTCNN finds no face.
        folder: where ``mtcnn-{pnet,rnet,onet}.onnx`` are (default ``weights/face``).

    Raises:
        WeightsError: a network file is missing or its sha256 differs from ``mtcnn.json``.
    """

    def __init__(
        self,
        min_face: int = 40,
        max_side: int = 1024,
        threads: int = 1,
        fallback: bool = True,
        folder: Path | None = None,
    ) -> None:
        super().__init__(max_side=max_side)
        from portraitcli.runtime.session import create_session
        from portraitcli.runtime.weights import sha256_of

        folder = folder or face_weights_dir()
        try:
            record = json.loads((folder / "mtcnn.json").read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise WeightsError(f"{folder / 'mtcnn.json'}: cannot read the MTCNN provenance ({e})") from None
        self.nets = {}
        for name in ("pnet", "rnet", "onet"):
            info = record["files"][name]
            path = folder / info["file"]
            if not path.is_file() or sha256_of(path) != info["sha256"]:
                raise WeightsError(f"{path}: missing or not the file recorded in mtcnn.json; reinstall portraitcli")
            self.nets[name] = create_session(str(path), "cpu", threads)
        self.min_face = min_face
        self.fallback = fallback

    def _run(self, name: str, x: np.ndarray) -> list[np.ndarray]:
        sess = self.nets[name]
        return sess.run(None, {sess.get_inputs()[0].name: x})

    def boxes(self, rgb: np.ndarray) -> np.ndarray:
        """The MTCNN cascade on one image.

        Args:
            rgb: (H, W, 3) uint8 RGB.

        Returns:
            (N, 15) float32: x1, y1, x2, y2 (px, inclusive), O-Net's face probability, then
            MTCNN's 5 landmarks (x of eyes, nose, mouth corners, then their y), highest
            probability first.
        """
        h, w = rgb.shape[:2]
        # stage 1: P-Net over the pyramid
        found = []
        scale = PNET_CELL / self.min_face
        side = min(h, w) * scale
        while side >= PNET_CELL:
            sw, sh = int(np.ceil(w * scale)), int(np.ceil(h * scale))
            img = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            offsets, prob = self._run("pnet", _normalize(img)[None])
            ys, xs = np.nonzero(prob[0, 1] > THRESHOLDS[0])
            if len(xs):
                boxes = np.stack(
                    [
                        np.round((PNET_STRIDE * xs + 1) / scale),
                        np.round((PNET_STRIDE * ys + 1) / scale),
                        np.round((PNET_STRIDE * xs + 1 + PNET_CELL) / scale),
                        np.round((PNET_STRIDE * ys + 1 + PNET_CELL) / scale),
                        prob[0, 1, ys, xs],
                    ],
                    1,
                )
                boxes = calibrate(boxes, offsets[0][:, ys, xs].T)
                found.append(boxes[nms(boxes, 0.5)])
            scale *= PYRAMID_FACTOR
            side *= PYRAMID_FACTOR
        if not found:
            return np.zeros((0, 15), np.float32)
        boxes = np.concatenate(found)
        boxes = square(boxes[nms(boxes, NMS_IOU[0])])
        # stage 2: R-Net
        offsets, prob = self._run("rnet", crops(rgb, boxes, 24))
        keep = prob[:, 1] > THRESHOLDS[1]
        boxes, offsets = boxes[keep], offsets[keep]
        boxes[:, 4] = prob[keep, 1]
        keep = nms(boxes, NMS_IOU[1])
        boxes = square(calibrate(boxes[keep], offsets[keep]))
        if not len(boxes):
            return np.zeros((0, 15), np.float32)
        # stage 3: O-Net
        landmarks, offsets, prob = self._run("onet", crops(rgb, boxes, 48))
        keep = prob[:, 1] > THRESHOLDS[2]
        boxes, offsets, landmarks = boxes[keep], offsets[keep], landmarks[keep]
        boxes[:, 4] = prob[keep, 1]
        bw, bh = boxes[:, 2:3] - boxes[:, 0:1] + 1, boxes[:, 3:4] - boxes[:, 1:2] + 1
        points = np.concatenate([boxes[:, 0:1] + bw * landmarks[:, :5], boxes[:, 1:2] + bh * landmarks[:, 5:]], 1)
        boxes = calibrate(boxes, offsets)
        keep = nms(boxes, NMS_IOU[2], mode="min")
        return np.concatenate([boxes[keep, :5], points[keep]], 1).astype(np.float32)

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Find the faces of an image, largest first.

        Args:
            rgb: (H, W, 3) uint8 RGB.

        Returns:
            Faces sorted by decreasing ``area * score``; ``bbox`` is dlib HOG's framing of
            the face (:func:`hog_box`), ``kps`` dlib's 5 landmarks, ``score`` O-Net's face
            probability (0..1). MTCNN faces whose eyes dlib does not confirm
            (:func:`eyes_agree`) are dropped; dlib HOG's detections when no MTCNN face is
            left (and ``fallback``); empty if neither finds a face.
        """
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = (
            rgb if scale == 1.0 else cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        )
        found = self.boxes(np.ascontiguousarray(small))
        faces = []
        for row in found:
            bbox = tuple(v / scale for v in hog_box(row))
            kps = self.landmarks(rgb, bbox)  # type: ignore[arg-type]
            if eyes_agree(row, kps * scale):
                faces.append(Face(bbox=bbox, kps=kps, score=float(row[4])))  # type: ignore[arg-type]
        if not faces:
            return super().detect(rgb) if self.fallback else []
        faces.sort(key=lambda f: (-f.area * f.score, -f.score))
        return faces


#: ``--detector`` choices: MTCNN boxes with dlib landmarks (HOG as its fallback), or dlib HOG alone.
DETECTORS = ("mtcnn", "hog")


def make_detector(name: str = "mtcnn") -> FaceDetector:
    """The face detector called ``name`` (see :data:`DETECTORS`).

    ``mtcnn``: :class:`MTCNNFaceDetector` (MTCNN boxes, dlib's
    landmarks, HOG when MTCNN finds nothing; 3-6x faster than HOG, same recall or
    better: docs/benchmarks/detector.md); ``hog``: :class:`~portraitcli.face.detect.FaceDetector` alone.

    Raises:
        UsageError: an unknown name.
        WeightsError: the MTCNN networks are missing or altered.
    """
    if name == "hog":
        return FaceDetector()
    if name == "mtcnn":
        return MTCNNFaceDetector()
    from portraitcli.errors import UsageError

    raise UsageError(f"--detector must be one of {', '.join(DETECTORS)}, got {name!r}")
