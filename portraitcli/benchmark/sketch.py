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

import csv
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from portraitcli.benchmark.pictures import grid, label
from portraitcli.benchmark.recorded import carried_note, recorded_ablations
from portraitcli.benchmark.seeds import mean_sd, report_seed_means
from portraitcli.data.cufs import cufs_pairs, load_pair
from portraitcli.errors import BadInputError
from portraitcli.io.image import write_csv_atomic, write_text_atomic
from portraitcli.metrics.pixel import SSIM_SETTINGS, psnr, ssim, to_gray
from portraitcli.metrics.spectrum import NEIGHBOUR_BAND, nyquist_spike
from portraitcli.train.sketch.config import SketchConfig
from portraitcli.types import Template

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
        ``{"ssim": mean, "psnr": mean dB, "spike": mean Nyquist spike ratio of the outputs
        (:func:`~portraitcli.metrics.spectrum.nyquist_spike`), "ssim_std", "psnr_std", "n",
        "per_image": {...}}``.
    """
    ssims, psnrs, spikes = [], [], []
    for photo, sketch in zip(test.photos, test.sketches):
        pred = generate(photo)
        if pred.shape != sketch.shape:
            raise ValueError(f"generator output {pred.shape} != reference {sketch.shape}")
        ssims.append(ssim(pred, sketch))
        psnrs.append(psnr(pred, sketch))
        spikes.append(nyquist_spike(pred))
    return {
        "ssim": float(np.mean(ssims)),
        "psnr": float(np.mean(psnrs)),
        "spike": float(np.mean(spikes)),
        "ssim_std": float(np.std(ssims)),
        "psnr_std": float(np.std(psnrs)),
        "n": len(ssims),
        "per_image": {n: {"ssim": s, "psnr": p} for n, s, p in zip(test.names, ssims, psnrs)},
    }


def paired_difference(ours: np.ndarray, other: np.ndarray, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Mean of ``ours - other`` over paired per-image scores, with a bootstrap 95% interval.

    The images are resampled with replacement ``n_boot`` times (seeded); the interval is the
    2.5 and 97.5 percentiles of the resampled means (Efron and Tibshirani 1993, percentile
    method). An interval that contains 0 means the two methods are not told apart on this
    test set.

    Args:
        ours: (N,) per-image scores of our model.
        other: (N,) the other method's scores on the same images, same order.

    Returns:
        ``{"mean": float, "ci95": [lo, hi]}``.
    """
    d = np.asarray(ours, np.float64) - np.asarray(other, np.float64)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), (n_boot, len(d)))].mean(axis=1)
    return {"mean": float(d.mean()), "ci95": [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]}


def onnx_generator(path: Path, threads: int = 2, template: Template | None = None) -> Generator:
    """A sketch generator from an ONNX file with the sketch model's contract.

    ``template``: when given with an exposure, each photo is first matched to it, as
    ``portrait sketch`` does (:func:`~portraitcli.face.exposure.match_template_exposure`); by
    default the photo goes in as it is (the paper's protocol, which every table row uses).
    """
    from portraitcli.face.exposure import match_template_exposure
    from portraitcli.models.sketch import photo_to_tensor, tensor_to_sketch
    from portraitcli.runtime.session import create_session

    session = create_session(str(path), "cpu", threads)
    name = session.get_inputs()[0].name

    def generate(photo: np.ndarray) -> np.ndarray:
        photo = match_template_exposure(photo, template)
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


PAPER = {"LLE": 0.4624, "Pix2Pix": 0.4683, "CycleGAN": 0.5931, "ComboGAN": 0.4075, "Liao and Lin": 0.6205}


def cufs_grid(test: TestSet, ours: Generator, base: dict[str, Generator], path: Path) -> None:
    """Picture grid of 8 evenly spaced test faces: photo, ours, artist, grayscale photo, pencilSketch."""
    idx = np.linspace(0, len(test.photos) - 1, 8).round().astype(int)
    rows = []
    for i in idx:
        photo, sketch = test.photos[i], test.sketches[i]
        cells = [("photo", photo), ("ours", ours(photo)), ("artist", sketch)]
        cells += [(name, base[name](photo)) for name in ("grayscale photo", "OpenCV pencilSketch")]
        rows.append([label(Image.fromarray(a), f"{test.names[i]} {n}" if n == "photo" else n) for n, a in cells])
    path.parent.mkdir(parents=True, exist_ok=True)
    grid(rows).save(path, optimize=True)


