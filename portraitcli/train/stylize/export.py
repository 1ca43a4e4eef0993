"""Export the fast style model to ONNX: encoder, feature transform and decoder in one graph of three inputs."""

from __future__ import annotations

from pathlib import Path

import torch
from rich.console import Console

from portraitcli.train.common.checkpoint import load_trained
from portraitcli.train.common.export import export_onnx, write_export_record
from portraitcli.train.stylize.config import StylizeConfig
from portraitcli.train.stylize.networks import StyleTransferNet
from portraitcli.train.stylize.train import build

INPUT_NAMES = ("content", "style", "alpha")

#: What ``export.json`` (and then the manifest) says of the exported model.
CONTRACT = {
    "input": {
        "names": list(INPUT_NAMES),
        "layout": "NCHW",
        "channels": "RGB",
        "dtype": "float32",
        "range": [-1, 1],
        "size_multiple": StyleTransferNet.factor,
        "padding": "reflect",
        "alpha": "(1,) float32 in [0, 1]: the style strength",
        "fully_convolutional": True,
    },
    "output": {"layout": "NCHW", "channels": "RGB", "range": [-1, 1]},
    "license": (
        "model weights: research and non-commercial use (trained on WikiArt224 paintings, CC BY-NC-SA, "
        "FS2K, CUFS and UTKFace photos); encoder: torchvision's ImageNet MobileNetV2 (BSD-3-Clause); code: MIT"
    ),
}


def load_network(ckpt: Path) -> tuple[StyleTransferNet, StylizeConfig]:
    """Rebuild the trained network and its config from a checkpoint (``weights_only=True``)."""
    return load_trained(ckpt, StylizeConfig, lambda cfg: build(cfg, pretrained=False))


def export_run(run_dir: Path, ckpt: Path, console: Console | None = None) -> Path:
    """Write ``model.onnx`` (dynamic sizes) and ``export.json``; checked against torch."""
    console = console or Console(stderr=True)
    net, cfg = load_network(ckpt)
    content = torch.linspace(-1, 1, 3 * 96 * 128).view(1, 3, 96, 128)
    style = torch.linspace(1, -1, 3 * 64 * 64).view(1, 3, 64, 64).sin()
    alpha = torch.tensor([0.8])
    path = run_dir / "model.onnx"
    diff = export_onnx(net, (content, style, alpha), path, input_name=INPUT_NAMES, atol=1e-3)
    write_export_record(run_dir, ckpt, path, diff, console, **CONTRACT)
    return path
