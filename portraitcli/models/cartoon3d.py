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

Fused depth (:func:`reconstruct`): the Surrey Face Model is also fitted to 68 landmarks of the
reconstruction's input, and the network's depth is averaged with the fit's in the input's
view (:data:`FIT_WEIGHT`; with recon3d-v2's view-depth network, the depth moves to that
network's on the fitted mesh, :data:`VIEW_DEPTH_SHARE`): the network gives the global shape,
the fit the person's surface orientation (measured: ``research/depth_blend.py``,
docs/experiments/log.md). The average is carried back into the canonical frame, so views,
lights and meshes use it.

The head (:class:`Head`): the Surrey Face Model fitted to 68 landmarks of the cartoon gives
the person's face shape and expression as a full mesh; the expression can be changed
(the method's controllable expression) and the cartoon is its texture.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from portraitcli.face.align import similarity_transform, warp_affine
from portraitcli.face.morphable import EXPRESSIONS, Fit, MorphableModel, fit_landmarks, fitted_depth
from portraitcli.models.recon3d import (
    Reconstruction,
    forward_map,
    inverse_warp,
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


#: Share of the morphable fit in the fused depth (:func:`fuse_fit_depth`), chosen on 80
#: validation renders (``render_faces(seed=1)``; 0.4 and 0.5 score alike), never the test set.
FIT_WEIGHT = 0.5
#: Share of the view-depth network (recon3d-v2) in the depth the fusion moves towards
#: (:func:`reconstruct`), and how far the fusion moves with it (``VIEW_FUSION_WEIGHT``), chosen on
#: the same 80 validation renders (``research/depth_blend.py``): all the way to the network's depth.
VIEW_DEPTH_SHARE = 1.0
VIEW_FUSION_WEIGHT = 1.0


def fusion_weight(recon: Reconstruction) -> float:
    """The fusion's default share for a reconstruction: :data:`VIEW_FUSION_WEIGHT` with a view
    depth (recon3d-v2), :data:`FIT_WEIGHT` without (the fit alone is the target)."""
    return VIEW_FUSION_WEIGHT if recon.view_depth is not None else FIT_WEIGHT


#: Gaussian (px of the 64 px prediction) that carries the fit's correction past its mesh.
FIT_EXTEND_SIGMA = 4.0


def extend_outward(values: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """``values`` (H, W) float on ``mask`` (H, W) bool, continued smoothly off it: each pixel off
    the mask takes its nearest mask pixel's value (Euclidean distance transform), and that
    continuation is Gaussian-smoothed (``sigma`` px) so the seams between nearest pixels fade.
    (H, W) float64, equal to ``values`` on the mask; zeros if the mask is empty."""
    from scipy.ndimage import distance_transform_edt

    if not mask.any():
        return np.zeros(values.shape)
    _, (iy, ix) = distance_transform_edt(~mask, return_indices=True)
    filled = np.asarray(values, np.float64)[iy, ix]
    smooth = cv2.GaussianBlur(filled, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return np.where(mask, values, smooth)


def fuse_fit_depth(
    recon: Reconstruction,
    fit_depth: np.ndarray,
    fit_mask: np.ndarray,
    weight: float = FIT_WEIGHT,
    sigma: float = FIT_EXTEND_SIGMA,
) -> Reconstruction:
    """The reconstruction with its canonical depth moved towards a morphable fit's.

    In the input's view (where both are measured), ``d = fit - network``, less its median
    over the fit's mesh (the two agree on distance only up to an offset), is continued off
    the mesh (:func:`extend_outward`, so no step appears at its edge); each canonical pixel
    then gets ``weight * d`` read where it lands in the view (:func:`forward_map`), so that
    the fused depth seen in the input's view is ``network + weight * d`` to first order (the
    change itself moves where points land, by about half a pixel for 5 mm at 15 degrees).

    Args:
        recon: the network's 64 px reconstruction (depth (S, S) canonical, view (6,)).
        fit_depth: (S, S) float the fit's camera-space depth in the input's view
            (:func:`portraitcli.face.morphable.fitted_depth` at S px).
        fit_mask: (S, S) bool, where the fitted mesh covers.
        weight: the fit's share in [0, 1]; 0 returns the network's depth unchanged.

    Returns:
        A :class:`Reconstruction` with the fused depth (float32) and the same view, light, albedo.

    Raises:
        ValueError: the maps' shapes differ from the reconstruction's depth.
    """
    canonical = recon.depth.astype(np.float64)
    if fit_depth.shape != canonical.shape or fit_mask.shape != canonical.shape:
        raise ValueError(f"fit maps {fit_depth.shape} / {fit_mask.shape} do not match the depth {canonical.shape}")
    if weight == 0 or not fit_mask.any():
        return recon
    view = recon.view.astype(np.float64)
    _, seen, _ = inverse_warp(canonical, view)
    d = np.where(fit_mask, fit_depth - seen, 0.0)
    d = np.where(fit_mask, d - np.median(d[fit_mask]), 0.0)
    correction = extend_outward(d, fit_mask, sigma)
    _, landing, _ = forward_map(canonical, view)
    fused = canonical + weight * sample_bilinear(correction, landing)
    return replace(recon, depth=fused.astype(np.float32))


def reconstruct(
    face: np.ndarray,
    recon_model: object,
    sfm: MorphableModel | None,
    weight: float | None = None,
    view_share: float = VIEW_DEPTH_SHARE,
) -> Reconstruction:
    """The 3-D reconstruction of a face crop in the reconstruction's framing, fused with the
    morphable model fitted to dlib's 68 landmarks in the template's face box (:func:`fuse_fit_depth`).

    With a view-depth network (recon3d-v2), the depth the canonical map is moved towards on
    the fitted mesh is ``view_share * view_depth + (1 - view_share) * fit`` (both in the
    input's view): the network's pixel-aligned depth carries the person's shape, the fit
    the mesh's extent.

    Args:
        face: (R, R, 3) uint8 RGB in ``recon_model.spec.template``'s framing, any R (>= 128 reads landmarks well).
        recon_model: a :class:`~portraitcli.models.recon3d.Recon3dModel`.
        sfm: the morphable model; None gives the network's reconstruction alone.
        weight: how far the depth moves to the target (:func:`fuse_fit_depth`); None:
            :func:`fusion_weight`.
        view_share: the view-depth network's share of the target, 0 .. 1 (ignored without one).

    Returns:
        The fused reconstruction at 64 px.
    """
    from portraitcli.face.detect import landmarks68
    from portraitcli.metrics.identity import template_box

    recon = recon_model.run(face)  # type: ignore[attr-defined]
    weight = fusion_weight(recon) if weight is None else weight
    if sfm is None or weight == 0:
        return recon
    r, s = face.shape[0], recon.depth.shape[0]
    template = recon_model.spec.template.scaled(r, r)  # type: ignore[attr-defined]
    fit = fit_landmarks(sfm, landmarks68(face, template_box(template.kps)))
    depth, mask = fitted_depth(sfm, fit, s, r / s)
    if recon.view_depth is not None and view_share > 0:
        depth = view_share * recon.view_depth.astype(np.float64) + (1.0 - view_share) * depth
    return fuse_fit_depth(recon, depth, mask, weight)


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


@dataclass
class Head:
    """The face as a fitted morphable model (:mod:`portraitcli.face.morphable`), posed as in the crop.

    Attributes:
        fit: shape coefficients, the expression read from the face, and the pose in the crop.
        expression: (E,) float64 blendshape weights of the written head (the fitted ones,
            or what ``--neutral`` / ``--expression`` asked for).
        landmarks: (68, 2) float32 px, dlib's 68 points on the crop that the fit used.
    """

    fit: Fit
    expression: np.ndarray
    landmarks: np.ndarray


def parse_expression(text: str | None, neutral: bool) -> dict[str, float]:
    """``--expression happiness=0.8,surprise=0.2`` (and ``--neutral``) -> the weights to set.

    ``--neutral`` sets all six weights to 0; ``--expression`` then sets those it names.
    Names are the Surrey Face Model's blendshapes (:data:`~portraitcli.face.morphable.EXPRESSIONS`),
    weights in [0, 1] (1: the blendshape in full).

    Returns:
        ``{name: weight}`` for the weights to override ({} keeps the fitted expression).

    Raises:
        UsageError: an unknown name (the message lists the valid ones), a weight outside
            [0, 1] or not a number, a name twice.
    """
    from portraitcli.errors import UsageError

    out = {name: 0.0 for name in EXPRESSIONS} if neutral else {}
    if not text:
        return out
    seen = set()
    for item in text.split(","):
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if name not in EXPRESSIONS:
            raise UsageError(f"--expression: unknown expression {name!r}; valid names: {', '.join(EXPRESSIONS)}")
        if name in seen:
            raise UsageError(f"--expression: {name} given twice")
        try:
            weight = float(value)
        except ValueError:
            raise UsageError(f"--expression {item!r}: expected NAME=WEIGHT with a weight in [0, 1]") from None
        if not sep or not 0.0 <= weight <= 1.0:
            raise UsageError(f"--expression {item!r}: expected NAME=WEIGHT with a weight in [0, 1]")
        seen.add(name)
        out[name] = weight
    return out


def fit_head(model: MorphableModel, face: np.ndarray, box: tuple[float, float, float, float]) -> Head:
    """Fit the morphable model to the face in a crop: dlib's 68 landmarks inside ``box``, then
    :func:`~portraitcli.face.morphable.fit_landmarks` (pose, expression, identity).

    Args:
        face: (H, W, 3) uint8 RGB crop (the cartoon, in its template's framing).
        box: (x1, y1, x2, y2) px, the face box in that framing.
    """
    from portraitcli.face.detect import landmarks68

    points = landmarks68(face, box)
    fit = fit_landmarks(model, points)
    return Head(fit=fit, expression=fit.beta.copy(), landmarks=points)


def with_expression(head: Head, weights: dict[str, float]) -> Head:
    """``head`` with the named blendshape weights replaced (:func:`parse_expression`)."""
    beta = head.fit.beta.copy()
    for name, w in weights.items():
        beta[EXPRESSIONS.index(name)] = w
    return Head(fit=head.fit, expression=beta, landmarks=head.landmarks)


#: Below this cosine between a vertex normal and the direction to the camera, the head's
#: texture is read at the vertex's mirror twin (:func:`head_mesh`).
SEEN_COS = 0.25


def face_outline(landmarks: np.ndarray) -> np.ndarray:
    """The face's outline from dlib's 68 points: the jaw (0-16), then the brows (26 back to 17)
    raised by a third of the brow-to-chin distance for the forehead. (27, 2) float64 px,
    one closed polygon."""
    pts = np.asarray(landmarks, np.float64)
    brows = pts[26:16:-1].copy()
    brows[:, 1] -= (pts[8, 1] - brows[:, 1].mean()) / 3.0
    return np.concatenate([pts[:17], brows])


def inside_outline(points: np.ndarray, outline: np.ndarray, inset: float = 0.04) -> np.ndarray:
    """``points`` (N, 2) px, those outside the polygon ``outline`` (M, 2) moved to the nearest
    point of its edges, pulled ``inset`` of the way towards its centroid (off the edge itself,
    where hair and background begin). A degenerate outline leaves the points as they are."""
    import cv2

    poly = np.asarray(outline, np.float64)
    if abs(cv2.contourArea(poly.astype(np.float32))) < 1.0:
        return points
    contour = poly.astype(np.float32).reshape(-1, 1, 2)
    outside = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), False) < 0 for x, y in points])
    if not outside.any():
        return points
    q = points[outside]
    a, b = poly, np.roll(poly, -1, axis=0)
    ab = b - a
    t = np.clip(((q[:, None] - a[None]) * ab[None]).sum(-1) / np.maximum((ab**2).sum(-1), 1e-12), 0.0, 1.0)
    near = a[None] + t[..., None] * ab[None]  # (n, M, 2) the nearest point of each edge
    best = near[np.arange(len(q)), ((near - q[:, None]) ** 2).sum(-1).argmin(1)]
    out = points.copy()
    out[outside] = best + inset * (poly.mean(0) - best)
    return out


