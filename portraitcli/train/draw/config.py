"""Training configuration of the draw model (override with ``--set key=value``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class DrawConfig:
    """Hyper-parameters of ``portrait train draw``.

    ``mode`` picks the paper's model or an ablation (see
    :mod:`portraitcli.train.draw.networks`): ``full``, ``no-disentangle``, ``no-info`` or
    ``pix2pix`` (the U-Net baseline). ``dataset`` is ``fs2k`` (three styles) or
    ``apdrawing`` (one style, the release's side-by-side layout). ``upsample`` picks the
    U-Nets' decoders (:class:`~portraitcli.train.common.networks.SEUNet`); runs saved before
    the option existed used ``transpose`` (``SAVED_DEFAULTS``); ``resize`` is the default since
    draw-v2 (docs/experiments/log.md: transposed convolutions drew fields of dots); runs saved before
    ``ema_decay`` existed kept no average.

    ``ema_decay > 0`` keeps an exponential moving average of G's weights and exports it
    instead of the last G (:mod:`portraitcli.train.common.average`), as the sketch recipe does.

    draw-v3's levers: ``encoder="mobilenet"`` (the ImageNet MobileNetV2 U-Net of sketch-v5
    as the image generator), ``norm="none"`` and ``train_crop`` (random crops of a larger
    framing, ``size``, which the crop-invariant generator then runs on whole),
    ``perceptual="vgg19"`` with ``lambda_perc`` (the scale-free VGG-19 feature loss) and
    ``lambda_fm`` (feature matching on the discriminator).

    ``init`` starts the run from another run's checkpoint (G and D) or from a shipped ONNX
    model (G only; :func:`~portraitcli.train.common.onnx_init.load_init`), for fine-tuning
    (draw-v4 continued draw-v3 with weaker pixel terms and ``lambda_hist``).
    """

    SAVED_DEFAULTS: ClassVar[dict[str, object]] = {"upsample": "transpose", "ema_decay": 0.0}

    mode: str = "full"
    dataset: str = "fs2k"
    size: int = 192  # the aligned crop, size x size px (192: about 6 min/epoch on 2 CPU cores, full model)
    channels: tuple[int, ...] = (32, 64, 128, 256)
    info_channels: tuple[int, ...] = (24, 48, 96, 192)
    wavelet_features: int = 16
    upsample: str = "resize"  # the U-Nets' decoders: "resize" (nearest x2 + 3x3) or "transpose" (ConvT 4x4 s2)
    ndf: int = 32
    epochs: int = 8  # about 50 min on 2 CPU cores at 192 px, batch 8: the budget of every row of the table
    batch_size: int = 8
    lr: float = 2e-4
    beta1: float = 0.5
    lr_milestones: tuple[float, ...] = (0.6, 0.85)  # fractions of the epochs
    lr_gamma: float = 0.3
    lambda_l1: float = 100.0  # pixel loss weight, as pix2pix
    ema_decay: float = 0.0  # > 0: export the moving average of G's weights (0.995: about 2 epochs)
    lambda_perc: float = 0.0  # perceptual loss weight; 0 = none
    perceptual: str = "mobilenet"  # the perceptual loss's features: "mobilenet" (MobileNetV2) or "vgg19"
    lambda_fm: float = 0.0  # pix2pixHD feature matching on D's activations; 0 = none
    encoder: str = "se-unet"  # the image generator: "se-unet" (from scratch) or "mobilenet" (ImageNet, draw-v3)
    norm: str = "instance"  # "instance" or "none" in the information U-Net and fusion (none: crop-invariant)
    lambda_hist: float = 0.0  # per-window intensity histogram loss (patch_histogram_loss); 0 = none
    hist_patch: int = 16  # its window side, px
    lambda_nyq: float = 0.0  # the output's spectrum on the Nyquist lines against the target's (nyquist_loss); 0 = none
    init: str = ""  # fine-tuning: a checkpoint whose G and D start this run, or a shipped ONNX (G only); "": none
    train_crop: int = 0  # > 0: train on random square crops of this side (multiple of 32)
    augment_shift: float = 0.03
    augment_scale: float = 0.05
    augment_color: float = 0.15
    val_per_style: int = 10  # training pairs held out per style for the progress signal
    seed: int = 0
    threads: int = 2
    device: str = "cpu"  # or "cuda" (a lent GPU); results are deterministic only on the CPU
    eval_every: int = 1
    checkpoint_every: int = 1
