"""ONNX export with a parity check against torch."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch


def export_onnx(
    model: torch.nn.Module,
    example: torch.Tensor | tuple[torch.Tensor, ...],
    path: Path,
    *,
    input_name: str | tuple[str, ...] = "input",
    output_name: str | tuple[str, ...] = "output",
    opset: int = 17,
    dynamic_hw: bool = True,
    atol: float = 1e-4,
) -> float:
    """Export ``model`` to ONNX and check ONNX Runtime's output against torch.

    Uses the classic TorchScript exporter (``dynamo=False``), constant folding, and
    dynamic batch / height / width axes when ``dynamic_hw``.

    Args:
        model: the network; it is put in eval mode.
        example: (N, C, H, W) float32 input used for tracing and the parity check, or a
            tuple of inputs (a model of several arguments), named by ``input_name``'s tuple;
            the outputs' height and width are the first input's.
        path: destination ``.onnx`` file.
        input_name: the input's name, or a tuple of names (one per example tensor; each
            four-dimensional one gets dynamic batch, height and width axes).
        output_name: the output's name, or a tuple of names for a model that returns a
            tuple of tensors (each output gets the batch axis 0 as dynamic, and H, W too
            when it has four dimensions).
        atol: largest tolerated absolute difference between torch and ONNX Runtime.

    Returns:
        The max absolute difference between torch and ONNX Runtime on ``example``, over
        all outputs.

    Raises:
        RuntimeError: the difference exceeds ``atol``.
    """
    import onnxruntime as ort

    model = model.eval()
    examples = example if isinstance(example, tuple) else (example,)
    input_names = [input_name] if isinstance(input_name, str) else list(input_name)
    output_names = [output_name] if isinstance(output_name, str) else list(output_name)
    with torch.no_grad():
        expected_out = model(*examples)
    expected = [expected_out] if isinstance(expected_out, torch.Tensor) else list(expected_out)
    dynamic_axes = None
    if dynamic_hw:
        # the first input's height and width are the outputs'; other image inputs get their own
        dynamic_axes = {
            name: {0: "batch", 2: "height", 3: "width"} if i == 0 else {0: "batch", 2: f"{name}_h", 3: f"{name}_w"}
            for i, (name, x) in enumerate(zip(input_names, examples))
            if x.ndim == 4
        }
        for name, y in zip(output_names, expected):
            dynamic_axes[name] = {0: "batch", 2: "height", 3: "width"} if y.ndim == 4 else {0: "batch"}
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            model,
            examples,
            str(path),
            input_names=input_names,
            output_names=output_names,
            opset_version=opset,
            do_constant_folding=True,
            dynamic_axes=dynamic_axes,
            dynamo=False,
        )
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {name: x.numpy() for name, x in zip(input_names, examples)})
    diff = max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected))
    if diff > atol:
        raise RuntimeError(f"ONNX export of {type(model).__name__}: max |onnx - torch| = {diff:.2e} > {atol}")
    return diff


def write_export_record(
    run_dir: Path,
    ckpt: Path,
    path: Path,
    diff: float,
    console: Any,
    **contract: Any,
) -> dict[str, Any]:
    """Report an export and write ``run_dir/export.json``: checkpoint, epoch, sha256, parity, plus ``contract``
    (the model's ``input`` / ``output`` description, ``license``, ...)."""
    from portraitcli.runtime.weights import sha256_of
    from portraitcli.train.common.checkpoint import checkpoint_epoch

    console.print(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB), max |onnx - torch| = {diff:.2e}")
    record = {
        "argv": list(sys.argv),
        "checkpoint": ckpt.name,
        "epoch": checkpoint_epoch(ckpt),
        "sha256": sha256_of(path),
        "max_abs_diff": diff,
        **contract,
    }
    (run_dir / "export.json").write_text(json.dumps(record, indent=2) + "\n")
    return record
