"""Unpaired photos for the sketch CycleGAN: faces of people the CUFS students do not cover.

CUFS's 88 CUHK training photos are studio portraits of light-skinned students. A CycleGAN
needs no pair for its adversarial and cycle terms, so photos without a sketch can teach G
what a sketch of other faces looks like (D_Y judges G(x_u), F must recover x_u from it)
while the supervised L1 and SSIM terms stay on the CUFS pairs. This is the use of the
CycleGAN machinery that G alone (the pix2pix-style ablation) cannot make.

The photos are FS2K's *training* split (its test split scores the model), detected and
aligned to the sketch template like a user's photo and exposure-matched as
``portrait sketch`` matches them (:mod:`portraitcli.face.exposure`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track

from portraitcli.data.fs2k import fs2k_pairs
from portraitcli.errors import UsageError
from portraitcli.face.align import align_face
from portraitcli.face.detect import FaceDetector
from portraitcli.face.exposure import match_template_exposure
from portraitcli.io import read_image
from portraitcli.types import Template

#: The sources ``SketchConfig.unpaired`` may name.
SOURCES = ("", "fs2k")


def unpaired_photos(source: str, data: Path, template: Template, console: Console | None = None) -> list[np.ndarray]:
    """The unpaired photos of ``source``, in the sketch model's framing.

    Args:
        source: ``"fs2k"`` (FS2K training photos) or ``""`` (none).
        data: the datasets folder.
        template: the sketch template (size, landmarks and the exposure to match; photos
            are not matched when it has none).

    Returns:
        ``[(H, W, 3) uint8 RGB]`` at the template's size, in ``pairs.csv`` order; photos in
        which no face is found are left out.

    Raises:
        UsageError: an unknown source, or no face found at all.
    """
    if source not in SOURCES:
        raise UsageError(f"unpaired must be one of {', '.join(repr(s) for s in SOURCES)}; got {source!r}")
    if not source:
        return []
    detector = FaceDetector()
    crops = []
    pairs = fs2k_pairs(data, "train")
    for pair in track(pairs, description="aligning the unpaired FS2K photos", console=console or Console(stderr=True)):
        rgb = read_image(pair.photo).rgb
        found = detector.detect(rgb)
        if not found:
            continue
        crops.append(match_template_exposure(align_face(rgb, found[0], template).crop, template))
    if not crops:
        raise UsageError(f"{data}: no face found on the FS2K training photos")
    return crops
