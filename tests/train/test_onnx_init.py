"""Starting a run from a shipped ONNX model: batch norms folded by the export are unfolded exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from portraitcli.errors import UsageError  # noqa: E402
from portraitcli.train.common.export import export_onnx  # noqa: E402
from portraitcli.train.common.networks import MobileNetUNet, SEUNet  # noqa: E402
from portraitcli.train.common.onnx_init import load_init, load_onnx_weights  # noqa: E402


def _trained_like(net: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Random weights and batch-norm statistics, so that folding them changes every number."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in net.state_dict(keep_vars=True).values():
            if t.is_floating_point():
                t.copy_(
                    torch.rand(t.shape, generator=g) * 0.4 + 0.8
                    if t.ndim == 1
                    else t + 0.05 * torch.randn(t.shape, generator=g)
                )
    return net.eval()


def test_a_folded_export_loads_back_exactly(tmp_path: Path) -> None:
    x = torch.rand(1, 3, 64, 48) * 2 - 1
    shipped = _trained_like(MobileNetUNet(1, pretrained=False), 1)
    export_onnx(shipped, x, tmp_path / "g.onnx")
    fresh = MobileNetUNet(1, pretrained=False)
    diff = load_onnx_weights(fresh, tmp_path / "g.onnx", torch.rand(1, 3, 96, 64) * 2 - 1)
    assert diff < 1e-4
    fresh.train()  # the encoder's batch norms stay in eval mode: training starts from the same function
    with torch.no_grad():
        torch.testing.assert_close(fresh(x), shipped(x), atol=1e-4, rtol=0)


def test_an_export_of_another_network_is_refused(tmp_path: Path) -> None:
    export_onnx(SEUNet(3, 1, (8, 16)), torch.randn(1, 3, 32, 32), tmp_path / "other.onnx")
    with pytest.raises(UsageError, match="convolutions"):
        load_onnx_weights(MobileNetUNet(1, pretrained=False), tmp_path / "other.onnx", torch.rand(1, 3, 64, 64))
    export_onnx(SEUNet(3, 1, (8, 16)), torch.randn(1, 3, 32, 32), tmp_path / "narrow.onnx")
    with pytest.raises(UsageError, match="weights"):
        load_onnx_weights(SEUNet(3, 1, (8, 32)), tmp_path / "narrow.onnx", torch.rand(1, 3, 32, 32))


def test_fixed_kernels_and_uncalled_layers_are_left_out(tmp_path: Path) -> None:
    """The draw generator: its Haar DWT is an ONNX Conv with a kernel computed in the graph,
    and its image U-Net's head never runs (only the U-Net's features do)."""
    from portraitcli.train.draw.networks import DrawGenerator

    def small() -> DrawGenerator:
        return DrawGenerator((8, 16), (8, 16), 4, upsample="resize", norm="none")

    x = torch.rand(1, 6, 64, 64) * 2 - 1
    shipped = _trained_like(small(), 3)
    export_onnx(shipped, x, tmp_path / "draw.onnx")
    fresh = small()
    assert load_onnx_weights(fresh, tmp_path / "draw.onnx", torch.rand(1, 6, 96, 64) * 2 - 1) < 1e-4
    with torch.no_grad():
        torch.testing.assert_close(fresh(x), shipped(x), atol=1e-4, rtol=0)


def test_init_takes_a_checkpoint_or_an_onnx_file(tmp_path: Path) -> None:
    from portraitcli.train.common.checkpoint import save_checkpoint

    G, D = _trained_like(SEUNet(3, 1, (8, 16)), 2), SEUNet(1, 1, (8,))
    save_checkpoint(tmp_path / "e.pt", {"G": G, "D": D})
    export_onnx(G, torch.randn(1, 3, 32, 32), tmp_path / "g.onnx")
    x = torch.rand(1, 3, 32, 32)
    for init in ("e.pt", "g.onnx"):
        nets = {"G": SEUNet(3, 1, (8, 16)), "D": SEUNet(1, 1, (8,))}
        load_init(tmp_path / init, nets)
        with torch.no_grad():
            torch.testing.assert_close(nets["G"].eval()(x), G(x), atol=1e-4, rtol=0)


def test_publish_records_the_shipped_model_a_run_started_from(tmp_path: Path) -> None:
    from portraitcli.runtime.weights import sha256_of
    from portraitcli.train.common.publish import _init_run

    weights = tmp_path / "weights"
    weights.mkdir()
    export_onnx(SEUNet(3, 1, (8, 16)), torch.randn(1, 3, 32, 32), weights / "sketch-v5.onnx")
    recipe = {"command": "portrait train sketch --desc v5", "seed": 0}
    manifest = {"models": {"sketch-v5": {"sha256": sha256_of(weights / "sketch-v5.onnx"), "training": recipe}}}
    (weights / "manifest.json").write_text(json.dumps(manifest))
    record = _init_run({"config": {"init": str(weights / "sketch-v5.onnx")}}, "sketch")["init_run"]
    assert record["model"] == "sketch-v5" and record["training"] == recipe
    assert "note" in _init_run({"config": {"init": str(tmp_path / "gone.onnx")}}, "sketch")["init_run"]
