"""How much of a person's 3-D face does a morphable-model fit to 68 landmarks recover?

    python research/morphable_eval.py [--data DIR] [--n 60]

The Surrey Face Model is fitted (:mod:`morphable`, eos's linear recipe, checked against eos)
to landmarks of ``synth_depth/test.npz`` faces, whose true identity coefficients,
expression weights and depth are known. Three landmark sources:

- ``exact``: the true landmark vertices projected (no detector: the recipe's ceiling);
- ``exact + 2 px``: the same with Gaussian noise of 2 px on a 256 px face image;
- ``dlib``: dlib's 68-point predictor on the render enlarged to 256 px (what a photo gets).

Reported per source: ``expr_mae`` (mean absolute error of the 6 blendshape weights; the
all-zero guess beside it), the correlation of the fitted identity coefficients with the
true ones, and, for ``dlib``, SIDE / MAD of the fitted depth at 64 px (the cartoon3d
benchmark's protocol) and ``residual_depth_corr``: the correlation over the face mask of
(fitted depth minus the mean face at the fitted pose) with (true depth minus the mean face
at the true pose), median over faces. Writes docs/experiments/morphable_fit.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from portraitcli.data import data_root  # noqa: E402
from portraitcli.data.synth_depth import rasterize  # noqa: E402
from portraitcli.evaluation.cartoon3d import reduce_depth  # noqa: E402
from portraitcli.face.detect import FaceDetector  # noqa: E402
from portraitcli.face.morphable import Fit, fit_landmarks, fitted_depth, load_sfm  # noqa: E402
from portraitcli.face.shape import project, to_protocol  # noqa: E402
from portraitcli.metrics.depth import erode_mask, mad, side  # noqa: E402
from portraitcli.models.recon3d import rotation_matrix  # noqa: E402

REPORT = Path(__file__).resolve().parents[1] / "docs" / "experiments" / "morphable_fit.md"


def posed(vertices: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Protocol vertices turned as the renderer turns them (yaw, pitch, roll degrees)."""
    return to_protocol(vertices) @ rotation_matrix(pitch=pose[1], yaw=pose[0], roll=pose[2]).T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--n", type=int, default=60, help="faces, evenly spaced over the 300")
    args = parser.parse_args()
    data = data_root(args.data)
    model = load_sfm(data / "sfm")
    with np.load(data / "synth_depth" / "test.npz") as z:
        synth = {k: z[k] for k in ("image", "depth", "mask", "pose", "coeffs", "expr")}
    detector, rng = FaceDetector(), np.random.default_rng(0)
    rows: dict[str, list[tuple[float, ...]]] = {"exact": [], "exact + 2 px": [], "dlib": []}
    zero = []
    k = model.basis.shape[2]
    for i in np.linspace(0, len(synth["image"]) - 1, args.n).round().astype(int):
        coeffs, expr, pose = synth["coeffs"][i], synth["expr"][i], synth["pose"][i]
        zero.append(np.abs(expr).mean())
        uv, _ = project(posed(model.vertices(coeffs, expr), pose), 256)
        exact = np.tile(uv[model.landmark_vertices].mean(0), (68, 1))
        exact[model.landmark_ids] = uv[model.landmark_vertices]
        noisy = exact + rng.normal(0, 2.0, exact.shape)
        for name, lm in (("exact", exact), ("exact + 2 px", noisy)):
            fit = fit_landmarks(model, lm)
            rows[name].append((np.abs(fit.beta - expr).mean(), np.corrcoef(fit.alpha, coeffs)[0, 1]))
        big = cv2.resize(synth["image"][i], (256, 256), interpolation=cv2.INTER_CUBIC)
        found = detector.detect(big)
        if not found:
            continue
        fit = fit_landmarks(model, detector.outline(big, found[0]))
        gt, mask = reduce_depth(synth["depth"][i], synth["mask"][i], 2)
        mask = erode_mask(mask)
        depth, _ = fitted_depth(model, fit, 64, 4.0)
        mean_fit, _ = fitted_depth(model, Fit(np.zeros(k), np.zeros(len(expr)), fit.pose), 64, 4.0)
        uv, zz = project(posed(model.mean, pose), 64)
        mean_true, _ = rasterize(uv, zz, np.zeros((len(uv), 1)), model.triangles, 64)
        ok = mask & np.isfinite(mean_true)
        corr = np.corrcoef((depth - mean_fit)[ok], (gt - mean_true)[ok])[0, 1]
        rows["dlib"].append(
            (
                np.abs(fit.beta - expr).mean(),
                np.corrcoef(fit.alpha, coeffs)[0, 1],
                side(depth, gt, mask),
                mad(depth, gt, mask),
                corr,
            )
        )
    lines = [
        "# Morphable-model fit to 68 landmarks (research/morphable_eval.py)",
        "",
        f"{args.n} faces of synth_depth/test.npz (true identity, expression and depth known). "
        f"expr_mae of the all-zero guess: {np.mean(zero):.3f}.",
        "",
        "| landmarks | n | expr_mae | identity coefficient corr | SIDE x1e-2 | MAD | residual_depth_corr (median) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        a = np.array(r)
        depth_cols = "- | - | -"
        if a.shape[1] > 2:
            depth_cols = f"{a[:, 2].mean() * 100:.3f} | {a[:, 3].mean():.2f} | {np.median(a[:, 4]):.3f}"
        lines.append(f"| {name} | {len(a)} | {a[:, 0].mean():.3f} | {a[:, 1].mean():.2f} | {depth_cols} |")
    lines += [
        "",
        "Reading (written with the first run, 2026-12-06): 68 landmarks do not pin down a person's 3-D face.",
        "Even exact landmark positions recover the identity coefficients at a correlation of about 0.5 and",
        "the expression weights barely better than guessing none (the 50 mapped points have no jaw",
        "contour; identity and expression trade off along them). From dlib's landmarks on the renders the",
        "fitted depth's deviation from the mean face hardly correlates with the person's (about 0.13):",
        "a fit alone cannot make the head person-specific; the depth must come from the image (shading",
        "and silhouette: the reconstruction network), with the fit as its starting shape and pose.",
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
