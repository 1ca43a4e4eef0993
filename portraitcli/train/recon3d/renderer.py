"""Differentiable renderer of the 3-D reconstruction, in plain PyTorch (CPU or GPU).

Reference:
    S. Wu, C. Rupprecht, A. Vedaldi, "Unsupervised Learning of Probably Symmetric
    Deformable 3D Objects from Images in the Wild", CVPR 2020 (Unsup3d), section 3.2.

The face is a depth map ``d`` seen from a *canonical* (frontal) viewpoint by a pinhole
camera with a 10 degree field of view (x right, y down, z forward, the face about 1 unit
away). Rendering does what Unsup3d's neural_renderer step does, without a rasterizer:

1. shading in the canonical frame, ``J = albedo * (k_s + k_d * max(0, <n, l>))``, with
   ``n`` the outward normal of the depth map (central differences) and ``l`` the light
   direction;
2. the viewpoint moves each canonical surface point ``X`` to ``X' = R (X - c) + c + T``
   (``c = (0, 0, 1)``, rotation ``R = Rz(roll) Rx(pitch) Ry(yaw)``) and projects it: a
   forward map ``p = f(q)`` from canonical pixels ``q`` to view pixels ``p``;
3. for each view pixel ``p``, the canonical pixel ``q`` it shows is the fixed point of
   ``q <- q + (p - f(q))`` (a few iterations from ``q = p``; it converges where the map
   is locally invertible, i.e. for the moderate poses of faces), and the view image and
   the view depth are sampled at ``q``. Pixels where the iteration does not land within
   0.1 px, or leaves the canonical image, are outside the mask. Self-occlusion (a
   nose hiding a cheek at a large yaw) is not resolved: the iteration lands on one of the
   surfaces that project there.

Units and ranges: depth in camera units (about 0.9 .. 1.1), angles in degrees, translation
in camera units, images in [-1, 1]. Every function takes batched tensors; ``N`` is the
batch, ``H x W`` the map size (square maps: the focal length comes from ``W``).

A NumPy twin of the steps needed at inference lives in :mod:`portraitcli.models.recon3d`;
the tests check the two against each other.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: Unsup3d's camera: field of view in degrees.
FOV = 10.0
#: Rotation centre (the canonical face sits around depth 1).
CENTER = (0.0, 0.0, 1.0)


def focal(width: int, fov: float = FOV) -> float:
    """Focal length in pixels of a ``width``-px image: ``(W - 1) / 2 / tan(fov / 2)``.

    The same camera as :mod:`portraitcli.camera`.
    """
    return (width - 1) / 2.0 / math.tan(math.radians(fov) / 2.0)


def pixel_grid(height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(H, W, 2) float32 pixel coordinates (x, y) of the pixel centres, 0 .. W-1 and 0 .. H-1."""
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float32, device=device),
        torch.arange(width, dtype=torch.float32, device=device),
        indexing="ij",
    )
    return torch.stack([xs, ys], dim=-1)


def unproject(uv: torch.Tensor, depth: torch.Tensor, f: float, size: tuple[int, int]) -> torch.Tensor:
    """Camera-space points of pixels ``uv`` (N, H, W, 2) at depths (N, H, W) -> (N, H, W, 3)."""
    h, w = size
    x = (uv[..., 0] - (w - 1) / 2.0) / f * depth
    y = (uv[..., 1] - (h - 1) / 2.0) / f * depth
    return torch.stack([x, y, depth], dim=-1)


def project(points: torch.Tensor, f: float, size: tuple[int, int]) -> torch.Tensor:
    """Pixel coordinates (N, H, W, 2) of camera-space points (N, H, W, 3) (z > 0)."""
    h, w = size
    z = points[..., 2].clamp_min(1e-4)
    return torch.stack([points[..., 0] / z * f + (w - 1) / 2.0, points[..., 1] / z * f + (h - 1) / 2.0], dim=-1)


def rotation_matrix(angles: torch.Tensor) -> torch.Tensor:
    """``R = Rz(roll) Rx(pitch) Ry(yaw)`` from (N, 3) angles (pitch, yaw, roll) in degrees -> (N, 3, 3).

    In the camera frame (x right, y down, z forward), a positive yaw turns the face's front
    towards image left, a positive pitch towards image bottom (the face looks down), and a
    positive roll turns the face clockwise in the image.
    """
    a = torch.deg2rad(angles)
    cx, cy, cz = torch.cos(a).unbind(-1)
    sx, sy, sz = torch.sin(a).unbind(-1)
    one, zero = torch.ones_like(cx), torch.zeros_like(cx)
    rx = torch.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1).view(-1, 3, 3)
    ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).view(-1, 3, 3)
    rz = torch.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1).view(-1, 3, 3)
    return rz @ rx @ ry


