from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from portraitcli.io import write_image  # noqa: E402
from portraitcli.train.common.checkpoint import load_checkpoint  # noqa: E402
from portraitcli.train.common.export import export_onnx  # noqa: E402
from portraitcli.train.common.runs import make_run_dir  # noqa: E402
from portraitcli.train.destylize.config import DestylizeConfig  # noqa: E402
from portraitcli.train.destylize.networks import DN, SRN, CanvasHead, SpatialTransformer  # noqa: E402
from portraitcli.train.destylize.train import build, decayed, optimizers, train  # noqa: E402
from tests.conftest import data_dir  # noqa: E402


def test_spatial_transformer_starts_as_identity_and_follows_theta() -> None:
    torch.manual_seed(0)
    stn = SpatialTransformer(4)
    x = torch.randn(2, 4, 16, 16)
    torch.testing.assert_close(stn(x), x, atol=1e-5, rtol=0)
    with torch.no_grad():  # a pure translation by 2 px (normalized: 2 / 8) to the left
        stn.theta.bias.copy_(torch.tensor([1.0, 0.0, 0.25, 0.0, 1.0, 0.0]))
    torch.testing.assert_close(stn(x)[..., :-2], x[..., 2:], atol=1e-5, rtol=0)


def test_srn_shapes_ablations_and_dn() -> None:
    x = torch.randn(2, 3, 128, 128)
    for kw in ({}, {"use_stn": False}, {"skips": False}):
        y = SRN((8, 16, 32, 32), **kw)(x)
        assert y.shape == x.shape and y.abs().max() <= 1
    assert not any(isinstance(m, SpatialTransformer) for m in SRN((8, 16), use_stn=False).modules())
    assert sum(isinstance(m, SpatialTransformer) for m in SRN((8, 16, 32, 32)).modules()) == 4
    assert DN(8)(x).shape == (2, 1)


def test_srn_with_warping_stns_exports_to_onnx(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    torch.manual_seed(0)
    G = SRN((8, 16, 32, 32), stn_grid=8)
    with torch.no_grad():  # rotate and shift inside every STN so grid_sample really resamples
        for m in G.modules():
            if isinstance(m, SpatialTransformer):
                m.theta.bias.copy_(torch.tensor([0.95, -0.1, 0.05, 0.1, 0.95, -0.03]))
    diff = export_onnx(G.eval(), torch.rand(1, 3, 128, 128) * 2 - 1, tmp_path / "srn.onnx", opset=20, dynamic_hw=False)
    assert diff < 1e-4


@pytest.mark.parametrize(("arch", "size"), [("srn", 128), ("unet", 128), ("mobilenet", 64)])
def test_mean_canvas_starts_at_the_mean_face(arch: str, size: int) -> None:
    """With the canvas head, an untrained generator outputs the mean face whatever the input."""
    from portraitcli.train.destylize.networks import output_head

    torch.manual_seed(0)
    cfg = DestylizeConfig(arch=arch, channels=(8, 16, 32, 32), size=size)
    G = build(cfg, pretrained=False)[0].eval()
    mean = torch.rand(3, size, size) * 1.6 - 0.8
    output_head(G).init_canvas(mean)
    y = G(torch.rand(2, 3, size, size) * 2 - 1)
    torch.testing.assert_close(y, mean.expand(2, -1, -1, -1), atol=1e-5, rtol=0)
    assert any(k.endswith("head.canvas") for k in G.state_dict())  # saved with the checkpoint, exported
    plain = build(replace(cfg, mean_canvas=False), pretrained=False)[0]
    assert not any(isinstance(m, CanvasHead) for m in plain.modules())


def test_v6_aligner_starts_as_identity_is_supervised_and_exports(tmp_path: Path) -> None:
    """AlignedUNet: the image-level spatial transformer starts as the identity warp, its
    matrices are the ones the alignment supervision reads, and the whole generator exports."""
    pytest.importorskip("onnx")
    from portraitcli.train.destylize.networks import AlignedUNet, first_theta

    torch.manual_seed(0)
    G = AlignedUNet(64, pretrained=False).eval()
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    torch.testing.assert_close(G.align(x), x, atol=1e-5, rtol=0)
    torch.testing.assert_close(first_theta(G), torch.eye(2, 3).expand(2, 2, 3))
    assert G(x).shape == x.shape
    assert DestylizeConfig(arch="mobilenet").align_weight == DestylizeConfig().lambda_align
    with torch.no_grad():  # rotate and shift so grid_sample really resamples in the export
        G.align.theta.bias.copy_(torch.tensor([0.95, -0.1, 0.05, 0.1, 0.95, -0.03]))
    assert export_onnx(G, x[:1], tmp_path / "v6.onnx", opset=20, dynamic_hw=False) < 1e-4
    with pytest.raises(ValueError, match="multiple of 64"):
        AlignedUNet(96, pretrained=False)


def test_training_refuses_pairs_of_another_size(tmp_path: Path) -> None:
    from portraitcli.errors import UsageError

    pairs = _fake_pairs(tmp_path / "pairs")  # 128 px
    with pytest.raises(UsageError, match="size=128"):
        train(DestylizeConfig(size=256, epochs=1), pairs, make_run_dir(tmp_path / "runs", "destylize", "x"))


def test_optimizer_choice() -> None:
    G, D = build(DestylizeConfig(channels=(8, 16, 32, 32), ndf=8))
    opt_G, _ = optimizers(DestylizeConfig(lr=3e-4, beta1=0.4), G, D)
    assert isinstance(opt_G, torch.optim.Adam) and opt_G.defaults["betas"] == (0.4, 0.999)
    assert isinstance(optimizers(DestylizeConfig(optimizer="rmsprop"), G, D)[0], torch.optim.RMSprop)
    with pytest.raises(ValueError, match="adam or rmsprop"):
        optimizers(DestylizeConfig(optimizer="sgd"), G, D)


def test_loss_weight_decay() -> None:
    assert decayed(1e-2, 0) == 1e-2
    assert decayed(1e-2, 10) == pytest.approx(1e-2 * 0.995**10)
    assert decayed(1e-2, 1000) == 5e-3  # floored at half the initial weight


def _fake_pairs(root: Path, n: int = 10) -> Path:
    from portraitcli.data.stylized import PairsConfig, misalignment

    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(n)]
    for name in names:
        target = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
        write_image(root / "train" / "target" / f"{name}.png", target)
        write_image(root / "train" / "input" / f"{name}.jpg", 255 - target)
    record = {
        "config": {"render": 256},
        "train": {n: {"misalignment": misalignment(rng, PairsConfig(), 256).tolist()} for n in names},
        "test": {},
        "seen_styles": [0],
        "template": {"size": [128, 128], "kps": [[80, 50], [70, 50], [48, 50], [58, 50], [64, 70]]},
    }
    (root / "pairs.json").write_text(json.dumps(record))
    for name in names:  # stand-ins for `portrait data pair-sketches` (the default sketch_source)
        write_image(root / "train" / "sketch" / f"{name}.png", rng.integers(0, 256, (128, 128), dtype=np.uint8))
    (root / "train" / "sketch" / "sketches.json").write_text(json.dumps({"model": "sketch-v0", "n": n}))
    return root


