"""The pinhole camera of the 3-D reconstruction and its metrics, in NumPy.

Camera frame: x right, y down, z forward (z is the depth); a centred pinhole camera with
a horizontal field of view ``fov`` has the focal length ``f = (W - 1) / 2 / tan(fov / 2)``
in pixels and its principal point at the image centre ``((W - 1) / 2, (H - 1) / 2)``.
Unsup3d's synthetic-face camera has a 10 degree field of view (:data:`DEFAULT_FOV`).
The differentiable PyTorch twin is :mod:`portraitcli.train.recon3d.renderer`.
"""

from __future__ import annotations

import numpy as np

#: Unsup3d's synthetic-face camera: 10 degree field of view.
DEFAULT_FOV = 10.0


def focal(width: int, fov: float = DEFAULT_FOV) -> float:
    """Focal length in pixels of a ``width``-px image with a ``fov``-degree field of view."""
    return (width - 1) / 2.0 / np.tan(np.deg2rad(fov) / 2.0)


def unproject(uv: np.ndarray, depth: np.ndarray, size: tuple[int, int], fov: float = DEFAULT_FOV) -> np.ndarray:
    """Camera-space points of pixel coordinates at given depths.

    Args:
        uv: (..., 2) pixel coordinates (x, y) in an image of ``size`` = (H, W).
        depth: (...) camera-space z of each.
        fov: horizontal field of view in degrees.

    Returns:
        (..., 3) float64 points (x right, y down, z forward).
    """
    h, w = size
    f = focal(w, fov)
    z = np.asarray(depth, np.float64)
    return np.stack([(uv[..., 0] - (w - 1) / 2.0) / f * z, (uv[..., 1] - (h - 1) / 2.0) / f * z, z], axis=-1)


def depth_to_points(depth: np.ndarray, fov: float = DEFAULT_FOV) -> np.ndarray:
    """Unproject a depth map with the centred pinhole camera.

    Args:
        depth: (H, W) camera-space z.
        fov: horizontal field of view in degrees.

    Returns:
        (H, W, 3) float64 camera-space points (x right, y down, z forward).
    """
    h, w = depth.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    return unproject(np.stack([xs, ys], axis=-1), depth, (h, w), fov)


def normals_from_depth(depth: np.ndarray, fov: float = DEFAULT_FOV) -> np.ndarray:
    """Unit surface normals from a depth map, by central differences (Unsup3d).

    ``n = normalize(dP/dx x dP/dy)``: on a surface facing the camera, n points away from
    it (z > 0); the outward normal is ``-n``.

    Returns:
        (H, W, 3) float64 unit normals; the 1-px border is (0, 0, 1).
    """
    pts = depth_to_points(depth, fov)
    n = np.zeros_like(pts)
    n[..., 2] = 1.0
    tu = pts[1:-1, 2:] - pts[1:-1, :-2]
    tv = pts[2:, 1:-1] - pts[:-2, 1:-1]
    n[1:-1, 1:-1] = np.cross(tu, tv)
    return n / (np.linalg.norm(n, axis=2, keepdims=True) + 1e-12)
