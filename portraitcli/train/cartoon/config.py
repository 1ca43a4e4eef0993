"""Training configuration of the 2-D cartoon generator (override with ``--set key=value``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class CartoonConfig:
    """Hyper-parameters of ``portrait train cartoon``: pix2pix plus a perceptual loss, strong augmentation.

    The defaults are cartoon-v1's recipe (the SE-U-Net from scratch, MobileNetV2 features, 256 px).
    cartoon-v2 is two runs with these levers set (README: the training commands):
    ``generator="mobilenet-unet"`` (the ImageNet MobileNetV2 U-Net of sketch-v5 and draw-v3,
    fine-tuned, fully convolutional; ``decoder`` its widths), ``perceptual="vgg19"`` (the
    scale-free VGG-19 feature loss), ``lambda_fm`` (pix2pixHD feature matching),
    ``train_crop`` (random windows of the ``size`` framing) and ``augment_downscale``;
    ``lambda_id`` (FaceNet identity between the cartoon and its photo) and ``init`` (start from
    another run's checkpoint, e.g. to fine-tune a cartoon with the identity term).

    ``lambda_real_gan``: the toon "photos" are StyleGAN images, and on real photos the
    cartoons stay closer to the photo than to the toons (issue 35: KID against the toons
    121e-3 for cartoon-v2, 139e-3 for the photos themselves). With it, each step also turns
    a batch of real photos (UTKFace's seeded train split, aligned to the same template; its
    test split stays unseen) into cartoons, which an unconditional PatchGAN ``D_real`` judges
    against the toon targets (unpaired adversarial domain adaptation, as CycleGAN's
    adversarial term); ``lambda_real_id`` keeps each of those cartoons the photo's person
    (FaceNet, as ``lambda_id``).
    """

    #: Runs saved before ``decoder`` existed used MobileNetUNet's default widths.
    SAVED_DEFAULTS: ClassVar[dict[str, object]] = {"decoder": (96, 64, 32, 16)}

    size: int = 256  # the aligned crop, size x size px
    generator: str = "se-unet"  # or "mobilenet-unet" (ImageNet MobileNetV2 encoder, fine-tuned)
    channels: tuple[int, ...] = (32, 64, 128, 256, 256)  # se-unet levels (five: 8x8 bottleneck at 256 px)
    decoder: tuple[int, ...] = (128, 96, 64, 32)  # mobilenet-unet decoder widths at strides 8, 4, 2, 1
    train_crop: int = 0  # > 0: train on random square windows of this side (multiple of 32)
    ndf: int = 32
    epochs: int = 150
    batch_size: int = 4
    lr: float = 2e-4
    beta1: float = 0.5
    lr_milestones: tuple[float, ...] = (0.6, 0.85)  # fractions of the epochs
    lr_gamma: float = 0.3
    lambda_l1: float = 100.0
    perceptual: str = "mobilenet"  # the perceptual loss's features: "mobilenet" (layers 3, 6, 13) or "vgg19"
    lambda_perc: float = 10.0
    lambda_fm: float = 0.0  # pix2pixHD feature matching on D's activations; 0 = none
    lambda_id: float = 0.0  # FaceNet cosine distance cartoon <-> photo (portraitcli.nets.facenet); 0 = none
    lambda_real_gan: float = 0.0  # unpaired LSGAN on cartoons of real UTKFace train photos vs the toons; 0 = none
    lambda_real_id: float = 0.0  # FaceNet distance between a real photo and its cartoon; 0 = none
    init: str = ""  # fine-tuning: a checkpoint whose G and D start this run, or a shipped ONNX (G only); "": none
    augment_shift: float = 0.05
    augment_scale: float = 0.1
    augment_color: float = 0.25  # the toon "photos" are StyleGAN images: jitter them towards real photos
    augment_blur: float = 0.3  # probability of a Gaussian blur (sigma 0.5 .. 1.5 px) of the input
    augment_downscale: float = 0.0  # probability of a 1.5-3x down- and up-scaling of the input (small real faces)
    n_val: int = 10  # training pairs held out for the progress signal
    seed: int = 0
    threads: int = 2
    device: str = "cpu"
    checkpoint_every: int = 5
