"""Evaluation of a folder of predictions against a folder of references.

Pairs are matched by relative path and stem (``a/b.png`` pairs with ``a/b.jpg``); any
unmatched file is an error that lists them. Per-image metrics are computed on the pair as
read by :func:`portraitcli.io.read_image`, in the task's color space, without resizing
unless a resize policy is asked for. Used by ``portrait evaluate``.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from portraitcli.errors import BadInputError, UsageError
from portraitcli.io.discover import discover
from portraitcli.io.image import read_image
from portraitcli.metrics.pixel import SSIM_SETTINGS, psnr, ssim, to_gray

#: Color space of the per-image metrics by task (the papers': grayscale sketches and
#: drawings, RGB for the photo-like outputs).
TASK_COLOR = {"sketch": "gray", "draw": "gray", "destylize": "rgb", "style": "rgb", "cartoon": "rgb"}
PIXEL_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"ssim": ssim, "psnr": psnr}
RESIZE_POLICIES = ("none", "pred-to-ref")


@dataclass(frozen=True)
class PairedFiles:
    """Matched prediction / reference files, keyed by relative path without extension."""

    keys: list[str]
    preds: list[Path]
    refs: list[Path]


def _index(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise BadInputError(f"{folder}: not a folder")
    out: dict[str, Path] = {}
    for path, rel in discover([str(folder)], recursive=True):
        key = rel.with_suffix("").as_posix()
        if key in out:
            raise BadInputError(f"{folder}: {out[key].name} and {path.name} have the same stem; cannot pair them")
        out[key] = path
    return out


def pair_files(pred_dir: Path, ref_dir: Path) -> PairedFiles:
    """Match the images of two folders by relative path and stem.

    Raises:
        BadInputError: a folder is missing or empty, or some files have no partner (the
            message lists up to 10 of each side).
    """
    preds, refs = _index(pred_dir), _index(ref_dir)
    if not preds or not refs:
        raise BadInputError(f"no images in {pred_dir if not preds else ref_dir}")
    only_pred = sorted(set(preds) - set(refs))
    only_ref = sorted(set(refs) - set(preds))
    if only_pred or only_ref:
        parts = []
        if only_pred:
            parts.append(f"{len(only_pred)} predictions without reference: {', '.join(only_pred[:10])}")
        if only_ref:
            parts.append(f"{len(only_ref)} references without prediction: {', '.join(only_ref[:10])}")
        raise BadInputError("unmatched files: " + "; ".join(parts))
    keys = sorted(preds)
    return PairedFiles(keys, [preds[k] for k in keys], [refs[k] for k in keys])


def _prepare(path: Path, color: str) -> np.ndarray:
    rgb = read_image(path).rgb
    return to_gray(rgb) if color == "gray" else rgb


def _resize(img: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(img).resize((shape[1], shape[0]), Image.Resampling.BICUBIC))


def per_image(
    pairs: PairedFiles, metrics: list[str], color: str, resize: str = "none"
) -> Iterator[tuple[str, dict[str, float]]]:
    """Yield (key, {metric: value}) for each pair, streaming the images.

    Raises:
        BadInputError: sizes differ and ``resize`` is ``none``, or an image is unreadable.
        UsageError: unknown metric or resize policy.
    """
    unknown = [m for m in metrics if m not in PIXEL_METRICS]
    if unknown:
        raise UsageError(f"unknown metric(s) {', '.join(unknown)}; available: {', '.join(PIXEL_METRICS)}")
    if resize not in RESIZE_POLICIES:
        raise UsageError(f"--resize must be one of {', '.join(RESIZE_POLICIES)}")
    for key, p, r in zip(pairs.keys, pairs.preds, pairs.refs):
        pred, ref = _prepare(p, color), _prepare(r, color)
        if pred.shape != ref.shape:
            if resize == "none":
                raise BadInputError(
                    f"{key}: prediction is {pred.shape[1]}x{pred.shape[0]}, reference {ref.shape[1]}x{ref.shape[0]}; "
                    "sizes must match (or pass --resize pred-to-ref)"
                )
            pred = _resize(pred, ref.shape)
        yield key, {m: PIXEL_METRICS[m](pred, ref) for m in metrics}


def summarize(values: list[float]) -> dict[str, float]:
    """Mean, standard deviation (population), median, min, max and n of finite values.

    ``inf`` (identical images under PSNR) is counted in ``n_inf`` and left out of the
    statistics, as is usual for PSNR.
    """
    arr = np.asarray(values, np.float64)
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return {
            "mean": float("nan"),
            "std": float("nan"),
            "median": float("nan"),
            "n": int(arr.size),
            "n_inf": int(arr.size),
        }
    return {
        "mean": float(finite.mean()),
        "std": float(finite.std()),
        "median": float(np.median(finite)),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "n": int(arr.size),
        "n_inf": int(arr.size - finite.size),
    }


def settings(task: str, color: str, resize: str, n: int) -> dict[str, Any]:
    """The settings block of a report: library versions, SSIM window, color, resize, n."""
    import PIL
    import skimage

    return {
        "task": task,
        "color": "8-bit grayscale (Pillow convert('L') luma)" if color == "gray" else "8-bit RGB",
        "ssim": SSIM_SETTINGS,
        "psnr": {"implementation": "skimage.metrics.peak_signal_noise_ratio", "data_range": 255, "unit": "dB"},
        "resize": resize if resize != "pred-to-ref" else "prediction resized to the reference size, PIL bicubic",
        "n": n,
        "versions": {
            "scikit-image": skimage.__version__,
            "numpy": np.__version__,
            "pillow": PIL.__version__,
            "python": platform.python_version(),
        },
        "cwd": os.getcwd(),
    }