def transform(points: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
    """Move canonical points (N, H, W, 3) by viewpoints (N, 6) = (pitch, yaw, roll in degrees, tx, ty, tz)."""
    R = rotation_matrix(view[:, :3])
    c = points.new_tensor(CENTER)
    moved = torch.einsum("nij,nhwj->nhwi", R, points - c)
    return moved + c + view[:, None, None, 3:]


def _sample(maps: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of maps (N, C, H, W) at pixel coordinates uv (N, H', W', 2) -> (N, C, H', W')."""
    h, w = maps.shape[-2:]
    scale = uv.new_tensor([2.0 / (w - 1), 2.0 / (h - 1)])
    return F.grid_sample(maps, uv * scale - 1.0, mode="bilinear", padding_mode="border", align_corners=True)


def normals(depth: torch.Tensor, fov: float = FOV) -> torch.Tensor:
    """Outward unit normals (towards the camera, z < 0 on a frontal surface) of depth maps.

    Central differences of the unprojected points, ``n = normalize(dP/dy x dP/dx)``; the
    1-px border repeats its neighbour.

    Args:
        depth: (N, H, W) camera-space z.

    Returns:
        (N, H, W, 3) unit normals.
    """
    n, h, w = depth.shape
    pts = unproject(pixel_grid(h, w, depth.device).expand(n, h, w, 2), depth, focal(w, fov), (h, w))
    du = pts[:, 1:-1, 2:] - pts[:, 1:-1, :-2]
    dv = pts[:, 2:, 1:-1] - pts[:, :-2, 1:-1]
    nrm = torch.cross(dv, du, dim=-1)
    nrm = F.pad(nrm.permute(0, 3, 1, 2), (1, 1, 1, 1), mode="replicate").permute(0, 2, 3, 1)
    return nrm / nrm.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def light_direction(light: torch.Tensor) -> torch.Tensor:
    """Unit direction towards the light from (N, 4) lights (ambient, diffuse, lx, ly) -> (N, 3).

    ``l = normalize(lx, ly, -1)``: (0, 0) is a light at the camera; lx > 0 lights the face
    from image right, ly > 0 from below.
    """
    d = torch.cat([light[:, 2:4], -torch.ones_like(light[:, :1])], dim=1)
    return d / d.norm(dim=1, keepdim=True)


def shading(depth: torch.Tensor, light: torch.Tensor, fov: float = FOV) -> torch.Tensor:
    """Lambertian shading ``k_s + k_d * max(0, <n, l>)`` (Unsup3d eq. 3) -> (N, 1, H, W).

    Args:
        depth: (N, H, W) canonical depth.
        light: (N, 4) ambient k_s, diffuse k_d (both >= 0), light direction lx, ly.
    """
    cos = (normals(depth, fov) * light_direction(light)[:, None, None, :]).sum(-1).clamp_min(0.0)
    return (light[:, 0, None, None] + light[:, 1, None, None] * cos)[:, None]


def shade(albedo: torch.Tensor, depth: torch.Tensor, light: torch.Tensor, fov: float = FOV) -> torch.Tensor:
    """The canonical image: albedo (N, 3, H, W) in [-1, 1] lit by ``light`` -> (N, 3, H, W) in [-1, 1]
    (values above 1 where the shading exceeds 1 are kept; clamp for display)."""
    return ((albedo + 1.0) / 2.0 * shading(depth, light, fov)) * 2.0 - 1.0


def inverse_warp(
    depth: torch.Tensor, view: torch.Tensor, fov: float = FOV, iterations: int = 10
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each pixel of the view, the canonical pixel it shows (module docstring, step 3).

    Args:
        depth: (N, H, W) canonical depth.
        view: (N, 6) viewpoints (pitch, yaw, roll in degrees, tx, ty, tz in camera units).
        iterations: fixed-point iterations (gradients flow through all of them).

    Returns:
        ``(uv, view_depth, mask)``: (N, H, W, 2) canonical pixel coordinates, (N, H, W) the
        camera-space z of the surface seen at each view pixel, (N, H, W) float 1 where the
        iteration converged inside the canonical image, else 0 (no gradient).
    """
    n, h, w = depth.shape
    f = focal(w, fov)
    p = pixel_grid(h, w, depth.device).expand(n, h, w, 2)
    low, high = p.new_tensor([0.0, 0.0]), p.new_tensor([w - 1.0, h - 1.0])

    def forward_map(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d = _sample(depth[:, None], q)[:, 0]
        moved = transform(unproject(q, d, f, (h, w)), view)
        return project(moved, f, (h, w)), moved[..., 2]

    q = p
    for _ in range(iterations):
        fq, _ = forward_map(q)
        q = torch.minimum(torch.maximum(q + (p - fq), low), high)
    fq, z = forward_map(q)
    mask = ((fq - p).detach().norm(dim=-1) < 0.1).float()
    return q, z, mask


def render(
    depth: torch.Tensor,
    albedo: torch.Tensor,
    view: torch.Tensor,
    light: torch.Tensor,
    fov: float = FOV,
    iterations: int = 10,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Render the face from ``view`` under ``light``.

    Args:
        depth: (N, H, W) canonical depth.
        albedo: (N, 3, H, W) canonical albedo in [-1, 1].
        view: (N, 6) viewpoints; light: (N, 4) lights (:func:`shading`).

    Returns:
        ``(image, view_depth, mask)``: (N, 3, H, W) in [-1, 1] (about), (N, H, W), (N, H, W) float 0/1.
    """
    uv, view_depth, mask = inverse_warp(depth, view, fov, iterations)
    image = _sample(shade(albedo, depth, light, fov), uv)
    return image, view_depth, mask
