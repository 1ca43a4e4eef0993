"""The photo / toon pairs of ``datasets/toon`` (Toonify-style, made by blending StyleGAN models).

Layout: ``toon/train/photo/X.jpg`` pairs with ``toon/train/toon/X.jpg`` (512x512,
pixel-aligned, FFHQ framing); ``toon/test/photo/`` holds unpaired test faces. Both sides of
a pair are generated images, so a model trained on them must also be checked on real
photos.
"""

from __future__ import annotations

from pathlib import Path

from portraitcli.data import dataset_dir
from portraitcli.errors import UsageError

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise UsageError(f"{folder} is missing (toon layout: train/photo, train/toon, test/photo)")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)


def toon_pairs(root: Path) -> list[tuple[Path, Path]]:
    """The training pairs (photo file, toon file), sorted by name.

    Raises:
        UsageError: the folders are missing, or a photo has no toon.
    """
    folder = dataset_dir(root, "toon") / "train"
    pairs = []
    for photo in _images(folder / "photo"):
        toon = folder / "toon" / photo.name
        if not toon.is_file():
            raise UsageError(f"{photo}: no toon/{photo.name} beside it")
        pairs.append((photo, toon))
    return pairs


def toon_test_photos(root: Path) -> list[Path]:
    """The unpaired test photos, sorted by name."""
    return _images(dataset_dir(root, "toon") / "test" / "photo")
