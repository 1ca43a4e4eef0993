"""The 3-D reconstruction: renderer (torch and NumPy twins), networks, training loop, export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from portraitcli.models import recon3d as np_render  # noqa: E402
from portraitcli.train.recon3d import renderer  # noqa: E402
from portraitcli.train.recon3d.config import Recon3dConfig  # noqa: E402
from portraitcli.train.recon3d.networks import Recon3dNet  # noqa: E402

#: A stand-in for the synthetic protocol's 64 px crop template.
TEMPLATE = {"size": [64, 64], "kps": [[45, 22], [37, 23], [19, 22], [26, 23], [32, 37]], "source": "test"}


def _ellipsoid(size: int = 64) -> np.ndarray:
    ys, xs = np.mgrid[0:size, 0:size]
    r2 = ((xs - 31.5) / 22) ** 2 + ((ys - 31.5) / 28) ** 2
    return (1.0 - 0.06 * np.sqrt(np.clip(1 - r2, 0, None))).astype(np.float32)


def _plane_depth(view: np.ndarray, size: int = 64) -> np.ndarray:
    """Analytic depth of the plane z = 1 moved by ``view`` (rotation about (0, 0, 1), no translation)."""
    R = np_render.rotation_matrix(*view[:3])
    n, c = R @ np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0])
    f = np_render.focal(size)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    rays = np.stack([(xs - (size - 1) / 2) / f, (ys - (size - 1) / 2) / f, np.ones_like(xs)], -1)
    return (n @ c) / (rays @ n)  # z of the ray's hit (the ray's z component is 1)


def test_identity_view_is_the_canonical_image() -> None:
    depth = torch.from_numpy(_ellipsoid())[None]
    uv, z, mask = renderer.inverse_warp(depth, torch.zeros(1, 6))
    torch.testing.assert_close(uv[0], renderer.pixel_grid(64, 64))
    torch.testing.assert_close(z, depth)
    assert mask.min() == 1


@pytest.mark.parametrize("view", [[0, 20, 0], [10, -15, 5], [-12, 0, 8]])
def test_rotated_plane_matches_the_analytic_depth(view: list[float]) -> None:
    v = np.array([*view, 0, 0, 0], np.float64)
    expected = _plane_depth(v)
    _, z_np, mask_np = np_render.inverse_warp(np.ones((64, 64), np.float32), v)
    _, z_t, mask_t = renderer.inverse_warp(torch.ones(1, 64, 64), torch.from_numpy(v[None]).float())
    assert mask_np.mean() > 0.8 and (mask_t[0].numpy() > 0).mean() > 0.8
    np.testing.assert_allclose(z_np[mask_np], expected[mask_np], atol=1e-4)
    np.testing.assert_allclose(z_t[0].numpy()[mask_np], expected[mask_np], atol=1e-4)


def test_translation_shifts_the_image_by_f_tx_over_z() -> None:
    tx = 0.01
    uv, _, mask = np_render.inverse_warp(np.ones((64, 64), np.float32), np.array([0, 0, 0, tx, 0, 0.0]))
    shift = np_render.focal(64) * tx  # z = 1
    ys, xs = np.mgrid[0:64, 0:64]
    np.testing.assert_allclose(uv[..., 0][mask], (xs - shift)[mask], atol=1e-4)
    np.testing.assert_allclose(uv[..., 1][mask], ys[mask], atol=1e-4)
    assert not mask[:, :3].any()  # the image's left edge shows what lay outside the canonical image


def test_normals_and_shading_of_a_plane() -> None:
    n = renderer.normals(torch.full((1, 8, 8), 2.0))
    torch.testing.assert_close(n[0, 4, 4], torch.tensor([0.0, 0.0, -1.0]))
    light = torch.tensor([[0.3, 0.5, 0.0, 0.0]])  # frontal light: k_s + k_d
    torch.testing.assert_close(renderer.shading(torch.ones(1, 8, 8), light), torch.full((1, 1, 8, 8), 0.8))
    side_light = torch.tensor([[0.3, 0.5, 1.0, 0.0]])  # 45 degrees from image right
    s = renderer.shading(torch.ones(1, 8, 8), side_light)[0, 0, 4, 4].item()
    assert s == pytest.approx(0.3 + 0.5 / np.sqrt(2), abs=1e-6)


def test_numpy_renderer_matches_torch() -> None:
    rng = np.random.default_rng(0)
    depth = _ellipsoid()
    albedo = rng.random((64, 64, 3)).astype(np.float32)
    view = np.array([10, 25, 5, 0.02, -0.01, 0], np.float32)
    light = np.array([0.4, 0.6, 0.3, -0.2], np.float32)
    img, z, mask = np_render.render(np_render.Reconstruction(depth, albedo, view, light))
    t_img, t_z, t_mask = renderer.render(
        torch.from_numpy(depth)[None],
        torch.from_numpy(albedo.transpose(2, 0, 1) * 2 - 1)[None],
        torch.from_numpy(view)[None],
        torch.from_numpy(light)[None],
    )
    t_img = ((t_img[0].numpy().transpose(1, 2, 0) + 1) / 2).clip(0, 1)
    assert (mask == (t_mask[0].numpy() > 0)).mean() > 0.999 and mask.mean() > 0.5
    np.testing.assert_allclose(img[mask], t_img[mask], atol=1e-4)
    np.testing.assert_allclose(z[mask], t_z[0].numpy()[mask], atol=1e-5)


def test_network_outputs_and_ranges() -> None:
    torch.manual_seed(0)
    net = Recon3dNet(nf=8, zdim=16)
    out = net(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert out["depth"].shape == (2, 64, 64) and out["albedo"].shape == (2, 3, 64, 64)
    assert out["confidence"].shape == (2, 4, 64, 64) and out["confidence"].min() > 0
    assert out["view"].shape == (2, 6) and out["view"][:, :3].abs().max() <= 60 and (out["view"][:, 5] == 0).all()
    assert out["light"].shape == (2, 4) and 0 <= out["light"][:, :2].min() and out["light"][:, :2].max() <= 1
    assert 0.9 <= out["depth"].min() and out["depth"].max() <= 1.1
    with pytest.raises(ValueError):
        Recon3dNet(size=128)


def test_depth_network_learns_the_ellipsoid_prior() -> None:
    from portraitcli.models.recon3d import ELLIPSOID, ellipsoid_depth
    from portraitcli.train.recon3d.train import fit_prior

    torch.manual_seed(0)
    torch.set_num_threads(1)
    net = Recon3dNet(nf=8, zdim=16)
    faces = torch.rand(8, 3, 64, 64) * 2 - 1
    cfg = Recon3dConfig(nf=8, zdim=16, batch_size=4, prior_steps=150, lr=1e-3, threads=1)
    before = net.canonical_depth(faces).detach()
    rms = fit_prior(net, faces, cfg) ** 0.5
    depth = net.canonical_depth(faces).detach()
    assert rms < ELLIPSOID["bulge"] / 4

    # convex towards the camera: the centre of the face is nearer than its cheeks, as in the prior
    def relief(d: torch.Tensor) -> float:
        return float(d[..., 26:32, 10:14].mean() - d[..., 26:32, 30:34].mean())

    target = torch.from_numpy(ellipsoid_depth((64, 64)))
    assert relief(target) > ELLIPSOID["bulge"] / 3
    assert abs(relief(depth) - relief(target)) < 0.2 * relief(target) and abs(relief(before)) < 0.2 * relief(target)


def test_pseudo_view_loss_teaches_only_the_view_network() -> None:
    import copy

    from portraitcli.train.recon3d.train import pseudo_view_loss, random_views

    torch.manual_seed(0)
    net = Recon3dNet(nf=8, zdim=16)
    cfg = Recon3dConfig(nf=8, zdim=16, warp_iterations=3, lambda_pseudo_view=1.0)
    image = torch.rand(3, 3, 64, 64) * 2 - 1
    out = net(image)
    rng = np.random.default_rng(0)
    views = random_views(3, cfg, copy.deepcopy(rng))
    assert views[:, 0].abs().max() <= cfg.pseudo_pitch and views[:, 1].abs().max() <= cfg.pseudo_yaw
    assert (views[:, 2:] == 0).all() and views[:, :2].std() > 1

    loss = pseudo_view_loss(net, out, image, cfg, copy.deepcopy(rng))
    loss.backward()
    grads = {name: p.grad is not None and p.grad.abs().sum() > 0 for name, p in net.named_parameters()}
    assert any(g for n, g in grads.items() if n.startswith("view_net."))
    assert not any(g for n, g in grads.items() if not n.startswith("view_net."))

    # a view network that reads the random views exactly pays nothing
    net.predict_view = lambda turned: views  # type: ignore[method-assign]
    assert float(pseudo_view_loss(net, out, image, cfg, copy.deepcopy(rng))) == 0.0


def test_shrink_to_prior_keeps_distance_and_border() -> None:
    from portraitcli.train.recon3d.networks import shrink_to_prior

    torch.manual_seed(0)
    net = Recon3dNet(nf=8, zdim=16)
    depth = net(torch.rand(2, 3, 64, 64) * 2 - 1)["depth"].detach()
    prior = torch.from_numpy(_ellipsoid())
    inside = net.border == 0
    torch.testing.assert_close(shrink_to_prior(depth, prior, 0.0, net.border), depth)
    full = shrink_to_prior(depth, prior, 1.0, net.border)
    for d, f in zip(depth, full):
        shape = f[inside] - f[inside].mean()
        torch.testing.assert_close(shape, prior[inside] - prior[inside].mean())  # the prior's shape
        torch.testing.assert_close(f[inside].mean(), d[inside].mean())  # at the network's distance
        torch.testing.assert_close(f[~inside], d[~inside])  # the far border untouched
    half = shrink_to_prior(depth, prior, 0.5, net.border)
    torch.testing.assert_close(half, (depth + full) / 2)


@pytest.mark.slow
def test_training_resumes_exactly_and_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnx")
    from portraitcli.runtime.session import create_session
    from portraitcli.train.common.checkpoint import load_checkpoint
    from portraitcli.train.common.runs import make_run_dir
    from portraitcli.train.recon3d import train as train_module
    from portraitcli.train.recon3d.export import export_run

    faces = np.random.default_rng(0).integers(0, 256, (14, 64, 64, 3), dtype=np.uint8)
    monkeypatch.setattr(train_module, "synthetic_template", lambda data, size: TEMPLATE)
    monkeypatch.setattr(
        train_module, "aligned_faces", lambda *a: {"faces": faces, "names": [str(i) for i in range(14)], "n_no_face": 1}
    )
    views = np.random.default_rng(1).uniform(-20, 20, (14, 2)).astype(np.float32)
    views[3] = np.nan  # a face without landmarks
    monkeypatch.setattr(train_module, "cached_landmark_views", lambda *a: views)
    # a tiny stand-in for a synthetic validation set: a tilted plane with its true depth
    rng = np.random.default_rng(2)
    plane = 1.0 + 0.01 * np.linspace(-1, 1, 128)[None, :].repeat(128, 0)
    np.savez(
        tmp_path / "val.npz",
        image=rng.integers(0, 256, (2, 128, 128, 3), dtype=np.uint8),
        depth=np.stack([plane, plane]).astype(np.float32),
        mask=np.ones((2, 128, 128), bool),
    )
    cfg = Recon3dConfig(
        nf=8,
        zdim=16,
        epochs=2,
        batch_size=4,
        n_val=4,
        threads=1,
        warp_iterations=3,
        prior_steps=3,
        prior="ellipsoid",
        lambda_pseudo_view=1.0,
        val_synth=str(tmp_path / "val.npz"),
    )
    straight = make_run_dir(tmp_path, "recon3d", "a")
    final = train_module.train(cfg, tmp_path, straight, None)
    resumed = make_run_dir(tmp_path, "recon3d", "b")
    train_module.train(cfg, tmp_path, resumed, None)
    (resumed / "checkpoints" / "epoch-0002.pt").unlink()
    train_module.train(cfg, tmp_path, resumed, None)
    log = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines() if '"epoch"' in line]
    assert [r["epoch"] for r in log] == [1, 2] and all(np.isfinite(r["loss"]) for r in log)
    assert all(np.isfinite(r["loss_view"]) and np.isfinite(r["loss_pseudo_view"]) for r in log)
    assert all(0 <= r["val_side"] < 1 and 0 <= r["val_mad"] <= 180 for r in log)
    assert json.loads((straight / "config.json").read_text())["n_train"] == 10
    a, b = Recon3dNet(8, 16), Recon3dNet(8, 16)
    load_checkpoint(straight / "checkpoints" / "epoch-0002.pt", {"net": a})
    load_checkpoint(resumed / "checkpoints" / "epoch-0002.pt", {"net": b})
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(x, y, msg=name)

    blends = [r for r in map(json.loads, (straight / "log.jsonl").read_text().splitlines()) if "table" in r]
    assert len(blends) == 1 and set(blends[0]["table"]) == {"0", "0.25", "0.5", "0.75", "1"}

    onnx_path = export_run(straight, final)
    model = np_render.Recon3dModel(None, create_session(str(onnx_path), "cpu", 1))  # type: ignore[arg-type]
    recon = model.run(faces[0])
    ref = a.eval()(torch.from_numpy(faces[:1]).permute(0, 3, 1, 2).float() / 127.5 - 1)
    np.testing.assert_allclose(recon.depth, ref["depth"][0].detach().numpy(), atol=1e-4)
    # exported with a blend, the graph holds the shrinkage
    from portraitcli.train.recon3d.networks import shrink_to_prior

    prior = _ellipsoid()
    blended = export_run(resumed, final, prior=prior, prior_blend=0.75)  # sessions are cached by path: another run
    assert json.loads((resumed / "export.json").read_text())["prior_blend"] == 0.75
    shrunk = np_render.Recon3dModel(None, create_session(str(blended), "cpu", 1)).run(faces[0])  # type: ignore[arg-type]
    expected = shrink_to_prior(ref["depth"].detach(), torch.from_numpy(prior), 0.75, a.border)[0].numpy()
    np.testing.assert_allclose(shrunk.depth, expected, atol=1e-4)
    np.testing.assert_allclose(recon.view, ref["view"][0].detach().numpy(), atol=1e-3)
    assert recon.albedo.shape == (64, 64, 3) and 0 <= recon.albedo.min() and recon.albedo.max() <= 1


def test_training_on_photos_and_their_cartoons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from portraitcli.train.common.runs import make_run_dir
    from portraitcli.train.recon3d import train as train_module

    rng = np.random.default_rng(0)
    photos = rng.integers(0, 256, (10, 64, 64, 3), dtype=np.uint8)
    names = [str(i) for i in range(10)]
    monkeypatch.setattr(train_module, "synthetic_template", lambda data, size: TEMPLATE)
    monkeypatch.setattr(train_module, "aligned_faces", lambda *a: {"faces": photos, "names": names, "n_no_face": 0})
    seen: list[Path] = []

    def cartoons(data, tpl, cache, model):  # noqa: ANN001, ANN202
        seen.append(model)
        return {"faces": 255 - photos, "names": names, "n_no_face": 0}

    monkeypatch.setattr(train_module, "cartoon_faces", cartoons)
    monkeypatch.setattr(train_module, "cached_landmark_views", lambda *a: np.zeros((10, 2), np.float32))
    common = dict(nf=8, zdim=16, epochs=1, batch_size=4, n_val=2, threads=1, warp_iterations=2, prior_steps=0)
    for data, n_train in (("cartoon", 8), ("both", 16)):
        cfg = Recon3dConfig(data=data, cartoon_model="runs/x/model.onnx", **common)
        run = make_run_dir(tmp_path, "recon3d", data)
        train_module.train(cfg, tmp_path, run, None)
        assert json.loads((run / "config.json").read_text())["n_train"] == n_train
    assert seen == [Path("runs/x/model.onnx")] * 2
    monkeypatch.setattr(train_module, "cartoon_faces", lambda *a: {"faces": photos[:9], "names": names[:9]})
    with pytest.raises(ValueError, match="differ"):
        cfg = Recon3dConfig(data="cartoon", cartoon_model="m.onnx", **common)
        train_module.train(cfg, tmp_path, tmp_path / "x", None)


def test_synthetic_targets_seen_from_their_view_give_the_rendered_depth(tmp_path: Path) -> None:
    """The canonical depth targets and the pose -> viewpoint convention of depth supervision."""
    pytest.importorskip("eos")
    from portraitcli.data.synth_depth import render_faces
    from portraitcli.evaluation.cartoon3d import reduce_depth
    from portraitcli.metrics.depth import erode_mask, mad, side
    from portraitcli.train.recon3d.data import synthetic_faces
    from tests.conftest import data_dir

    rendered = render_faces(data_dir("sfm"), 3, 128, seed=5, progress=False)
    np.savez(tmp_path / "s.npz", **rendered)
    synth = synthetic_faces(tmp_path / "s.npz", 64)
    assert synth["image"].shape == (3, 64, 64, 3) and synth["depth"].shape == (3, 64, 64)
    np.testing.assert_allclose(synth["view"][:, 1], -rendered["pose"][:, 0])
    gt, on_face = reduce_depth(rendered["depth"][0], rendered["mask"][0], 2)
    np.testing.assert_array_equal(synth["view_mask"][0], on_face)
    np.testing.assert_allclose(synth["view_depth"][0][on_face], gt[on_face], rtol=1e-6)
    assert np.allclose(synth["view_depth"][0][~on_face], gt[on_face].max())  # the far plane
    for i in range(3):  # yaws 12, -8, 21 degrees
        gt, m = reduce_depth(rendered["depth"][i], rendered["mask"][i], 2)
        m = erode_mask(m)
        errors = {}
        for sign in (1.0, -1.0):  # -1: the render's own yaw and roll convention, which is wrong here
            view = np.r_[synth["view"][i] * [1.0, sign, sign], 0, 0, 0]
            _, seen, _ = np_render.inverse_warp(synth["depth"][i].astype(np.float64), view)
            errors[sign] = (side(seen, gt, m), mad(seen, gt, m))
        assert errors[1.0][0] < 0.01 and errors[1.0][1] < 12  # measured 0.2-0.9e-2, 1.6-10.5 degrees
        assert errors[-1.0][0] > 2 * errors[1.0][0] and errors[-1.0][1] > 2 * errors[1.0][1]
    np.savez(tmp_path / "bad.npz", image=rendered["image"])
    from portraitcli.errors import UsageError

    with pytest.raises(UsageError, match="coeffs"):
        synthetic_faces(tmp_path / "bad.npz", 64)


def _synthetic_tensors(n: int = 6, size: int = 64) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(3)
    mask = np.zeros((n, size, size), np.float32)
    mask[:, 12:52, 16:48] = 1
    depth = torch.from_numpy(_ellipsoid(size)).expand(n, size, size).clone()
    return {
        "image": torch.from_numpy(rng.uniform(-1, 1, (n, 3, size, size))).float() * torch.from_numpy(mask)[:, None],
        "depth": depth,
        "mask": torch.from_numpy(mask),
        "view": torch.from_numpy(rng.uniform(-20, 20, (n, 3))).float(),
        "view_depth": depth + 0.01,
        "view_mask": torch.from_numpy(mask),
    }


def test_synthetic_batch_mirrors_views_and_retextures_faces() -> None:
    from portraitcli.train.recon3d.train import synthetic_batch

    synth = _synthetic_tensors()
    photos = torch.full((4, 3, 64, 64), 0.5)
    idx = np.arange(6)
    plain = synthetic_batch(synth, idx, photos, Recon3dConfig(synth_texture=0.0), np.random.default_rng(0))
    flipped = torch.tensor(np.random.default_rng(0).random(6) < 0.5)
    for k in range(6):
        mirror = bool(flipped[k])
        for key in ("image", "depth", "mask", "view_depth", "view_mask"):
            want = synth[key][k].flip(-1) if mirror else synth[key][k]
            torch.testing.assert_close(plain[key][k], want, msg=key)
        sign = torch.tensor([1.0, -1.0, -1.0]) if mirror else torch.ones(3)
        torch.testing.assert_close(plain["view"][k], synth["view"][k] * sign)
    textured = synthetic_batch(
        synth, idx, photos, Recon3dConfig(synth_texture=1.0, warp_iterations=3), np.random.default_rng(0)
    )
    image = textured["image"]
    assert image.min() >= -1 and image.max() <= 1
    face = synth["mask"][:, None].expand_as(image) > 0
    assert (image - plain["image"]).abs()[face].mean() > 0.1
    for corner in image[:, :, :4, :4]:  # off the face: the uniform photo (0.5), or it lit on the flat far plane
        assert len(torch.unique(corner.round(decimals=4))) <= 2


def test_synthetic_loss_is_zero_at_the_truth_up_to_an_offset() -> None:
    from portraitcli.train.recon3d.networks import ROTATION_RANGE
    from portraitcli.train.recon3d.train import synthetic_loss

    torch.manual_seed(0)
    net = Recon3dNet(8, 16, view_depth=True, pretrained=False).eval()
    cfg = Recon3dConfig(lambda_synth=1.0, lambda_synth_view=1.0)
    synth = _synthetic_tensors(4)
    with torch.no_grad():
        depth = net.canonical_depth(synth["image"])
        seen = net.predict_view_depth(synth["image"])
        view = net.predict_view(synth["image"])[:, :3]
    inside = net.border == 0  # the loss leaves the far border alone
    exact = {**synth, "depth": torch.where(inside, depth + 0.02, 5.0), "view_depth": seen - 0.03, "view": view}
    exact = synthetic_loss(net, exact, cfg)
    assert exact["loss_synth_depth"].item() < 1e-4 and exact["loss_synth_view"].item() < 1e-10
    assert exact["loss_synth_view_depth"].item() < 1e-4
    bent = depth + 0.01 * torch.linspace(0, 1, 64)[None, None, :]
    wrong = synthetic_loss(net, {**synth, "depth": bent, "view_depth": seen + bent, "view": view + 5.0}, cfg)
    assert wrong["loss_synth_depth"].item() > 0.1 and wrong["loss_synth_view_depth"].item() > 0.1
    assert wrong["loss_synth_view"].item() == pytest.approx((5.0 / ROTATION_RANGE) ** 2, rel=1e-4)
    torch.testing.assert_close(
        wrong["loss"], wrong["loss_synth_depth"] + wrong["loss_synth_view"] + wrong["loss_synth_view_depth"]
    )
    wrong["loss_synth_view_depth"].backward()
    assert net.view_depth_net.head.weight.grad.abs().sum() > 0 and net.depth_net.net[0].weight.grad is None
    only_view_depth = synthetic_loss(net, synth, Recon3dConfig())
    assert set(only_view_depth) == {"loss_synth_view_depth", "loss"}


def test_training_with_synthetic_supervision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import needs_mobilenet_weights

    needs_mobilenet_weights()
    pytest.importorskip("onnx")
    from portraitcli.train.common.runs import make_run_dir
    from portraitcli.train.recon3d import train as train_module

    rng = np.random.default_rng(0)
    photos = rng.integers(0, 256, (10, 64, 64, 3), dtype=np.uint8)
    monkeypatch.setattr(train_module, "synthetic_template", lambda data, size: TEMPLATE)
    monkeypatch.setattr(
        train_module, "aligned_faces", lambda *a: {"faces": photos, "names": list("abcdefghij"), "n_no_face": 0}
    )
    monkeypatch.setattr(train_module, "cached_landmark_views", lambda *a: np.zeros((10, 2), np.float32))
    t = _synthetic_tensors(8)
    rendered = {k: v.numpy() for k, v in t.items() if k != "image"}
    rendered["image"] = ((t["image"].permute(0, 2, 3, 1).numpy() + 1) * 127.5).astype(np.uint8)
    asked: list[Path] = []
    monkeypatch.setattr(train_module, "synthetic_faces", lambda path, size: asked.append(path) or rendered)
    plane = np.ones((3, 128, 128), np.float32) + 0.01 * np.linspace(-1, 1, 128)[None, None, :]
    np.savez(
        tmp_path / "val.npz",
        image=rng.integers(0, 256, (3, 128, 128, 3), dtype=np.uint8),
        depth=plane,
        mask=np.ones((3, 128, 128), bool),
        pose=np.array([[10, 5, 0], [-10, 0, 2], [0, -5, 0]], np.float32),
    )
    cfg = Recon3dConfig(
        nf=8, zdim=16, epochs=1, batch_size=4, n_val=2, threads=1, warp_iterations=2, prior_steps=0, prior="ellipsoid",
        synth_train="synth.npz", val_synth=str(tmp_path / "val.npz"), view_depth=True,
        lambda_synth=1.0, lambda_synth_view=1.0,
    )  # fmt: skip
    run = make_run_dir(tmp_path, "recon3d", "synth")
    train_module.train(cfg, tmp_path, run, None)
    assert asked == [Path("synth.npz")]
    assert json.loads((run / "config.json").read_text())["n_synth_train"] == 8
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if '"epoch"' in line]
    assert np.isfinite(log[0]["loss_synth_depth"]) and np.isfinite(log[0]["loss_synth_view"])
    assert np.isfinite(log[0]["loss_synth_view_depth"])
    assert -1 <= log[0]["val_residual_corr"] <= 1 and -1 <= log[0]["val_view_depth_residual_corr"] <= 1
    from portraitcli.runtime.session import create_session
    from portraitcli.train.recon3d.export import export_run

    onnx_path = export_run(run, run / "checkpoints" / "epoch-0001.pt")
    recon = np_render.Recon3dModel(None, create_session(str(onnx_path), "cpu", 1)).run(photos[0])  # type: ignore[arg-type]
    assert recon.view_depth is not None and recon.view_depth.shape == (64, 64)
    model = np_render.Recon3dModel(None, create_session(str(onnx_path), "cpu", 1))  # type: ignore[arg-type]
    assert model.has_view_depth
    with pytest.raises(ValueError, match="synth_train"):
        train_module.train(Recon3dConfig(view_depth=True), tmp_path, tmp_path / "x", None)
