"""A 3-D morphable face model fitted to 68 landmarks: the person's shape and expression.

``portrait cartoon3d`` fits it to every face and writes the fitted head with the expression
the user asks for (``--expression``, ``--neutral``); its quality on faces with known truth is
measured by ``research/morphable_eval.py`` (docs/experiments/morphable_fit.md).

The Surrey Face Model (Huber et al., VISAPP 2016: 3,448 vertices, 63 shape components, 6
expression blendshapes) is fitted to dlib's ibug-68 landmarks by the linear recipe of its
library eos (``fit_shape_and_pose`` without the contour and edge terms), alternating:

1. the pose: a scaled orthographic camera from 2-D/3-D correspondences
   (:func:`scaled_orthographic`: the affine camera by least squares, Hartley and Zisserman
   "Multiple View Geometry" 7.3, then the closest rotation);
2. the expression: non-negative blendshape weights by NNLS with a ridge term
   (:func:`fit_expression`);
3. the identity: Aldrian and Smith's (PAMI 2013) maximum-a-posteriori shape coefficients
   under an isotropic landmark noise (:func:`fit_shape`).

Coordinates: model space is the SFM's (x right, y up, z towards the viewer, about mm);
images are x right, y down, in px. The product reads the model from ``weights/face/sfm-3448.npz``
(:func:`shipped_sfm`), which :mod:`portraitcli.train.sfm` packs from the datasets' ``sfm/``
folder with eos-py (:func:`load_sfm`, the ``train`` extra). Licence: the Surrey Face Model is
free for non-commercial use (P. Huber et al., eos repository), like the other shipped weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from portraitcli.errors import UsageError, WeightsError

#: The SFM's expression blendshapes, in file order.
EXPRESSIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")
#: Landmark noise (px, standard deviation) of the shape fit: eos's default detector noise.
LANDMARK_SIGMA = math.sqrt(3.0)
#: The packed model in the packaged ``weights/face`` folder (:func:`shipped_sfm`).
SFM_FILE = "sfm-3448.npz"


@dataclass(frozen=True)
class MorphableModel:
    """A linear 3-D face model: ``mean + basis @ alpha + blendshapes^T beta``.

    Attributes:
        mean: (V, 3) float64 mean face.
        basis: (V, 3, K) float64 rescaled PCA basis (a coefficient of 1 is one standard deviation).
        blendshapes: (E, V, 3) float64 expression offsets (weight 1: the full expression).
        triangles: (T, 3) int64 vertex indices, counter-clockwise seen from the front.
        landmark_ids: (L,) int64 0-based ibug-68 indices that have a model vertex.
        landmark_vertices: (L,) int64 their vertex indices.
    """

    mean: np.ndarray
    basis: np.ndarray
    blendshapes: np.ndarray
    triangles: np.ndarray
    landmark_ids: np.ndarray
    landmark_vertices: np.ndarray

    def at_landmarks(self) -> MorphableModel:
        """The model restricted to its landmark vertices (no triangles): the fit's working copy."""
        v = self.landmark_vertices
        return MorphableModel(
            mean=self.mean[v],
            basis=self.basis[v],
            blendshapes=self.blendshapes[:, v],
            triangles=np.zeros((0, 3), np.int64),
            landmark_ids=self.landmark_ids,
            landmark_vertices=np.arange(len(v)),
        )

    def vertices(self, alpha: np.ndarray | None = None, beta: np.ndarray | None = None) -> np.ndarray:
        """(V, 3) the face with shape coefficients ``alpha`` (K,) and expression weights ``beta`` (E,)."""
        v = self.mean.copy()
        if alpha is not None:
            v += np.tensordot(self.basis, alpha, axes=(2, 0))
        if beta is not None:
            v += np.tensordot(beta, self.blendshapes, axes=1)
        return v


