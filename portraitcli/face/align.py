"""Similarity alignment of a face to a model's 5-landmark template.

Reference:
    S. Umeyama, "Least-squares estimation of transformation parameters between two point
    patterns", TPAMI 1991 (the closed-form similarity fit, as in insightface's
    ``norm_crop`` and scikit-image's ``SimilarityTransform.estimate``).
"""

from __future__ import annotations

import cv2
import numpy as np

from portraitcli.types import Aligned, Face, Template


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation).

    Minimises ``sum ||s R src_i + t - dst_i||^2`` (Umeyama 1991, eq. 40-42), without
    reflection.

    Args:
        src: (K, 2) float points (x, y), K >= 2.
        dst: (K, 2) float points (x, y).

    Returns:
        (2, 3) float64 matrix M with ``dst ~ M @ [x, y, 1]``.

    Raises:
        ValueError: shapes differ, fewer than 2 points, or the source points coincide.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or src.shape[0] < 2:
        raise ValueError(f"need two (K, 2) arrays with K >= 2, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s_c, d_c = src - mu_s, dst - mu_d
    var_s = (s_c**2).sum() / len(src)
    if var_s < 1e-12:
        raise ValueError("source points coincide; no similarity transform")
    cov = d_c.T @ s_c / len(src)
    U, S, Vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        d[1] = -1.0
    R = U @ np.diag(d) @ Vt
    scale = (S * d).sum() / var_s
    t = mu_d - scale * R @ mu_s
    return np.hstack([scale * R, t[:, None]])


def transform_points(M: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (K, 2) points; returns (K, 2) float64."""
    pts = np.asarray(pts, np.float64)
    return pts @ M[:, :2].T + M[:, 2]


def warp_affine(
    image: np.ndarray, M: np.ndarray, size: tuple[int, int], border: int = cv2.BORDER_REFLECT_101
) -> np.ndarray:
    """Warp an image with M to ``size`` (width, height), anti-aliased when shrinking.

    When M shrinks by more than 2x, the image is first reduced with area averaging
    (``cv2.INTER_AREA``) so the bilinear warp does not alias.

    Args:
        image: (H, W, C) or (H, W) uint8.
        M: (2, 3) float transform from image to output pixels.
        size: (width, height) of the output.
        border: OpenCV border mode for pixels outside the image.

    Returns:
        (height, width[, C]) uint8.
    """
    scale = float(np.sqrt(abs(np.linalg.det(M[:, :2]))))
    M = np.asarray(M, np.float64)
    if scale < 0.5:
        f = min(1.0, 2.0 * scale)
        h, w = image.shape[:2]
        sw, sh = max(1, round(w * f)), max(1, round(h * f))
        image = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
        # pixel centres: x_small = (x + 0.5) * sw / w - 0.5
        S = np.array([[sw / w, 0, 0.5 * sw / w - 0.5], [0, sh / h, 0.5 * sh / h - 0.5], [0, 0, 1]])
        M = (np.vstack([M, [0, 0, 1]]) @ np.linalg.inv(S))[:2]
    return cv2.warpAffine(image, M, size, flags=cv2.INTER_LINEAR, borderMode=border)


def align_face(image: np.ndarray, face: Face, template: Template) -> Aligned:
    """Warp a detected face into a model's framing.

    Where the crop reaches past the photo's edge (tight crops, faces at the border), the
    missing area repeats the edge pixels outward (``cv2.BORDER_REPLICATE``): never mirrored
    content, which would put a second eye or half-face into the crop. ``valid`` marks that
    area so that the caller can blank the model's output there.

    Args:
        image: (H, W, 3) uint8 RGB.
        face: a detection with its 5 landmarks.
        template: the model's crop size and landmark positions.

    Returns:
        Aligned with ``crop`` (h, w, 3) uint8 RGB of the template's size, ``M`` (2, 3)
        image -> crop, and ``valid`` (h, w) float32 (None when the crop lies inside the image).
    """
    M = similarity_transform(face.kps, template.kps)
    crop = warp_affine(image, M, template.size, border=cv2.BORDER_REPLICATE)
    valid = inside_mask(image.shape[:2], M, template.size)
    return Aligned(crop=crop, M=M, face=face, valid=None if valid.min() >= 1.0 else valid)


def inside_mask(image_hw: tuple[int, int], M: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) float32 in [0, 1]: the share of each pixel of a ``size`` (w, h) warp by ``M``
    that falls inside an image of ``image_hw`` (H, W), as bilinear sampling sees it.

    Computed on the crop's own grid (each pixel's source point), not by warping an image of
    the photo's size: along x the in-image weight is ``clip(min(x + 1, W - x), 0, 1)``, the
    same along y, and the share is their product.
    """
    h, w = image_hw
    cw, ch = size
    ys, xs = np.mgrid[0:ch, 0:cw].astype(np.float64)
    Mi = cv2.invertAffineTransform(np.asarray(M, np.float64))
    sx = Mi[0, 0] * xs + Mi[0, 1] * ys + Mi[0, 2]
    sy = Mi[1, 0] * xs + Mi[1, 1] * ys + Mi[1, 2]
    fx = np.clip(np.minimum(sx + 1.0, w - sx), 0.0, 1.0)
    fy = np.clip(np.minimum(sy + 1.0, h - sy), 0.0, 1.0)
    return (fx * fy).astype(np.float32)


def blank_outside(output: np.ndarray, valid: np.ndarray | None, fill: int = 255) -> np.ndarray:
    """A grayscale drawing with the area outside the photo set to ``fill`` (white paper).

    Args:
        output: (h, w) uint8, the model's drawing of an aligned crop (any size: ``valid``
            is resized to it).
        valid: (h', w') float32 in [0, 1] from :func:`align_face`, or None (returned as is).

    Returns:
        (h, w) uint8.
    """
    if valid is None or output.ndim != 2:
        return output
    if valid.shape != output.shape:
        valid = cv2.resize(valid, (output.shape[1], output.shape[0]), interpolation=cv2.INTER_LINEAR)
    out = output.astype(np.float32) * valid + float(fill) * (1.0 - valid)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def mean_template(kps: list[np.ndarray] | np.ndarray, size: tuple[int, int]) -> Template:
    """A template as the mean landmark positions of already-framed crops.

    Args:
        kps: (N, 5, 2) landmarks detected on N crops of one dataset's framing.
        size: (width, height) of those crops.
    """
    arr = np.asarray(kps, np.float32)
    return Template(size=size, kps=arr.mean(axis=0))


def _eye_center_and_distance(kps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 5, 2) landmarks -> eye centres (N, 2) and inter-ocular distances (N,)."""
    left, right = kps[:, 0:2].mean(1), kps[:, 2:4].mean(1)
    return (left + right) / 2, np.linalg.norm(left - right, axis=1)


def fit_template(kps: np.ndarray, sizes: np.ndarray, size: tuple[int, int], iterations: int = 5) -> Template:
    """A template for a dataset whose photos differ in size and framing.

    The landmark shape is the generalized Procrustes mean of the detections (each
    similarity-aligned to the running mean, ``iterations`` times); it is then placed in a
    ``size`` crop so that the inter-ocular distance, relative to the crop's geometric mean
    side ``sqrt(W * H)``, and the eye centre's height, relative to H, are the medians over
    the photos, with the eyes centred horizontally.

    Args:
        kps: (N, 5, 2) landmarks (x, y) in pixels of their photos, N >= 1.
        sizes: (N, 2) width and height of each photo in pixels.
        size: (width, height) of the crop.
        iterations: Procrustes iterations.

    Returns:
        The template, kps (5, 2) float32.

    Raises:
        ValueError: shapes do not fit.

    Reference: J. C. Gower, "Generalized Procrustes analysis", Psychometrika 1975.
    """
    kps = np.asarray(kps, np.float64)
    sizes = np.asarray(sizes, np.float64)
    if kps.ndim != 3 or kps.shape[1:] != (5, 2) or len(kps) == 0 or sizes.shape != (len(kps), 2):
        raise ValueError(f"need (N, 5, 2) landmarks and (N, 2) sizes, got {kps.shape} and {sizes.shape}")
    mean = kps[0] - kps[0].mean(0)
    for _ in range(iterations):
        aligned = np.stack([transform_points(similarity_transform(k, mean), k) for k in kps])
        mean = aligned.mean(0)
        mean = (mean - mean.mean(0)) / np.sqrt(((mean - mean.mean(0)) ** 2).sum(1).mean())
    centers, dists = _eye_center_and_distance(kps)
    rel_dist = float(np.median(dists / np.sqrt(sizes.prod(1))))
    rel_y = float(np.median(centers[:, 1] / sizes[:, 1]))
    w, h = size
    m_center, m_dist = _eye_center_and_distance(mean[None])
    shape = (mean - m_center[0]) * (rel_dist * np.sqrt(w * h) / m_dist[0]) + (w / 2, rel_y * h)
    return Template(size=size, kps=shape.astype(np.float32))
