"""The 3-D stage of cartoon3d on hand-made reconstructions: texture, albedo, maps, mesh."""

from __future__ import annotations

import numpy as np
import pytest

from portraitcli.models import cartoon3d as c3d
from portraitcli.models.recon3d import Reconstruction


def _ellipsoid(size: int) -> np.ndarray:
    ys, xs = np.mgrid[0:size, 0:size]
    c = (size - 1) / 2
    r2 = ((xs - c) / (0.35 * size)) ** 2 + ((ys - c) / (0.44 * size)) ** 2
    return 1.0 - 0.06 * np.sqrt(np.clip(1 - r2, 0, None))


def _recon(view=(0, 0, 0, 0, 0, 0), light=(1.0, 0.0, 0.0, 0.0)) -> Reconstruction:
    d = _ellipsoid(64).astype(np.float32)
    return Reconstruction(
        d, np.full((64, 64, 3), 0.5, np.float32), np.array(view, np.float32), np.array(light, np.float32)
    )


def test_frontal_view_and_flat_light_keep_the_cartoon() -> None:
    face = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    f3 = c3d.lift(face, _recon())
    np.testing.assert_array_equal(f3.texture, face)  # identity view: the forward map is the identity
    np.testing.assert_allclose(f3.albedo, face / 255.0, atol=1e-6)  # shading 1 everywhere
    assert f3.depth.shape == (128, 128)


def test_turned_view_moves_the_texture() -> None:
    face = np.zeros((128, 128, 3), np.uint8)
    face[:, 64:] = 255
    f3 = c3d.lift(face, _recon(view=(0, 20, 0, 0, 0, 0)))
    edge = int(np.argmax(f3.texture[64, :, 0] > 127))
    assert edge != 64  # the frontalized texture's edge is no longer where the input's was


def test_maps() -> None:
    flat = np.ones((32, 32))
    n = c3d.normal_image(flat)
    np.testing.assert_array_equal(n[16, 16], [128, 128, 255])  # facing the viewer
    d16, near, far = c3d.depth_image(_ellipsoid(64))
    assert d16.dtype == np.uint16 and d16[32, 32] == 65535 and near < far  # the nearest point is brightest


def test_mesh_is_one_front_facing_surface() -> None:
    trimesh = pytest.importorskip("trimesh")
    f3 = c3d.lift(np.zeros((96, 96, 3), np.uint8), _recon())
    v, faces, uv = c3d.mesh_arrays(f3, step=2)
    mesh = trimesh.Trimesh(v, faces, process=False)
    assert len(mesh.split(only_watertight=False)) == 1
    assert (mesh.face_normals[:, 2] > 0).mean() > 0.99  # counter-clockwise seen from the front (+z)
    assert uv.min() >= 0 and uv.max() <= 1 and np.ptp(v[:, 0]) == pytest.approx(1.0, abs=0.1)


def test_render_view_turns_and_relights() -> None:
    f3 = c3d.lift(np.full((64, 64, 3), 200, np.uint8), _recon(light=(0.3, 0.7, 0.0, 0.0)))
    front, turned = c3d.render_view(f3), c3d.render_view(f3, yaw=30)
    assert front.shape == turned.shape == (64, 64, 3) and np.abs(front.astype(int) - turned).mean() > 1
    left, right = c3d.relight(f3, -0.8, 0), c3d.relight(f3, 0.8, 0)
    # lit from image left, the left half is brighter than the right
    assert left[:, :28].mean() > left[:, 36:].mean() and right[:, 36:].mean() > right[:, :28].mean()


def test_splat_matches_the_inverse_warp_and_hides_the_far_side() -> None:
    from portraitcli.models.recon3d import render, splat, view_from_angles

    size = 96
    depth = _ellipsoid(size)
    ys, xs = np.mgrid[0:size, 0:size]
    colors = np.stack([xs / size, ys / size, np.full_like(xs, 0.5, dtype=float)], -1).astype(np.float32)
    recon = Reconstruction(depth, colors, view_from_angles(), np.array([1.0, 0.0, 0.0, 0.0]))
    view = view_from_angles(yaw=20)
    reference, ref_depth, ref_mask = render(recon, view)
    image, view_depth, mask = splat(depth, colors, view)
    both = ref_mask & mask
    assert both.mean() > 0.8
    assert np.abs(image - reference)[both].mean() < 0.01  # colors within a fraction of a pixel's gradient
    # the depths agree to within the depth change over half a pixel (splats land on the nearest pixel)
    assert np.median(np.abs(view_depth - ref_depth)[both]) < 5e-4
    assert np.percentile(np.abs(view_depth - ref_depth)[both], 95) < 3e-3
    # turned far, the silhouette is filled (no tears) and each pixel shows the nearest surface
    image, view_depth, mask = splat(depth, colors, view_from_angles(yaw=45))
    inner = mask[8:-8, 30:66]
    assert inner.all()
    denser = splat(depth, colors, view_from_angles(yaw=45), density=4)[1]
    both = mask & np.isfinite(denser) & np.isfinite(view_depth)
    assert np.percentile(np.abs(view_depth - denser)[both], 95) < 1e-3


def test_splat_shows_the_nearest_surface() -> None:
    from portraitcli.models.recon3d import splat, view_from_angles

    # a near step (left half, red) in front of a far plane (right half, blue), turned so the
    # step's edge swings over the far plane: the overlap must show red
    depth = np.where(np.arange(64)[None, :] < 32, 0.9, 1.1).repeat(64, 0)
    colors = np.zeros((64, 64, 3), np.float32)
    colors[:, :32, 0] = 1.0
    colors[:, 32:, 2] = 1.0
    image, view_depth, _ = splat(depth, colors, view_from_angles(yaw=-20))
    near = view_depth < 1.0
    assert near[:, 32:].any()  # the near half now covers pixels right of the old edge
    far = ~near & np.isfinite(view_depth)
    assert image[near][:, 0].mean() > 0.95 and image[far][:, 2].mean() > 0.95  # colors follow the z-buffer


