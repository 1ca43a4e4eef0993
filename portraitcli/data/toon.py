"""The photo / toon pairs of ``datasets/toon`` (Toonify-style, made by blending StyleGAN models).

Layout: ``toon/train/photo/X.jpg`` pairs with ``toon/train/toon/X.jpg`` (512x512,
pixel-aligned, FFHQ framing); ``toon/test/photo/`` holds unpaired test faces. Both sides of
a pair are generated images, so a model trained on them must also be checked on real
photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.progress import track

from portraitcli.data import dataset_dir
from portraitcli.errors import UsageError
from portraitcli.face.align import fit_template, similarity_transform, warp_affine
from portraitcli.io import read_image

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


def aligned_toon_pairs(data: Path, size: int) -> tuple[dict, np.ndarray, np.ndarray, list[str]]:
    """Detect the pairs' photos, fit the template, warp both sides into it.

    Returns:
        ``(template, photos (N, S, S, 3) uint8, toons (N, S, S, 3) uint8, names)``; pairs
        whose photo has no detected face are left out (``template["n"]`` counts the rest).

    Raises:
        UsageError: the folders are missing, or no photo has a detectable face.
    """
    from portraitcli.face.detect import FaceDetector

    detector = FaceDetector()
    found: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    pairs = toon_pairs(data)
    for photo_file, toon_file in track(pairs, description="detecting toon photos"):
        photo = read_image(photo_file).rgb
        faces = detector.detect(photo)
        if faces:
            found.append((photo_file.stem, photo, read_image(toon_file).rgb, faces[0].kps))
    if not found:
        raise UsageError(f"no face found on any of the {len(pairs)} toon training photos")
    kps = np.stack([f[3] for f in found])
    sizes = np.array([[f[1].shape[1], f[1].shape[0]] for f in found], np.float32)
    tpl = fit_template(kps, sizes, (size, size))
    photos, toons = [], []
    for _, photo, toon, k in found:
        M = similarity_transform(k, tpl.kps)
        photos.append(warp_affine(photo, M, (size, size)))
        toons.append(warp_affine(toon, M, (size, size)))
    template = {
        "size": [size, size],
        "kps": tpl.kps.round(2).tolist(),
        "n": len(found),
        "n_total": len(pairs),
        "source": f"fitted on the dlib 5-point landmarks of {len(found)} toon training photos (FFHQ-like framing)",
    }
    return template, np.stack(photos), np.stack(toons), [f[0] for f in found]
