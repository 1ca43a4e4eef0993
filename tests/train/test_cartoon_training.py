"""The 2-D cartoon generator: data layout, training (resume), export, the model wrapper."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from portraitcli.errors import UsageError  # noqa: E402
from portraitcli.io import write_image  # noqa: E402
from portraitcli.models.cartoon import CartoonModel, photo_to_input, tensor_to_image  # noqa: E402
from portraitcli.train.cartoon.config import CartoonConfig  # noqa: E402
from portraitcli.train.cartoon.train import build, train  # noqa: E402
from portraitcli.train.common.checkpoint import load_checkpoint  # noqa: E402
from portraitcli.train.common.runs import make_run_dir  # noqa: E402


def _fake_toon(root: Path, astronaut: np.ndarray, n: int = 6) -> Path:
    import cv2

    for i in range(n):
        M = cv2.getRotationMatrix2D((256, 220), 5 * (i - 3), 1.0 + 0.04 * i)
        photo = cv2.resize(cv2.warpAffine(astronaut, M, (512, 512), borderMode=cv2.BORDER_REFLECT), (160, 160))
        toon = (photo // 64 * 64 + 32).astype(np.uint8)  # posterized: a "cartoon"
        write_image(root / "toon" / "train" / "photo" / f"f{i}.jpg", photo)
        write_image(root / "toon" / "train" / "toon" / f"f{i}.jpg", toon)
    return root


def test_padding_round_trip_and_missing_toon(tmp_path: Path) -> None:
    x = photo_to_input(np.zeros((50, 70, 3), np.uint8))
    assert x.shape == (3, 64, 96)
    assert tensor_to_image(x, 50, 70).shape == (50, 70, 3)
    from portraitcli.data.toon import toon_pairs

    write_image(tmp_path / "toon" / "train" / "photo" / "a.jpg", np.zeros((32, 32, 3), np.uint8))
    (tmp_path / "toon" / "train" / "toon").mkdir()
    with pytest.raises(UsageError, match="no toon/a.jpg"):
        toon_pairs(tmp_path)


#: cartoon-v1's recipe (the SE-U-Net from scratch, MobileNetV2 features) and cartoon-v2's (the
#: ImageNet MobileNetV2 U-Net on random windows, VGG-19 features, feature matching), made small.
RECIPES = {
    "v1": {"generator": "se-unet", "channels": (8, 16), "train_crop": 0, "perceptual": "mobilenet", "lambda_fm": 0.0},
    "v2": {
        "generator": "mobilenet-unet",
        "decoder": (16, 16, 8, 8),
        "train_crop": 32,
        "perceptual": "vgg19",
        "lambda_fm": 10.0,
        "augment_downscale": 0.5,
    },
}


def test_unknown_generator_or_perceptual_is_refused() -> None:
    from portraitcli.train.common.perceptual import perceptual_network

    with pytest.raises(ValueError, match="generator"):
        build(CartoonConfig(generator="resnet"))
    with pytest.raises(ValueError, match="perceptual"):
        perceptual_network(CartoonConfig(perceptual="clip").perceptual)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_cartoon_training_resumes_exactly_and_exports(tmp_path: Path, astronaut: np.ndarray, recipe: str) -> None:
    pytest.importorskip("onnx")
    import onnxruntime as ort

    from portraitcli.train.cartoon.export import export_run

    data = _fake_toon(tmp_path / "data", astronaut)
    cfg = CartoonConfig(
        size=64, ndf=8, epochs=2, batch_size=2, n_val=2, threads=1, checkpoint_every=1, **RECIPES[recipe]
    )
    straight = make_run_dir(tmp_path / "runs", "cartoon", "a")
    final = train(cfg, data, straight)
    resumed = make_run_dir(tmp_path / "runs", "cartoon", "b")
    train(cfg, data, resumed)
    (resumed / "checkpoints" / "epoch-0002.pt").unlink()
    train(cfg, data, resumed)
    log = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines() if '"epoch"' in line]
    assert [r["epoch"] for r in log] == [1, 2] and all(r["val_psnr"] > 0 for r in log)
    template = json.loads((straight / "template.json").read_text())
    assert template["size"] == [64, 64] and template["n"] == 6
    G_a, _ = build(cfg)
    G_b, _ = build(cfg)
    load_checkpoint(straight / "checkpoints" / "epoch-0002.pt", {"G": G_a})
    load_checkpoint(resumed / "checkpoints" / "epoch-0002.pt", {"G": G_b})
    for (name, a), b in zip(G_a.state_dict().items(), G_b.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
    onnx_path = export_run(straight, final)
    model = CartoonModel(None, ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]))  # type: ignore[arg-type]
    crop = astronaut[100:180, 200:270]
    out = model.run(crop)
    ref = tensor_to_image(G_a.eval()(torch.from_numpy(photo_to_input(crop))[None]).detach().numpy()[0], 80, 70)
    assert out.shape == (80, 70, 3) and np.abs(out.astype(int) - ref).max() <= 1
