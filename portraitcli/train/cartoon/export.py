"""Export a trained cartoon generator to ONNX (checked against torch)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from rich.console import Console

from portraitcli.models.cartoon import SIZE_MULTIPLE
from portraitcli.runtime.weights import sha256_of
from portraitcli.train.cartoon.config import CartoonConfig
from portraitcli.train.cartoon.train import build
from portraitcli.train.common.checkpoint import load_checkpoint
from portraitcli.train.common.export import export_onnx

INPUT_CONTRACT = {
    "layout": "NCHW",
    "channels": "RGB",
    "dtype": "float32",
    "range": [-1, 1],
    "size_multiple": SIZE_MULTIPLE,
    "padding": "reflect",
}


def load_generator(ckpt: Path) -> tuple[torch.nn.Module, CartoonConfig]:
    """Rebuild G and its config from a training checkpoint (``weights_only=True``)."""
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    cfg = CartoonConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in state["meta"]["config"].items()})
    G, _ = build(cfg)
    load_checkpoint(ckpt, {"G": G})
    return G.eval(), cfg


def export_run(run_dir: Path, ckpt: Path, console: Console | None = None) -> Path:
    """Write ``model.onnx`` (dynamic size, multiples of 32) and ``export.json``."""
    console = console or Console(stderr=True)
    G, cfg = load_generator(ckpt)
    example = torch.linspace(-1, 1, 3 * cfg.size * cfg.size).view(1, 3, cfg.size, cfg.size)
    path = run_dir / "model.onnx"
    diff = export_onnx(G, example, path)
    console.print(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB), max |onnx - torch| = {diff:.2e}")
    record = {
        "checkpoint": ckpt.name,
        "epoch": torch.load(ckpt, map_location="cpu", weights_only=True)["meta"].get("epoch"),
        "sha256": sha256_of(path),
        "max_abs_diff": diff,
        "input": INPUT_CONTRACT,
        "output": {"layout": "NCHW", "channels": "RGB", "range": [-1, 1]},
        "license": "model weights: research and non-commercial use (trained on StyleGAN-made toon pairs); code: MIT",
    }
    (run_dir / "export.json").write_text(json.dumps(record, indent=2) + "\n")
    return path
