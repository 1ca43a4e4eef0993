"""Export a trained cartoon generator to ONNX (checked against torch)."""

from __future__ import annotations

from pathlib import Path

import torch
from rich.console import Console

from portraitcli.models.cartoon import SIZE_MULTIPLE
from portraitcli.train.cartoon.config import CartoonConfig
from portraitcli.train.cartoon.train import build
from portraitcli.train.common.checkpoint import load_trained
from portraitcli.train.common.export import export_onnx, write_export_record

INPUT_CONTRACT = {
    "layout": "NCHW",
    "channels": "RGB",
    "dtype": "float32",
    "range": [-1, 1],
    "size_multiple": SIZE_MULTIPLE,
    "padding": "reflect",
}

#: What ``export.json`` (and then the manifest) says of the exported model.
CONTRACT = {
    "input": INPUT_CONTRACT,
    "output": {"layout": "NCHW", "channels": "RGB", "range": [-1, 1]},
    "license": "model weights: research and non-commercial use (trained on StyleGAN-made toon pairs); code: MIT",
}


def load_generator(ckpt: Path) -> tuple[torch.nn.Module, CartoonConfig]:
    """Rebuild G and its config from a training checkpoint (``weights_only=True``)."""
    return load_trained(ckpt, CartoonConfig, lambda cfg: build(cfg, pretrained=False)[0])


def export_run(run_dir: Path, ckpt: Path, console: Console | None = None) -> Path:
    """Write ``model.onnx`` (dynamic size, multiples of 32) and ``export.json``."""
    console = console or Console(stderr=True)
    G, cfg = load_generator(ckpt)
    example = torch.linspace(-1, 1, 3 * cfg.size * cfg.size).view(1, 3, cfg.size, cfg.size)
    path = run_dir / "model.onnx"
    diff = export_onnx(G, example, path)
    write_export_record(run_dir, ckpt, path, diff, console, **CONTRACT)
    return path
