"""Resumable checkpoints that load with ``torch.load(weights_only=True)``.

A checkpoint is a dict of state dicts (modules, optimizers, schedulers) plus plain numbers;
no pickled objects, so loading one never runs code from the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from portraitcli.errors import UsageError
from portraitcli.train.common.runs import saved_config


def save_checkpoint(path: Path, objects: dict[str, Any], **meta: Any) -> None:
    """Save ``{name: obj.state_dict()}`` and ``meta`` atomically to ``path``."""
    state = {name: obj.state_dict() for name, obj in objects.items()}
    state["meta"] = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, objects: dict[str, Any], device: str = "cpu") -> dict[str, Any]:
    """Restore the state dicts in ``path`` into ``objects``; return the saved ``meta``.

    Tensors are mapped to ``device`` (a checkpoint written on a GPU loads on the CPU).
    """
    state = torch.load(path, map_location=device, weights_only=True)
    missing = [name for name in objects if name not in state]
    if missing and state.get("meta", {}).get("dropped"):
        raise UsageError(
            f"{path} was slimmed for export (it keeps {', '.join(sorted(set(state) - {'meta'}))}); "
            f"it lacks {', '.join(missing)}, so it cannot resume the run"
        )
    if missing:
        raise KeyError(f"{path}: checkpoint lacks {', '.join(missing)}")
    for name, obj in objects.items():
        obj.load_state_dict(state[name])
    return dict(state.get("meta", {}))


def checkpoint_entries(ckpt: Path) -> set[str]:
    """The names of the state dicts a checkpoint holds (``G``, ``opt_G``, ...; ``meta`` left out)."""
    return set(torch.load(ckpt, map_location="cpu", weights_only=True)) - {"meta"}


def slim_checkpoint(ckpt: Path, keep: Iterable[str]) -> list[str]:
    """Rewrite a checkpoint in place (atomically) with only the entries ``keep`` and its meta.

    For carrying a finished run's generator off a training machine: a full checkpoint also
    holds the other networks, the optimizers' moments and the image pools (the sketch
    CycleGAN's is about six times G's size). The slim file exports like the full one; to
    resume a run from it, :func:`load_checkpoint` refuses with a usage error naming what it
    lacks. ``meta["dropped"]`` lists what was removed.

    Returns:
        The dropped entry names, sorted.

    Raises:
        KeyError: an entry of ``keep`` is not in the checkpoint.
    """
    keep = set(keep)
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    missing = keep - set(state)
    if missing:
        raise KeyError(f"{ckpt}: checkpoint lacks {', '.join(sorted(missing))}")
    dropped = sorted(set(state) - keep - {"meta"})
    meta = dict(state.get("meta", {}))
    meta["dropped"] = sorted(set(meta.get("dropped", [])) | set(dropped))
    slim = {name: state[name] for name in keep}
    slim["meta"] = meta
    tmp = ckpt.with_suffix(ckpt.suffix + ".part")
    torch.save(slim, tmp)
    os.replace(tmp, ckpt)
    return dropped


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest ``checkpoints/*.pt`` of a run folder, by epoch number in the name."""
    files = sorted((run_dir / "checkpoints").glob("epoch-*.pt"))
    return files[-1] if files else None


def save_epoch(run_dir: Path, objects: dict[str, Any], epoch: int, config: dict[str, Any], keep: int = 2) -> Path:
    """Save ``checkpoints/epoch-NNNN.pt`` for ``epoch`` and delete all but the newest ``keep``."""
    path = run_dir / "checkpoints" / f"epoch-{epoch:04d}.pt"
    save_checkpoint(path, objects, epoch=epoch, config=config)
    for old in sorted((run_dir / "checkpoints").glob("epoch-*.pt"))[:-keep]:
        old.unlink()
    return path


def resume(run_dir: Path, objects: dict[str, Any], device: str = "cpu", console: Any = None) -> int:
    """Restore the newest checkpoint of ``run_dir`` into ``objects``; return its epoch (0: none, a fresh run)."""
    ckpt = latest_checkpoint(run_dir)
    if ckpt is None:
        return 0
    epoch = int(load_checkpoint(ckpt, objects, device)["epoch"])
    if console is not None:
        console.print(f"resumed from {ckpt.name} (epoch {epoch})")
    return epoch


def checkpoint_config(ckpt: Path, config_cls: type) -> Any:
    """The training config saved in a checkpoint (lists back to tuples), loaded with ``weights_only=True``."""
    return saved_config(config_cls, torch.load(ckpt, map_location="cpu", weights_only=True)["meta"]["config"])


def checkpoint_epoch(ckpt: Path) -> int | None:
    """The epoch a checkpoint was saved at."""
    return torch.load(ckpt, map_location="cpu", weights_only=True)["meta"].get("epoch")


def load_trained(ckpt: Path, config_cls: type, make: Any, key: str = "G") -> tuple[Any, Any]:
    """Rebuild a trained network from a checkpoint: ``(make(config).eval(), config)``.

    Args:
        config_cls: the task's config dataclass (the checkpoint stores its fields).
        make: config -> the untrained network.
        key: the network's name in the checkpoint (``G``, ``net``).
    """
    cfg = checkpoint_config(ckpt, config_cls)
    net = make(cfg)
    load_checkpoint(ckpt, {key: net})
    return net.eval(), cfg