#: FS2K test photos (evenly spaced over the split) whose sketches are checked for checkerboard.
N_FS2K_SPIKE = 40


def real_faces(data: Path, n_fs2k: int, astronaut: bool = False) -> list[tuple[str, np.ndarray]]:
    """Real photos from outside CUFS, detected and aligned to the shipped sketch model's template.

    Args:
        data: the datasets folder (holds ``fs2k/``).
        n_fs2k: how many FS2K test photos, evenly spaced over ``pairs.csv``'s test rows.
        astronaut: put scikit-image's astronaut first.

    Returns:
        ``[(name, crop)]``: crop (250, 200, 3) uint8 RGB in the CUFS framing; photos where no
        face is found are left out.
    """
    from skimage import data as skdata

    from portraitcli.face.align import align_face
    from portraitcli.face.detect import FaceDetector
    from portraitcli.io import read_image
    from portraitcli.runtime.weights import find_model

    template = find_model("sketch").template
    detector = FaceDetector()
    photos = [("astronaut", skdata.astronaut())] if astronaut else []
    with (data / "fs2k" / "pairs.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "test"]
    for r in rows[:: max(1, len(rows) // n_fs2k)][:n_fs2k]:
        photos.append((Path(r["photo"]).stem, read_image(data / "fs2k" / r["photo"]).rgb))
    faces = []
    for name, rgb in photos:
        found = detector.detect(rgb)
        if found:
            faces.append((name, align_face(rgb, found[0], template).crop))
    return faces


def real_photos_grid(
    data: Path, model_path: Path, path: Path, n_fs2k: int = 5, template: Template | None = None
) -> None:
    """Astronaut and FS2K test photos through detect -> align -> sketch.

    With a ``template`` that records an exposure, a second row shows the sketches of the
    crops as they are, beside ``portrait sketch``'s default (exposure matched).
    """
    faces = real_faces(data, n_fs2k, astronaut=True)
    rows = [[label(Image.fromarray(crop), name) for name, crop in faces]]
    if template is not None and template.exposure is not None:
        matched = onnx_generator(model_path, template=template)
        rows.append([label(Image.fromarray(matched(crop)), "ours (exposure matched)") for _, crop in faces])
    raw = onnx_generator(model_path)
    rows.append(
        [label(Image.fromarray(raw(crop)), "ours, photo as it is" if len(rows) > 1 else "ours") for _, crop in faces]
    )
    grid(rows).save(path, optimize=True)


def _fmt(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}"


def _exposure_note(model: str, report: Path) -> str:
    """One sentence on what exposure matching changes, from ``sketch_exposure.json`` if it is of ``model``."""
    import json

    if not report.is_file():
        return ""
    r = json.loads(report.read_text())
    if r.get("model") != model:
        return ""
    cuhk, ar = r["sets"]["cuhk"], r["sets"]["ar"]
    return (
        f" `portrait sketch` first matches the face's exposure to the training photos', which moves "
        f"{model}'s CUHK SSIM to {cuhk['matched']:.4f} and its AR SSIM to {ar['matched']:.4f} "
        "([sketch_exposure.md](sketch_exposure.md))."
    )


def write_markdown(result: dict, path: Path) -> None:
    """The tables of ``sketch.json`` for people: scores, paired differences, training configs."""
    m = result["metrics"]
    lines = [
        "# sketch: CUFS benchmark",
        "",
        f"Model `{result['model']}` (sha256 `{result['sha256'][:12]}...`), regenerated by "
        "`python benchmarks/sketch.py --data ../shared/datasets` "
        + ("with the ablation runs named in sketch.json" if result.get("ablation_runs") else "")
        + ". SSIM: scikit-image, Gaussian window sigma 1.5, population covariance, data_range 255, "
        "8-bit grayscale at 200x250; PSNR in dB. Every model row takes the CUFS photo as it is "
        "(the paper's protocol)." + _exposure_note(result["model"], path.parent / "sketch_exposure.json"),
        "",
        "| method | kind | CUHK SSIM (n=100) | ours - row, CUHK SSIM (95% CI) | CUHK PSNR | AR SSIM (n=23) | AR PSNR |",
        "|---|---|---:|---:|---:|---:|---:|",
        f"| **ours ({result['model']})** | model | **{_fmt(m['ssim'])}** | | {_fmt(m['psnr'], 2)} | "
        f"{_fmt(m['ssim_ar'])} | {_fmt(m['psnr_ar'], 2)} |",
    ]
    for name, b in result["baselines"].items():
        diff = result.get("ssim_diff_vs_ours", {}).get(name)
        cell = f"{diff['mean']:+.4f} [{diff['ci95'][0]:+.4f}, {diff['ci95'][1]:+.4f}]" if diff else ""
        lines.append(
            f"| {name} | {b.get('kind', 'baseline')} | {_fmt(b['ssim'])} | {cell} | {_fmt(b['psnr'], 2)} | "
            f"{_fmt(b['ssim_ar'])} | {_fmt(b['psnr_ar'], 2)} |"
        )
    keys = (
        "variant",
        "use_se",
        "upsample",
        "lambda_cycle",
        "lambda_sup",
        "lambda_ssim",
        "ssim_as_evaluated",
        "ema_decay",
        "epochs",
        "seed",
        "device",
    )
    runs = {f"ours ({result['model']})": result.get("model_config")} | {
        name: r["config"] for name, r in result.get("ablation_runs", {}).items()
    }
    lines += [
        "",
        "Training configurations (same data, network size, batch, and learning-rate milestones as fractions "
        "of the epochs):",
        "",
    ]
    lines += ["| method | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for name, cfg in runs.items():
        if cfg:
            g_alone = cfg.get("variant") == "pix2pix-l1"
            cells = [
                "n/a"
                if g_alone and k in ("lambda_cycle", "lambda_sup")
                else str(cfg.get(k, SketchConfig.SAVED_DEFAULTS.get(k, "")))
                for k in keys
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    better = [n for n, b in result["baselines"].items() if b["ssim"] >= m["ssim"]]
    tied = [n for n, d in result.get("ssim_diff_vs_ours", {}).items() if d["ci95"][0] <= 0 <= d["ci95"][1]]
    lines += [
        "",
        "Rows with a CUHK SSIM at least ours: " + (", ".join(better) if better else "none") + ".",
        "Rows not told apart from ours (the paired bootstrap 95% interval of the difference contains 0; it "
        "resamples the test images only, so it does not cover the spread between training seeds): "
        + (", ".join(tied) if tied else "none")
        + ".",
    ]
    lines += _checkerboard_table(result)
    lines += _seed_mean_table(result)
    lines += carried_note(result)
    lines += [
        "",
        "The paper's CUHK SSIM (its own table; not re-measured here): "
        + ", ".join(f"{k} {v}" for k, v in PAPER.items())
        + ".",
        "",
        "![CUFS test faces: photo, ours, artist, grayscale photo, OpenCV pencilSketch](../images/sketch_cufs_grid.png)",
        "",
        "Real photos from outside CUFS (scikit-image's astronaut, FS2K test photos), detected and aligned to the "
        "CUFS framing:",
        "",
        "![real photos](../images/sketch_real.png)",
        "",
    ]
    write_text_atomic(path, "\n".join(lines))


def _checkerboard_table(result: dict) -> list[str]:
    """The Nyquist spike of every row that was measured for it (rows scored before it was: none)."""
    board = result.get("checkerboard")
    if not board:
        return []
    m = result["metrics"]
    rows = [(f"**ours ({result['model']})**", m)] + [
        (name, b) for name, b in result["baselines"].items() if "spike_fs2k" in b
    ]
    lines = [
        "",
        "Checkerboard: the Nyquist spike of the output, the mean DFT magnitude on the Nyquist row and column "
        f"over that on the rows and columns {board['neighbour_band_bins'][0]} to "
        f"{board['neighbour_band_bins'][1]} bins away (`portraitcli.metrics.spectrum.nyquist_spike`; 1.0: no "
        f"period-2 pattern; the artists' CUHK test sketches: {_fmt(board['artist_cuhk'], 2)}). FS2K: "
        f"{board['spike_fs2k']}.",
        "",
        "| method | CUHK test photos | FS2K test photos |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {_fmt(r['spike_cuhk'], 2)} | {_fmt(r['spike_fs2k'], 2)} |" for name, r in rows]
    return lines


def seed_means(result: dict) -> list[dict[str, Any]]:
    """The mean and spread over training seeds of each recipe scored with two or more seeds
    (:func:`portraitcli.benchmark.seeds.report_seed_means`), named by the fields that differ
    from today's ``SketchConfig`` defaults (the shipped recipe)."""

    def describe(recipe: dict[str, Any], changed: dict[str, Any]) -> str:
        return "our recipe" + "".join(f", {k} {v}" for k, v in changed.items())

    return report_seed_means(result, SketchConfig, describe)


def _seed_mean_table(result: dict) -> list[str]:
    """Markdown lines: the seed means, and the recipes whose mean CUHK SSIM reaches ours."""
    groups = result.get("seed_means") or []
    if not groups:
        return []
    ours = next((g for g in groups if g["name"] == "our recipe"), None)
    lines = [
        "",
        "Means over training seeds (mean ± sample standard deviation over the seeds; a recipe scored with one "
        "seed has no row here):",
        "",
        "| recipe | seeds | CUHK SSIM | CUHK PSNR | AR SSIM | AR PSNR |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for g in groups:
        cells = [
            mean_sd(g, "ssim", digits=4),
            mean_sd(g, "psnr"),
            mean_sd(g, "ssim_ar", digits=4),
            mean_sd(g, "psnr_ar"),
        ]
        lines.append(f"| {g['name']} | {', '.join(map(str, g['seeds']))} | " + " | ".join(cells) + " |")
    if ours is not None:
        reach = [g["name"] for g in groups if g is not ours and g["mean"]["ssim"] >= ours["mean"]["ssim"]]
        lines += ["", "Recipes whose mean CUHK SSIM is at least our recipe's: " + (", ".join(reach) or "none") + "."]
    return lines


def record_metrics(
    name: str,
    metrics: dict[str, float],
    split: str = "CUFS test: CUHK student 100 pairs (ssim, psnr, spike_cuhk), AR 23 pairs (ssim_ar, psnr_ar); "
    "spike_fs2k: FS2K test photos aligned to the CUFS framing (the Nyquist spike of the outputs, 1.0: none)",
    measured_by: str = "portrait benchmark sketch",
) -> None:
    """Write the measured test metrics into the model's manifest entry (source checkouts only)."""
    import json

    from portraitcli.runtime.weights import MANIFEST, weights_dir

    path = weights_dir() / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["models"][name]["metrics"] = {
        **{k: float(f"{v:.5g}") for k, v in metrics.items()},  # 5 significant digits: SIDE is about 0.007
        "split": split,
        "measured_by": measured_by,
    }
    try:
        write_text_atomic(path, json.dumps(manifest, indent=2) + "\n")
    except (OSError, BadInputError):  # an installed, read-only package: the docs/ report still has the numbers
        pass


def run(
    data: Path,
    model_path: Path | None = None,
    ablations: dict[str, Path] | None = None,
    out_dir: Path = Path("docs/benchmarks"),
    images_dir: Path | None = Path("docs/images"),
    keep_ablations: bool = False,
) -> dict:
    """Score the shipped (or given) model, the baselines and the ablation runs; write the report.

    Args:
        data: the datasets folder (holds ``cufs/`` and ``fs2k/``).
        model_path: an ONNX file; None = the shipped sketch model (sha256-checked).
        ablations: {name: run folder holding ``model.onnx`` and ``config.json``}.
        out_dir: where ``sketch.json``, ``sketch.md`` and ``sketch_per_image.csv`` go.
        images_dir: where the picture grids go; None skips them.
        keep_ablations: also carry the ablation rows recorded in ``out_dir``'s earlier report
            that ``ablations`` does not re-score (see :mod:`portraitcli.benchmark.recorded`).

    Returns:
        The result dict written to ``sketch.json``.

    Raises:
        UsageError: ``keep_ablations`` and the earlier report used another protocol.
    """
    import json

    from portraitcli.runtime.weights import find_model, sha256_of, verify

    shipped = model_path is None
    if model_path is None:
        spec = find_model("sketch")
        model_path, model_name = verify(spec), spec.name
    else:
        model_name = model_path.name
    tests = load_test_sets(data)
    ours = onnx_generator(model_path)
    per_image: dict[str, dict] = {}

    fs2k = [crop for _, crop in real_faces(data, N_FS2K_SPIKE)]

    def both(generate: Generator, label: str) -> dict:
        cuhk, ar = score(generate, tests["cuhk"]), score(generate, tests["ar"])
        per_image[label] = {**cuhk["per_image"], **ar["per_image"]}
        return {
            "ssim": cuhk["ssim"],
            "psnr": cuhk["psnr"],
            "ssim_ar": ar["ssim"],
            "psnr_ar": ar["psnr"],
            "spike_cuhk": cuhk["spike"],
            "spike_fs2k": float(np.mean([nyquist_spike(generate(crop)) for crop in fs2k])),
            "ssim_std": cuhk["ssim_std"],
            "psnr_std": cuhk["psnr_std"],
            "ssim_ar_std": ar["ssim_std"],
            "psnr_ar_std": ar["psnr_std"],
        }

    result: dict = {
        "task": "sketch",
        "model": model_name,
        "sha256": sha256_of(model_path),
        "dataset": "CUFS (CUHK student test: 100 pairs; AR test: 23 pairs)",
        "split": "test",
        "n": len(tests["cuhk"].photos),
        "n_ar": len(tests["ar"].photos),
    }
    metrics = both(ours, "ours")
    result["metrics"] = {k: metrics[k] for k in ("ssim", "psnr", "ssim_ar", "psnr_ar", "spike_cuhk", "spike_fs2k")}
    result["checkerboard"] = {  # the Nyquist spike of the outputs; its settings apart from the SSIM protocol's
        "measure": "portraitcli.metrics.spectrum.nyquist_spike on the 8-bit 200x250 output (1.0: no spike)",
        "neighbour_band_bins": list(NEIGHBOUR_BAND),
        "spike_cuhk": "the 100 CUHK test photos",
        "spike_fs2k": f"{len(fs2k)} of {N_FS2K_SPIKE} FS2K test photos (evenly spaced; the others had no face), "
        "detected and aligned to the CUFS framing",
        "artist_cuhk": float(np.mean([nyquist_spike(s) for s in tests["cuhk"].sketches])),
    }
    result["spread"] = {k: metrics[k] for k in metrics if k.endswith("_std")}
    base = baselines(data)
    result["baselines"] = {name: {**both(g, name), "kind": "baseline"} for name, g in base.items()}
    runs = {}
    protocol = settings()
    if keep_ablations:
        kept = recorded_ablations(
            out_dir / "sketch.json", out_dir / "sketch_per_image.csv", protocol, skip=ablations or {}
        )
        result["baselines"] |= kept.rows
        runs |= kept.runs
        per_image |= kept.per_image
    for name, run_dir in (ablations or {}).items():
        cfg = json.loads((run_dir / "config.json").read_text())
        result["baselines"][name] = {**both(onnx_generator(run_dir / "model.onnx"), name), "kind": "ablation"}
        runs[name] = {"run": run_dir.name, "config": cfg["config"], "sha256": sha256_of(run_dir / "model.onnx")}
    if runs:
        result["ablation_runs"] = runs
    cuhk_names = tests["cuhk"].names
    ours_ssim = np.array([per_image["ours"][n]["ssim"] for n in cuhk_names])
    result["ssim_diff_vs_ours"] = {  # paired bootstrap over the CUHK test images (a sibling of "baselines")
        name: paired_difference(ours_ssim, np.array([per_image[name][n]["ssim"] for n in cuhk_names]))
        for name in result["baselines"]
    }
    if shipped:
        result["model_config"] = spec.entry.get("training", {}).get("config")
    result["seed_means"] = seed_means(result)
    result["paper_ssim_cuhk"] = PAPER
    result["settings"] = protocol

    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "sketch.json", json.dumps(result, indent=2) + "\n")
    write_csv_atomic(
        out_dir / "sketch_per_image.csv",
        ["method", "image", "ssim", "psnr"],
        (
            [label, img, f"{v['ssim']:.6f}", f"{v['psnr']:.4f}"]
            for label, values in per_image.items()
            for img, v in values.items()
        ),
    )
    write_markdown(result, out_dir / "sketch.md")
    if shipped:
        record_metrics(model_name, result["metrics"])
    if images_dir is not None:
        images_dir.mkdir(parents=True, exist_ok=True)
        cufs_grid(tests["cuhk"], ours, base, images_dir / "sketch_cufs_grid.png")
        real_photos_grid(data, model_path, images_dir / "sketch_real.png", template=spec.template if shipped else None)
    return result
