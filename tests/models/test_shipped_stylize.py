"""The shipped fast style model on a real photo and a real picture: it takes the picture's colours
and keeps the photo's shapes, more of each at a higher strength."""

from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def _colour_covariance(rgb: np.ndarray) -> np.ndarray:
    x = rgb.reshape(-1, 3).astype(np.float64)
    return np.cov(x, rowvar=False)


def test_shipped_stylize_takes_the_colours_of_the_style_and_keeps_the_face(astronaut: np.ndarray) -> None:
    from skimage import data

    from portraitcli.metrics.pixel import ssim
    from portraitcli.models.stylize import StylizeModel
    from portraitcli.runtime.session import create_session
    from portraitcli.runtime.weights import find_model, verify

    spec = find_model("stylize", REPO / "weights")
    model = StylizeModel(spec, create_session(str(verify(spec)), "cpu", 2))
    photo = astronaut[::2, ::2].copy()  # 256 x 256
    style = data.coffee()  # a brown cup on a light table: colours the astronaut lacks
    out = model.run(photo, style)
    half = model.run(photo, style, strength=0.5)
    assert out.shape == photo.shape and out.dtype == np.uint8

    def colour_gap(img: np.ndarray) -> float:  # mean colour and colour covariance against the style's
        mean = np.linalg.norm(img.reshape(-1, 3).mean(0) - style.reshape(-1, 3).mean(0))
        cov = np.linalg.norm(_colour_covariance(img) - _colour_covariance(style))
        return float(mean + np.sqrt(cov))

    assert colour_gap(out) < 0.7 * colour_gap(photo)
    assert colour_gap(out) < colour_gap(half) < colour_gap(photo)
    # the face stays: structure close to the photo's, closer at half strength
    assert 0.3 < ssim(out, photo) < ssim(half, photo)
