"""Aligned drawing pairs for training and benchmarking the draw model.

Each photo is detected (dlib, as at inference), and photo and drawing are warped with the
same similarity into the model's square crop; the crop template is fitted on the training
photos' landmarks (:func:`portraitcli.face.align.fit_template`). Detections and aligned
arrays are cached under a cache folder (``runs/cache`` by default), keyed by the dataset,
split, size and template, so later runs start at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.progress import track

from portraitcli.data.fs2k import DrawingPair, drawing_pairs, load_drawing_pair
from portraitcli.face.align import fit_template, similarity_transform, warp_affine
from portraitcli.types import Template


@dataclass
class AlignedPairs:
    """Aligned pairs: photos (N, S, S, 3) uint8, drawings (N, S, S) uint8, styles (N,) int 1..3."""

    photos: np.ndarray
    drawings: np.ndarray
    styles: np.ndarray
    names: list[str]
    n_no_face: int  # pairs left out because no face was found on the photo

    def subset(self, idx: np.ndarray) -> AlignedPairs:
        """The pairs at indices ``idx`` (same ``n_no_face``)."""
        return AlignedPairs(
            self.photos[idx], self.drawings[idx], self.styles[idx], [self.names[i] for i in idx], self.n_no_face
        )


def _cache_key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:12]


def detect_landmarks(pairs: list[DrawingPair], cache: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks of each pair's photo, NaN where no face is found.

    Returns:
        (kps (N, 5, 2) float32, sizes (N, 2) width and height in px).
    """
    key = (
        cache / f"kps-{pairs[0].dataset}-{pairs[0].split}-{_cache_key([p.name for p in pairs])}.npz" if cache else None
    )
    if key is not None and key.is_file():
        with np.load(key) as z:
            return z["kps"], z["sizes"]
    from portraitcli.face.detect import FaceDetector

    detector = FaceDetector()
    kps = np.full((len(pairs), 5, 2), np.nan, np.float32)
    sizes = np.zeros((len(pairs), 2), np.float32)
    for i, pair in enumerate(track(pairs, description=f"detecting faces ({pairs[0].split})")):
        photo, _ = load_drawing_pair(pair)
        sizes[i] = photo.shape[1], photo.shape[0]
        faces = detector.detect(photo)
        if faces:
            kps[i] = faces[0].kps
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        np.savez(key, kps=kps, sizes=sizes)
    return kps, sizes


def drawing_template(data: Path, dataset: str, size: int, cache: Path | None) -> dict:
    """The dataset's framing in a size x size crop, fitted on its training photos.

    Returns:
        ``{"size": [size, size], "kps": [[x, y] * 5], "n": photos with a face, "n_total"}``.
    """
    pairs = drawing_pairs(data, dataset, "train")
    kps, sizes = detect_landmarks(pairs, cache)
    ok = ~np.isnan(kps).any((1, 2))
    tpl = fit_template(kps[ok], sizes[ok], (size, size))
    return {
        "size": [size, size],
        "kps": [[round(float(v), 2) for v in row] for row in tpl.kps],
        "n": int(ok.sum()),
        "n_total": len(pairs),
    }


def aligned_pairs(
    data: Path, dataset: str, split: str, template: dict, cache: Path | None, style: int | None = None
) -> AlignedPairs:
    """All pairs of a split warped into the template's crop (pairs without a face left out).

    Raises:
        UsageError: unknown dataset or split, or a missing index (from the readers).
    """
    pairs = drawing_pairs(data, dataset, split, style)
    tpl = Template(size=tuple(template["size"]), kps=np.asarray(template["kps"], np.float32))
    key = (
        cache / f"aligned-{dataset}-{split}-{style}-{_cache_key(template, [p.name for p in pairs])}.npz"
        if cache
        else None
    )
    if key is not None and key.is_file():
        with np.load(key) as z:
            return AlignedPairs(z["photos"], z["drawings"], z["styles"], list(z["names"]), int(z["n_no_face"]))
    kps, _ = detect_landmarks(pairs, cache)
    w, h = tpl.size
    photos, drawings, styles, names = [], [], [], []
    for pair, k in zip(track(pairs, description=f"aligning {split} pairs"), kps):
        if np.isnan(k).any():
            continue
        photo, drawing = load_drawing_pair(pair)
        M = similarity_transform(k, tpl.kps)
        photos.append(warp_affine(photo, M, (w, h)))
        drawings.append(warp_affine(drawing, M, (w, h)))
        styles.append(pair.style)
        names.append(pair.name)
    out = AlignedPairs(
        np.stack(photos), np.stack(drawings), np.array(styles, np.int64), names, len(pairs) - len(photos)
    )
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            key,
            photos=out.photos,
            drawings=out.drawings,
            styles=out.styles,
            names=np.array(names),
            n_no_face=out.n_no_face,
        )
    return out
