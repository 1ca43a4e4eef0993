"""Does averaging recon3d's depth with the morphable fit's beat both (issue #35, item 2)?

Scores ``w * recon3d + (1 - w) * fit`` (the fit's depth where it covers the face, recon3d's
elsewhere) with the cartoon3d benchmark's SIDE / MAD / residual_depth_corr, on 80 validation
renders (``render_faces(seed=1)``), never the test set (seed 0); then the product's fusion
(:func:`portraitcli.models.cartoon3d.reconstruct`: the difference less its median, continued
off the fit's mesh, carried into the canonical frame) at several fit shares, which chose
``FIT_WEIGHT``.

Usage: python research/depth_blend.py [DATA] [MODEL] [--fusion-only]   (DATA defaults to
$PORTRAIT_DATA, MODEL to the shipped recon3d; a run's model.onnx scores that run; with a
view-depth network the fusion is swept over its share too, which chose ``VIEW_DEPTH_SHARE``)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from portraitcli.data import data_root
from portraitcli.data.synth_depth import render_faces
from portraitcli.evaluation.cartoon3d import (
    SIZE,
    RenderFits,
    fused_depth,
    morphable_fit_depth,
    onnx_depth,
    posed_mean_depths,
    reduce_image,
    score,
)
from portraitcli.models.recon3d import Recon3dModel
from portraitcli.runtime.session import create_session
from portraitcli.runtime.weights import find_model, run_spec, verify


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    data = data_root(Path(args[0]) if args else None)
    val = render_faces(data / "sfm", 80, seed=1, progress=False)
    reference = posed_mean_depths(val)
    if len(args) > 1:
        path = Path(args[1])
        spec = run_spec(path, "recon3d")
    else:
        spec = find_model("recon3d")
        path = verify(spec)
    recon_model = Recon3dModel(spec, create_session(str(path), "cpu", 2))
    recon = onnx_depth(recon_model)
    fit = morphable_fit_depth(data, RenderFits())

    def blend(w: float):
        def predict(image: np.ndarray) -> np.ndarray:
            a, b = recon(reduce_image(image, SIZE)), fit(image)
            return np.where(np.isfinite(b), w * a + (1 - w) * b, a)

        predict.native = True  # type: ignore[attr-defined]
        return predict

    if "--fusion-only" not in sys.argv:
        blends(val, reference, blend)
    fusion(val, reference, recon_model)


def blends(val, reference, blend) -> None:  # noqa: ANN001
    for w in (0.0, 0.25, 0.5, 0.75, 1.0):
        r = score(blend(w), val, mean_depths=reference)
        side, mad, corr = r["side"] * 100, r["mad"], r["residual_depth_corr"]
        print(f"w_recon {w}: SIDE {side:.3f}e-2  MAD {mad:.2f}  residual_depth_corr {corr:.3f}")


def fusion(val, reference, recon_model) -> None:  # noqa: ANN001
    view_shares = (0.5, 0.75, 1.0) if recon_model.has_view_depth else (0.0,)
    for vshare in view_shares:
        for share in (0.0, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0):
            r = score(fused_depth(recon_model, weight=share, view_share=vshare), val, mean_depths=reference)
            side, mad, corr = r["side"] * 100, r["mad"], r["residual_depth_corr"]
            print(
                f"product fusion, fused share {share}, view-depth share {vshare}: "
                f"SIDE {side:.3f}e-2  MAD {mad:.2f}  residual_depth_corr {corr:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
