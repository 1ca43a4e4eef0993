"""Fixtures of the command-line tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TEMPLATE_KPS, add_model, make_conv_model

RECON_KPS = [[45.29, 21.84], [37.51, 22.9], [18.71, 21.84], [26.49, 22.9], [32.0, 37.0]]


@pytest.fixture()
def cartoon3d_weights(weights_dir: Path) -> Path:
    """``weights_dir`` plus a pass-through cartoon-v1 and a small untrained recon3d-v1 (needs torch to export)."""
    torch = pytest.importorskip("torch")
    from portraitcli.train.common.export import export_onnx
    from portraitcli.train.recon3d.export import OUTPUTS
    from portraitcli.train.recon3d.networks import InferenceNet, Recon3dNet

    cartoon = make_conv_model(weights_dir / "cartoon-v1.onnx", [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    kps = (np.array(TEMPLATE_KPS) - (100, 125)) * 0.9 + (128, 128)
    add_model(weights_dir, "cartoon-v1", cartoon, {"size": [256, 256], "kps": kps.tolist()})
    torch.manual_seed(0)
    path = weights_dir / "recon3d-v1.onnx"
    export_onnx(InferenceNet(Recon3dNet(8, 16)), torch.zeros(1, 3, 64, 64), path, output_name=OUTPUTS, dynamic_hw=False)
    add_model(weights_dir, "recon3d-v1", path, {"size": [64, 64], "kps": RECON_KPS})
    return weights_dir
