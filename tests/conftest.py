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


def needs_mobilenet_weights() -> None:
    """Skip the test, with the reason, when the ImageNet MobileNetV2 weights package is missing."""
    from portraitcli.train.common.perceptual import weights_file

    try:
        weights_file()
    except Exception as e:  # noqa: BLE001
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut (Eileen Collins, public domain): (512, 512, 3) uint8 RGB."""
    from skimage import data

    return data.astronaut()


def make_conv_model(path: Path, weights: list[list[float]], bias: list[float] | None = None) -> Path:
    """A tiny ONNX graph: one fixed 1x1 convolution (N, C_in, H, W) -> (N, C_out, H, W).

    ``weights`` is C_out rows of C_in numbers; lets the image commands run end to end
    without trained weights.
    """
    import onnx
    from onnx import TensorProto, helper

    c_out, c_in = len(weights), len(weights[0])
    inits = [helper.make_tensor("W", TensorProto.FLOAT, [c_out, c_in, 1, 1], [v for row in weights for v in row])]
    inputs = ["input", "W"]
    if bias is not None:
        inits.append(helper.make_tensor("B", TensorProto.FLOAT, [c_out], bias))
        inputs.append("B")
    node = helper.make_node("Conv", inputs, ["output"], kernel_shape=[1, 1])
    graph = helper.make_graph(
        [node],
        "conv1x1",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", c_in, "H", "W"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", c_out, "H", "W"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def make_gray_model(path: Path) -> Path:
    """A tiny ONNX graph: RGB in [-1, 1] -> luma in [-1, 1], the sketch model's contract."""
    return make_conv_model(path, [[0.299, 0.587, 0.114]])


#: A CUFS-like 200x250 template (the shipped sketch template is measured the same way).
TEMPLATE_KPS = [[134.93, 126.65], [115.43, 128.08], [64.16, 126.51], [83.78, 127.99], [99.93, 164.66]]


def add_model(folder: Path, name: str, onnx_path: Path, template: dict) -> None:
    """Add a manifest entry for ``onnx_path`` (already in ``folder``) to ``folder/manifest.json``."""
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    task, _, version = name.rpartition("-v")
    manifest["models"][name] = {
        "task": task,
        "version": int(version),
        "file": onnx_path.name,
        "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "template": template,
        "training": {"data": "none (test graph)"},
        "metrics": {},
    }
    path.write_text(json.dumps(manifest))


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
