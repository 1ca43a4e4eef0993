"""Base class and registry of the image models.

A model is a thin wrapper that holds one ONNX Runtime session and its spec (from the
weights manifest) and does the model's pre- and post-processing in NumPy. Adding a model
is one file in this folder with a :func:`register` decorator, plus a manifest entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from portraitcli.runtime.weights import ModelSpec

_REGISTRY: dict[str, type[ImageModel]] = {}
T = TypeVar("T", bound="type[ImageModel]")


def register(task: str) -> Callable[[T], T]:
    """Class decorator: make ``cls`` the wrapper of the models of ``task``."""

    def wrap(cls: T) -> T:
        _REGISTRY[task] = cls
        return cls

    return wrap


def model_class(task: str) -> type[ImageModel]:
    """Return the wrapper class registered for ``task`` (importing its module)."""
    import importlib

    if task not in _REGISTRY:
        importlib.import_module(f"portraitcli.models.{task}")
    return _REGISTRY[task]


def load_model(task: str, device: str, threads: int, name: str | None = None) -> Any:
    """The shipped model ``name`` of ``task`` (default: the newest), its weights verified, in an
    ONNX Runtime session.

    Raises:
        UsageError: ``name`` is not a shipped model of ``task``.
        WeightsError: no model, a checksum mismatch, or no crop template in its entry.
    """
    from portraitcli.errors import WeightsError
    from portraitcli.runtime.session import create_session
    from portraitcli.runtime.weights import model_of_task, verify

    spec = model_of_task(task, name)
    path = verify(spec)
    session = create_session(str(path), device, threads)
    if spec.template is None:
        raise WeightsError(f"{spec.name}: the manifest entry has no crop template")
    return model_class(task)(spec, session)


def padding(height: int, width: int, multiple: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) pixels that pad an image to the next multiples of ``multiple``.

    The padding is split evenly, the odd pixel going to the bottom / right.
    """
    ph = (-height) % multiple
    pw = (-width) % multiple
    return ph // 2, ph - ph // 2, pw // 2, pw - pw // 2


class ImageModel:
    """One ONNX model and its spec.

    Args:
        spec: the model's manifest entry.
        session: an ``onnxruntime.InferenceSession`` (or any object with the same
            ``run`` and ``get_inputs`` methods, which tests use).
    """

    def __init__(self, spec: ModelSpec, session: Any) -> None:
        self.spec = spec
        self.session = session
        self.input_name: str = session.get_inputs()[0].name

    def run(self, crop: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Run the model on one aligned crop (H, W, 3) uint8 RGB."""
        raise NotImplementedError
