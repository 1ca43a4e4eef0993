"""Export a trained draw generator to ONNX (checked against torch)."""

from __future__ import annotations

from pathlib import Path

import torch
from rich.console import Console

from portraitcli.models.draw import SIZE_MULTIPLE, STYLES
from portraitcli.train.common.average import keeps_average, load_generator_weights
from portraitcli.train.common.export import export_onnx, write_export_record
from portraitcli.train.draw.config import DrawConfig
from portraitcli.train.draw.networks import DrawGenerator

INPUT_CONTRACT = {
    "layout": "NCHW",
    "channels": "RGB then one-hot style planes (1, 2, 3)",
    "dtype": "float32",
    "range": [-1, 1],
    "size_multiple": SIZE_MULTIPLE,
    "padding": "reflect",
    "styles": list(STYLES),
}
LICENSES = {
    "fs2k": "model weights: research and non-commercial use (trained on FS2K); code: MIT",
    "apdrawing": "model weights: research and non-commercial use (trained on APDrawing); code: MIT",
}


def load_generator(ckpt: Path, average: bool | None = None) -> tuple[DrawGenerator, DrawConfig]:
    """Rebuild G and its config from a training checkpoint (loaded with ``weights_only=True``).

    Args:
        average: take the weight average ``G_ema`` (True), the last G (False), or the
            average when the run kept one (None, what ``portrait train draw`` exports).

    Raises:
        KeyError: ``average=True`` and the checkpoint holds no average.
    """

    def make(cfg: DrawConfig) -> DrawGenerator:
        return DrawGenerator(
            cfg.channels,
            cfg.info_channels,
            cfg.wavelet_features,
            len(STYLES),
            cfg.mode,
            cfg.upsample,
            cfg.encoder,
            cfg.norm,
        )

    return load_generator_weights(ckpt, DrawConfig, make, average)


def export_run(run_dir: Path, ckpt: Path, console: Console | None = None) -> Path:
    """Write ``model.onnx`` (ONNX Runtime checked against torch) and ``export.json``.

    The model is G's weight average when the run kept one (``ema_decay > 0``), else the last G.
    """
    console = console or Console(stderr=True)
    average = keeps_average(ckpt)
    G, cfg = load_generator(ckpt, average)
    example = torch.zeros(1, 3 + len(STYLES), cfg.size, cfg.size)
    example[:, :3] = torch.linspace(-1, 1, cfg.size).view(1, 1, 1, -1)
    example[:, 3] = 1.0
    path = run_dir / "model.onnx"
    diff = export_onnx(G, example, path)
    write_export_record(
        run_dir,
        ckpt,
        path,
        diff,
        console,
        # norm-free networks trained on crops of a larger framing (draw-v3): --size draws bigger crops
        input={**INPUT_CONTRACT, "fully_convolutional": cfg.norm == "none" and cfg.train_crop > 0},
        output={"layout": "NCHW", "channels": "gray", "range": [-1, 1]},
        license=LICENSES.get(cfg.dataset, LICENSES["fs2k"]),
        weights="average" if average else "last",
    )
    return path
