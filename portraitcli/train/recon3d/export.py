"""Export the trained reconstruction networks to ONNX (checked against torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from portraitcli.train.common.checkpoint import load_trained
from portraitcli.train.common.export import export_onnx, write_export_record
from portraitcli.train.recon3d.config import Recon3dConfig
from portraitcli.train.recon3d.networks import SIZE, InferenceNet, Recon3dNet

OUTPUTS = ("depth", "albedo", "view", "light")
INPUT_CONTRACT = {"layout": "NCHW", "channels": "RGB", "dtype": "float32", "range": [-1, 1], "size": [SIZE, SIZE]}
OUTPUT_CONTRACT = {
    "depth": "(N, 64, 64) canonical camera-space z, about 0.9 .. 1.1",
    "albedo": "(N, 3, 64, 64) RGB in [-1, 1]",
    "view": "(N, 6) pitch, yaw, roll in degrees, tx, ty, tz in camera units",
    "light": "(N, 4) ambient, diffuse in [0, 1], light direction lx, ly in [-1, 1]",
    "view_depth": "(N, 64, 64) camera-space z seen at each input pixel (models with the view-depth network)",
    "camera": "pinhole, 10 degree field of view, x right, y down, z forward",
}

#: What ``export.json`` (and then the manifest) says of the exported model.
CONTRACT = {
    "input": INPUT_CONTRACT,
    "output": OUTPUT_CONTRACT,
    "license": "model weights: research and non-commercial use (trained on UTKFace); code: MIT",
}


def load_net(ckpt: Path) -> tuple[Recon3dNet, Recon3dConfig]:
    """Rebuild the networks and their config from a training checkpoint (``weights_only=True``)."""
    return load_trained(
        ckpt,
        Recon3dConfig,
        lambda cfg: Recon3dNet(cfg.nf, cfg.zdim, cfg.size, view_depth=cfg.view_depth, pretrained=False),
        key="net",
    )


def export_run(
    run_dir: Path,
    ckpt: Path,
    console: Console | None = None,
    prior: np.ndarray | None = None,
    prior_blend: float = 0.0,
) -> Path:
    """Write ``model.onnx`` (fixed 64x64 input; the confidence network is left out) and ``export.json``.

    ``prior`` (64, 64) and ``prior_blend``: the exported depth is shrunk towards the prior
    (:func:`portraitcli.train.recon3d.networks.shrink_to_prior`); recorded in ``export.json``.
    """
    console = console or Console(stderr=True)
    net, _ = load_net(ckpt)
    example = torch.linspace(-1, 1, 3 * SIZE * SIZE).view(1, 3, SIZE, SIZE)
    path = run_dir / "model.onnx"
    prior_t = None if prior is None else torch.from_numpy(np.asarray(prior, np.float32))
    graph = InferenceNet(net, prior_t, prior_blend)
    outputs = (*OUTPUTS, "view_depth") if net.view_depth_net is not None else OUTPUTS
    diff = export_onnx(graph, example, path, output_name=outputs, dynamic_hw=False, atol=1e-3)
    contract = dict(CONTRACT)
    if net.view_depth_net is not None:
        contract["license"] = (
            "model weights: research and non-commercial use (trained on UTKFace and on renders of the Surrey "
            "Face Model, free for non-commercial use; view-depth encoder initialised from ImageNet MobileNetV2); "
            "code: MIT"
        )
    write_export_record(run_dir, ckpt, path, diff, console, prior_blend=prior_blend, **contract)
    return path
