"""Training configuration of the 2-D cartoon generator (override with ``--set key=value``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CartoonConfig:
    """Hyper-parameters of ``portrait train cartoon``: pix2pix plus a perceptual loss, strong augmentation."""

    size: int = 256  # the aligned crop, size x size px
    channels: tuple[int, ...] = (32, 64, 128, 256, 256)  # U-Net levels (five: 8x8 bottleneck at 256 px)
    ndf: int = 32
    epochs: int = 150
    batch_size: int = 4
    lr: float = 2e-4
    beta1: float = 0.5
    lr_milestones: tuple[float, ...] = (0.6, 0.85)  # fractions of the epochs
    lr_gamma: float = 0.3
    lambda_l1: float = 100.0
    lambda_perc: float = 10.0  # MobileNetV2 features (DESIGN.md), layers (3, 6, 13)
    augment_shift: float = 0.05
    augment_scale: float = 0.1
    augment_color: float = 0.25  # the toon "photos" are StyleGAN images: jitter them towards real photos
    augment_blur: float = 0.3  # probability of a Gaussian blur (sigma 0.5 .. 1.5 px) of the input
    n_val: int = 10  # training pairs held out for the progress signal
    seed: int = 0
    threads: int = 2
    device: str = "cpu"
    checkpoint_every: int = 5
