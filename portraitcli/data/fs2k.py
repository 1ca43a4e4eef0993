"""Portrait-drawing pairs: FS2K as laid out in ``datasets/fs2k``, and the APDrawing release.

FS2K (D.-P. Fan et al., "Deep Facial Synthesis: A New Challenge", MIR 2022): 1,058 training
and 1,046 test photo / drawing pairs in three drawing styles, each drawing traced over its
photo (same size, pixel-aligned). ``pairs.csv`` flattens the official annotations:
``split, sketch_style (0/1/2), gender, smile, frontal_face, photo, sketch``. Styles are
numbered 1, 2, 3 here (the CLI's ``--style``), i.e. ``sketch_style + 1``.

APDrawing (R. Yi et al., "APDrawingGAN", CVPR 2019) is released as side-by-side images
``ROOT/{train,test}/NAME.png`` (photo left, drawing right, 512x1024); it has one style,
numbered 1. Use :func:`drawing_pairs` to read either.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from portraitcli.data import dataset_dir
from portraitcli.errors import BadInputError, UsageError
from portraitcli.io import read_image
from portraitcli.metrics.pixel import to_gray

STYLES = (1, 2, 3)
SPLITS = ("train", "test")
DATASETS = ("fs2k", "apdrawing")


@dataclass(frozen=True)
class DrawingPair:
    """One photo / drawing pair.

    ``photo`` and ``drawing`` are files; for APDrawing both are the same side-by-side file
    (``side_by_side`` True). ``name`` is unique within the dataset (``photo1/image0110``).
    """

    dataset: str
    split: str
    style: int
    photo: Path
    drawing: Path
    name: str
    side_by_side: bool = False


def fs2k_pairs(root: Path, split: str = "test", style: int | None = None) -> list[DrawingPair]:
    """List FS2K pairs of one split (optionally one style), in ``pairs.csv`` order.

    Args:
        root: the datasets folder or the ``fs2k`` folder itself.
        split: ``train`` or ``test``.
        style: 1, 2 or 3; None for all.

    Raises:
        UsageError: unknown split or style, or ``pairs.csv`` is missing.
    """
    _check(split, style)
    folder = dataset_dir(root, "fs2k")
    index = folder / "pairs.csv"
    if not index.is_file():
        raise UsageError(f"{folder}: pairs.csv is missing")
    with index.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    pairs = [
        DrawingPair(
            "fs2k",
            split,
            int(r["sketch_style"]) + 1,
            folder / r["photo"],
            folder / r["sketch"],
            f"{Path(r['photo']).parent.name}/{Path(r['photo']).stem}",
        )
        for r in rows
    ]
    return [p for p in pairs if style is None or p.style == style]


def apdrawing_pairs(root: Path, split: str = "test", style: int | None = None) -> list[DrawingPair]:
    """List the side-by-side pairs of an APDrawing release (``ROOT/{train,test}/*.png|jpg``).

    Args:
        root: the folder holding ``train/`` and ``test/`` (or its ``apdrawing`` parent).
        split: ``train`` or ``test``.
        style: None or 1 (APDrawing has one style; 2 and 3 give an empty list).

    Raises:
        UsageError: unknown split or style, or the split folder is missing.
    """
    _check(split, style)
    folder = root / "apdrawing" if (root / "apdrawing").is_dir() else root
    split_dir = folder / split
    if not split_dir.is_dir():
        raise UsageError(f"{folder}: no {split}/ folder (APDrawing layout: {split}/NAME.png, photo | drawing)")
    files = sorted(p for p in split_dir.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if style not in (None, 1):
        return []
    return [DrawingPair("apdrawing", split, 1, p, p, p.stem, side_by_side=True) for p in files]


def drawing_pairs(
    root: Path, dataset: str = "fs2k", split: str = "test", style: int | None = None
) -> list[DrawingPair]:
    """Pairs of ``dataset`` (``fs2k`` or ``apdrawing``); see :func:`fs2k_pairs`.

    Raises:
        UsageError: unknown dataset, split or style, or a missing index.
    """
    if dataset == "fs2k":
        return fs2k_pairs(root, split, style)
    if dataset == "apdrawing":
        return apdrawing_pairs(root, split, style)
    raise UsageError(f"drawing datasets: {', '.join(DATASETS)}; got {dataset!r}")


def load_drawing_pair(pair: DrawingPair) -> tuple[np.ndarray, np.ndarray]:
    """Read a pair: photo (H, W, 3) uint8 RGB and drawing (H, W) uint8 grayscale (Pillow luma).

    Raises:
        BadInputError: unreadable files, an odd-width side-by-side image, or a photo and
            drawing of different sizes.
    """
    if pair.side_by_side:
        both = read_image(pair.photo).rgb
        h, w = both.shape[:2]
        if w % 2:
            raise BadInputError(f"{pair.photo}: side-by-side image of odd width {w}")
        photo, drawing = both[:, : w // 2], to_gray(both[:, w // 2 :])
    else:
        photo, drawing = read_image(pair.photo).rgb, to_gray(read_image(pair.drawing).rgb)
    if photo.shape[:2] != drawing.shape:
        raise BadInputError(f"{pair.name}: photo {photo.shape[:2]} and drawing {drawing.shape} differ in size")
    return np.ascontiguousarray(photo), drawing


def _check(split: str, style: int | None) -> None:
    if split not in SPLITS:
        raise UsageError(f"splits: {', '.join(SPLITS)}; got {split!r}")
    if style is not None and style not in STYLES:
        raise UsageError(f"--style must be one of {', '.join(map(str, STYLES))}; got {style!r}")
