"""Exemplar style transfer: AdaIN, the Gatys losses, training (resume, export), the command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from portraitcli.cli.app import main  # noqa: E402
from portraitcli.io import write_image  # noqa: E402
from portraitcli.models.stylize import luminance_transfer, prepare_style, to_image, to_tensor  # noqa: E402
from portraitcli.nets.vgg import content_distance, gram_matrix, style_distance  # noqa: E402
from portraitcli.train.stylize.networks import StyleTransferNet, adain, sqrt_and_inv_sqrt, wct  # noqa: E402
from tests.conftest import TEMPLATE_KPS, data_dir, needs_mobilenet_weights  # noqa: E402


def test_adain_gives_the_style_statistics_and_alpha_zero_keeps_the_content() -> None:
    g = torch.Generator().manual_seed(0)
    content = torch.randn(2, 5, 8, 6, generator=g) * 3 + 1
    style = torch.randn(2, 5, 4, 4, generator=g) * 0.5 - 2
    out = adain(content, style, eps=0.0)
    var_o, mean_o = torch.var_mean(out, dim=(2, 3), correction=0)
    var_s, mean_s = torch.var_mean(style, dim=(2, 3), correction=0)
    assert torch.allclose(mean_o, mean_s, atol=1e-5) and torch.allclose(var_o, var_s, rtol=1e-4)
    # the formula of Huang and Belongie, eq. 8, written out per channel
    c, s = content[1, 3], style[1, 3]
    expected = s.std(unbiased=False) * (c - c.mean()) / c.std(unbiased=False) + s.mean()
    assert torch.allclose(out[1, 3], expected, atol=1e-5)
    net = StyleTransferNet(pretrained=False).eval()
    features = [torch.randn(1, ch, 8 // k, 8 // k, generator=g) for ch, k in ((24, 1), (32, 2), (96, 4))]
    kept = net.transfer(features, [f * 5 + 1 for f in features], torch.zeros(1, 1, 1, 1))
    assert all(torch.equal(a, b) for a, b in zip(kept, features))


def _covariance(x: torch.Tensor) -> torch.Tensor:
    f = x.flatten(2)
    f = f - f.mean(2, keepdim=True)
    return f @ f.transpose(1, 2) / f.shape[2]


def test_newton_schulz_roots_match_the_eigendecomposition() -> None:
    g = torch.Generator().manual_seed(2)
    f = torch.randn(2, 96, 300, generator=g) * torch.rand(2, 96, 1, generator=g) * 3
    a = f @ f.transpose(1, 2) / 300 + 1e-3 * torch.eye(96)  # condition number about 1e4
    root, inv_root = sqrt_and_inv_sqrt(a)
    e, v = torch.linalg.eigh(a.double())
    ref_root = v @ torch.diag_embed(e.sqrt()) @ v.transpose(1, 2)
    ref_inv = v @ torch.diag_embed(e.rsqrt()) @ v.transpose(1, 2)
    assert float((root.double() - ref_root).abs().max() / ref_root.abs().max()) < 1e-4
    assert float((inv_root.double() - ref_inv).abs().max() / ref_inv.abs().max()) < 1e-3


def test_wct_gives_the_style_mean_and_covariance() -> None:
    g = torch.Generator().manual_seed(3)
    content = torch.randn(1, 24, 20, 16, generator=g) * 2 + 0.5
    style = torch.randn(1, 24, 12, 12, generator=g)
    style = torch.einsum("ij,njhw->nihw", torch.randn(24, 24, generator=g) * 0.4, style) - 1  # correlated channels
    out = wct(content, style, eps=1e-6)
    assert torch.allclose(out.mean((2, 3)), style.mean((2, 3)), atol=1e-4)
    cov_s = _covariance(style)
    assert float((_covariance(out) - cov_s).abs().max() / cov_s.abs().max()) < 2e-3
    # AdaIN matches the variances only: the off-diagonal covariance stays the content's (about 0)
    off = ~torch.eye(24, dtype=torch.bool)
    assert float((_covariance(adain(content, style)) - cov_s)[0][off].abs().max()) > 0.1
    # Li et al.'s eq. 1-2 written with an eigendecomposition
    fc = content.flatten(2)[0] - content.flatten(2)[0].mean(1, keepdim=True)
    cov_c = _covariance(content)[0].double()
    ec, vc = torch.linalg.eigh(cov_c + 1e-6 * cov_c.trace() / 24 * torch.eye(24))
    es, vs = torch.linalg.eigh(cov_s[0].double() + 1e-6 * cov_s[0].trace() / 24 * torch.eye(24))
    whitened = vc @ torch.diag(ec.rsqrt()) @ vc.T @ fc.double()
    expected = vs @ torch.diag(es.sqrt()) @ vs.T @ whitened + style.flatten(2)[0].mean(1, keepdim=True).double()
    assert torch.allclose(out.flatten(2)[0].double(), expected, atol=2e-3)


def test_gatys_losses_match_the_formulas() -> None:
    g = torch.Generator().manual_seed(1)
    fa = {"relu1_1": torch.randn(2, 4, 6, 5, generator=g), "conv4_2": torch.randn(2, 3, 2, 2, generator=g)}
    fs = {"relu1_1": torch.randn(1, 4, 3, 3, generator=g)}  # one style for the batch, another size
    f = fa["relu1_1"][0].reshape(4, -1)
    assert torch.allclose(gram_matrix(fa["relu1_1"])[0], f @ f.T / 30)
    ga, gs = gram_matrix(fa["relu1_1"])[0], gram_matrix(fs["relu1_1"])[0]
    expected = ((ga - gs) ** 2).sum() / (gs**2).sum()
    assert torch.allclose(style_distance(fa, fs, ("relu1_1",))[0], expected, rtol=1e-5)
    assert float(style_distance(fs, fs, ("relu1_1",))[0]) == 0.0
    fc = {"conv4_2": fa["conv4_2"] * 0.5}
    got = content_distance(fa, fc)
    assert torch.allclose(got, torch.ones(2))  # ||F - F/2||^2 / ||F/2||^2 = 1


def test_luminance_transfer_keeps_the_colours(astronaut: np.ndarray) -> None:
    # an identity transfer gives the content back; a transfer that inverts luminance keeps chroma
    same = luminance_transfer(astronaut, astronaut[::2, ::2], lambda c, s: c)
    assert np.abs(same.astype(int) - astronaut).max() <= 2
    flat = luminance_transfer(astronaut, astronaut, lambda c, s: np.full_like(c, 128))
    assert flat.std(axis=(0, 1)).max() > 10  # colour survives a flat luminance
    x = to_tensor(astronaut[:50, :70])
    assert x.shape == (1, 3, 64, 80) and np.array_equal(to_image(x[0], 50, 70), astronaut[:50, :70])
    assert max(prepare_style(astronaut[:100, :300]).shape[:2]) == 256


@pytest.mark.slow
def test_stylize_trains_resumes_exports_and_runs_end_to_end(
    tmp_path: Path, astronaut: np.ndarray, weights_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A tiny run on the real datasets: resumed = straight, ONNX = torch, then `portrait stylize`
    with it (fast, --preserve-color, --face, gatys) and a bad style image (exit 3)."""
    needs_mobilenet_weights()
    root = data_dir("wikiart224").parent
    import portraitcli.train.stylize.train as trainer
    from portraitcli.train.common.checkpoint import load_checkpoint
    from portraitcli.train.common.publish import publish_run
    from portraitcli.train.common.runs import make_run_dir
    from portraitcli.train.stylize.config import StylizeConfig
    from portraitcli.train.stylize.export import export_run

    template = {"size": [64, 80], "kps": [[x * 0.32, y * 0.32] for x, y in TEMPLATE_KPS], "source": "test"}
    monkeypatch.setattr(trainer, "face_template", lambda data: template)
    cfg = StylizeConfig(
        crop=32, epochs=2, steps_per_epoch=2, batch_size=2, max_per_source=3, n_utkface=3, n_val=2, threads=1
    )
    straight = make_run_dir(tmp_path / "runs", "stylize", "a")
    final = trainer.train(cfg, root, straight)
    resumed = make_run_dir(tmp_path / "runs", "stylize", "b")
    trainer.train(cfg, root, resumed)
    (resumed / "checkpoints" / "epoch-0002.pt").unlink()
    trainer.train(cfg, root, resumed)  # resumes from epoch 1
    nets = [trainer.build(cfg, pretrained=False) for _ in range(2)]
    load_checkpoint(final, {"G": nets[0]})
    load_checkpoint(resumed / "checkpoints" / "epoch-0002.pt", {"G": nets[1]})
    for (k, a), b in zip(nets[0].state_dict().items(), nets[1].state_dict().values()):
        assert torch.equal(a, b), k
    log = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log if "epoch" in r] == [1, 2] and "val_style" in log[-2]

    export_run(straight, final)
    publish_run(straight, "stylize-v1", weights_dir)
    from portraitcli.runtime.session import create_session

    create_session.cache_clear()
    photo, style = tmp_path / "astronaut.png", tmp_path / "style.png"
    write_image(photo, astronaut)
    write_image(style, astronaut[::-1, :, ::-1])
    out = tmp_path / "out"
    assert main(["stylize", str(photo), "-s", str(style), "-o", str(out / "fast.png"), "--size", "96"]) == 0
    assert main(["stylize", str(photo), "-s", str(style), "-o", str(out / "color.png"), "--preserve-color"]) == 0
    assert main(["stylize", str(photo), "-s", str(style), "-o", str(out / "face.png"), "--face", "--size", "64"]) == 0
    argv = ["stylize", str(photo), "-s", str(style), "-o", str(out / "slow.png"), "--method", "gatys"]
    assert main([*argv, "--iters", "2", "--size", "48"]) == 0
    from portraitcli.io import read_image

    assert read_image(out / "fast.png").rgb.shape == (96, 96, 3)
    assert read_image(out / "color.png").rgb.shape == (512, 512, 3)
    assert read_image(out / "face.png").rgb.shape == (80, 64, 3)
    assert read_image(out / "slow.png").rgb.shape == (48, 48, 3)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    capsys.readouterr()
    assert main(["stylize", str(photo), "-s", str(bad), "-o", str(out / "never.png")]) == 3
    assert "bad.jpg" in capsys.readouterr().err and not (out / "never.png").exists()
