"""Run folders, seeding and configuration overrides for training.

A run folder ``runs/NNNNN-TASK-DESC/`` holds ``config.json`` (with the git sha, library
versions and command line), ``log.jsonl`` (one JSON object per logged step or epoch),
``checkpoints/`` and the exported model. Layout after StyleGAN2-ADA's training runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from portraitcli.configs import apply_overrides, saved_config  # noqa: F401  (re-exported for the trainers)
from portraitcli.sysinfo import cpu_name

C = TypeVar("C")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU) random generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def git_sha() -> str | None:
    """The current commit of the source tree, or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment() -> dict[str, Any]:
    """Versions and hardware facts recorded with every run."""
    import onnx
    import onnxruntime

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "platform": platform.platform(),
        "processor": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def make_run_dir(root: Path, task: str, desc: str = "") -> Path:
    """Create ``root/NNNNN-task[-desc]`` with the next free number."""
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d{5})-", p.name))]
    name = f"{max(numbers, default=-1) + 1:05d}-{task}" + (f"-{desc}" if desc else "")
    run_dir = root / name
    (run_dir / "checkpoints").mkdir(parents=True)
    return run_dir


def write_config(run_dir: Path, config: Any, extra: dict[str, Any] | None = None) -> None:
    """Write ``config.json``: the config dataclass, command line, git sha and versions."""
    record = {
        "config": dataclasses.asdict(config),
        "argv": sys.argv,
        "git_sha": git_sha(),
        "environment": environment(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **(extra or {}),
    }
    (run_dir / "config.json").write_text(json.dumps(record, indent=2, default=str) + "\n")


def log_resume(run_dir: Path, config: Any) -> None:
    """Append a ``resume`` event to the run's ``log.jsonl``: the command line, the effective
    config (the saved one plus this command's overrides), git sha and environment, so that
    a published model records every command that trained it, not only the first. The
    recorded ``torch_threads`` is ``config.threads``, the count the training will set.
    """
    env = environment()
    if getattr(config, "threads", 0):
        env["torch_threads"] = config.threads
    JsonlLog(run_dir / "log.jsonl").write(
        event="resume",
        argv=sys.argv,
        config=dataclasses.asdict(config),
        git_sha=git_sha(),
        environment=env,
        time=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )


class JsonlLog:
    """Append-only JSON-lines log (``log.jsonl`` in the run folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, **record: Any) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record, default=float) + "\n")


def report_epoch(log: JsonlLog, console: Any, record: dict[str, float], epochs: int) -> None:
    """Append an epoch's record (which holds ``epoch``) to the log and print it as one line."""
    log.write(**record)
    console.print(
        f"epoch {record['epoch']}/{epochs} " + " ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "epoch")
    )