def read_landmark_map(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """eos's ``ibug_to_sfm.txt`` (``ibug = vertex`` lines): 0-based ibug indices and SFM vertices, by ibug index."""
    pairs = []
    for line in path.read_text().splitlines():
        key, sep, value = line.split("#")[0].partition("=")
        if sep and key.strip().isdigit():  # the [landmark_mappings] table's "ibug = vertex" lines
            pairs.append((int(key) - 1, int(value)))
    pairs.sort()
    ids, vertices = zip(*pairs, strict=True)
    return np.array(ids, np.int64), np.array(vertices, np.int64)


def load_sfm(folder: Path) -> MorphableModel:
    """The Surrey Face Model from ``sfm_shape_3448.bin``, ``expression_blendshapes_3448.bin`` and
    ``ibug_to_sfm.txt`` in ``folder`` (the datasets' ``sfm/``), read with eos-py.

    Raises:
        UsageError: a file is missing or eos-py is not installed.
    """
    try:
        import eos
    except ImportError:
        raise UsageError("the morphable face model is read with eos-py: pip install 'portraitcli[train]'") from None
    files = [folder / n for n in ("sfm_shape_3448.bin", "expression_blendshapes_3448.bin", "ibug_to_sfm.txt")]
    for f in files:
        if not f.is_file():
            raise UsageError(f"{f} is missing (see the datasets README)")
    shape = eos.morphablemodel.load_model(str(files[0])).get_shape_model()
    blend = eos.morphablemodel.load_blendshapes(str(files[1]))
    if tuple(b.name for b in blend) != EXPRESSIONS:
        raise UsageError(f"{files[1]}: expected the blendshapes {EXPRESSIONS}")
    ids, vertices = read_landmark_map(files[2])
    k = shape.get_num_principal_components()
    return MorphableModel(
        mean=np.asarray(shape.get_mean(), np.float64).reshape(-1, 3),
        basis=np.asarray(shape.get_rescaled_pca_basis(), np.float64).reshape(-1, 3, k),
        blendshapes=np.stack([np.asarray(b.deformation, np.float64).reshape(-1, 3) for b in blend]),
        triangles=np.asarray(shape.get_triangle_list(), np.int64),
        landmark_ids=ids,
        landmark_vertices=vertices,
    )


def save_npz(model: MorphableModel, path: Path) -> None:
    """Write ``model`` as an ``.npz`` (float32 geometry, int32 indices) that :func:`load_npz` reads."""
    np.savez_compressed(
        path,
        mean=model.mean.astype(np.float32),
        basis=model.basis.astype(np.float32),
        blendshapes=model.blendshapes.astype(np.float32),
        triangles=model.triangles.astype(np.int32),
        landmark_ids=model.landmark_ids.astype(np.int32),
        landmark_vertices=model.landmark_vertices.astype(np.int32),
        expressions=np.array(EXPRESSIONS),
    )


def load_npz(path: Path) -> MorphableModel:
    """The model saved by :func:`save_npz` (float64 geometry, int64 indices).

    Raises:
        WeightsError: the file is missing, unreadable or not such a model.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            if tuple(z["expressions"].tolist()) != EXPRESSIONS:
                raise WeightsError(f"{path}: expected the expressions {EXPRESSIONS}")
            return MorphableModel(
                mean=z["mean"].astype(np.float64),
                basis=z["basis"].astype(np.float64),
                blendshapes=z["blendshapes"].astype(np.float64),
                triangles=z["triangles"].astype(np.int64),
                landmark_ids=z["landmark_ids"].astype(np.int64),
                landmark_vertices=z["landmark_vertices"].astype(np.int64),
            )
    except (OSError, KeyError, ValueError) as e:
        raise WeightsError(f"cannot read the morphable face model {path}: {e}") from None


def shipped_sfm() -> MorphableModel:
    """The Surrey Face Model shipped beside the face detector in the packaged ``weights/face``
    (a third-party asset like MTCNN: ``$PORTRAIT_WEIGHTS`` swaps our trained models, not it).

    Raises:
        WeightsError: it is not there (pack it with ``python -m portraitcli.train.sfm``).
    """
    from portraitcli.face.mtcnn import face_weights_dir

    path = face_weights_dir() / SFM_FILE
    if not path.is_file():
        raise WeightsError(f"{path} is missing; reinstall portraitcli")
    return load_npz(path)


@dataclass(frozen=True)
class Pose:
    """A scaled orthographic camera: image point (x, -y) = ``s * R[:2] @ X + t``.

    Attributes:
        s: scale, px per model unit.
        R: (3, 3) rotation, model to camera (its third row points towards the viewer).
        t: (2,) translation, px, in the y-up image frame (x, -y).
    """

    s: float
    R: np.ndarray
    t: np.ndarray

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) model points -> (N, 2) image px (x right, y down)."""
        q = self.s * points @ self.R[:2].T + self.t
        return q * np.array([1.0, -1.0])

    def depth(self, points: np.ndarray) -> np.ndarray:
        """(N,) depth of model points along the viewing direction in model units (larger: nearer)."""
        return points @ self.R[2]


def scaled_orthographic(model_points: np.ndarray, image_points: np.ndarray) -> Pose:
    """The scaled orthographic camera that best maps 3-D points to 2-D ones.

    The 2x4 affine camera by linear least squares (the Gold Standard algorithm's linear step,
    Hartley and Zisserman 7.3), then the rotation whose first two rows are closest to the
    affine rows (SVD), the scale the mean of their norms and ``t`` the centroid offset, as
    eos's ``estimate_orthographic_projection_linear``.

    Args:
        model_points: (N, 3) float, N >= 4, not coplanar.
        image_points: (N, 2) float px, x right, y down.

    Returns:
        The :class:`Pose`.
    """
    x = np.asarray(model_points, np.float64)
    q = np.asarray(image_points, np.float64) * np.array([1.0, -1.0])
    xc, qc = x.mean(0), q.mean(0)
    a, *_ = np.linalg.lstsq(x - xc, q - qc, rcond=None)  # (3, 2): q - qc = (x - xc) @ a
    affine = a.T  # (2, 3)
    u, sv, vt = np.linalg.svd(affine, full_matrices=False)
    r12 = u @ vt  # the closest 2x3 matrix with orthonormal rows
    r = np.vstack([r12, np.cross(r12[0], r12[1])])
    s = float(sv.mean())
    return Pose(s=s, R=r, t=qc - s * r12 @ xc)


def _design(model: MorphableModel, pose: Pose, basis: np.ndarray) -> np.ndarray:
    """(2L, C): the image-plane (y-up) effect of each column of ``basis`` (L, 3, C) under ``pose``."""
    return (pose.s * np.einsum("ij,ljc->lic", pose.R[:2], basis)).reshape(-1, basis.shape[2])


def _residual(model: MorphableModel, pose: Pose, points: np.ndarray, face: np.ndarray) -> np.ndarray:
    """(2L,) y-up image residual of the landmarks against ``face`` (V, 3) projected by ``pose``."""
    q = points * np.array([1.0, -1.0])
    return (q - (pose.s * face[model.landmark_vertices] @ pose.R[:2].T + pose.t)).reshape(-1)


def fit_shape(
    model: MorphableModel,
    pose: Pose,
    points: np.ndarray,
    base: np.ndarray,
    lam: float = 3.0,
    sigma: float = LANDMARK_SIGMA,
) -> np.ndarray:
    """Aldrian and Smith's linear shape fit: the (K,) coefficients minimising
    ``||A alpha - b||^2 / sigma^2 + lam ||alpha||^2`` with ``A`` the projected rescaled basis
    at the landmark vertices and ``b`` the landmarks minus the projected ``base`` face (the
    mean plus the current expression), as eos's ``fit_shape_to_landmarks_linear``.

    Args:
        points: (L, 2) px landmarks in ``model.landmark_ids`` order.
        base: (V, 3) the face the coefficients are added to.
        lam: the prior's weight (eos's default 3).
        sigma: the landmarks' noise, px.
    """
    a = _design(model, pose, model.basis[model.landmark_vertices])
    b = _residual(model, pose, points, base)
    k = a.shape[1]
    return np.linalg.solve(a.T @ a / sigma**2 + lam * np.eye(k), a.T @ b / sigma**2)


def fit_expression(
    model: MorphableModel,
    pose: Pose,
    points: np.ndarray,
    base: np.ndarray,
    lam: float = 1.0,
    sigma: float = LANDMARK_SIGMA,
) -> np.ndarray:
    """Non-negative blendshape weights (E,): NNLS on ``||A beta - b||^2 / sigma^2 + lam ||beta||^2``
    with ``A`` the projected blendshapes at the landmark vertices and ``b`` the landmarks minus
    the projected ``base`` (the current identity); scipy's NNLS on the stacked ridge system."""
    from scipy.optimize import nnls

    deltas = np.moveaxis(model.blendshapes[:, model.landmark_vertices], 0, 2)  # (L, 3, E)
    a = _design(model, pose, deltas) / sigma
    b = _residual(model, pose, points, base) / sigma
    e = a.shape[1]
    beta, _ = nnls(np.vstack([a, math.sqrt(lam) * np.eye(e)]), np.concatenate([b, np.zeros(e)]))
    return beta


@dataclass(frozen=True)
class Fit:
    """A fitted face: shape coefficients ``alpha`` (K,), expression weights ``beta`` (E,), ``pose``."""

    alpha: np.ndarray
    beta: np.ndarray
    pose: Pose

    def expression(self) -> dict[str, float]:
        """The expression weights by name (:data:`EXPRESSIONS`)."""
        return {name: float(w) for name, w in zip(EXPRESSIONS, self.beta, strict=True)}


def fit_landmarks(
    model: MorphableModel,
    landmarks68: np.ndarray,
    iterations: int = 5,
    lam_shape: float = 3.0,
    lam_expression: float = 1.0,
    sigma: float = LANDMARK_SIGMA,
) -> Fit:
    """Fit the model's pose, expression and identity to 68 landmarks (module docstring).

    Args:
        landmarks68: (68, 2) px, ibug order (dlib's 68-point predictor), x right, y down.
        iterations: pose / expression / shape rounds.
        lam_shape, lam_expression: the priors' weights (:func:`fit_shape`, :func:`fit_expression`).
        sigma: landmark noise, px, for a face about 200 px wide; scaled with the face's size.

    Returns:
        The :class:`Fit`.

    Raises:
        ValueError: ``landmarks68`` is not (68, 2) or not finite.
    """
    pts = np.asarray(landmarks68, np.float64)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        raise ValueError(f"expected (68, 2) finite landmarks, got {pts.shape}")
    points = pts[model.landmark_ids]
    width = float(np.ptp(pts[:, 0]))  # about 200 px for the scale at which sigma is set
    sigma = sigma * max(width, 1.0) / 200.0
    sub = model.at_landmarks()
    alpha = np.zeros(model.basis.shape[2])
    beta = np.zeros(len(model.blendshapes))
    for _ in range(iterations):
        pose = scaled_orthographic(sub.vertices(alpha, beta)[sub.landmark_vertices], points)
        beta = fit_expression(sub, pose, points, sub.vertices(alpha), lam_expression, sigma)
        alpha = fit_shape(sub, pose, points, sub.vertices(None, beta), lam_shape, sigma)
    pose = scaled_orthographic(sub.vertices(alpha, beta)[sub.landmark_vertices], points)
    return Fit(alpha=alpha, beta=beta, pose=pose)


def fitted_depth(model: MorphableModel, fit: Fit, size: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The fitted face's depth map as the synthetic-face protocol measures it.

    The fitted mesh (identity and expression) is rasterized with a z-buffer at its fitted
    image position; its depth is put in the protocol's units (:func:`portraitcli.face.shape.to_protocol`:
    the face 0.15 units high, 1 unit from the camera): camera-space z = 1 - the rotated,
    scaled vertex depth.

    Args:
        fit: from :func:`fit_landmarks` on an image ``scale`` times larger than the map.
        size: the (size, size) map's side, px.

    Returns:
        ``(depth (size, size) float64, the farthest face depth off the mesh; mask (size, size) bool, on the mesh)``.
    """
    from portraitcli.data.synth_depth import rasterize_fast as rasterize
    from portraitcli.face.shape import FACE_HEIGHT

    v = model.vertices(fit.alpha, fit.beta)
    uv = fit.pose.project(v) / scale
    k = FACE_HEIGHT / float(np.ptp(v[:, 1]))
    z = 1.0 - k * fit.pose.depth(v - v.mean(0))
    depth, _ = rasterize(uv, z, np.zeros((len(v), 1)), model.triangles, size)
    mask = np.isfinite(depth)
    far = float(depth[mask].max()) if mask.any() else 1.0
    return np.where(mask, depth, far), mask
