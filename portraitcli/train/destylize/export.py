"""Export a trained destylize generator to ONNX (opset 20 for the spatial transformers)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from rich.console import Console

from portraitcli.errors import UsageError
from portraitcli.train.common.checkpoint import load_trained
from portraitcli.train.common.export import export_onnx, write_export_record
from portraitcli.train.destylize.config import DestylizeConfig
from portraitcli.train.destylize.train import build, describe_training_data

#: ``affine_grid`` / ``grid_sample`` export with the classic exporter from opset 20 (DESIGN.md).
OPSET = 20
LICENSE = "model weights: research and non-commercial use (trained on UTKFace); code: MIT"


def contract(size: int) -> dict:
    """What ``export.json`` (and then the manifest) says of a model of ``size`` px: its input
    and output tensors and its license."""
    return {
        "input": {"layout": "NCHW", "channels": "RGB", "dtype": "float32", "range": [-1, 1], "size": [size, size]},
        "output": {"layout": "NCHW", "channels": "RGB", "range": [-1, 1], "size": [size, size]},
        "license": LICENSE,
    }


def load_generator(ckpt: Path) -> tuple[torch.nn.Module, DestylizeConfig]:
    """Rebuild G and its config from a training checkpoint (``weights_only=True``)."""
    return load_trained(ckpt, DestylizeConfig, lambda cfg: build(cfg)[0])


def export_run(run_dir: Path, ckpt: Path, console: Console | None = None) -> Path:
    """Write ``model.onnx`` (fixed ``size`` x ``size`` input, checked against torch) and ``export.json``
    (with the training data in words, :func:`~portraitcli.train.destylize.train.describe_training_data`).

    Raises:
        UsageError: the run is an ``oracle_align`` diagnostic (its G expects aligned input).
    """
    console = console or Console(stderr=True)
    G, cfg = load_generator(ckpt)
    if cfg.oracle_align:
        raise UsageError(f"{ckpt}: an oracle_align run's generator needs the true misalignment; it is not exported")
    size = cfg.size
    example = torch.linspace(-1, 1, 3 * size * size).view(1, 3, size, size)
    path = run_dir / "model.onnx"
    diff = export_onnx(G, example, path, opset=OPSET, dynamic_hw=False)
    run_config = json.loads((run_dir / "config.json").read_text()) if (run_dir / "config.json").is_file() else {}
    data = {}
    if run_config.get("data_name"):  # the manifest's training data, with the sketch inputs of the last config
        data["data_name"] = describe_training_data(run_config["data_name"], cfg, Path(run_config["data"]))
    write_export_record(run_dir, ckpt, path, diff, console, **contract(size), **data)
    return path