@pytest.mark.slow
def test_destylize_training_resumes_exactly_and_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnx")
    import onnxruntime as ort

    from portraitcli.models.destylize import DestylizeModel
    from portraitcli.train.common.perceptual import weights_file
    from portraitcli.train.destylize.export import export_run

    try:
        weights_file()
        eta = 1e-3
    except Exception:  # noqa: BLE001 - without the MobileNetV2 weights, train without the identity term
        eta = 0.0
    import portraitcli.train.destylize.train as trainer

    pairs = _fake_pairs(tmp_path / "pairs")
    sketches = np.random.default_rng(1).integers(0, 256, (2, 3, 128, 128, 3), dtype=np.uint8)
    monkeypatch.setattr(trainer, "sketch_validation", lambda data, cfg, template: (*sketches, None) if data else None)
    small = {"channels": (8, 16, 32, 32), "ndf": 8, "epochs": 2, "batch_size": 4, "n_val": 2, "threads": 1}
    # the grayscale and sketch draws are seeded per epoch too; sketches from the second epoch
    cfg = DestylizeConfig(**small, eta_id=eta, p_gray=0.5, p_sketch=0.5, sketch_from_epoch=1)
    a = make_run_dir(tmp_path / "runs", "destylize", "a")
    final = train(cfg, pairs, a, data=tmp_path)
    b = make_run_dir(tmp_path / "runs", "destylize", "b")
    train(cfg, pairs, b)
    (b / "checkpoints" / "epoch-0002.pt").unlink()
    train(cfg, pairs, b)
    log = [json.loads(line) for line in (a / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log if "epoch" in r] == [1, 2]
    assert all(np.isfinite(r["val_psnr"]) for r in log if "epoch" in r)
    assert all(0 <= r["val_frr1"] <= r["val_frr5"] <= 1 for r in log if "epoch" in r)
    assert all(np.isfinite(r["val_sketch_ssim"]) and "val_sketch_frr1" not in r for r in log if "epoch" in r)
    assert not any("val_sketch_psnr" in json.loads(line) for line in (b / "log.jsonl").read_text().splitlines())
    G_a, G_b = build(cfg)[0], build(cfg)[0]
    load_checkpoint(a / "checkpoints" / "epoch-0002.pt", {"G": G_a})
    load_checkpoint(b / "checkpoints" / "epoch-0002.pt", {"G": G_b})
    for (name, x), y in zip(G_a.state_dict().items(), G_b.state_dict().values()):
        torch.testing.assert_close(x, y, msg=name)
    path = export_run(a, final)
    assert json.loads((a / "export.json").read_text())["input"]["size"] == [128, 128]
    model = DestylizeModel(None, ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]))  # type: ignore[arg-type]
    out = model.run(np.zeros((200, 160, 3), np.uint8))  # another size: resized to 128
    assert out.shape == (128, 128, 3) and out.dtype == np.uint8


