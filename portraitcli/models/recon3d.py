"""The 3-D reconstruction model: face crop -> canonical depth, albedo, viewpoint, light.

Runs the exported Unsup3d networks (:mod:`portraitcli.train.recon3d.networks`) with ONNX
Runtime, and renders their output in NumPy: the inference twin of
:mod:`portraitcli.train.recon3d.renderer` (same camera, viewpoint and shading; the tests
check the two against each other).

Reference:
    S. Wu, C. Rupprecht, A. Vedaldi, "Unsupervised Learning of Probably Symmetric
    Deformable 3D Objects from Images in the Wild", CVPR 2020 (Unsup3d).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from portraitcli.camera import DEFAULT_FOV, focal, normals_from_depth, unproject
from portraitcli.models.base import ImageModel, register

#: The networks' input side in px.
SIZE = 64
#: The rotation centre of the viewpoint (camera units).
CENTER = np.array([0.0, 0.0, 1.0])


@dataclass
class Reconstruction:
    """One face in 3-D, in the canonical (frontal) frame.

    Attributes:
        depth: (S, S) float32 camera-space z, about 0.9 .. 1.1 (the 2-px border is far).
        albedo: (S, S, 3) float32 RGB in [0, 1].
        view: (6,) float32 the input's viewpoint: pitch, yaw, roll (degrees), tx, ty, tz.
        light: (4,) float32 ambient, diffuse (0 .. 1), light direction lx, ly (-1 .. 1).
        view_depth: (S, S) float32 camera-space z seen at each input pixel (the view-depth
            network of recon3d-v2 on; None for models without it).
    """

    depth: np.ndarray
    albedo: np.ndarray
    view: np.ndarray
    light: np.ndarray
    view_depth: np.ndarray | None = None


#: The half-ellipsoid fitted by least squares to the Surrey Face Model's mean face in the
#: synthetic protocol's framing (semi-axes and centre in units of the crop side, bulge in
#: camera units); ``tests/metrics/test_benchmark_cartoon3d.py`` refits it from ``sfm/``.
ELLIPSOID = {"semi_axes": (0.337, 0.429), "center": (0.0, -0.051), "bulge": 0.046}


def ellipsoid_depth(
    shape: tuple[int, int],
    semi_axes: tuple[float, float] = ELLIPSOID["semi_axes"],  # type: ignore[assignment]
    center: tuple[float, float] = ELLIPSOID["center"],  # type: ignore[assignment]
    bulge: float = ELLIPSOID["bulge"],  # type: ignore[assignment]
) -> np.ndarray:
    """The mean-face prior: a half-ellipsoid bulging towards the camera, (H, W) float64 depth.

    The "ellipsoid prior" that the 3-D cartoon paper (after GAN2Shape, Pan et al. 2021)
    starts its shape from; a baseline of the benchmark and the initial depth of
    ``portrait train recon3d``.

    ``z = 1 - bulge * sqrt(1 - (x / a)^2 - (y / b)^2)`` inside the ellipse, 1 outside, with
    x, y measured from ``center`` (offset from the crop centre, y down) in units of the crop
    side. The defaults (:data:`ELLIPSOID`) fit the mean face, not the test set.
    """
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    x = ((xs - (w - 1) / 2) / w - center[0]) / semi_axes[0]
    y = ((ys - (h - 1) / 2) / h - center[1]) / semi_axes[1]
    return 1.0 - bulge * np.sqrt(np.clip(1.0 - x**2 - y**2, 0.0, None))


def rotation_matrix(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """``Rz(roll) Rx(pitch) Ry(yaw)`` (angles in degrees) -> (3, 3) float64 (the renderer's convention)."""
    x, y, z = np.deg2rad([pitch, yaw, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(x), -np.sin(x)], [0, np.sin(x), np.cos(x)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
    return rz @ rx @ ry


def transform_points(points: np.ndarray, view: np.ndarray) -> np.ndarray:
    """Move canonical points (..., 3) by a viewpoint (6,): ``R (X - c) + c + T``."""
    R = rotation_matrix(*view[:3])
    return (points - CENTER) @ R.T + CENTER + np.asarray(view[3:6], np.float64)


def _project(points: np.ndarray, f: float, h: int, w: int) -> np.ndarray:
    z = np.maximum(points[..., 2], 1e-4)
    return np.stack([points[..., 0] / z * f + (w - 1) / 2.0, points[..., 1] / z * f + (h - 1) / 2.0], -1)


def sample_bilinear(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear samples of (H, W[, C]) at pixel coordinates (H', W', 2), the border repeated."""
    return cv2.remap(
        image.astype(np.float32),
        uv[..., 0].astype(np.float32),
        uv[..., 1].astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _landing(
    q: np.ndarray, d: np.ndarray, view: np.ndarray, size: tuple[int, int], fov: float
) -> tuple[np.ndarray, np.ndarray]:
    """Canonical pixels q (..., 2) at depths d: their view pixel coordinates and camera z after ``view``."""
    moved = transform_points(unproject(q, d, size, fov), view)
    return _project(moved, focal(size[1], fov), *size), moved[..., 2]


def forward_map(
    depth: np.ndarray, view: np.ndarray, fov: float = DEFAULT_FOV, density: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where canonical surface points land in the view.

    With ``density`` 1 the points are the pixels of ``depth`` (H, W); with ``density`` k
    they are the centres of a k x k sub-pixel grid in each pixel (OpenCV's pixel-centre
    convention), their depth read bilinearly.

    Returns:
        ``(q, landing, z)``: (kH, kW, 2) canonical pixel coordinates of the points, (kH, kW, 2)
        float64 view pixel coordinates where they land and (kH, kW) their camera z.
    """
    h, w = depth.shape
    offsets = (np.arange(density) + 0.5) / density - 0.5
    ys = (np.arange(h)[:, None] + offsets[None, :]).reshape(-1)
    xs = (np.arange(w)[:, None] + offsets[None, :]).reshape(-1)
    q = np.stack(np.meshgrid(np.clip(xs, 0, w - 1), np.clip(ys, 0, h - 1)), -1)
    d = depth.astype(np.float64) if density == 1 else sample_bilinear(depth, q).astype(np.float64)
    landing, z = _landing(q, d, view, (h, w), fov)
    return q, landing, z


def inverse_warp(
    depth: np.ndarray, view: np.ndarray, fov: float = DEFAULT_FOV, iterations: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each view pixel, the canonical pixel it shows (fixed point of ``q <- q + p - f(q)``).

    Args:
        depth: (H, W) canonical depth.
        view: (6,) viewpoint.

    Returns:
        ``(uv, view_depth, mask)``: (H, W, 2) float64 canonical pixel coordinates, (H, W)
        float64 camera-space z seen at each view pixel, (H, W) bool converged within 0.1
        pixel (see :mod:`portraitcli.train.recon3d.renderer`).
    """
    h, w = depth.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    p = np.stack([xs, ys], -1)

    def fmap(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _landing(q, sample_bilinear(depth, q).astype(np.float64), view, (h, w), fov)

    q = p.copy()
    for _ in range(iterations):
        fq, _ = fmap(q)
        q = np.clip(q + (p - fq), [0.0, 0.0], [w - 1.0, h - 1.0])
    fq, z = fmap(q)
    return q, z, np.linalg.norm(fq - p, axis=-1) < 0.1


def outward_normals(depth: np.ndarray, fov: float = DEFAULT_FOV) -> np.ndarray:
    """(H, W, 3) unit normals pointing towards the camera (z < 0 on a frontal surface)."""
    return -normals_from_depth(depth, fov)


def light_direction(lx: float, ly: float) -> np.ndarray:
    """Unit direction towards the light, ``normalize(lx, ly, -1)`` (lx > 0: from image right, ly > 0: from below)."""
    d = np.array([lx, ly, -1.0])
    return d / np.linalg.norm(d)


def shading(depth: np.ndarray, light: np.ndarray, fov: float = DEFAULT_FOV) -> np.ndarray:
    """Lambertian shading ``k_s + k_d max(0, <n, l>)`` of a depth map (H, W) -> (H, W) float64."""
    cos = np.clip(outward_normals(depth, fov) @ light_direction(light[2], light[3]), 0.0, None)
    return light[0] + light[1] * cos


def render(
    recon: Reconstruction, view: np.ndarray | None = None, light: np.ndarray | None = None, fov: float = DEFAULT_FOV
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render a reconstruction from a viewpoint under a light (default: the input's own).

    Returns:
        ``(image, view_depth, mask)``: (H, W, 3) float32 RGB in [0, 1] (clipped), (H, W)
        float64 depth, (H, W) bool.
    """
    view = recon.view if view is None else view
    light = recon.light if light is None else light
    canonical = recon.albedo * shading(recon.depth, light, fov)[..., None]
    uv, view_depth, mask = inverse_warp(recon.depth, view, fov)
    image = np.clip(sample_bilinear(canonical.astype(np.float32), uv), 0.0, 1.0)
    return image, view_depth, mask


def splat(
    depth: np.ndarray,
    colors: np.ndarray,
    view: np.ndarray,
    fov: float = DEFAULT_FOV,
    density: int = 2,
    fill: int = 3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render a canonical surface from ``view`` by z-buffered point splatting.

    The forward counterpart of :func:`render`, for new views far from the input's: every
    canonical surface point (``density`` x ``density`` per pixel,
    :func:`forward_map`) is moved by the view and projected; each view pixel shows the
    nearest point that lands in it (a z-buffer), so a turned face hides its far cheek
    instead of tearing where the inverse warp's fixed point fails. Pixels left empty inside
    the hit region (a surface stretched more than ``density`` times) are closed with a
    ``fill`` x ``fill`` morphological closing and inpainted (``cv2.inpaint``, Telea).

    Args:
        depth: (H, W) canonical depth.
        colors: (H, W, C) float32 canonical colors in [0, 1], C in (1, 3).
        view: (6,) viewpoint (:func:`view_from_angles`).

    Returns:
        ``(image, view_depth, mask)``: (H, W, C) float32 in [0, 1], (H, W) float64 camera z of
        the nearest surface (``inf`` where none), (H, W) bool pixels that show the surface.
    """
    import cv2

    h, w = depth.shape
    q, landing, z = forward_map(depth, view, fov, density)
    color = sample_bilinear(colors.astype(np.float32), q).reshape(-1, colors.shape[-1])
    px = np.rint(landing.reshape(-1, 2)).astype(np.int64)
    z = z.reshape(-1)
    inside = (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h) & (z > 0)
    key = px[inside, 1] * w + px[inside, 0]
    order = np.lexsort((z[inside], key))  # by pixel, nearest first
    first = np.ones(len(order), bool)
    first[1:] = key[order][1:] != key[order][:-1]
    nearest = order[first]
    image = np.zeros((h * w, colors.shape[-1]), np.float32)
    view_depth = np.full(h * w, np.inf)
    image[key[nearest]] = color[inside][nearest]
    view_depth[key[nearest]] = z[inside][nearest]
    hit = np.zeros(h * w, np.uint8)
    hit[key[nearest]] = 1
    image, view_depth, hit = image.reshape(h, w, -1), view_depth.reshape(h, w), hit.reshape(h, w)
    closed = cv2.morphologyEx(hit, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (fill, fill)))
    holes = (closed > 0) & (hit == 0)
    if holes.any():
        as8 = np.clip(image * 255.0, 0, 255).round().astype(np.uint8)
        filled = cv2.inpaint(as8, holes.astype(np.uint8), fill, cv2.INPAINT_TELEA).reshape(h, w, -1)
        image[holes] = filled[holes].astype(np.float32) / 255.0
        near = cv2.dilate(np.where(np.isfinite(view_depth), view_depth, 0).astype(np.float32), np.ones((fill, fill)))
        view_depth[holes] = near[holes]
    return image, view_depth, closed > 0


def view_from_angles(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """A (6,) viewpoint without translation."""
    return np.array([pitch, yaw, roll, 0.0, 0.0, 0.0], np.float64)


def face_to_input(crop: np.ndarray) -> np.ndarray:
    """(S, S, 3) uint8 RGB crop in the model's framing -> (1, 3, 64, 64) float32 in [-1, 1] (area resize)."""
    if crop.shape[:2] != (SIZE, SIZE):
        crop = cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return (crop.astype(np.float32).transpose(2, 0, 1)[None] / 127.5) - 1.0


@register("recon3d")
class Recon3dModel(ImageModel):
    """Face crop -> :class:`Reconstruction` (``run(crop)``).

    ``run`` takes an aligned crop (S, S, 3) uint8 RGB in the model's framing (any S; it is
    resized to 64 px) and returns the canonical maps at 64 px.
    """

    @property
    def has_view_depth(self) -> bool:
        """Whether the model has recon3d-v2's fifth output, ``view_depth``."""
        return len(self.session.get_outputs()) > 4

    def run(self, crop: np.ndarray) -> Reconstruction:  # type: ignore[override]
        depth, albedo, view, light, *rest = self.session.run(None, {self.input_name: face_to_input(crop)})
        return Reconstruction(
            depth=depth[0].astype(np.float32),
            albedo=((albedo[0].transpose(1, 2, 0) + 1.0) / 2.0).astype(np.float32),
            view=view[0].astype(np.float32),
            light=light[0].astype(np.float32),
            view_depth=rest[0][0].astype(np.float32) if rest else None,
        )
