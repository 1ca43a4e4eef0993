"""Optimizers of the paired GAN trainers: Adam with step decay for each network."""

from __future__ import annotations

from typing import Any

import torch


def adam_step_decay(
    networks: dict[str, torch.nn.Module],
    lr: float,
    beta1: float,
    epochs: int,
    milestones: tuple[float, ...],
    gamma: float,
) -> dict[str, Any]:
    """Adam(lr, betas (beta1, 0.999)) and MultiStepLR for each network.

    Args:
        networks: ``{"G": G, "D": D, ...}``.
        milestones: the epochs of the decay as fractions of ``epochs`` (rounded, at least 1).
        gamma: the factor the learning rate is multiplied by at each milestone.

    Returns:
        The networks plus ``opt_NAME`` and ``sched_NAME`` for each: the objects a checkpoint saves.
    """
    steps = [max(1, round(f * epochs)) for f in milestones]
    objects: dict[str, Any] = dict(networks)
    for name, net in networks.items():
        opt = torch.optim.Adam(net.parameters(), lr, betas=(beta1, 0.999))
        objects[f"opt_{name}"] = opt
        objects[f"sched_{name}"] = torch.optim.lr_scheduler.MultiStepLR(opt, steps, gamma)
    return objects
