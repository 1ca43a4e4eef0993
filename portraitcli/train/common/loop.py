"""The training loop every model shares: run set-up, epochs, logging, checkpoints, exact resume.

Each trainer builds its networks, optimizers and data, then hands :func:`fit` one function
that trains one epoch. ``fit`` owns the bookkeeping:

- the epoch's random generator, ``numpy.random.default_rng([seed, epoch])``, so the order
  and augmentation of epoch e depend only on (seed, e) and a resumed run sees the batches an
  uninterrupted one would;
- the learning-rate schedulers (stepped once per epoch), the validation cadence, the epoch
  record (mean losses, epoch, seconds, learning rate, validation scores) written to
  ``log.jsonl`` and printed;
- checkpoints (``checkpoints/epoch-NNNN.pt`` holding every object in ``objects``: networks,
  optimizers, schedulers, weight averages, image pools) every ``checkpoint_every`` epochs and
  at the end, and the closing ``done`` event.

:func:`start_run` is the set-up around it: threads, seeds, resume from the newest
checkpoint, and on a fresh run ``config.json`` and ``template.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from portraitcli.train.common.checkpoint import resume, save_epoch
from portraitcli.train.common.runs import JsonlLog, report_epoch, seed_everything, write_config

#: Trains one epoch: (epoch index from 0, that epoch's generator) -> the epoch's record so far
#: (mean losses and any other per-epoch values).
TrainEpoch = Callable[[int, np.random.Generator], dict[str, float]]


class LossMeter:
    """Sums each loss over an epoch's batches; :meth:`mean` gives the per-batch means."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.n = 0

    def add(self, losses: dict[str, float]) -> None:
        """Add one batch's losses (floats)."""
        for k, v in losses.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.n += 1

    def mean(self) -> dict[str, float]:
        """``{loss: sum / batches}``, in the order the losses first appeared."""
        return {k: v / self.n for k, v in self.sums.items()}


def shuffled_batches(
    indices: np.ndarray | int, batch_size: int, rng: np.random.Generator, drop_last: bool = True
) -> list[np.ndarray]:
    """The epoch's batches: ``indices`` (or ``range(n)``) in a random order from ``rng``, cut into
    ``batch_size`` pieces; ``drop_last`` leaves out a last, shorter batch.

    Returns:
        A list of 1-D int arrays.
    """
    order = rng.permutation(indices) if isinstance(indices, int) else indices[rng.permutation(len(indices))]
    stop = len(order) - batch_size + 1 if drop_last else len(order)
    return [order[i : i + batch_size] for i in range(0, stop, batch_size)]


@dataclass(frozen=True)
class Run:
    """A started run: its folder, the epoch it starts from (0: fresh), its log and console."""

    dir: Path
    start_epoch: int
    log: JsonlLog
    console: Any


def start_run(
    run_dir: Path,
    cfg: Any,
    objects: dict[str, Any],
    extra_config: dict[str, Any] | Callable[[], dict[str, Any]],
    template: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    console: Any = None,
    on_fresh: Callable[[], None] | None = None,
) -> Run:
    """Resume ``objects`` from the newest checkpoint of ``run_dir``, or start a fresh run.

    A fresh run (no checkpoint) calls ``on_fresh`` (initialisation that a resume must not
    repeat), then writes ``config.json`` (``cfg`` and ``extra_config``) and, when given,
    ``template.json`` (``template`` may be a function, called only then).

    Returns:
        The :class:`Run` (its ``start_epoch`` is 0 for a fresh run).
    """
    start_epoch = resume(run_dir, objects, cfg.device, console)
    if start_epoch == 0:
        if on_fresh is not None:
            on_fresh()
        write_config(run_dir, cfg, extra_config() if callable(extra_config) else extra_config)
        if template is not None:
            tpl = template() if callable(template) else template
            (run_dir / "template.json").write_text(json.dumps(tpl, indent=2) + "\n")
    return Run(run_dir, start_epoch, JsonlLog(run_dir / "log.jsonl"), console)


def seed_run(cfg: Any) -> None:
    """Torch's thread count and every random generator, from ``cfg.threads`` and ``cfg.seed``."""
    torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)


def fit(
    run: Run,
    cfg: Any,
    objects: dict[str, Any],
    train_epoch: TrainEpoch,
    *,
    schedulers: Sequence[Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    validate: Callable[[int], dict[str, float]] | None = None,
    eval_every: int = 1,
    finish: Callable[[], int] | None = None,
) -> Path:
    """Train epochs ``start_epoch`` .. ``cfg.epochs - 1``; return the final checkpoint's path.

    Args:
        run: from :func:`start_run`.
        cfg: the configuration dataclass (``epochs``, ``seed``, ``checkpoint_every``); saved
            in every checkpoint.
        objects: everything a checkpoint holds (see :func:`~portraitcli.train.common.checkpoint.save_checkpoint`).
        train_epoch: trains one epoch (see :data:`TrainEpoch`).
        schedulers: stepped once after each epoch, in order; default: every entry of
            ``objects`` whose name starts with ``sched``.
        optimizer: its first group's learning rate is logged as ``lr`` (after the step).
        validate: (epoch number from 1) -> validation scores, called every ``eval_every``
            epochs and after the last.
        finish: called after the last epoch (an extra log event, a selection); returns the
            epoch whose weights the export takes (default: the last).

    Returns:
        ``run.dir/checkpoints/epoch-{epochs}.pt``.
    """
    if schedulers is None:
        schedulers = [v for k, v in objects.items() if k.startswith("sched")]
    t_run = time.time()
    for epoch in range(run.start_epoch, cfg.epochs):
        rng = np.random.default_rng([cfg.seed, epoch])
        t0 = time.time()
        record = train_epoch(epoch, rng)
        for s in schedulers:
            s.step()
        record.update(epoch=epoch + 1, seconds=time.time() - t0)
        if optimizer is not None:
            record["lr"] = optimizer.param_groups[0]["lr"]
        if validate is not None and ((epoch + 1) % eval_every == 0 or epoch + 1 == cfg.epochs):
            record.update(validate(epoch + 1))
        report_epoch(run.log, run.console, record, cfg.epochs)
        if (epoch + 1) % cfg.checkpoint_every == 0 or epoch + 1 == cfg.epochs:
            save_epoch(run.dir, objects, epoch + 1, asdict(cfg))
    selected = finish() if finish is not None else cfg.epochs
    run.log.write(event="done", seconds_this_session=time.time() - t_run, selected_epoch=selected)
    return run.dir / "checkpoints" / f"epoch-{cfg.epochs:04d}.pt"


def tensors(arrays: Iterable[np.ndarray], device: str) -> torch.Tensor:
    """Stack NumPy arrays into one float tensor on ``device`` (a batch)."""
    return torch.from_numpy(np.stack(list(arrays))).to(device)