@pytest.mark.slow
def test_benchmark_destylize_plumbing(tmp_path: Path, astronaut: np.ndarray) -> None:
    """An untrained SRN and the stylized-input baseline on a tiny styled test layout."""
    pytest.importorskip("onnx")
    import cv2

    from portraitcli.benchmark.destylize import run
    from portraitcli.face.detect import FaceDetector
    from portraitcli.io import read_image

    face = FaceDetector().detect(astronaut)[0]
    kps = (face.kps - face.kps.mean(0)) * 0.5 + (64, 60)  # the astronaut's landmarks in a 128 frame
    M = cv2.estimateAffinePartial2D(face.kps, kps)[0]
    pairs = tmp_path / "pairs"
    names = ["a", "b", "c"]
    for i, n in enumerate(names):
        target = cv2.warpAffine(np.roll(astronaut, 3 * i, axis=1), M, (128, 128))
        write_image(pairs / "test" / "target" / f"{n}.png", target)
        for group, style in (("seen", "s00"), ("seen", "s02"), ("unseen", "s08")):
            write_image(pairs / "test" / group / style / f"{n}.jpg", 255 - target)
    record = {"test": {n: {} for n in names}, "config": {}, "template": {"size": [128, 128], "kps": kps.tolist()}}
    record["train"] = {"t0": {}, "t1": {}}
    write_image(pairs / "train" / "target" / "t0.png", np.full((128, 128, 3), 100, np.uint8))
    write_image(pairs / "train" / "target" / "t1.png", np.full((128, 128, 3), 141, np.uint8))
    (pairs / "pairs.json").write_text(json.dumps(record))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    export_onnx(
        SRN((8, 16, 32, 32)).eval(), torch.zeros(1, 3, 128, 128), run_dir / "model.onnx", opset=20, dynamic_hw=False
    )
    (run_dir / "config.json").write_text(json.dumps({"config": {"arch": "srn"}}))
    small = tmp_path / "small.onnx"  # an earlier model of another resolution: its faces are resized
    export_onnx(SRN((8, 16, 32, 32), size=64).eval(), torch.zeros(1, 3, 64, 64), small, opset=20, dynamic_hw=False)
    result = run(
        pairs, None, run_dir / "model.onnx", {"again": run_dir}, tmp_path / "docs", tmp_path / "img",
        previous={"small": small},
    )  # fmt: skip
    m, base = result["metrics"], result["baselines"]
    metrics = ("psnr", "ssim", "frr1", "frr5", "skin_de")
    assert set(m) == {f"{k}_{c}" for k in metrics for c in ("seen", "unseen")} | {"fcr"}
    assert base["again"]["psnr_seen"] == pytest.approx(m["psnr_seen"]) and base["again"]["kind"] == "run"
    assert base["small"]["kind"] == "previous" and np.isfinite(base["small"]["psnr_seen"])
    from portraitcli.metrics.color import skin_delta_e, skin_mask

    skin = skin_mask(kps, (128, 128))
    unseen = [read_image(pairs / "test/unseen/s08" / f"{n}.jpg").rgb for n in names]  # inverted, through JPEG
    targets = [read_image(pairs / "test" / "target" / f"{n}.png").rgb for n in names]
    inverted = [skin_delta_e(x, t, skin) for x, t in zip(unseen, targets)]
    assert base["stylized input"]["skin_de_unseen"] == pytest.approx(np.mean(inverted))
    assert base["stylized input"]["frr5_seen"] == 1.0  # top-5 of a 3-face gallery
    from portraitcli.metrics.pixel import psnr

    mean_face = np.full((128, 128, 3), 120, np.uint8)  # round((100 + 141) / 2)
    assert base["mean training face"]["psnr_unseen"] == pytest.approx(np.mean([psnr(mean_face, t) for t in targets]))
    assert base["mean training face"]["kind"] == "reference"
    assert (tmp_path / "img" / "destylize_grid.jpg").is_file()
    from portraitcli.evaluation.destylize import load_columns, query_rows

    some = load_columns(pairs, record, None, test_faces=2)["seen"]  # 2 of the 3 faces, in both seen styles
    assert len(some.inputs) == 4 and len(some.targets) == 3 and len(set(some.truth)) == 2
    rows = query_rows(some, 1)  # one face that has inputs, in both styles
    assert len(rows) == 2 and len(set(some.truth[rows])) == 1
    assert "| stylized input | baseline |" in (tmp_path / "docs" / "destylize.md").read_text()


def test_retrieval_queries_are_the_same_faces_in_every_style() -> None:
    """``--frr-faces``: a seeded subset of target faces, each queried in every style."""
    from portraitcli.evaluation.destylize import Column, query_rows

    n, styles = 10, ["s00", "s02", "s08"]
    truth = np.tile(np.arange(n), len(styles))
    col = Column([np.zeros((1, 1, 3))] * len(truth), np.zeros((n, 1, 1, 3)), truth, list(np.repeat(styles, n)), [])
    np.testing.assert_array_equal(query_rows(col, None), np.arange(len(truth)))
    np.testing.assert_array_equal(query_rows(col, 50), np.arange(len(truth)))
    rows = query_rows(col, 4)
    assert len(rows) == 4 * len(styles)
    faces = {s: sorted(truth[[r for r in rows if col.styles[r] == s]]) for s in styles}
    assert faces["s00"] == faces["s02"] == faces["s08"] and len(set(faces["s00"])) == 4
    np.testing.assert_array_equal(rows, query_rows(col, 4))


