"""Losses and helpers shared by the GAN trainings."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F


def lsgan_loss(pred: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Least-squares GAN loss (Mao et al., ICCV 2017): ``mean((D(x) - t)^2)``, t in {0, 1}."""
    target = torch.ones_like(pred) if target_is_real else torch.zeros_like(pred)
    return F.mse_loss(pred, target)


class ImagePool:
    """History of generated images for the discriminator (Shrivastava et al., CVPR 2017).

    As in CycleGAN: once the pool holds ``size`` images, each new image is returned with
    probability 0.5, else swapped with a random stored one.
    """

    def __init__(self, size: int = 50, rng: random.Random | None = None) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.rng = rng or random.Random(0)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The stored images, so that a resumed run continues with the same history."""
        return {"images": torch.cat(self.images, 0) if self.images else torch.empty(0)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        images = state["images"]
        self.images = [img[None] for img in images] if images.numel() else []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for img in images.detach():
            img = img[None]
            if len(self.images) < self.size:
                self.images.append(img)
                out.append(img)
            elif self.rng.random() < 0.5:
                i = self.rng.randrange(self.size)
                out.append(self.images[i].clone())
                self.images[i] = img
            else:
                out.append(img)
        return torch.cat(out, 0)
