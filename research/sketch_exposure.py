"""Does exposure matching help the sketch model on faces unlike its training photos?

The shipped sketch model is scored twice on every test photo: on the aligned crop as it is
(``raw``) and after :func:`~portraitcli.face.exposure.match_exposure` to the CUFS training
photos' face-region luma (``matched``). Test sets:

- CUHK student test (100) and AR test (23): SSIM against the CUFS artists' sketches, as the
  sketch benchmark measures it (the photos as CUFS frames them).
- FS2K test: every photo in which the detector finds a face, aligned to the sketch template
  like a user's photo, scored by SSIM against its own FS2K drawing warped by the same
  transform. The FS2K artists draw in other styles than the CUFS artists, so the absolute
  SSIM is low; the paired difference between ``raw`` and ``matched`` is what is read. The
  darkest quarter by the raw crop's face-region luma is reported on its own, and the
  Nyquist spike (:func:`~portraitcli.metrics.spectrum.nyquist_spike`) of the outputs.

Differences come with the paired bootstrap interval of the sketch benchmark.

``split="validation"`` scores photos no sketch model trained on and no test split holds, for
decisions taken before a test split is looked at: the 100 AR *training* pairs (the sketch
trainer logs SSIM on the first 20 of them but selects nothing on them; no recipe trains on
AR) and every third FS2K *training* photo, aligned and scored as the test photos are. The
CUHK training photos are what the models learned from, so that split has no CUHK set.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from portraitcli.data.cufs import cufs_pairs, load_pair
from portraitcli.data.fs2k import fs2k_pairs
from portraitcli.evaluation.sketch import onnx_generator
from portraitcli.evaluation.stats import paired_difference
from portraitcli.face.align import align_face, warp_affine
from portraitcli.face.detect import FaceDetector
from portraitcli.face.exposure import face_region, luma_stats, reference_exposure
from portraitcli.io import read_image
from portraitcli.io.image import write_text_atomic
from portraitcli.metrics.pixel import ssim, to_gray
from portraitcli.metrics.spectrum import nyquist_spike
from portraitcli.types import Exposure, Template

#: The rule set in docs/experiments/log.md before the test splits were scored with matching.
RULE = {
    "cuhk_min_change": -0.002,
    "ar_min_change": 0.0,
    "fs2k_min_change": 0.0,
    "fs2k_dark_min_change": 0.0,
    "fs2k_max_spike": 1.2,
}


#: The splits :func:`run` scores: per split, ``(CUFS subset, CUFS split)`` per CUFS set and the
#: FS2K split with the step through its photos.
SPLITS: dict[str, dict[str, Any]] = {
    "test": {"cufs": {"cuhk": ("cuhk_student", "test"), "ar": ("ar", "test")}, "fs2k": ("test", 1)},
    "validation": {"cufs": {"ar": ("ar", "train")}, "fs2k": ("train", 3)},
}


def fs2k_faces(
    data: Path, template: Template, split: str = "test", step: int = 1
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """FS2K photos of ``split`` aligned to ``template``, each with its drawing warped the same way.

    Args:
        split: ``"train"`` or ``"test"`` (FS2K's own split).
        step: take every ``step``-th photo of the split, in ``pairs.csv`` order.

    Returns:
        ``[(name, crop, drawing)]``: crop (H, W, 3) uint8 RGB, drawing (H, W) uint8 gray,
        H x W the template's size; photos without a detected face are left out.
    """
    detector = FaceDetector()
    faces = []
    for pair in fs2k_pairs(data, split)[::step]:
        rgb = read_image(pair.photo).rgb
        found = detector.detect(rgb)
        if not found:
            continue
        aligned = align_face(rgb, found[0], template)
        drawing = read_image(pair.drawing).rgb  # warped in colour, then to gray, as the grid's crops
        faces.append((pair.photo.stem, aligned.crop, to_gray(warp_affine(drawing, aligned.M, template.size))))
    return faces


def _scores(
    generate: Callable[[np.ndarray], np.ndarray], photos: list[np.ndarray], refs: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    outs = [generate(p) for p in photos]
    return np.array([ssim(o, r) for o, r in zip(outs, refs)]), np.array([nyquist_spike(o) for o in outs])


def _score_model(
    model_path: Path,
    template: Template,
    inputs: dict[str, tuple[list[np.ndarray], list[np.ndarray]]],
    dark: np.ndarray,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One model raw and matched on every set: (the sets' summaries, per-image matched SSIM)."""
    generate = onnx_generator(model_path)
    matched = onnx_generator(model_path, template=template)
    sets: dict[str, Any] = {}
    per_image: dict[str, np.ndarray] = {}
    for key, (photos, refs) in inputs.items():
        raw, spike_raw = _scores(generate, photos, refs)
        mat, spike_mat = _scores(matched, photos, refs)
        subsets = {key: np.ones(len(raw), bool)}
        if key == "fs2k":
            subsets["fs2k_dark"] = dark
        for name, keep in subsets.items():
            per_image[name] = mat[keep]
            sets[name] = {
                "n": int(keep.sum()),
                "raw": float(raw[keep].mean()),
                "matched": float(mat[keep].mean()),
                "diff": paired_difference(mat[keep], raw[keep]),
                "spike_raw": float(spike_raw[keep].mean()),
                "spike_matched": float(spike_mat[keep].mean()),
            }
    return sets, per_image


def run(
    data: Path,
    model_path: Path,
    template: Template,
    reference: Exposure | None = None,
    others: dict[str, Path] | None = None,
    split: str = "test",
) -> dict[str, Any]:
    """Score ``raw`` and ``matched`` on CUHK, AR and FS2K test; see the module docstring.

    Args:
        data: the datasets folder (``cufs/``, ``fs2k/``).
        model_path: the sketch model's ONNX file.
        template: its crop template (200x250 CUFS framing).
        reference: the exposure to match; by default measured on the 88 CUHK training photos.
        others: more sketch models ``{name: model.onnx}`` (run folders, same framing), scored
            the same way and compared with ``model_path`` on the matched SSIM.
        split: ``"test"`` (CUHK, AR and FS2K test) or ``"validation"`` (AR and FS2K training
            photos; see the module docstring).

    Returns:
        The result dict written by :func:`write`: ``split``, ``reference``, per set ``{"raw",
        "matched", "diff": {"mean", "ci95"}, "n", "spike_raw", "spike_matched"}``, ``rule``
        with each condition and whether it holds (test split only), and ``others``: per model
        its ``sets`` and ``vs_model``, per set the paired difference of its matched SSIM less
        the model's.

    Raises:
        ValueError: ``split`` is not one of :data:`SPLITS`.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, not {split!r}")
    if reference is None:
        train = [load_pair(p)[0] for p in cufs_pairs(data, "cuhk_student", "train")]
        reference = reference_exposure(train, template.kps)
    target = Template(template.size, template.kps, reference)
    inputs: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for key, (subset, cufs_split) in SPLITS[split]["cufs"].items():
        loaded = [load_pair(p) for p in cufs_pairs(data, subset, cufs_split)]
        inputs[key] = ([photo for photo, _ in loaded], [sketch for _, sketch in loaded])
    fs2k = fs2k_faces(data, template, *SPLITS[split]["fs2k"])
    inputs["fs2k"] = ([c for _, c, _ in fs2k], [d for _, _, d in fs2k])
    luma = np.array([luma_stats(crop, face_region(template.kps))[0] for _, crop, _ in fs2k])
    dark_below = float(np.quantile(luma, 0.25))
    ours, ours_per_image = _score_model(model_path, target, inputs, luma < dark_below)
    result: dict[str, Any] = {
        "split": split,
        "reference": {"mean": reference.mean, "std": reference.std},
        "sets": ours,
        "fs2k_dark_below": dark_below,
        "fs2k_names": [n for n, _, _ in fs2k],
        "others": {},
    }
    if split == "test":
        result["rule"] = _rule(ours)
    for name, path in (others or {}).items():
        their, per_image = _score_model(path, target, inputs, luma < dark_below)
        result["others"][name] = {
            "sets": their,
            "vs_model": {k: paired_difference(per_image[k], ours_per_image[k]) for k in their},
        }
    return result


def _rule(ours: dict[str, Any]) -> dict[str, bool]:
    """The conditions of :data:`RULE` on the test split's sets, and ``met``: all of them."""
    rule = {
        "cuhk": ours["cuhk"]["diff"]["mean"] >= RULE["cuhk_min_change"],
        "ar": ours["ar"]["diff"]["mean"] >= RULE["ar_min_change"],
        "fs2k": ours["fs2k"]["diff"]["mean"] > RULE["fs2k_min_change"],
        "fs2k_dark": ours["fs2k_dark"]["diff"]["mean"] > RULE["fs2k_dark_min_change"],
        "fs2k_spike": ours["fs2k"]["spike_matched"] <= RULE["fs2k_max_spike"],
    }
    rule["met"] = all(rule.values())
    return rule


LABELS = {
    "test": {
        "cuhk": "CUHK student test (CUFS artists)",
        "ar": "AR test (CUFS artists)",
        "fs2k": "FS2K test, all faces (FS2K drawings)",
        "fs2k_dark": "FS2K test, darkest quarter (FS2K drawings)",
    },
    "validation": {
        "ar": "AR training pairs (CUFS artists)",
        "fs2k": "FS2K training photos, every third, all faces (FS2K drawings)",
        "fs2k_dark": "FS2K training photos, every third, darkest quarter (FS2K drawings)",
    },
}


def report_stem(split: str) -> str:
    """The file name, without suffix, :func:`write` gives the report of ``split``."""
    return "sketch_exposure" if split == "test" else f"sketch_exposure_{split}"


def write(result: dict[str, Any], model: str, out: Path) -> None:
    """Write ``out/<stem>.json`` and ``out/<stem>.md``, the stem from :func:`report_stem`."""
    out.mkdir(parents=True, exist_ok=True)
    split = result.get("split", "test")
    labels = LABELS[split]
    stem = report_stem(split)
    result = {"model": model, **result}
    write_text_atomic(out / f"{stem}.json", json.dumps(result, indent=2) + "\n")
    ref = result["reference"]
    command = "python research/sketch_exposure.py --data ../shared/datasets" + (
        f" --split {split}" if split != "test" else ""
    )
    title = "# sketch: exposure matching" + (f" ({split} photos: no test split)" if split != "test" else "")
    lines = [
        title,
        "",
        f"Model `{model}`, regenerated by `{command}`. "
        f"Each photo is sketched as it is (raw) and after its face region's luma is matched to the "
        f"CUFS CUHK training photos' (mean {ref['mean']:.1f}, std {ref['std']:.1f}; `portraitcli/face/exposure.py`). "
        "SSIM as in the sketch benchmark (Wang et al. setting, 8-bit gray, 200x250). FS2K photos are "
        "detected and aligned like a user's photo and scored against their own FS2K drawing warped the "
        "same way: another drawing style than CUFS, so read the difference, not the level. "
        f"Darkest quarter: face-region luma below {result['fs2k_dark_below']:.1f}.",
        "",
        "| set | n | SSIM raw | SSIM matched | matched - raw (95% CI) | Nyquist spike raw / matched |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, s in result["sets"].items():
        lo, hi = s["diff"]["ci95"]
        lines.append(
            f"| {labels[key]} | {s['n']} | {s['raw']:.4f} | {s['matched']:.4f} | "
            f"{s['diff']['mean']:+.4f} [{lo:+.4f}, {hi:+.4f}] | {s['spike_raw']:.2f} / {s['spike_matched']:.2f} |"
        )
    if result.get("others"):
        lines += [
            "",
            f"Other models, exposure matched, against {model} matched (paired 95% CI of the row less {model}):",
            "",
            "| model | " + " | ".join(labels[k] for k in result["sets"]) + " |",
            "|---|" + "---:|" * len(result["sets"]),
        ]
        for name, o in result["others"].items():
            cells = []
            for k in result["sets"]:
                d = o["vs_model"][k]
                cells.append(
                    f"{o['sets'][k]['matched']:.4f} ({d['mean']:+.4f} [{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}])"
                )
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append(
            "Nyquist spike on FS2K, matched: "
            + ", ".join(f"{n} {o['sets']['fs2k']['spike_matched']:.2f}" for n, o in result["others"].items())
            + "."
        )
    if "rule" in result:
        rule = result["rule"]
        lines += [
            "",
            "Rule set in docs/experiments/log.md before these splits were scored with matching (matching becomes the "
            f"default if all hold): CUHK change >= {RULE['cuhk_min_change']} ({_ok(rule['cuhk'])}), AR change "
            f">= 0 ({_ok(rule['ar'])}), FS2K change > 0 ({_ok(rule['fs2k'])}), darkest quarter change > 0 "
            f"({_ok(rule['fs2k_dark'])}), FS2K spike matched <= {RULE['fs2k_max_spike']} "
            f"({_ok(rule['fs2k_spike'])}): **{'met' if rule['met'] else 'not met'}**.",
        ]
    lines.append("")
    write_text_atomic(out / f"{stem}.md", "\n".join(lines))


def _ok(flag: bool) -> str:
    return "holds" if flag else "fails"


def main(argv: list[str] | None = None) -> int:
    """``python research/sketch_exposure.py [--data DIR] [--split test|validation] [--model NAME=ONNX]...``"""
    import argparse

    from portraitcli.data import data_root
    from portraitcli.runtime.weights import find_model, verify

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="datasets folder; default $PORTRAIT_DATA")
    parser.add_argument("--split", choices=SPLITS, default="test")
    parser.add_argument("--model", action="append", default=[], help="NAME=ONNX of another sketch model")
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/experiments"))
    args = parser.parse_args(argv)
    others = {name: Path(path) for name, _, path in (m.partition("=") for m in args.model)}
    spec = find_model("sketch")
    result = run(data_root(args.data), verify(spec), spec.template, spec.template.exposure, others, args.split)
    write(result, spec.name, args.output)
    print((args.output / f"{report_stem(args.split)}.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
