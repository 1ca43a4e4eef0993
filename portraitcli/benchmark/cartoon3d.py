"""``portrait benchmark cartoon3d``: the 3-D reconstruction on synthetic faces with true depth.

Protocol (Unsup3d, Wu et al., CVPR 2020, section 4.1, on ``synth_depth/test.npz``): each
128 px render is reduced to the model's 64 px input; the predicted depth *in the input's
view* (the canonical depth moved by the predicted viewpoint) is compared with the true
depth, reduced to 64 px over 2x2 blocks that lie wholly on the face, on the true face mask
eroded by one pixel: the scale-invariant depth error (SIDE) and the mean angle deviation of
the normals (MAD, degrees), averaged over the faces.

Baselines, scored the same way: a flat depth (a plane facing the camera), and the crude
ellipsoid prior that GAN2Shape-style methods start from (a half-ellipsoid fitted to the
mean face, the same for every face).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from portraitcli.data import dataset_dir
from portraitcli.errors import UsageError
from portraitcli.io.image import write_text_atomic
from portraitcli.metrics.depth import erode_mask, mad, side
from portraitcli.models.recon3d import SIZE, inverse_warp

#: image (S, S, 3) uint8 RGB -> depth (S, S) float in the image's view, > 0.
DepthFn = Callable[[np.ndarray], np.ndarray]

#: Unsup3d's and the 3-D cartoon paper's numbers on their synthetic BFM faces (SIDE x 1e-2, MAD degrees).
PAPER_BFM = {"Unsup3d": {"side": 0.793e-2, "mad": 16.51}, "Wang et al.": {"side": 0.802e-2, "mad": 15.41}}


def load_synth(data: Path) -> dict[str, np.ndarray]:
    """``synth_depth/test.npz``: image (N, 128, 128, 3) uint8, depth (N, 128, 128) float32, mask (N, 128, 128) bool.

    Raises:
        UsageError: the file is missing.
    """
    path = dataset_dir(data, "synth_depth") / "test.npz"
    if not path.is_file():
        raise UsageError(f"{path} is missing (see the datasets README)")
    with np.load(path) as z:
        return {k: z[k] for k in ("image", "depth", "mask", "pose")}


def reduce_depth(depth: np.ndarray, mask: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Average (H, W) depth over ``factor`` x ``factor`` blocks; a block is valid when all its pixels are."""
    h, w = depth.shape
    d = depth.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    m = mask.reshape(h // factor, factor, w // factor, factor).all(axis=(1, 3))
    return d, m


def reduce_image(image: np.ndarray, size: int = SIZE) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8 by area averaging."""
    import cv2

    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def flat_depth(image: np.ndarray) -> np.ndarray:
    """Baseline: a plane facing the camera at depth 1."""
    return np.ones(image.shape[:2], np.float64)


#: The half-ellipsoid fitted by least squares to the Surrey Face Model's mean face in the
#: synthetic protocol's framing (semi-axes and centre in units of the crop side, bulge in
#: camera units); ``tests/benchmark`` refits it from ``sfm/``.
ELLIPSOID = {"semi_axes": (0.337, 0.429), "center": (0.0, -0.051), "bulge": 0.046}


def ellipsoid_depth(
    image: np.ndarray,
    semi_axes: tuple[float, float] = ELLIPSOID["semi_axes"],  # type: ignore[assignment]
    center: tuple[float, float] = ELLIPSOID["center"],  # type: ignore[assignment]
    bulge: float = ELLIPSOID["bulge"],  # type: ignore[assignment]
) -> np.ndarray:
    """Baseline: a half-ellipsoid bulging towards the camera, the same for every face.

    ``z = 1 - bulge * sqrt(1 - (x / a)^2 - (y / b)^2)`` inside the ellipse, 1 outside, with
    x, y measured from ``center`` (offset from the crop centre, y down) in units of the crop
    side. The defaults (:data:`ELLIPSOID`) fit the mean face, not the test set.
    """
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    x = ((xs - (w - 1) / 2) / w - center[0]) / semi_axes[0]
    y = ((ys - (h - 1) / 2) / h - center[1]) / semi_axes[1]
    return 1.0 - bulge * np.sqrt(np.clip(1.0 - x**2 - y**2, 0.0, None))


def fit_ellipsoid(vertices: np.ndarray, crop_extent: float) -> dict[str, Any]:
    """Fit :data:`ELLIPSOID` to face vertices (V, 3) (x right, y up, z towards the camera, camera units).

    The semi-axes and centre come from the vertices' x-y bounding box; the bulge ``h`` is the
    least-squares fit of ``z = z0 + h * sqrt(1 - (x/a)^2 - (y/b)^2)``.

    Args:
        crop_extent: the crop's side in camera units at the face's distance.
    """
    lo, hi = vertices.min(0), vertices.max(0)
    c, half = (lo + hi) / 2, (hi - lo) / 2
    s = np.sqrt(
        np.clip(1 - ((vertices[:, 0] - c[0]) / half[0]) ** 2 - ((vertices[:, 1] - c[1]) / half[1]) ** 2, 0, None)
    )
    (_, h), *_ = np.linalg.lstsq(np.stack([np.ones_like(s), s], 1), vertices[:, 2], rcond=None)
    return {
        "semi_axes": (half[0] / crop_extent, half[1] / crop_extent),
        "center": (c[0] / crop_extent, -c[1] / crop_extent),
        "bulge": float(h),
    }


def baselines() -> dict[str, DepthFn]:
    """The classical baselines of the table."""
    return {"flat depth": flat_depth, "ellipsoid prior": ellipsoid_depth}


def onnx_depth(path: Path, threads: int = 2) -> DepthFn:
    """The view depth predicted by an exported reconstruction model (its depth moved by its viewpoint)."""
    from portraitcli.models.recon3d import Recon3dModel
    from portraitcli.runtime.session import create_session

    model = Recon3dModel(None, create_session(str(path), "cpu", threads))  # type: ignore[arg-type]

    def predict(image: np.ndarray) -> np.ndarray:
        recon = model.run(image)
        _, view_depth, _ = inverse_warp(recon.depth, recon.view)
        return view_depth

    return predict


def score(predict: DepthFn, synth: dict[str, np.ndarray], size: int = SIZE) -> dict[str, Any]:
    """Mean SIDE and MAD of ``predict`` over the synthetic faces (module docstring).

    Returns:
        ``{"side", "mad", "side_std", "mad_std", "per_image": {"side": [...], "mad": [...]}}``.
    """
    factor = synth["image"].shape[1] // size
    sides, mads = [], []
    for image, depth, mask in zip(synth["image"], synth["depth"], synth["mask"]):
        gt, m = reduce_depth(depth, mask, factor)
        m = erode_mask(m)
        pred = predict(reduce_image(image, size))
        sides.append(side(pred, gt, m))
        mads.append(mad(pred, gt, m))
    return {
        "side": float(np.mean(sides)),
        "mad": float(np.mean(mads)),
        "side_std": float(np.std(sides)),
        "mad_std": float(np.std(mads)),
        "per_image": {"side": sides, "mad": mads},
    }


def settings(synth: dict[str, np.ndarray], size: int = SIZE) -> dict[str, Any]:
    """The protocol, recorded beside the numbers."""
    return {
        "dataset": "synth_depth/test.npz (Surrey Face Model renders, 10 degree camera, seed 0)",
        "n": int(len(synth["image"])),
        "resolution": f"{size} px (renders area-reduced from {synth['image'].shape[1]}; true depth averaged "
        "over 2x2 blocks wholly on the face)",
        "mask": "true face mask, eroded by one pixel (3x3)",
        "side": "Unsup3d's scale-invariant depth error (plain value; papers print it x 1e-2)",
        "mad": "mean angle deviation of normals from depth (degrees), 10 degree field of view",
    }


def _fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def write_markdown(result: dict, path: Path) -> None:
    """The cartoon3d table (docs/benchmarks/cartoon3d.md)."""
    lines = [
        "# cartoon3d benchmark",
        "",
        f"Regenerate with `{result['command']}`.",
        "",
        f"## 3-D reconstruction: synthetic faces with true depth (n = {result['settings']['n']})",
        "",
        "| method | SIDE (x 1e-2) | MAD (degrees) |",
        "|---|---:|---:|",
    ]
    rows = [("**" + result["model"] + "**", result["metrics"])] if result.get("model") else []
    rows += list(result["baselines"].items())
    for name, m in rows:
        if "side" in m:
            lines.append(f"| {name} | {_fmt(m['side'] * 100, 3)} | {_fmt(m['mad'], 2)} |")
    lines += ["", "Papers (their synthetic BFM faces, not this set):", ""]
    for name, m in result["paper_bfm"].items():
        lines.append(f"- {name}: SIDE {m['side'] * 100:.3f} x 1e-2, MAD {m['mad']:.2f} degrees")
    lines += ["", "Protocol: " + "; ".join(f"{k}: {v}" for k, v in result["settings"].items()), ""]
    write_text_atomic(path, "\n".join(lines))


def run(data: Path, model_path: Path | None = None, out_dir: Path = Path("docs/benchmarks")) -> dict:
    """Score the shipped (or given) reconstruction model and the baselines; write cartoon3d.json / .md.

    Args:
        data: the datasets folder (holds ``synth_depth/``).
        model_path: an exported ``model.onnx``; None = the shipped recon3d model.
        out_dir: where ``cartoon3d.json`` and ``cartoon3d.md`` go.

    Raises:
        UsageError: the test set is missing; WeightsError: no shipped recon3d model.
    """
    from portraitcli.benchmark.sketch import record_metrics
    from portraitcli.runtime.weights import find_model, sha256_of, verify

    shipped = model_path is None
    if model_path is None:
        spec = find_model("recon3d")
        model_path, model_name = verify(spec), spec.name
    else:
        model_name = model_path.name
    synth = load_synth(data)
    ours = score(onnx_depth(model_path), synth)
    result: dict[str, Any] = {
        "task": "cartoon3d",
        "command": "portrait benchmark cartoon3d" + ("" if shipped else f" --model {model_path}"),
        "model": model_name,
        "sha256": sha256_of(model_path),
        "metrics": {"side": ours["side"], "mad": ours["mad"]},
        "spread": {"side_std": ours["side_std"], "mad_std": ours["mad_std"]},
        "baselines": {},
        "paper_bfm": PAPER_BFM,
        "settings": settings(synth),
    }
    for name, fn in baselines().items():
        r = score(fn, synth)
        result["baselines"][name] = {"side": r["side"], "mad": r["mad"], "kind": "baseline"}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "cartoon3d.json", json.dumps(result, indent=2) + "\n")
    write_markdown(result, out_dir / "cartoon3d.md")
    if shipped:
        record_metrics(
            model_name, result["metrics"], "synth_depth/test.npz (300 faces)", "portrait benchmark cartoon3d"
        )
    return result
