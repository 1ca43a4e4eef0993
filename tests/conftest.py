"""Shared fixtures: real face photos, a tiny ONNX model and a weights folder around it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

DATA = os.environ.get("PORTRAIT_DATA")


def data_dir(name: str) -> Path:
    """A dataset folder under $PORTRAIT_DATA, or skip the test with the reason."""
    if not DATA:
        pytest.skip("PORTRAIT_DATA is not set (real-data test)")
    path = Path(DATA) / name
    if not path.is_dir():
        pytest.skip(f"{path} is missing (real-data test)")
    return path


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut (Eileen Collins, public domain): (512, 512, 3) uint8 RGB."""
    from skimage import data

    return data.astronaut()


def make_gray_model(path: Path) -> Path:
    """A tiny ONNX graph: a fixed 1x1 convolution RGB in [-1, 1] -> luma in [-1, 1].

    Same contract as the sketch model (N, 3, H, W) -> (N, 1, H, W), so the whole pipeline
    can run without trained weights.
    """
    import onnx
    from onnx import TensorProto, helper

    w = helper.make_tensor("W", TensorProto.FLOAT, [1, 3, 1, 1], [0.299, 0.587, 0.114])
    node = helper.make_node("Conv", ["input", "W"], ["output"], kernel_shape=[1, 1])
    graph = helper.make_graph(
        [node],
        "gray",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


#: A CUFS-like 200x250 template (the shipped sketch template is measured the same way).
TEMPLATE_KPS = [[134.93, 126.65], [115.43, 128.08], [64.16, 126.51], [83.78, 127.99], [99.93, 164.66]]


@pytest.fixture()
def weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A weights folder whose ``sketch-v1`` is the tiny gray model; set as $PORTRAIT_WEIGHTS."""
    folder = tmp_path / "weights"
    folder.mkdir()
    onnx_path = make_gray_model(folder / "sketch-v1.onnx")
    manifest = {
        "models": {
            "sketch-v1": {
                "task": "sketch",
                "version": 1,
                "file": onnx_path.name,
                "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
                "template": {"size": [200, 250], "kps": TEMPLATE_KPS},
                "training": {"data": "none (test graph)"},
                "metrics": {},
            }
        }
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("PORTRAIT_WEIGHTS", str(folder))
    from portraitcli.runtime.session import create_session

    create_session.cache_clear()
    return folder
