"""Exponential moving average of a generator's weights, exported instead of the last G.

Reference:
    Karras et al., "Progressive Growing of GANs", ICLR 2018 (the generator exported is a
    running average of its weights); Yazici et al., "The Unusual Effectiveness of Averaging
    in GAN Training", ICLR 2019. After every optimizer step::

        w_ema <- decay * w_ema + (1 - decay) * w

    (the first update copies ``w``). With about 100 steps an epoch, ``decay=0.995`` averages
    over the last couple of epochs (time constant 200 steps).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from portraitcli.train.common.checkpoint import checkpoint_entries, load_trained

AVERAGE_KEY = "G_ema"  # the averaged generator's name in a training checkpoint


def weight_average(G: torch.nn.Module, decay: float) -> AveragedModel:
    """An exponential moving average of ``G``'s weights (``torch.optim.swa_utils``).

    Args:
        G: the generator being trained.
        decay: in [0, 1); the weight of the running average at each update.

    ``update_parameters(G)`` after each step updates the average (module docstring); the
    averaged generator is ``.module``.
    """
    return AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(decay))


def keeps_average(ckpt: Path) -> bool:
    """Whether a training checkpoint holds a weight average of G (``ema_decay > 0``)."""
    return AVERAGE_KEY in checkpoint_entries(ckpt)


def load_generator_weights(
    ckpt: Path, config_cls: type, make: Callable[[Any], torch.nn.Module], average: bool | None = None
) -> tuple[torch.nn.Module, Any]:
    """Rebuild a trained G from a checkpoint: its weight average or its last weights.

    Args:
        config_cls: the task's config dataclass (the checkpoint stores its fields).
        make: config -> the untrained generator.
        average: take the weight average ``G_ema`` (True), the last G (False), or the
            average when the run kept one (None, what the ``portrait train`` exports take).

    Returns:
        ``(G in eval mode, config)``.

    Raises:
        KeyError: ``average=True`` and the checkpoint holds no average.
    """
    if average is None:
        average = keeps_average(ckpt)
    if not average:
        return load_trained(ckpt, config_cls, make)
    G_ema, cfg = load_trained(ckpt, config_cls, lambda cfg: weight_average(make(cfg), 0.0), key=AVERAGE_KEY)
    return G_ema.module.eval(), cfg
