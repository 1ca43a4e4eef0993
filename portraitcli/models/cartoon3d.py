"""cartoon3d: the 3-D stage on a 2-D cartoon: depth, normals, albedo, mesh, new views and lights.

Reference:
    Wang et al., "3D Cartoon Face Generation with Controllable Expressions from a Single
    GAN Image": a 2-D cartoon of the face (:mod:`portraitcli.models.cartoon`), then its
    3-D shape from the single image as in Unsup3d (:mod:`portraitcli.models.recon3d`).

The reconstruction runs at 64 px; its canonical depth is upsampled (bicubic) to the output
size and smoothed (``SMOOTH_SIGMA``), and the cartoon itself gives the colors at that size:
the cartoon (in the reconstruction's framing) is read where each canonical surface point
lands in the input's view (the forward map), which frontalizes it; dividing by the
predicted shading gives the high-resolution albedo that new lights multiply. New views are
drawn by z-buffered splatting (:func:`portraitcli.models.recon3d.splat`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from portraitcli.face.align import similarity_transform, warp_affine
from portraitcli.models.recon3d import (
    Reconstruction,
    forward_map,
    outward_normals,
    sample_bilinear,
    shading,
    splat,
    view_from_angles,
)
from portraitcli.types import Template

#: Gaussian smoothing of the upsampled depth, in pixels of the 64 px prediction: the network's
#: pixel-level ripple, upsampled, would otherwise print a grid on the normals and the mesh.
SMOOTH_SIGMA = 0.75

#: The reconstruction's far border (2 px at 64 px) is left out of meshes, in units of the side.
BORDER = 3 / 64


@dataclass
class Face3d:
    """One cartoon face in 3-D at the output size R, canonical (frontal) frame.

    Attributes:
        face: (R, R, 3) uint8 RGB, the cartoon in the reconstruction's framing (the input view).
        depth: (R, R) float64 canonical camera-space depth (about 0.9 .. 1.1).
        texture: (R, R, 3) uint8 RGB, the cartoon's colors frontalized (lit as in the input).
        albedo: (R, R, 3) float32 RGB in [0, 1], the texture divided by the predicted shading.
        recon: the 64 px reconstruction (its view and light are the input's).
    """

    face: np.ndarray
    depth: np.ndarray
    texture: np.ndarray
    albedo: np.ndarray
    recon: Reconstruction


def to_recon_frame(cartoon: np.ndarray, cartoon_template: Template, recon_template: Template, size: int) -> np.ndarray:
    """Warp a cartoon crop (in the cartoon model's framing) into the reconstruction's framing at ``size`` px."""
    scale = size / recon_template.size[0]
    M = similarity_transform(cartoon_template.kps, recon_template.kps * scale)
    return warp_affine(cartoon, M, (size, size))


def lift(face: np.ndarray, recon: Reconstruction) -> Face3d:
    """Bring a 64 px reconstruction to the size of ``face`` (R, R, 3) uint8 (module docstring)."""
    r = face.shape[0]
    depth = cv2.resize(recon.depth.astype(np.float32), (r, r), interpolation=cv2.INTER_CUBIC)
    sigma = SMOOTH_SIGMA * r / recon.depth.shape[0]
    depth = cv2.GaussianBlur(depth, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE).astype(np.float64)
    _, landing, _ = forward_map(depth, recon.view.astype(np.float64))
    texture = np.clip(sample_bilinear(face, landing), 0, 255).round().astype(np.uint8)
    shade = shading(depth, recon.light.astype(np.float64))
    albedo = np.clip(texture.astype(np.float32) / 255.0 / np.maximum(shade, 0.05)[..., None], 0.0, 1.0)
    return Face3d(face, depth, texture, albedo.astype(np.float32), recon)


def _on_white(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.where(mask[..., None], image, 1.0)
    return np.clip(out * 255.0, 0, 255).round().astype(np.uint8)


def render_view(face3d: Face3d, yaw: float = 0.0, pitch: float = 0.0, light: np.ndarray | None = None) -> np.ndarray:
    """The face turned by ``yaw`` / ``pitch`` degrees (0, 0: frontal) under ``light`` (default: the input's).

    Rendered by z-buffered splatting (:func:`portraitcli.models.recon3d.splat`): the far
    side of a turned face is hidden, not torn.

    Returns:
        (R, R, 3) uint8 RGB on white (pixels that show nothing of the surface are white).
    """
    light = face3d.recon.light if light is None else light
    colors = face3d.albedo * shading(face3d.depth, light)[..., None]
    image, _, mask = splat(face3d.depth, np.clip(colors, 0.0, 1.0), view_from_angles(yaw, pitch))
    return _on_white(image, mask)


def relight(face3d: Face3d, lx: float, ly: float) -> np.ndarray:
    """The frontal face lit from direction (lx, ly) (see :func:`portraitcli.models.recon3d.light_direction`),
    with the input's ambient and diffuse strengths. (R, R, 3) uint8 RGB on white."""
    light = np.array([face3d.recon.light[0], face3d.recon.light[1], lx, ly], np.float64)
    return render_view(face3d, light=light)


def depth_image(depth: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(H, W) depth -> 16-bit PNG data, near bright: ``65535 * (far - z) / (far - near)``; returns (image, near, far)
    over the map without its far border."""
    b = max(1, int(round(BORDER * depth.shape[0])))
    inner = depth[b:-b, b:-b]
    near, far = float(inner.min()), float(inner.max())
    img = np.clip((far - depth) / max(far - near, 1e-9), 0.0, 1.0)
    return np.rint(img * 65535).astype(np.uint16), near, far


def normal_image(depth: np.ndarray) -> np.ndarray:
    """(H, W) depth -> (H, W, 3) uint8 normal map: ``(n + 1) / 2``, x right, y up, z towards the viewer."""
    n = outward_normals(depth)
    n = np.stack([n[..., 0], -n[..., 1], -n[..., 2]], -1)
    return np.clip((n + 1.0) * 127.5, 0, 255).round().astype(np.uint8)


def mesh_arrays(face3d: Face3d, step: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A triangle mesh of the front surface, for OBJ / GLB export.

    The canonical depth is unprojected on a grid (every ``step`` px, the far border left
    out) and moved to a y-up frame centred on the face, scaled so the crop is about 1 unit
    wide: ``(x, -y, 1 - z) / tan(5 deg) / 2``.

    Returns:
        ``(vertices (V, 3) float64, faces (F, 3) int64 counter-clockwise seen from the front,
        uv (V, 2) float64 texture coordinates with v up)``.
    """
    from portraitcli.camera import depth_to_points

    r = face3d.depth.shape[0]
    b = max(1, int(round(BORDER * r)))
    idx = np.arange(b, r - b, step)
    pts = depth_to_points(face3d.depth)[np.ix_(idx, idx)]
    unit = 2 * np.tan(np.deg2rad(5.0))  # the crop's width at depth 1
    verts = np.stack([pts[..., 0], -pts[..., 1], 1.0 - pts[..., 2]], -1).reshape(-1, 3) / unit
    n = len(idx)
    grid = np.arange(n * n).reshape(n, n)
    a, bb, c, d = grid[:-1, :-1], grid[:-1, 1:], grid[1:, :-1], grid[1:, 1:]
    # image rows go down and x right; with y flipped up, (a, c, b) runs counter-clockwise
    faces = np.concatenate([np.stack([a, c, bb], -1).reshape(-1, 3), np.stack([bb, c, d], -1).reshape(-1, 3)])
    ys, xs = np.meshgrid(idx, idx, indexing="ij")
    uv = np.stack([xs / (r - 1), 1.0 - ys / (r - 1)], -1).reshape(-1, 2)
    return verts, faces.astype(np.int64), uv
