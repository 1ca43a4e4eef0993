"""ONNX export with a parity check against torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def export_onnx(
    model: torch.nn.Module,
    example: torch.Tensor,
    path: Path,
    *,
    input_name: str = "input",
    output_name: str = "output",
    opset: int = 17,
    dynamic_hw: bool = True,
    atol: float = 1e-4,
) -> float:
    """Export ``model`` to ONNX and check ONNX Runtime's output against torch.

    Uses the classic TorchScript exporter (``dynamo=False``), constant folding, and
    dynamic batch / height / width axes when ``dynamic_hw``.

    Args:
        model: the network; it is put in eval mode.
        example: (N, C, H, W) float32 input used for tracing and the parity check.
        path: destination ``.onnx`` file.
        atol: largest tolerated absolute difference between torch and ONNX Runtime.

    Returns:
        The max absolute difference between the two outputs on ``example``.

    Raises:
        RuntimeError: the difference exceeds ``atol``.
    """
    import onnxruntime as ort

    model = model.eval()
    dynamic_axes = None
    if dynamic_hw:
        dynamic_axes = {
            input_name: {0: "batch", 2: "height", 3: "width"},
            output_name: {0: "batch", 2: "height", 3: "width"},
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=[output_name],
            opset_version=opset,
            do_constant_folding=True,
            dynamic_axes=dynamic_axes,
            dynamo=False,
        )
        expected = model(example).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {input_name: example.numpy()})
    diff = float(np.abs(got - expected).max())
    if diff > atol:
        raise RuntimeError(f"ONNX export of {type(model).__name__}: max |onnx - torch| = {diff:.2e} > {atol}")
    return diff
