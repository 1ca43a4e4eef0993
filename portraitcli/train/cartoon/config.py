"""Training configuration of the 2-D cartoon generator (override with ``--set key=value``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class CartoonConfig:
    """Hyper-parameters of ``portrait train cartoon``: pix2pix plus perceptual and feature-matching
    losses, strong augmentation.

    cartoon-v2 (the defaults): the ImageNet MobileNetV2 U-Net (``generator="mobilenet-unet"``,
    fully convolutional, as sketch-v5 and draw-v3) trained on random ``train_crop`` windows of
    the ``size`` framing, so that it runs on the whole 512 px face; the scale-free VGG-19
    feature loss (``perceptual="vgg19"``) and pix2pixHD feature matching (``lambda_fm``).
    cartoon-v1 was ``generator="se-unet"``, ``size=256``, ``train_crop=0``,
    ``perceptual="mobilenet"``, ``lambda_fm=0`` (what runs saved before these fields load as).
    """

    SAVED_DEFAULTS: ClassVar[dict[str, object]] = {
        "generator": "se-unet",
        "perceptual": "mobilenet",
        "lambda_fm": 0.0,
        "train_crop": 0,
        "augment_downscale": 0.0,
    }

    size: int = 512  # the aligned crop, size x size px (the toon pairs are 512 px)
    generator: str = "mobilenet-unet"  # or "se-unet" (from scratch, cartoon-v1)
    channels: tuple[int, ...] = (32, 64, 128, 256, 256)  # se-unet levels (five: 8x8 bottleneck at 256 px)
    train_crop: int = 256  # > 0: train on random square windows of this side (multiple of 32)
    ndf: int = 32
    epochs: int = 30  # about 80 min on 2 CPU cores (256 px windows, batch 4)
    batch_size: int = 4
    lr: float = 2e-4
    beta1: float = 0.5
    lr_milestones: tuple[float, ...] = (0.6, 0.85)  # fractions of the epochs
    lr_gamma: float = 0.3
    lambda_l1: float = 100.0
    perceptual: str = "vgg19"  # the perceptual loss's features: "vgg19" (scale-free) or "mobilenet" (v1)
    lambda_perc: float = 10.0
    lambda_fm: float = 10.0  # pix2pixHD feature matching on D's activations; 0 = none
    augment_shift: float = 0.05
    augment_scale: float = 0.1
    augment_color: float = 0.25  # the toon "photos" are StyleGAN images: jitter them towards real photos
    augment_blur: float = 0.3  # probability of a Gaussian blur (sigma 0.5 .. 1.5 px) of the input
    augment_downscale: float = 0.3  # probability of a 1.5-3x down- and up-scaling of the input (small real faces)
    n_val: int = 10  # training pairs held out for the progress signal
    seed: int = 0
    threads: int = 2
    device: str = "cpu"
    checkpoint_every: int = 5
