"""The CUHK Face Sketch database (CUFS) as laid out in ``datasets/cufs``.

``pairs.csv`` lists (subset, split, photo, sketch) with paths relative to the folder;
photos and sketches are aligned 200x250 crops. Subsets: ``cuhk_student`` (88 train / 100
test) and ``ar`` (100 train / 23 test).

Reference: X. Wang and X. Tang, "Face Photo-Sketch Synthesis and Recognition", TPAMI 2009.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from portraitcli.data import dataset_dir
from portraitcli.errors import UsageError
from portraitcli.io import read_image
from portraitcli.metrics.pixel import to_gray

SUBSETS = ("cuhk_student", "ar")
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Pair:
    """One photo / sketch pair; ``name`` is unique within its subset (``photos/00``)."""

    subset: str
    split: str
    photo: Path
    sketch: Path

    @property
    def name(self) -> str:
        return f"{self.subset}/{self.photo.stem}"


def cufs_pairs(root: Path, subset: str = "cuhk_student", split: str = "test") -> list[Pair]:
    """List the pairs of one subset and split, in file order.

    Args:
        root: the datasets folder or the ``cufs`` folder itself.
        subset: ``cuhk_student`` or ``ar``.
        split: ``train`` or ``test``.

    Raises:
        UsageError: unknown subset or split, or the folder lacks ``pairs.csv``.
    """
    if subset not in SUBSETS or split not in SPLITS:
        raise UsageError(f"CUFS has subsets {SUBSETS} and splits {SPLITS}; got {subset!r}, {split!r}")
    folder = dataset_dir(root, "cufs")
    index = folder / "pairs.csv"
    if not index.is_file():
        raise UsageError(f"{folder}: pairs.csv is missing")
    with index.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["subset"] == subset and r["split"] == split]
    return [Pair(subset, split, folder / r["photo"], folder / r["sketch"]) for r in rows]


def load_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Read a pair: photo (H, W, 3) uint8 RGB and sketch (H, W) uint8 grayscale.

    Palette and RGB sketches are reduced to luma as Pillow's ``convert("L")`` does.
    """
    photo = read_image(pair.photo).rgb
    sketch = to_gray(read_image(pair.sketch).rgb)
    return photo, sketch


def scale_template(template: dict, scale: float) -> dict:
    """A template (as :func:`cufs_template` returns it) for crops ``scale`` times larger:
    the same framing, with size and landmarks multiplied (sizes rounded to multiples of 16,
    the models' stride; the landmarks follow the size's exact ratio). The exposure is the
    face region's, which scaling does not change."""
    w, h = template["size"]
    size = [int(round(w * scale / 16)) * 16, int(round(h * scale / 16)) * 16]
    sx, sy = size[0] / w, size[1] / h
    return {**template, "size": size, "kps": [[round(x * sx, 2), round(y * sy, 2)] for x, y in template["kps"]]}


def cufs_template(data: Path, subset: str = "cuhk_student") -> dict:
    """The CUFS framing: mean 5-landmark position over the training photos (200x250).

    Also the training photos' face-region exposure in that framing
    (:func:`~portraitcli.face.exposure.reference_exposure`), which the sketch model matches
    a user's crop to.

    Returns:
        ``{"size": [200, 250], "kps": [[x, y] * 5], "n": detected, "n_total": photos,
        "exposure": {"mean": luma, "std": luma}}``.
    """
    from portraitcli.face.align import mean_template
    from portraitcli.face.detect import FaceDetector
    from portraitcli.face.exposure import reference_exposure
    from portraitcli.models.sketch import CROP_SIZE

    detector = FaceDetector()
    kps, photos = [], []
    for pair in cufs_pairs(data, subset, "train"):
        photo, _ = load_pair(pair)
        photos.append(photo)
        faces = detector.detect(photo)
        if faces:
            kps.append(faces[0].kps)
    if not kps:
        raise UsageError(f"{data}: no face found on the CUFS training photos; cannot measure the template")
    tpl = mean_template(kps, CROP_SIZE)
    exposure = reference_exposure(photos, tpl.kps)
    return {
        "size": list(CROP_SIZE),
        "kps": [[round(float(v), 2) for v in row] for row in tpl.kps],
        "n": len(kps),
        "n_total": len(photos),
        "exposure": {"mean": exposure.mean, "std": exposure.std},
    }
