"""Training configuration of the destylize model (override with ``--set key=value``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DestylizeConfig:
    """Hyper-parameters of ``portrait train destylize``.

    ``arch``: ``srn`` (the paper's Style Removal Network with spatial transformers) or
    ``unet`` (the plain U-Net baseline: the sketch model's U-Net without SE block, same
    losses and budget). ``use_stn=False`` / ``skips=False`` are ablations of the SRN.
    Loss weights follow IFRP: pixel MSE + ``lambda_adv`` * adversarial + ``eta_id`` *
    identity (feature) loss, the last two decayed per epoch n as ``max(w * 0.995^n, w / 2)``.

    RMSprop as the paper, but at lr 1e-4 for batch 8 (the paper: 1e-3 for batch 64): at
    1e-3 with batch 8 both the SRN and the U-Net stalled at the mean face's loss for two
    epochs (validation PSNR 13.3 / 14.2 dB; the mean training face scores 13.6), while
    1e-4 (and Adam 2e-4) kept descending in a 80-step probe.
    """

    arch: str = "srn"
    channels: tuple[int, ...] = (32, 64, 128, 256)
    use_stn: bool = True
    skips: bool = True
    ndf: int = 32
    epochs: int = 24
    batch_size: int = 8
    lr: float = 1e-4  # RMSprop, as the paper (lr scaled down with the batch)
    lr_decay: float = 0.99  # per epoch
    lambda_adv: float = 1e-2
    eta_id: float = 1e-3
    id_layers: tuple[int, ...] = (3, 6, 13)  # MobileNetV2 feature stages (strides 4, 8, 16)
    n_val: int = 100  # training pairs held out for the progress signal
    seed: int = 0
    threads: int = 2
    device: str = "cpu"
    eval_every: int = 1
    checkpoint_every: int = 1
