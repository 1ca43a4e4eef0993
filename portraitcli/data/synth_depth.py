"""Synthetic faces with true depth, rendered as ``synth_depth/test.npz`` was: a validation set.

The benchmark's test faces (``synth_depth/test.npz``) were made by the datasets'
``tools/render_synth_depth.py`` with seed 0; this module renders more faces the same way
with another seed, so the 3-D reconstruction's recipe can be chosen without the test set.
Each face: a random Surrey Face Model identity (63 shape coefficients ~ N(0, 1)), up to two
expression blendshapes, a head pose (yaw +-30, pitch +-15, roll +-5 degrees), a directional
light and a uniform skin albedo; perspective camera with a 10 degree field of view, the face
0.15 units high at distance 1, Lambertian shading, z-buffer rasterization. The rendering
follows the tool line for line (same random draws in the same order), so seed 0 re-creates
the test set, which :func:`render_faces` therefore refuses.

Needs ``eos-py`` (the ``train`` extra) to read the model files in ``sfm/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.progress import track

from portraitcli.errors import UsageError
from portraitcli.face.shape import project, to_protocol
from portraitcli.models.recon3d import rotation_matrix

#: The seed of the benchmark's test faces.
TEST_SEED = 0
SKIN = np.array([[0.87, 0.72, 0.62], [0.76, 0.57, 0.45], [0.55, 0.38, 0.28], [0.93, 0.80, 0.70]])


def vertex_normals(v: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """(V, 3) unit normals: the area-weighted sum of the adjacent faces' normals."""
    fn = np.cross(v[tri[:, 1]] - v[tri[:, 0]], v[tri[:, 2]] - v[tri[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, tri[:, k], fn)
    return vn / (np.linalg.norm(vn, axis=1, keepdims=True) + 1e-12)


def rasterize(
    uv: np.ndarray, z: np.ndarray, attr: np.ndarray, tri: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Z-buffer rasterization of a triangle mesh into a (size, size) image.

    Args:
        uv: (V, 2) pixel coordinates; z: (V,) depth (smaller is nearer); attr: (V, C)
            per-vertex attributes, interpolated linearly (fine at a 10 degree field of view).

    Returns:
        ``(depth (size, size), inf off the mesh; attributes (size, size, C))``.
    """
    depth = np.full((size, size), np.inf)
    out = np.zeros((size, size, attr.shape[1]))
    for a, b, c in tri:
        p = uv[[a, b, c]]
        x0, y0 = np.maximum(np.floor(p.min(0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(p.max(0)).astype(int), size - 1)
        if x1 < x0 or y1 < y0:
            continue
        gx, gy = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
        t = np.array([[p[0, 0] - p[2, 0], p[1, 0] - p[2, 0]], [p[0, 1] - p[2, 1], p[1, 1] - p[2, 1]]])
        if abs(np.linalg.det(t)) < 1e-12:
            continue
        lam = np.linalg.solve(t, np.stack([gx.ravel() - p[2, 0], gy.ravel() - p[2, 1]]))
        lam = np.vstack([lam, 1 - lam.sum(0)])
        inside = (lam >= -1e-9).all(0)
        if not inside.any():
            continue
        lam = lam[:, inside]
        zz = lam.T @ z[[a, b, c]]
        px = (gx.ravel()[inside] - 0.5).astype(int)
        py = (gy.ravel()[inside] - 0.5).astype(int)
        nearer = zz < depth[py, px]
        px, py, zz, lam = px[nearer], py[nearer], zz[nearer], lam[:, nearer]
        depth[py, px] = zz
        out[py, px] = lam.T @ attr[[a, b, c]]
    return depth, out


def rasterize_fast(
    uv: np.ndarray, z: np.ndarray, attr: np.ndarray, tri: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`rasterize` vectorized over the triangles: the same pixels, depths and attributes.

    Each pixel centre inside a triangle's bounding box is tested at once for all triangles
    (one pass per offset in the largest box), and the z-buffer keeps per pixel the nearest
    candidate, the first triangle among equal depths, as the loop does. About 100x faster on
    the 3,448-vertex face model (about 20 ms a face); :func:`render_faces` uses it, the
    test-set tool keeps the loop it was made with.
    Barycentric weights are solved in closed form instead of by ``np.linalg.solve``, so
    values can differ in the last bits.

    Args, Returns: as :func:`rasterize`.
    """
    uv = np.asarray(uv, np.float64)
    p = uv[tri]  # (T, 3, 2)
    lo = np.maximum(np.floor(p.min(1)).astype(int), 0)
    hi = np.minimum(np.ceil(p.max(1)).astype(int), size - 1)
    t00, t01 = p[:, 0, 0] - p[:, 2, 0], p[:, 1, 0] - p[:, 2, 0]
    t10, t11 = p[:, 0, 1] - p[:, 2, 1], p[:, 1, 1] - p[:, 2, 1]
    det = t00 * t11 - t01 * t10
    keep = (hi >= lo).all(1) & (np.abs(det) >= 1e-12)
    span = (hi - lo + 1)[keep]
    idx = np.flatnonzero(keep)
    tris, pxs, pys, lams = [], [], [], []
    for dy in range(int(span[:, 1].max(initial=0))):
        for dx in range(int(span[:, 0].max(initial=0))):
            sel = (span[:, 0] > dx) & (span[:, 1] > dy)
            k = idx[sel]
            x, y = lo[k, 0] + dx, lo[k, 1] + dy
            rx, ry = x + 0.5 - p[k, 2, 0], y + 0.5 - p[k, 2, 1]
            l0 = (t11[k] * rx - t01[k] * ry) / det[k]
            l1 = (-t10[k] * rx + t00[k] * ry) / det[k]
            lam = np.stack([l0, l1, 1 - l0 - l1], 1)
            inside = (lam >= -1e-9).all(1)
            tris.append(k[inside])
            pxs.append(x[inside])
            pys.append(y[inside])
            lams.append(lam[inside])
    depth = np.full((size, size), np.inf)
    out = np.zeros((size, size, attr.shape[1]))
    if not tris:
        return depth, out
    k, px, py, lam = np.concatenate(tris), np.concatenate(pxs), np.concatenate(pys), np.concatenate(lams)
    zz = (lam * z[tri[k]]).sum(1)
    pixel = py * size + px
    order = np.lexsort((k, zz, pixel))  # by pixel, then nearest, then the earlier triangle
    first = order[np.r_[True, pixel[order][1:] != pixel[order][:-1]]]
    depth[py[first], px[first]] = zz[first]
    out[py[first], px[first]] = np.einsum("nk,nkc->nc", lam[first], attr[tri[k[first]]])
    return depth, out


def render_faces(sfm_dir: Path, n: int, size: int = 128, seed: int = 1, progress: bool = True) -> dict[str, np.ndarray]:
    """Render ``n`` synthetic faces (module docstring).

    Returns:
        ``image`` (n, size, size, 3) uint8, ``depth`` (n, size, size) float32 camera-space z
        (0 off the face), ``mask`` (n, size, size) bool, ``pose`` (n, 3) yaw, pitch, roll
        degrees, ``light`` (n, 5) ambient, diffuse, direction, ``coeffs`` (n, 63) shape and
        ``expr`` (n, 6) expression weights; the keys of ``test.npz``.

    Raises:
        UsageError: ``seed`` is the test set's, the model files are missing, or eos-py is not installed.
    """
    if seed == TEST_SEED:
        raise UsageError(f"seed {TEST_SEED} re-creates the benchmark's test faces; choose another seed")
    return _render(sfm_dir, n, size, seed, progress)


def _render(sfm_dir: Path, n: int, size: int, seed: int, progress: bool) -> dict[str, np.ndarray]:
    try:
        import eos
    except ImportError:
        raise UsageError("rendering synthetic faces needs eos-py: pip install 'portraitcli[train]'") from None
    shape_file, blend_file = sfm_dir / "sfm_shape_3448.bin", sfm_dir / "expression_blendshapes_3448.bin"
    for f in (shape_file, blend_file):
        if not f.is_file():
            raise UsageError(f"{f} is missing (see the datasets README)")
    shape = eos.morphablemodel.load_model(str(shape_file)).get_shape_model()
    tri = np.array(shape.get_triangle_list())
    blend = eos.morphablemodel.load_blendshapes(str(blend_file))
    deltas = np.stack([np.array(b.deformation).reshape(-1, 3) for b in blend])
    rng = np.random.default_rng(seed)
    keys: dict[str, list[np.ndarray]] = {k: [] for k in ("image", "depth", "mask", "pose", "light", "coeffs", "expr")}
    faces = track(range(n), description="rendering synthetic faces") if progress else range(n)
    for _ in faces:
        coeffs = rng.normal(0, 1, shape.get_num_principal_components())
        expr = np.zeros(len(blend))
        for j in rng.choice(len(blend), size=rng.integers(0, 3), replace=False):
            expr[j] = rng.uniform(0.1, 0.8)
        v = to_protocol(np.array(shape.draw_sample(list(coeffs))).reshape(-1, 3) + np.tensordot(expr, deltas, 1))
        pose = np.array([rng.uniform(-30, 30), rng.uniform(-15, 15), rng.uniform(-5, 5)])
        v = v @ rotation_matrix(pitch=pose[1], yaw=pose[0], roll=pose[2]).T  # the tool's Rz Rx Ry
        normals = vertex_normals(v, tri)
        uv, cam_z = project(v, size)  # the camera at +z looks down -z; the face looks towards +z
        depth, nrm = rasterize_fast(uv, cam_z, normals, tri, size)
        mask = np.isfinite(depth)
        nrm = nrm / (np.linalg.norm(nrm, axis=2, keepdims=True) + 1e-12)
        light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), 1.0])
        light /= np.linalg.norm(light)
        ambient, diffuse = rng.uniform(0.3, 0.6), rng.uniform(0.4, 0.7)
        shade = ambient + diffuse * np.clip(nrm @ light, 0, None)
        albedo = SKIN[rng.integers(len(SKIN))] * rng.uniform(0.9, 1.1)
        image = np.clip(shade[..., None] * albedo, 0, 1) * mask[..., None]
        keys["image"].append((image * 255).round().astype(np.uint8))
        keys["depth"].append(np.where(mask, depth, 0).astype(np.float32))
        keys["mask"].append(mask)
        keys["pose"].append(pose.astype(np.float32))
        keys["light"].append(np.array([ambient, diffuse, *light], np.float32))
        keys["coeffs"].append(coeffs.astype(np.float32))
        keys["expr"].append(expr.astype(np.float32))
    return {k: np.stack(v) for k, v in keys.items()}
