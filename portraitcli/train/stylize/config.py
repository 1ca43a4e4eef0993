"""Training configuration of the fast style-transfer model (override with ``--set key=value``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from portraitcli.train.stylize.networks import DECODER


@dataclass(frozen=True)
class StylizeConfig:
    """Hyper-parameters of ``portrait train stylize``.

    Each step draws ``batch_size`` content photos and as many style images, each resized so
    its short side is uniform in ``[crop, scale_max * crop]`` and cropped to ``crop`` px;
    the style source is WikiArt with probability ``p_wikiart``, else an FS2K drawing or a
    toon (half and half). The decoder learns Gatys et al.'s objective on VGG-19:
    ``lambda_content * content_distance + lambda_style * style_distance``
    (:mod:`portraitcli.nets.vgg`); the encoder stays ImageNet's.
    """

    crop: int = 128  # training crops, px (multiple of 16): about 3 s per batch of 8 on 2 CPU cores
    scale_max: float = 2.0
    decoder: tuple[int, ...] = DECODER
    transform: str = "wct"  # the feature transform: "wct" (covariances) or "adain" (stylize-v1, v2)
    epochs: int = 16  # 1,600 steps of 8: about 70 min on 2 CPU cores at 128 px (2.65 s a step)
    steps_per_epoch: int = 100
    batch_size: int = 8
    lr: float = 1e-3
    lr_milestones: tuple[float, ...] = (0.6, 0.85)  # fractions of the epochs
    lr_gamma: float = 0.3
    lambda_content: float = 1.0
    lambda_style: float = 8.0  # stylize-v1: 2.0 (closer to the photo, less of the style)
    p_wikiart: float = 0.7
    n_utkface: int = 2000  # UTKFace training-split faces among the contents
    max_per_source: int = 0  # > 0: at most this many contents and styles of each source, evenly spaced (tests)
    n_val: int = 16  # content photos held out (with fixed styles) for the progress signal
    seed: int = 0
    threads: int = 2
    device: str = "cpu"  # or "cuda" (a lent GPU)
    checkpoint_every: int = 1

    #: Fields added after runs were made: their value in those runs.
    SAVED_DEFAULTS: ClassVar[dict[str, object]] = {"transform": "adain"}