def test_extend_outward_keeps_the_mask_and_continues_it_smoothly() -> None:
    mask = np.zeros((32, 32), bool)
    mask[8:24, 8:24] = True
    values = np.where(mask, 3.0, np.nan)
    out = c3d.extend_outward(values, mask, 3.0)
    np.testing.assert_allclose(out, 3.0)  # a constant continues as itself, everywhere
    ramp = np.tile(np.arange(32, dtype=float), (32, 1))
    out = c3d.extend_outward(ramp, mask, 2.0)
    np.testing.assert_array_equal(out[mask], ramp[mask])
    assert 22.5 < out[16, 26] < 23.0  # right of the mask: near its edge value (23), not 0 or the mean (15.5)
    assert np.all(np.abs(np.diff(out, axis=1)) <= 1.0 + 1e-9)  # no step at the edge
    np.testing.assert_array_equal(c3d.extend_outward(ramp, np.zeros((32, 32), bool), 2.0), 0.0)


def test_fuse_fit_depth_moves_the_seen_depth_by_the_fit_share() -> None:
    from portraitcli.models.recon3d import inverse_warp

    recon = _recon(view=(0, 15, 0, 0, 0, 0))
    _, seen, _ = inverse_warp(recon.depth.astype(np.float64), recon.view.astype(np.float64))
    ys, xs = np.mgrid[0:64, 0:64]
    mask = (xs - 32) ** 2 / 18**2 + (ys - 32) ** 2 / 24**2 < 1
    bump = 0.01 * np.exp(-((xs - 36) ** 2 + (ys - 28) ** 2) / 30.0)  # a person's nose the network missed
    # an offset in distance alone is not shape: removed
    same = c3d.fuse_fit_depth(recon, seen + 0.05, mask, weight=0.5)
    np.testing.assert_allclose(same.depth, recon.depth, atol=1e-6)
    fused = c3d.fuse_fit_depth(recon, seen + bump, mask, weight=0.5)
    _, seen_fused, _ = inverse_warp(fused.depth.astype(np.float64), recon.view.astype(np.float64))
    inner = mask & (np.abs(xs - 32) < 14) & (np.abs(ys - 32) < 18)
    change = (seen_fused - seen)[inner]
    expected = 0.5 * (bump - np.median(bump[mask]))[inner]
    # half the fit's difference, read back in the view: to first order (the change moves where
    # points land by about half a pixel at this yaw)
    assert np.abs(change - expected).max() < 0.15 * expected.max()
    assert np.abs(change - expected).mean() < 0.03 * expected.max()
    assert fused.view is recon.view and fused.light is recon.light
    assert c3d.fuse_fit_depth(recon, seen + bump, mask, weight=0.0) is recon
    with pytest.raises(ValueError, match="do not match"):
        c3d.fuse_fit_depth(recon, seen[:32], mask)


def test_reconstruct_moves_the_depth_towards_the_view_depth_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """recon3d-v2: the fusion's target on the fitted mesh is the view-depth network's depth
    (``view_share`` 1) or the fit's (``view_share`` 0); here the fit agrees with the network."""
    from dataclasses import replace
    from types import SimpleNamespace

    from portraitcli.face import detect
    from portraitcli.models.recon3d import inverse_warp
    from portraitcli.types import Template

    recon = _recon(view=(0, 10, 0, 0, 0, 0))
    _, seen, _ = inverse_warp(recon.depth.astype(np.float64), recon.view.astype(np.float64))
    ys, xs = np.mgrid[0:64, 0:64]
    mask = (xs - 32) ** 2 / 18**2 + (ys - 32) ** 2 / 24**2 < 1
    bump = 0.01 * np.exp(-((xs - 36) ** 2 + (ys - 28) ** 2) / 30.0)
    kps = np.array([[40, 26], [34, 26], [22, 26], [28, 26], [32, 38]], np.float32)
    model = SimpleNamespace(
        spec=SimpleNamespace(template=Template((64, 64), kps)),
        run=lambda face: replace(recon, view_depth=(seen + bump).astype(np.float32)),
    )
    monkeypatch.setattr(detect, "landmarks68", lambda face, box: np.zeros((68, 2)))
    monkeypatch.setattr(c3d, "fit_landmarks", lambda sfm, points: "fit")
    monkeypatch.setattr(c3d, "fitted_depth", lambda sfm, fit, size, scale: (seen, mask))
    face = np.zeros((128, 128, 3), np.uint8)
    fit_only = c3d.reconstruct(face, model, sfm=object(), weight=1.0, view_share=0.0)  # type: ignore[arg-type]
    np.testing.assert_allclose(fit_only.depth, recon.depth, atol=1e-6)
    fused = c3d.reconstruct(face, model, sfm=object(), weight=1.0, view_share=1.0)  # type: ignore[arg-type]
    _, seen_fused, _ = inverse_warp(fused.depth.astype(np.float64), recon.view.astype(np.float64))
    inner = mask & (np.abs(xs - 32) < 14) & (np.abs(ys - 32) < 18)
    expected = (bump - np.median(bump[mask]))[inner]
    assert np.abs((seen_fused - seen)[inner] - expected).mean() < 0.05 * expected.max()
