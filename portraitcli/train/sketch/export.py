"""Export a trained sketch generator to ONNX and measure its crop template."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import torch
from rich.console import Console

from portraitcli.data.cufs import cufs_pairs, cufs_template, load_pair, scale_template
from portraitcli.models.sketch import photo_to_tensor
from portraitcli.train.common.average import keeps_average, load_generator_weights
from portraitcli.train.common.checkpoint import checkpoint_config, checkpoint_entries
from portraitcli.train.common.export import export_onnx, write_export_record
from portraitcli.train.common.publish import DEFAULT_INPUT
from portraitcli.train.sketch.config import SketchConfig
from portraitcli.train.sketch.train import crop_size, generator


def load_generator(ckpt: Path, average: bool | None = None) -> torch.nn.Module:
    """Rebuild G from a training checkpoint (loaded with ``weights_only=True``).

    Args:
        average: take the weight average ``G_ema`` (True), the last G (False), or the
            average when the run kept one (None, what ``portrait train sketch`` exports).

    Raises:
        KeyError: ``average=True`` and the checkpoint holds no average.
    """
    G, _ = load_generator_weights(ckpt, SketchConfig, generator, average)
    return G


def _run_config(ckpt: Path) -> SketchConfig:
    return checkpoint_config(ckpt, SketchConfig)


def export_run(
    run_dir: Path, ckpt: Path, data: Path, console: Console | None = None, average: bool | None = None
) -> Path:
    """Write ``model.onnx`` (checked against torch) and ``template.json`` into the run folder.

    ``average``: as in :func:`load_generator` (by default the weight average when the run
    kept one). When ``model.onnx`` is the average, the last G is exported beside it as the
    run-shaped folder ``run_dir/last/`` (``model.onnx``, ``export.json``, ``config.json``),
    which ``portrait benchmark sketch --compare NAME=ONNX`` takes like any model, unless the checkpoint
    was slimmed to the average alone (:func:`~portraitcli.train.common.checkpoint.slim_checkpoint`).
    """
    console = console or Console(stderr=True)
    if average is None:
        average = keeps_average(ckpt)
    cfg = _run_config(ckpt)
    photo, _ = load_pair(cufs_pairs(data, "cuhk_student", "train")[0])
    photo = cv2.resize(photo, crop_size(cfg), interpolation=cv2.INTER_CUBIC)
    example = torch.from_numpy(photo_to_tensor(photo))[None]
    # publish's default input, and for a generator that computes the same at any crop size
    # (no instance norm: sketch-v5's) the flag that lets --size crop larger
    contract = {"input": {**DEFAULT_INPUT, "fully_convolutional": True}} if cfg.generator == "mobilenet-unet" else {}
    path = _export(run_dir, ckpt, example, average, console, contract)
    if average and "G" in checkpoint_entries(ckpt):
        last = run_dir / "last"
        last.mkdir(exist_ok=True)
        _export(last, ckpt, example, False, console, contract)
        config = json.loads((run_dir / "config.json").read_text())
        config["exported"] = "the last G of the run, not its weight average"
        (last / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    template = scale_template(cufs_template(data), cfg.crop_scale)
    (run_dir / "template.json").write_text(json.dumps(template, indent=2) + "\n")
    console.print(f"template: landmarks found on {template['n']}/{template['n_total']} CUFS training photos")
    return path


def _export(folder: Path, ckpt: Path, example: torch.Tensor, average: bool, console: Console, contract: dict) -> Path:
    path = folder / "model.onnx"
    diff = export_onnx(load_generator(ckpt, average), example, path)
    write_export_record(folder, ckpt, path, diff, console, weights="average" if average else "last", **contract)
    return path
