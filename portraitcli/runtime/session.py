"""ONNX Runtime sessions: provider choice, thread count, one session per model per process."""

from __future__ import annotations

import functools
import importlib.metadata
from typing import Any

from portraitcli.errors import RuntimeDeviceError, UsageError

DEVICES = ("auto", "cpu", "cuda")
FIX_BOTH_INSTALLED = "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu"


def installed_runtimes() -> list[str]:
    """Names of the installed ONNX Runtime distributions (``onnxruntime``, ``onnxruntime-gpu``)."""
    found = []
    for dist in ("onnxruntime", "onnxruntime-gpu"):
        try:
            importlib.metadata.version(dist)
            found.append(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def _import_ort() -> Any:
    runtimes = installed_runtimes()
    if len(runtimes) > 1:
        raise RuntimeDeviceError(
            "both onnxruntime and onnxruntime-gpu are installed; they overwrite each other's files. "
            f"Keep one: {FIX_BOTH_INSTALLED}"
        )
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise RuntimeDeviceError(f"onnxruntime cannot be imported ({e}); pip install onnxruntime") from None
    return ort


def check_device(device: str) -> None:
    """Validate a ``--device`` name before anything is loaded.

    Raises:
        UsageError: not one of ``auto``, ``cpu``, ``cuda``.
    """
    if device not in DEVICES:
        raise UsageError(f"--device must be one of {', '.join(DEVICES)}, got {device!r}")


def providers_for(device: str, available: list[str]) -> list[str]:
    """Execution providers for a ``--device`` choice.

    Args:
        device: ``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda``.
        available: ``onnxruntime.get_available_providers()``.

    Raises:
        UsageError: unknown device.
        RuntimeDeviceError: ``cuda`` asked for but the CUDA provider is not available.
    """
    check_device(device)
    has_cuda = "CUDAExecutionProvider" in available
    if device == "cuda":
        if not has_cuda:
            raise RuntimeDeviceError(
                "--device cuda: ONNX Runtime has no CUDA provider here "
                f"(available: {', '.join(available)}); "
                f"install onnxruntime-gpu ({FIX_BOTH_INSTALLED}) or use --device cpu"
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "auto" and has_cuda:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


@functools.cache
def create_session(path: str, device: str = "auto", threads: int = 0) -> Any:
    """A cached ``onnxruntime.InferenceSession`` for one model file.

    Args:
        path: the ONNX file (already sha256-checked by the caller).
        device: ``auto``, ``cpu`` or ``cuda``.
        threads: intra-op threads; 0 lets ONNX Runtime choose (one per core).

    Raises:
        RuntimeDeviceError: onnxruntime is missing or broken, or CUDA was asked for and
            could not be used (never a silent fall back to the CPU).
    """
    ort = _import_ort()
    providers = providers_for(device, ort.get_available_providers())
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(0, int(threads))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(path, sess_options=opts, providers=providers)
    except Exception as e:  # onnxruntime raises its own exception types
        raise RuntimeDeviceError(f"{path}: ONNX Runtime could not load the model ({e})") from None
    if device == "cuda" and "CUDAExecutionProvider" not in session.get_providers():
        raise RuntimeDeviceError(
            "--device cuda: the CUDA provider failed to start (check the CUDA and cuDNN libraries)"
        )
    return session
