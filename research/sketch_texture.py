"""Local variance of sketches and their covariance with the artist's: why texture costs SSIM.

    python research/sketch_texture.py [--data ../shared/datasets] [NAME=MODEL.onnx]...

SSIM's contrast-structure factor is ``(2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2)``
(Wang et al. 2004). This prints, over the 100 CUHK test pairs, the mean local variance of
each model's output (``sigma_x^2``), of the artist's sketch (``sigma_y^2``) and their mean
local covariance (``sigma_xy``), with the same Gaussian window as the benchmark's SSIM
(sigma 1.5, truncated at 3.5 sigma, population statistics, 8-bit gray levels). A model whose
texture raises ``sigma_x^2`` more than ``sigma_xy`` loses SSIM to one that does not. The
shipped sketch model is always scored; add others as NAME=MODEL.onnx.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from portraitcli.evaluation.sketch import load_test_sets, onnx_generator  # noqa: E402
from portraitcli.metrics.pixel import SSIM_SETTINGS  # noqa: E402
from portraitcli.runtime.weights import find_model, verify  # noqa: E402


def local_moments(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Mean local variance of ``x``, of ``y`` and mean local covariance, Gaussian-weighted.

    Args:
        x, y: (H, W) gray images, same shape, values 0..255 (any dtype).

    Returns:
        ``(var_x, var_y, cov_xy)`` in squared gray levels, averaged over all pixels.
    """
    x, y = x.astype(np.float64), y.astype(np.float64)

    def window(a: np.ndarray) -> np.ndarray:
        return gaussian_filter(a, SSIM_SETTINGS["sigma"], truncate=3.5)

    mx, my = window(x), window(y)
    return (
        float((window(x * x) - mx * mx).mean()),
        float((window(y * y) - my * my).mean()),
        float((window(x * y) - mx * my).mean()),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("models", nargs="*", help="NAME=MODEL.onnx")
    args = parser.parse_args()
    spec = find_model("sketch")
    models = {spec.name: verify(spec)} | {m.partition("=")[0]: Path(m.partition("=")[2]) for m in args.models}
    test = load_test_sets(args.data)["cuhk"]
    print("| model | output local variance | artist's local variance | local covariance |")
    print("|---|---:|---:|---:|")
    for name, path in models.items():
        generate = onnx_generator(path)
        moments = np.mean([local_moments(generate(p), s) for p, s in zip(test.photos, test.sketches)], axis=0)
        print(f"| {name} | " + " | ".join(f"{v:.1f}" for v in moments) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
