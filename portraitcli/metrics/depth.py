"""3-D reconstruction metrics: scale-invariant depth error (SIDE) and mean angle deviation (MAD).

Reference: S. Wu, C. Rupprecht, A. Vedaldi, "Unsupervised Learning of Probably Symmetric
Deformable 3D Objects from Images in the Wild", CVPR 2020 (Unsup3d), section 4.1 and its
code (``compute_sc_inv_err``, ``compute_angular_distance``, ``get_normal_from_depth``):

- SIDE = sqrt(mean_mask((delta - mean_mask(delta))^2)), delta = log d_pred - log d_gt,
  per image, then averaged over images (tables report it x 1e-2);
- MAD = mean over the mask of the angle in degrees between the normals of the two depth
  maps, the normals computed from depth unprojected with the perspective camera.
"""

from __future__ import annotations

import numpy as np

from portraitcli.camera import DEFAULT_FOV, depth_to_points, normals_from_depth
from portraitcli.errors import BadInputError

__all__ = ["DEFAULT_FOV", "angle_deviation", "depth_to_points", "erode_mask", "mad", "normals_from_depth", "side"]


def _check(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> None:
    if pred.shape != gt.shape or pred.shape != mask.shape or pred.ndim != 2:
        raise BadInputError(f"depth maps and mask must be (H, W) of one size: {pred.shape}, {gt.shape}, {mask.shape}")
    if not mask.any():
        raise BadInputError("the valid mask is empty")


def side(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> float:
    """Scale-invariant depth error of one depth map (Unsup3d).

    Args:
        pred: (H, W) predicted depth, > 0 on the mask (any scale).
        gt: (H, W) ground-truth depth, > 0 on the mask.
        mask: (H, W) bool, the pixels to compare.

    Returns:
        SIDE (a log-depth standard deviation; 0 when pred = c * gt).

    Raises:
        BadInputError: shapes differ, empty mask, or non-positive depth on the mask.
    """
    _check(pred, gt, mask)
    p, g = pred[mask].astype(np.float64), gt[mask].astype(np.float64)
    if (p <= 0).any() or (g <= 0).any():
        raise BadInputError("depth must be positive on the mask (SIDE takes logarithms)")
    delta = np.log(p) - np.log(g)
    return float(np.sqrt(np.mean((delta - delta.mean()) ** 2)))


def angle_deviation(n1: np.ndarray, n2: np.ndarray, mask: np.ndarray) -> float:
    """Mean angle in degrees between two unit-normal maps over a mask.

    Args:
        n1, n2: (H, W, 3) unit normals.
        mask: (H, W) bool.

    Returns:
        Mean angle in degrees, ``acos(n1 . n2)`` computed as ``atan2(|n1 x n2|, n1 . n2)``
        (the same angle, accurate near 0 and 180 degrees).
    """
    if n1.shape != n2.shape or n1.shape[:2] != mask.shape:
        raise BadInputError(f"normal maps and mask differ: {n1.shape}, {n2.shape}, {mask.shape}")
    if not mask.any():
        raise BadInputError("the valid mask is empty")
    cos = (n1 * n2).sum(axis=2)
    sin = np.linalg.norm(np.cross(n1, n2), axis=2)
    return float(np.degrees(np.arctan2(sin, cos))[mask].mean())


def mad(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, fov: float = DEFAULT_FOV) -> float:
    """Mean angle deviation (degrees) between the normals of two depth maps (Unsup3d).

    Pass a mask eroded by one pixel (:func:`erode_mask`), as Unsup3d does, so that the
    central differences never reach outside the valid region.
    """
    _check(pred, gt, mask)
    return angle_deviation(normals_from_depth(pred, fov), normals_from_depth(gt, fov), mask)


def erode_mask(mask: np.ndarray) -> np.ndarray:
    """Erode a (H, W) bool mask by one pixel (3x3), as Unsup3d's 3x3 average-pool > 0.99."""
    from scipy.ndimage import binary_erosion

    return binary_erosion(mask, structure=np.ones((3, 3), bool), iterations=1)