def mirror_twins(model: MorphableModel) -> np.ndarray:
    """(V,) int64: each vertex's mirror image across the face's midplane (x = 0 in model space),
    the nearest mean-face vertex to its reflection (median gap 0.4 mm on the Surrey model)."""
    from scipy.spatial import cKDTree

    _, twin = cKDTree(model.mean).query(model.mean * np.array([-1.0, 1.0, 1.0]))
    return np.asarray(twin, np.int64)


def head_mesh(model: MorphableModel, head: Head, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A textured triangle mesh of the fitted head with ``head.expression``.

    Vertices: the model's identity ``fit.alpha`` with the written expression, in its frontal,
    y-up frame, centred and scaled like :func:`mesh_arrays` (the crop about 1 unit wide).
    Texture coordinates: where each vertex of the face *as fitted* (its own expression)
    projects into the crop, so the texture follows the vertices when the expression changes:
    an opened mouth stretches the lips' texture and shows no teeth, which the photo lacks.
    A vertex the crop sees edge-on or from behind (a turned face's far cheek: its normal's
    component towards the camera below :data:`SEEN_COS`) takes the coordinates of its
    mirror twin when the twin faces the camera more (faces are nearly symmetric), instead of
    the colour of whatever is in front of it. Points that land outside the face's outline
    (the model reaches past the jaw and up the forehead, where the photo shows hair or
    background) read the nearest point just inside it (:func:`inside_outline`).

    Args:
        size: (W, H) of the crop, px.

    Returns:
        ``(vertices (V, 3) float64, faces (F, 3) int64, uv (V, 2) float64 in [0, 1], v up)``.
    """
    from portraitcli.data.synth_depth import vertex_normals

    fit = head.fit
    w, h = size
    fitted = model.vertices(fit.alpha, fit.beta)
    seen = fit.pose.project(fitted)
    facing = vertex_normals(fitted, model.triangles) @ fit.pose.R[2]  # cosine towards the camera
    twin = mirror_twins(model)
    swap = (facing < SEEN_COS) & (facing[twin] > facing)
    seen[swap] = seen[twin[swap]]
    seen = inside_outline(seen, face_outline(head.landmarks))
    uv = np.clip(np.stack([seen[:, 0] / w, 1.0 - seen[:, 1] / h], -1), 0.0, 1.0)
    verts = model.vertices(fit.alpha, head.expression)
    verts = (verts - verts.mean(0)) * fit.pose.s / w
    return verts, model.triangles.copy(), uv


def render_head(
    mesh: tuple[np.ndarray, np.ndarray, np.ndarray], texture: np.ndarray, yaw: float = 0.0, size: int = 256
) -> np.ndarray:
    """The textured head turned by ``yaw`` degrees, orthographic, Lambert-shaded, on white.

    The mesh (:func:`head_mesh`, computed once for all the views of a head) is z-buffered
    (:func:`portraitcli.data.synth_depth.rasterize_fast`) with its texture coordinates and
    normals interpolated per pixel; the light comes from the viewer's upper left (ambient
    0.45, diffuse 0.55).

    Args:
        mesh: ``(vertices, faces, uv)`` from :func:`head_mesh`.
        texture: (H, W, 3) uint8 RGB, the crop the head was fitted on.
        yaw: degrees, > 0 turns the face to its left (the viewer's right).
        size: the square image's side, px.

    Returns:
        (size, size, 3) uint8 RGB.
    """
    from portraitcli.data.synth_depth import rasterize_fast, vertex_normals

    h, w = texture.shape[:2]
    verts, faces, uv = mesh
    a = np.deg2rad(yaw)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    v = verts @ rot.T
    normals = vertex_normals(v, faces)
    scale = 0.85 * size / max(float(np.ptp(v[:, 0])), float(np.ptp(v[:, 1])))
    px = np.stack([v[:, 0] * scale + size / 2, -v[:, 1] * scale + size / 2], -1)
    depth, attr = rasterize_fast(px, -v[:, 2], np.concatenate([uv, normals], 1), faces, size)
    on = np.isfinite(depth)
    tex_xy = np.stack([attr[..., 0] * (w - 1), (1.0 - attr[..., 1]) * (h - 1)], -1)
    color = sample_bilinear(texture, tex_xy).astype(np.float64) / 255.0
    n = attr[..., 2:] / np.maximum(np.linalg.norm(attr[..., 2:], axis=-1, keepdims=True), 1e-12)
    light = np.array([-0.35, 0.45, 0.82]) / np.linalg.norm([-0.35, 0.45, 0.82])
    shade = 0.45 + 0.55 * np.clip(n @ light, 0.0, 1.0)
    return _on_white(color * shade[..., None], on)