def _shifted_blobs(n: int, size: int, channels: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n images of one Gaussian blob at a random place, and the translation matrices that
    centre each blob (affine_grid's theta; normalized coordinates in [-1, 1])."""
    g = torch.Generator().manual_seed(seed)
    centres = (torch.rand(n, 2, generator=g) - 0.5) * 0.8
    axis = (torch.arange(size) + 0.5) / size * 2 - 1
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    blobs = torch.exp(-((xx - centres[:, 0, None, None]) ** 2 + (yy - centres[:, 1, None, None]) ** 2) / 0.02)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = centres
    return (blobs * 2 - 1)[:, None].expand(n, channels, size, size).contiguous(), theta


@pytest.mark.parametrize("grid", [0, 4])
def test_localization_grid_lets_the_stn_see_position(grid: int) -> None:
    """A translation depends on where the content is: the g x g head can regress it, the
    global-pooling head (destylize-v1's) cannot, however it is trained."""
    torch.manual_seed(0)
    x, target = _shifted_blobs(16, 32, 1)
    stn = SpatialTransformer(1, grid=grid, side=32)
    opt = torch.optim.Adam(stn.parameters(), lr=3e-3)
    errors = []
    for _ in range(150):
        stn(x)
        loss = (stn.last_theta - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        errors.append(loss.item())
    if grid:
        assert errors[-1] < 0.05 * errors[0]
    else:
        assert errors[-1] > 0.5 * errors[0]


def test_stn_supervision_pulls_the_first_transformer_to_the_misalignment() -> None:
    from portraitcli.train.destylize.train import _step

    torch.manual_seed(0)
    cfg = DestylizeConfig(channels=(8, 16, 32, 32), ndf=8, mean_canvas=False, stn_grid=8, lr=3e-3)
    G, D = build(cfg)
    opt_G, opt_D = optimizers(cfg, G, D)
    x, target = _shifted_blobs(8, 128, 3)  # a different matrix for each input
    y = torch.rand(8, 3, 128, 128) * 2 - 1
    errors = [_step(G, D, None, opt_G, opt_D, x, y, 0.0, 0.0, (target, 1e4))["loss_align"] for _ in range(60)]
    assert errors[-1] < 0.05 * errors[0]
    assert "loss_align" not in _step(G, D, None, opt_G, opt_D, x, y, 0.0, 0.0)


def test_oracle_alignment_trains_but_is_not_exported(tmp_path: Path) -> None:
    from portraitcli.errors import UsageError
    from portraitcli.train.destylize.export import export_run

    pairs = _fake_pairs(tmp_path / "pairs")
    small = {"channels": (8, 16, 32, 32), "ndf": 8, "epochs": 1, "batch_size": 4, "n_val": 2, "threads": 1}
    cfg = DestylizeConfig(**small, eta_id=0.0, oracle_align=True, epoch_pairs=4)
    run = make_run_dir(tmp_path / "runs", "destylize", "oracle")
    final = train(cfg, pairs, run)
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert np.isfinite(log[0]["val_psnr"])
    assert log[0]["pairs"] == 4  # epoch_pairs: one batch of the training pairs
    with pytest.raises(UsageError, match="oracle_align"):
        export_run(run, final)
    assert "loss_align" not in log[0]  # the inputs were aligned: nothing to supervise
    from portraitcli.train.destylize.train import validate_run

    assert validate_run(run, pairs, None)["val_psnr"] == pytest.approx(log[0]["val_psnr"], abs=1e-6)


def test_stn_supervision_applies_only_to_an_srn_with_stns_on_misaligned_inputs() -> None:
    assert DestylizeConfig().align_weight == DestylizeConfig().lambda_align > 0
    for other in ({"arch": "unet"}, {"use_stn": False}, {"oracle_align": True}):
        assert DestylizeConfig(**other).align_weight == 0.0


def test_runs_saved_before_the_alignment_fields_load_as_they_trained() -> None:
    from portraitcli.train.common.runs import saved_config

    new_fields = ("stn_grid", "oracle_align", "lambda_align", "val_sketch", "p_gray", "p_sketch", "sketch_from_epoch")
    new_fields += ("sketch_source",)
    old = {k: v for k, v in asdict(DestylizeConfig()).items() if k not in new_fields}
    cfg = saved_config(DestylizeConfig, old)
    assert (cfg.stn_grid, cfg.oracle_align, cfg.lambda_align, cfg.val_sketch) == (0, False, 0.0, False)
    assert (cfg.p_gray, cfg.p_sketch, cfg.sketch_source) == (0.0, 0.0, "dodge")


def test_validation_retrieval_finds_each_face_and_only_it() -> None:
    from portraitcli.train.destylize.train import ValidationRetrieval

    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (6, 128, 128, 3), dtype=np.uint8)
    kps = np.array([[86.0, 50.0], [74.0, 50.0], [42.0, 50.0], [54.0, 50.0], [64.0, 75.0]])
    retrieval = ValidationRetrieval(faces, kps)
    assert retrieval(faces) == {"val_frr1": 1.0, "val_frr5": 1.0}
    assert retrieval(faces[::-1])["val_frr1"] == 0.0  # every query's nearest is another face


def test_random_grayscale_matches_opencv_luma_and_its_probability() -> None:
    import cv2

    from portraitcli.train.destylize.train import random_grayscale

    images = np.random.default_rng(0).integers(0, 256, (400, 4, 4, 3), dtype=np.uint8)
    assert random_grayscale(images, 0.0, np.random.default_rng(1)) is images
    gray = random_grayscale(images, 1.0, np.random.default_rng(1))
    for x, g in zip(images[:5], gray[:5]):
        np.testing.assert_array_equal(g, np.repeat(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2))
    some = random_grayscale(images, 0.25, np.random.default_rng(1))
    changed = np.array([not np.array_equal(a, b) for a, b in zip(images, some)])
    assert 0.18 < changed.mean() < 0.32  # 100 expected of 400 (binomial sd about 9)
    assert all(np.array_equal(b, g) for b, g, c in zip(some, gray, changed) if c)
    np.testing.assert_array_equal(some, random_grayscale(images, 0.25, np.random.default_rng(1)))  # seeded


def test_pencil_sketch_dodge_draws_edges_as_dark_lines_on_white() -> None:
    from portraitcli.train.destylize.train import pencil_sketch_dodge

    flat = np.full((32, 32, 3), 90, np.uint8)
    np.testing.assert_array_equal(pencil_sketch_dodge(flat, 3.0, 0.0), 255)  # no edge, no line
    assert (pencil_sketch_dodge(flat, 3.0, 0.5) == round(255 * (0.5 + 0.5 * 90 / 255))).all()  # tone only
    step = np.full((32, 32, 3), 230, np.uint8)
    step[:, 16:] = 40
    out = pencil_sketch_dodge(step, 3.0, 0.0)
    assert out.dtype == np.uint8 and out.shape == step.shape and (out == out[..., :1]).all()
    row = out[16, :, 0].astype(int)
    assert row[:16].min() == row[-1] == 255 and row[16] < 128  # a dark line on the edge's dark side, white elsewhere
    assert (np.diff(row[16:]) >= 0).all()  # fading into the flat dark side


def test_random_sketch_draws_the_real_face_misaligned_as_the_input() -> None:
    import cv2

    from portraitcli.data.stylized import PairsConfig, misalignment
    from portraitcli.train.destylize.train import pencil_sketch_dodge, random_sketch

    rng = np.random.default_rng(0)
    n = 400
    yy, xx = np.mgrid[0:32, 0:32]
    face = np.where(((yy - 12) ** 2 + (xx - 20) ** 2 < 40)[..., None], 30, 220).astype(np.uint8).repeat(3, 2)
    faces = np.repeat(face[None], n, 0)
    inputs = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    jitters = np.stack([misalignment(rng, PairsConfig(max_rotation=30, max_shift=0.2), 32) for _ in range(n)])
    assert random_sketch(inputs, faces, jitters, 0.0, np.random.default_rng(1)) is inputs
    some = random_sketch(inputs, faces, jitters, 0.25, np.random.default_rng(1))
    changed = np.array([not np.array_equal(a, b) for a, b in zip(inputs, some)])
    assert 0.18 < changed.mean() < 0.32  # 100 expected of 400 (binomial sd about 9)
    np.testing.assert_array_equal(some, random_sketch(inputs, faces, jitters, 0.25, np.random.default_rng(1)))
    for i in np.flatnonzero(changed)[:5]:  # the sketch of the face under this input's misalignment
        moved = cv2.warpAffine(face, jitters[i], (32, 32), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        best = min(
            np.abs(pencil_sketch_dodge(moved, s, t).astype(int) - some[i]).mean()
            for s in np.geomspace(2, 8, 25)
            for t in np.linspace(0, 0.6, 25)
        )
        unmoved = min(np.abs(pencil_sketch_dodge(face, s, 0.3).astype(int) - some[i]).mean() for s in (2, 4, 8))
        assert best < 2 < unmoved


def test_random_sketch_warps_given_drawings_instead_of_the_dodge_filter() -> None:
    import cv2

    from portraitcli.data.stylized import PairsConfig, misalignment
    from portraitcli.train.destylize.train import random_sketch

    rng = np.random.default_rng(0)
    inputs = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    drawn = rng.integers(0, 256, (6, 32, 32), dtype=np.uint8)
    jitters = np.stack([misalignment(rng, PairsConfig(), 32) for _ in range(6)])
    out = random_sketch(inputs, inputs, jitters, 1.0, np.random.default_rng(1), drawn)
    for i in range(6):
        moved = cv2.warpAffine(drawn[i], jitters[i], (32, 32), borderMode=cv2.BORDER_REFLECT_101)  # bilinear
        np.testing.assert_array_equal(out[i], np.repeat(moved[..., None], 3, axis=2))


def test_random_sketch_picks_one_of_several_drawings_per_face() -> None:
    import cv2

    from portraitcli.data.stylized import PairsConfig, misalignment
    from portraitcli.train.destylize.train import random_sketch

    rng = np.random.default_rng(0)
    n = 200
    inputs = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    drawn = rng.integers(0, 256, (n, 2, 32, 32), dtype=np.uint8)
    jitters = np.stack([misalignment(rng, PairsConfig(), 32) for _ in range(n)])
    out = random_sketch(inputs, inputs, jitters, 1.0, np.random.default_rng(1), drawn)
    picked = []
    for i in range(n):
        moved = [cv2.warpAffine(d, jitters[i], (32, 32), borderMode=cv2.BORDER_REFLECT_101) for d in drawn[i]]
        (k,) = [k for k, m in enumerate(moved) if np.array_equal(out[i], np.repeat(m[..., None], 3, axis=2))]
        picked.append(k)
    assert 0.4 < np.mean(picked) < 0.6  # half each (binomial sd 0.035)
    # one drawing per face: the random stream of the runs before several drawings existed is unchanged
    one = random_sketch(inputs, inputs, jitters, 0.5, np.random.default_rng(1), drawn[:, 0])
    changed = [not np.array_equal(a, b) for a, b in zip(inputs, one)]
    assert changed == (np.random.default_rng(1).random(n) < 0.5).tolist()


def test_model_plus_draw_source_loads_both_drawings_and_says_so(tmp_path: Path) -> None:
    from portraitcli.train.destylize.train import describe_training_data, load_drawings

    names = ["a", "b"]
    for task, value in (("sketch", 40), ("draw", 200)):
        for name in names:
            write_image(tmp_path / "train" / task / f"{name}.png", np.full((16, 16), value, np.uint8))
        (tmp_path / "train" / task / "sketches.json").write_text(json.dumps({"model": f"{task}-v9"}))
    both = load_drawings(tmp_path, names, "model+draw")
    assert both.shape == (2, 2, 16, 16) and (both[:, 0] == 40).all() and (both[:, 1] == 200).all()
    assert load_drawings(tmp_path, names, "model").shape == (2, 16, 16)
    assert load_drawings(tmp_path, names, "dodge") is None
    cfg = DestylizeConfig(p_sketch=0.25, sketch_source="model+draw", sketch_from_epoch=30, epochs=36)
    assert "sketch-v9's or draw-v9's drawings" in describe_training_data("UTKFace pairs", cfg, tmp_path)


def test_model_sketch_source_needs_its_drawings(tmp_path: Path) -> None:
    import shutil

    from portraitcli.errors import UsageError

    pairs = _fake_pairs(tmp_path / "pairs", n=4)
    shutil.rmtree(pairs / "train" / "sketch")
    small = {"channels": (8, 16, 32, 32), "ndf": 8, "epochs": 1, "batch_size": 2, "n_val": 1, "threads": 1}
    run = make_run_dir(tmp_path / "runs", "destylize", "m")
    with pytest.raises(UsageError, match="portrait data pair-sketches"):
        train(DestylizeConfig(**small, eta_id=0.0, p_sketch=0.5, sketch_from_epoch=0), pairs, run)
    with pytest.raises(UsageError, match="sketch_source must be one of"):
        train(DestylizeConfig(**small, sketch_source="pencil"), pairs, run)


def test_published_data_names_the_sketch_inputs_a_resume_added(tmp_path: Path) -> None:
    from portraitcli.train.destylize.train import describe_training_data

    assert describe_training_data("UTKFace pairs", DestylizeConfig(p_sketch=0.0), tmp_path) == "UTKFace pairs"
    final = DestylizeConfig(p_sketch=0.25, sketch_source="model", sketch_from_epoch=30, epochs=36)
    (tmp_path / "train" / "sketch").mkdir(parents=True)
    (tmp_path / "train" / "sketch" / "sketches.json").write_text('{"model": "sketch-v2"}')
    assert describe_training_data("UTKFace pairs", final, tmp_path) == (
        "UTKFace pairs; from epoch 31, 25% of the inputs were sketch-v2's drawings of their real faces"
        " (portrait data pair-sketches)"
    )
    assert "colour-dodge" in describe_training_data("UTKFace pairs", replace(final, sketch_source="dodge"), tmp_path)
    # a run that stops before the sketch epochs never drew them
    assert describe_training_data("UTKFace pairs", replace(final, epochs=30), tmp_path) == "UTKFace pairs"


def test_sketch_validation_uses_the_cufs_training_split_only() -> None:
    from portraitcli.data.cufs import cufs_pairs
    from portraitcli.evaluation.destylize import cufs_sketch_column
    from portraitcli.runtime.weights import find_model
    from portraitcli.train.destylize.train import sketch_validation

    root = data_dir("cufs").parent
    template = find_model("destylize").entry["template"]  # the shipped model's framing
    assert sketch_validation(root, DestylizeConfig(val_sketch=False), template) is None
    assert sketch_validation(root.parent, DestylizeConfig(), template) is None  # no cufs/ there
    inputs, targets, retrieval = sketch_validation(root, DestylizeConfig(), template)
    train_names = {p.photo for p in cufs_pairs(root, "cuhk_student", "train")}
    test_names = {p.photo for p in cufs_pairs(root, "cuhk_student", "test")}
    assert len(inputs) == len(targets) > 0.9 * len(train_names) and not train_names & test_names
    assert inputs.shape[1:] == (128, 128, 3) and (inputs[..., 0] == inputs[..., 2]).all()  # grayscale sketches
    assert retrieval(targets[:8])["val_frr1"] == 1.0  # its gallery is these targets
    assert len(cufs_sketch_column(root, template).inputs) > 0.9 * len(test_names)  # the benchmark's column


def test_round_trip_columns_draw_each_photo_in_every_style_and_keep_the_photo_as_target() -> None:
    """Round-trip columns: one input per photo and style, aligned like the artist's sketch column."""
    import cv2

    from portraitcli.evaluation.destylize import cufs_sketch_column
    from portraitcli.runtime.weights import find_model

    root = data_dir("cufs").parent
    template = find_model("destylize").entry["template"]
    artist = cufs_sketch_column(root, template, "train")

    def luma(photo: np.ndarray, kps: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)

    drawers = {"luma": luma, "dark": lambda photo, kps: luma(photo, kps) // 2}
    col = cufs_sketch_column(root, template, "train", drawers=drawers)
    n = len(artist.inputs)
    np.testing.assert_array_equal(col.targets, artist.targets)  # the same photos, the same alignment
    assert len(col.inputs) == 2 * n and col.styles == ["luma", "dark"] * n
    np.testing.assert_array_equal(col.truth, np.repeat(np.arange(n), 2))
    assert col.names[:2] == [f"luma/{artist.names[0]}", f"dark/{artist.names[0]}"]
    gray = cv2.cvtColor(col.targets[5], cv2.COLOR_RGB2GRAY).astype(int)
    assert np.abs(col.inputs[10][..., 0].astype(int) - gray).mean() < 1.5  # warped like its target
    assert (col.inputs[11][..., 1] <= col.inputs[10][..., 1] // 2 + 1).all()


@pytest.mark.slow
def test_product_round_trips_draw_a_cufs_photo_as_the_shipped_commands_do() -> None:
    """The sketch round trip matches the sketch model run on the (already CUFS-framed) photo."""
    import cv2

    from portraitcli.data.cufs import cufs_pairs, load_pair
    from portraitcli.evaluation.destylize import product_round_trips
    from portraitcli.face.detect import FaceDetector
    from portraitcli.models.base import load_model
    from portraitcli.runtime.weights import find_model

    trips = product_round_trips()
    sketch_name, draw_name = find_model("sketch").name, find_model("draw").name
    assert list(trips["sketch_roundtrip"]) == [sketch_name]
    assert list(trips["draw_roundtrip"]) == [f"{draw_name} style {s}" for s in (1, 2, 3)]
    photo, _ = load_pair(cufs_pairs(data_dir("cufs").parent, "cuhk_student", "test")[0])
    kps = FaceDetector().detect(photo)[0].kps
    drawn = trips["sketch_roundtrip"][sketch_name](photo, kps)
    model = load_model("sketch", "cpu", 2)  # the photo is in the model's own framing, at CUFS's scale:
    size = model.spec.template.size  # run it at the model's crop size and bring the sketch back
    direct = model.run(cv2.resize(photo, size, interpolation=cv2.INTER_CUBIC))
    direct = cv2.resize(direct, photo.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert drawn.shape == direct.shape == photo.shape[:2] and drawn.dtype == np.uint8
    inner = (slice(40, 210), slice(30, 170))  # away from the replicated borders of the two warps
    assert np.abs(drawn[inner].astype(int) - direct[inner]).mean() < 12
    styles = [f(photo, kps) for f in trips["draw_roundtrip"].values()]
    assert all(d.shape == photo.shape[:2] for d in styles) and np.abs(styles[0].astype(int) - styles[1]).mean() > 5


def test_destylize_report_puts_the_round_trips_in_their_own_table(tmp_path: Path) -> None:
    from portraitcli.benchmark.destylize import write_markdown

    cols = ("seen", "unseen", "sketch", "draw_roundtrip")
    metrics = {f"{k}_{c}": 0.5 for k in ("psnr", "ssim", "frr1", "frr5") for c in cols} | {"fcr": 0.25}
    result = {
        "model": "destylize-v0",
        "sha256": "0" * 64,
        "metrics": metrics,
        "baselines": {"stylized input": {**metrics, "psnr_draw_roundtrip": 7.0, "kind": "baseline"}},
        "n": {c: 3 for c in cols},
        "settings": {"frr_queries": {c: 3 for c in cols}},
        "round_trips": {"draw_roundtrip": ["draw-v0 style 1", "draw-v0 style 2"]},
    }
    write_markdown(result, tmp_path / "d.md")
    paper, trips = (tmp_path / "d.md").read_text().split("## Round trip of the product")
    (head,) = [line for line in paper.splitlines() if line.startswith("| method")]
    assert "PSNR sketch |" in head and "roundtrip" not in head and head.endswith("| FCR |")
    assert "draw_roundtrip: draw-v0 style 1, draw-v0 style 2" in trips
    assert "| stylized input | baseline | 7.00 | 0.5000 | 50.0% | 50.0% |" in trips and "FCR" not in trips


def test_validate_run_scores_a_checkpoint_as_the_log_recorded_it(tmp_path: Path) -> None:
    from portraitcli.errors import UsageError
    from portraitcli.train.destylize.train import validate_run

    pairs = _fake_pairs(tmp_path / "pairs")
    small = {"channels": (8, 16, 32, 32), "ndf": 8, "epochs": 1, "batch_size": 4, "n_val": 3, "threads": 1}
    run = make_run_dir(tmp_path / "runs", "destylize", "v")
    train(DestylizeConfig(**small, eta_id=0.0), pairs, run)
    logged = json.loads((run / "log.jsonl").read_text().splitlines()[0])
    scores = validate_run(run, pairs, None)
    assert scores["epoch"] == 1
    for key in ("val_psnr", "val_ssim", "val_frr1", "val_frr5"):
        assert scores[key] == pytest.approx(logged[key], abs=1e-6), key
    with pytest.raises(UsageError, match="not a destylize run"):
        validate_run(tmp_path / "pairs", pairs, None)
    with pytest.raises(UsageError, match=r"epoch-0007.pt: no such checkpoint \(kept: epoch-0001.pt\)"):
        validate_run(run, pairs, None, run / "checkpoints" / "epoch-0007.pt")


@pytest.mark.parametrize("gamma", [0.0, 10.0])
def test_r1_penalty_is_the_squared_gradient_norm_at_the_real_faces(gamma: float) -> None:
    """For a linear discriminator D(y) = w . y + b the R1 term is ||w||^2 (Mescheder et al.
    2018, eq. 9) whatever the faces, and the penalty shrinks w where the logistic loss alone,
    on separable data, grows it."""
    from portraitcli.train.destylize.train import _step

    torch.manual_seed(0)
    G = torch.nn.Conv2d(3, 3, 1)
    D = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 1))
    opt_G = torch.optim.SGD(G.parameters(), lr=0.0)
    opt_D = torch.optim.SGD(D.parameters(), lr=1e-2)
    x, y = torch.rand(4, 3, 8, 8) - 1, torch.rand(4, 3, 8, 8)  # fakes near -0.5, reals near +0.5
    norms = []
    for _ in range(50):
        w_sq = D[1].weight.detach().pow(2).sum().item()
        out = _step(G, D, None, opt_G, opt_D, x, y, 0.0, 0.0, r1_gamma=gamma)
        if gamma:
            assert out["loss_r1"] == pytest.approx(w_sq, rel=1e-5)
        else:
            assert "loss_r1" not in out
        norms.append(w_sq)
    assert (norms[-1] < norms[10]) == (gamma > 0)


def test_ssim_term_logs_one_minus_the_evaluations_ssim_of_the_recovered_faces() -> None:
    """The logged ``loss_ssim`` is 1 - the benchmark's SSIM (scikit-image, Wang et al., RGB, on
    the faces as 8-bit values) of G's output against the real faces."""
    from portraitcli.metrics.pixel import ssim
    from portraitcli.train.destylize.train import _step

    torch.manual_seed(0)
    G, D = torch.nn.Conv2d(3, 3, 3, padding=1), DN(8)
    opt_G, opt_D = torch.optim.SGD(G.parameters(), lr=0.0), torch.optim.SGD(D.parameters(), lr=0.0)
    x = torch.rand(2, 3, 128, 128) - 0.5
    y = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1)
    with torch.no_grad():
        fake = G(x)
    assert fake.abs().max() <= 1  # so that the 8-bit images hold it unclipped
    to_8bit = lambda t: (t.numpy().transpose(0, 2, 3, 1) + 1) * 127.5  # noqa: E731
    expected = np.mean([ssim(f, t) for f, t in zip(to_8bit(fake), to_8bit(y))])
    out = _step(G, D, None, opt_G, opt_D, x, y, 0.0, 0.0, lambda_ssim=0.1)
    assert out["loss_ssim"] == pytest.approx(1 - expected, abs=1e-4)
    assert "loss_ssim" not in _step(G, D, None, opt_G, opt_D, x, y, 0.0, 0.0)


def test_the_facenet_term_is_logged_and_pulls_the_output() -> None:
    """``facenet`` in a step: ``loss_facenet`` is the cosine distance of the embeddings of G's
    output and the real faces; with the term, G's gradient differs from the step without it."""
    from portraitcli.train.common.losses import FaceIdentityLoss
    from portraitcli.train.destylize.train import _step

    def embed(crop: torch.Tensor) -> torch.Tensor:  # a stand-in recognizer: mean colour of 4x4 cells
        return torch.nn.functional.normalize(torch.nn.functional.adaptive_avg_pool2d(crop, 4).flatten(1), dim=1)

    torch.manual_seed(0)
    x = torch.rand(2, 3, 128, 128) * 2 - 1
    y = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1)
    grads = []
    for weight in (0.0, 1e3):
        torch.manual_seed(1)
        G, D = torch.nn.Conv2d(3, 3, 3, padding=1), DN(8)
        opt_G, opt_D = torch.optim.SGD(G.parameters(), lr=0.0), torch.optim.SGD(D.parameters(), lr=0.0)
        loss = FaceIdentityLoss(embed, (20.0, 20.0, 108.0, 108.0), weight) if weight else None
        out = _step(G, D, None, opt_G, opt_D, x, y, 0.0, 0.0, facenet=loss)
        grads.append(G.weight.grad.clone())
        if loss is None:
            assert "loss_facenet" not in out
        else:
            from portraitcli.nets.facenet import crop_faces

            with torch.no_grad():
                fake = G(x)
                want = 1 - (embed(crop_faces(fake, loss.box)) * embed(crop_faces(y, loss.box))).sum(1)
            assert out["loss_facenet"] == pytest.approx(want.mean().item(), rel=1e-5)
    assert not torch.allclose(grads[0], grads[1])
