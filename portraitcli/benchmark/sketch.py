"""Benchmark of the sketch model on CUFS, with baselines, as the source paper measured it.

Protocol (Liao and Lin; Wang et al. 2004 SSIM): the generated sketch and the artist's
sketch as 8-bit grayscale at 200x250 (the CUFS crops, no resizing); SSIM with a Gaussian
window (sigma 1.5), population covariance, data_range 255; PSNR in dB; mean over the 100
CUHK student test pairs, and the same on the 23 AR test pairs (a population the model
never saw). Baselines computed here, the same way: the mean training sketch, the
grayscale photo, OpenCV's ``pencilSketch``. Ablations: any other ONNX generator with the
same contract, named on the command line.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from portraitcli.data.cufs import cufs_pairs, load_pair
from portraitcli.metrics.pixel import SSIM_SETTINGS, psnr, ssim, to_gray

SPLITS = {"cuhk": "cuhk_student", "ar": "ar"}
Generator = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TestSet:
    """The test pairs of one CUFS subset, loaded: names, photos (H,W,3) and sketches (H,W)."""

    name: str
    names: list[str]
    photos: list[np.ndarray]
    sketches: list[np.ndarray]


def load_test_sets(data: Path) -> dict[str, TestSet]:
    """The CUHK student (100) and AR (23) test pairs."""
    sets = {}
    for key, subset in SPLITS.items():
        pairs = cufs_pairs(data, subset, "test")
        loaded = [load_pair(p) for p in pairs]
        sets[key] = TestSet(key, [p.name for p in pairs], [a for a, _ in loaded], [b for _, b in loaded])
    return sets


def mean_training_sketch(data: Path) -> np.ndarray:
    """Mean of the 88 CUHK student training sketches: (250, 200) uint8."""
    sketches = [load_pair(p)[1].astype(np.float64) for p in cufs_pairs(data, "cuhk_student", "train")]
    return np.clip(np.rint(np.mean(sketches, axis=0)), 0, 255).astype(np.uint8)


def pencil_sketch(photo: np.ndarray) -> np.ndarray:
    """OpenCV's ``pencilSketch`` (Gastal and Oliveira 2011 domain transform), default
    parameters (sigma_s 60, sigma_r 0.07, shade_factor 0.02): (H,W,3) RGB -> (H,W) uint8."""
    import cv2

    from portraitcli.io.image import rgb_to_bgr

    gray, _ = cv2.pencilSketch(rgb_to_bgr(photo))
    return gray


def baselines(data: Path) -> dict[str, Generator]:
    """The training-free baselines, each photo -> (H, W) uint8 sketch."""
    mean = mean_training_sketch(data)
    return {
        "mean training sketch": lambda photo: mean,
        "grayscale photo": to_gray,
        "OpenCV pencilSketch": pencil_sketch,
    }


def score(generate: Generator, test: TestSet) -> dict[str, Any]:
    """SSIM and PSNR of a generator over a test set.

    Returns:
        ``{"ssim": mean, "psnr": mean dB, "ssim_std", "psnr_std", "n", "per_image": {...}}``.
    """
    ssims, psnrs = [], []
    for photo, sketch in zip(test.photos, test.sketches):
        pred = generate(photo)
        if pred.shape != sketch.shape:
            raise ValueError(f"generator output {pred.shape} != reference {sketch.shape}")
        ssims.append(ssim(pred, sketch))
        psnrs.append(psnr(pred, sketch))
    return {
        "ssim": float(np.mean(ssims)),
        "psnr": float(np.mean(psnrs)),
        "ssim_std": float(np.std(ssims)),
        "psnr_std": float(np.std(psnrs)),
        "n": len(ssims),
        "per_image": {n: {"ssim": s, "psnr": p} for n, s, p in zip(test.names, ssims, psnrs)},
    }


def onnx_generator(path: Path, threads: int = 2) -> Generator:
    """A sketch generator from an ONNX file with the sketch model's contract."""
    from portraitcli.models.sketch import photo_to_tensor, tensor_to_sketch
    from portraitcli.runtime.session import create_session

    session = create_session(str(path), "cpu", threads)
    name = session.get_inputs()[0].name

    def generate(photo: np.ndarray) -> np.ndarray:
        (y,) = session.run(None, {name: photo_to_tensor(photo)[None]})
        return tensor_to_sketch(y[0], *photo.shape[:2])

    return generate


def settings() -> dict[str, Any]:
    """The measurement settings recorded with every result."""
    import cv2
    import onnxruntime
    import PIL
    import skimage

    return {
        "ssim": SSIM_SETTINGS,
        "color": "8-bit grayscale (Pillow convert('L') luma)",
        "size": "200x250, no resizing (CUFS crops; the model runs on the photo as given, --aligned)",
        "versions": {
            "scikit-image": skimage.__version__,
            "onnxruntime": onnxruntime.__version__,
            "opencv": cv2.__version__,
            "pillow": PIL.__version__,
            "python": platform.python_version(),
        },
    }
