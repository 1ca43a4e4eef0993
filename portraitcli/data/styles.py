"""Content photos and style images for exemplar style transfer (``portrait stylize``).

Styles: the WikiArt224 paintings (``datasets/wikiart224/0..6``, 224x224 with black bars
that :func:`trim_bars` removes), the FS2K training drawings and the toon set's toons. The
benchmark's styles (:data:`HELD_OUT_WIKIART`, :data:`HELD_OUT_TOONS`) never enter training.

Contents: FS2K, CUFS (CUHK student) and UTKFace training photos for training; FS2K and CUFS
test photos for the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from portraitcli.data import dataset_dir
from portraitcli.errors import UsageError

#: WikiArt224 paintings kept for the benchmark (``folder/file``): one or two per movement folder,
#: chosen by eye for variety (landscape, ink drawing, group portrait, cubism, Renoir, ...).
HELD_OUT_WIKIART = (
    "0/1007.jpg",
    "0/1078.jpg",
    "1/1047.jpg",
    "2/10055.jpg",
    "3/10159.jpg",
    "4/1054.jpg",
    "5/1058.jpg",
    "6/1032.jpg",
)
#: Toon images (``toon/train/toon``) kept for the benchmark as portrait styles.
HELD_OUT_TOONS = ("StyleGanImg_1042_100_0.jpg", "StyleGanImg_1042_50_2.jpg")
_SUFFIXES = (".jpg", ".jpeg", ".png")


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise UsageError(f"{folder} is missing")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _SUFFIXES)


def trim_bars(rgb: np.ndarray, threshold: int = 12) -> np.ndarray:
    """Cut the black bars WikiArt224 pads its paintings with.

    Rows and columns at the borders whose brightest value is at most ``threshold`` are
    removed (a painting that is black to the edge keeps at least half of each side).

    Args:
        rgb: (H, W, 3) uint8.

    Returns:
        (h, w, 3) uint8, a view of ``rgb``.
    """
    rows = np.flatnonzero(rgb.max(axis=(1, 2)) > threshold)
    cols = np.flatnonzero(rgb.max(axis=(0, 2)) > threshold)
    h, w = rgb.shape[:2]
    if len(rows) == 0 or len(cols) == 0:
        return rgb
    top, bottom = min(rows[0], h // 4), max(rows[-1] + 1, h - h // 4)
    left, right = min(cols[0], w // 4), max(cols[-1] + 1, w - w // 4)
    return rgb[top:bottom, left:right]


def read_rgb(path: Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB (grayscale drawings repeated to three channels)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


@dataclass(frozen=True)
class StyleSet:
    """Style image files by source: ``wikiart``, ``drawings`` (FS2K) and ``toons``."""

    wikiart: list[Path]
    drawings: list[Path]
    toons: list[Path]


def training_styles(root: Path) -> StyleSet:
    """Every style image the fast model may train on: all WikiArt224 and toon images but the
    held-out ones, and the FS2K training drawings.

    Raises:
        UsageError: a dataset folder is missing.
    """
    from portraitcli.data.fs2k import fs2k_pairs

    art = dataset_dir(root, "wikiart224")
    wikiart = [p for k in range(7) for p in _images(art / str(k)) if f"{k}/{p.name}" not in HELD_OUT_WIKIART]
    toons = [p for p in _images(dataset_dir(root, "toon") / "train" / "toon") if p.name not in HELD_OUT_TOONS]
    drawings = [pair.drawing for pair in fs2k_pairs(root, "train")]
    return StyleSet(wikiart, drawings, toons)


def benchmark_styles(root: Path) -> list[tuple[str, np.ndarray]]:
    """The benchmark's 10 held-out styles, ``(name, (H, W, 3) uint8 RGB)``, bars trimmed."""
    art = dataset_dir(root, "wikiart224")
    toons = dataset_dir(root, "toon") / "train" / "toon"
    out = [(f"wikiart {name}", trim_bars(read_rgb(art / name))) for name in HELD_OUT_WIKIART]
    return out + [(f"toon {name}", read_rgb(toons / name)) for name in HELD_OUT_TOONS]


def training_contents(root: Path, n_utkface: int = 2000) -> list[Path]:
    """Content photos for training: FS2K and CUFS (CUHK student) training photos and the first
    ``n_utkface`` faces of the UTKFace training split of ``portrait data stylized-pairs``
    (its test split stays unseen).

    Raises:
        UsageError: a dataset folder is missing.
    """
    from portraitcli.data.cufs import cufs_pairs
    from portraitcli.data.fs2k import fs2k_pairs
    from portraitcli.data.stylized import PairsConfig, split, utkface_files

    fs2k = [pair.photo for pair in fs2k_pairs(root, "train")]
    cufs = [pair.photo for pair in cufs_pairs(root, "cuhk_student", "train")]
    utk_train, _ = split(utkface_files(root), PairsConfig())
    return fs2k + cufs + utk_train[:n_utkface]


def benchmark_contents(root: Path, n: int = 50) -> list[tuple[str, np.ndarray]]:
    """The benchmark's content photos: ``n`` photos, evenly spaced, half from the FS2K test
    split and half from the CUHK student test split, ``(name, (H, W, 3) uint8 RGB)``."""
    from portraitcli.data.cufs import cufs_pairs
    from portraitcli.data.fs2k import fs2k_pairs

    fs2k = [p.photo for p in fs2k_pairs(root, "test")]
    cufs = [p.photo for p in cufs_pairs(root, "cuhk_student", "test")]
    n_fs2k = n - n // 2
    chosen = [fs2k[i] for i in np.linspace(0, len(fs2k) - 1, n_fs2k).astype(int)]
    chosen += [cufs[i] for i in np.linspace(0, len(cufs) - 1, n // 2).astype(int)]
    base = dataset_dir(root, "fs2k").parent
    return [(str(p.relative_to(base)) if p.is_relative_to(base) else p.name, read_rgb(p)) for p in chosen]
