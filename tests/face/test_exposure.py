"""Exposure matching (portraitcli.face.exposure), checked against OpenCV's luma and by hand."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitcli.face.align import align_face
from portraitcli.face.detect import FaceDetector
from portraitcli.face.exposure import GAIN_LIMITS, face_region, luma_stats, match_exposure, reference_exposure
from portraitcli.types import Exposure, Template
from tests.conftest import TEMPLATE_KPS, data_dir

KPS = np.array(TEMPLATE_KPS, np.float32)


def test_face_region_spans_eyes_to_mouth_and_scales_with_the_face() -> None:
    x0, y0, x1, y1 = face_region(KPS)
    assert (x0, x1) == (64, 135)  # the outer eye corners
    assert y0 < 126 and 165 < y1 < 215  # above the eyes, below the nose base (the mouth)
    big = face_region(KPS * 2)
    assert abs((big[2] - big[0]) - 2 * (x1 - x0)) <= 2 and abs((big[3] - big[1]) - 2 * (y1 - y0)) <= 2


def test_luma_stats_is_opencvs_gray_over_the_region(astronaut: np.ndarray) -> None:
    region = (100, 80, 300, 260)
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY).astype(np.float64)[80:260, 100:300]
    mean, std = luma_stats(astronaut, region)
    assert mean == pytest.approx(gray.mean(), abs=0.5)  # OpenCV rounds its gray to integers
    assert std == pytest.approx(gray.std(), abs=0.5)
    with pytest.raises(ValueError, match="outside"):
        luma_stats(astronaut, (600, 600, 700, 700))


def test_match_exposure_gives_the_reference_moments(astronaut: np.ndarray) -> None:
    crop = align_face(astronaut, FaceDetector().detect(astronaut)[0], Template((200, 250), KPS)).crop
    dark = np.clip(crop.astype(np.float64) * 0.6, 0, 255).astype(np.uint8)  # an under-exposed copy
    region = face_region(KPS)
    m, s = luma_stats(crop, region)
    out = match_exposure(dark, KPS, Exposure(m, s))
    assert out.dtype == np.uint8 and out.shape == crop.shape
    m2, s2 = luma_stats(out, region)
    assert m2 == pytest.approx(m, abs=1.0) and s2 == pytest.approx(s, rel=0.03)
    # the same crop at its own exposure comes back as it was, to the rounding
    same = match_exposure(crop, KPS, Exposure(m, s))
    assert np.abs(same.astype(int) - crop.astype(int)).max() <= 1
    # gain and offset are the same on every channel: hue is kept where nothing clips
    d = out.astype(np.float64) - dark.astype(np.float64)
    inside = (out > 0).all(-1) & (out < 255).all(-1)
    gain = (d[inside, 0] - d[inside, 1]) / (dark[inside, 0].astype(float) - dark[inside, 1] + 1e-9)
    mask = np.abs(dark[inside, 0].astype(int) - dark[inside, 1]) > 30
    assert np.median(gain[mask]) == pytest.approx(s / luma_stats(dark, region)[1] - 1, abs=0.1)


def test_match_exposure_clips_the_gain() -> None:
    flat = np.full((250, 200, 3), 100, np.uint8)
    flat[::2, ::2] = 104  # std 1.7: matching std 34 would need a gain of 20
    out = match_exposure(flat, KPS, Exposure(150.0, 34.0))
    region = face_region(KPS)
    assert luma_stats(out, region)[0] == pytest.approx(150.0, abs=0.6)
    assert luma_stats(out, region)[1] == pytest.approx(GAIN_LIMITS[1] * luma_stats(flat, region)[1], rel=0.05)


def test_reference_exposure_is_the_mean_of_the_photos_moments() -> None:
    a = np.full((250, 200, 3), 50, np.uint8)
    b = np.full((250, 200, 3), 150, np.uint8)
    assert reference_exposure([a, b], KPS) == Exposure(100.0, 0.0)
    with pytest.raises(ValueError):
        reference_exposure([], KPS)


def test_shipped_sketch_exposure_is_measured_on_the_cufs_training_photos() -> None:
    """The manifest's reference is what the export measures on the real training photos."""
    data = data_dir("cufs").parent
    from portraitcli.data.cufs import cufs_template
    from portraitcli.runtime.weights import find_model

    spec = find_model("sketch")
    measured = cufs_template(data)["exposure"]
    assert spec.template.exposure == Exposure(**measured)
    assert 150 < measured["mean"] < 240  # bright studio photos


def test_sketch_model_matches_exposure_unless_told_not_to(tmp_path: Path) -> None:
    """The wrapper matches the crop when its template has an exposure, and not when told."""
    from portraitcli.models.sketch import SketchModel
    from portraitcli.runtime.session import create_session
    from portraitcli.runtime.weights import find_model
    from tests.conftest import add_model, make_gray_model

    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "manifest.json").write_text(json.dumps({"models": {}}))
    add_model(
        weights,
        "sketch-v1",
        make_gray_model(weights / "sketch-v1.onnx"),
        {"size": [200, 250], "kps": TEMPLATE_KPS, "exposure": {"mean": 200.0, "std": 30.0}},
    )
    spec = find_model("sketch", weights)
    model = SketchModel(spec, create_session(str(spec.path), "cpu", 1))
    rng = np.random.default_rng(0)
    dark = rng.integers(20, 80, (250, 200, 3), dtype=np.uint8)
    region = face_region(KPS)
    matched, raw = model.run(dark), model.run(dark, match_exposure=False)
    # the gray model returns the luma of what it was given
    assert np.mean(matched[region[1] : region[3], region[0] : region[2]]) == pytest.approx(200, abs=1.5)
    assert np.mean(raw) == pytest.approx(luma_stats(dark, (0, 0, 200, 250))[0], abs=1.0)
    # at another crop size the region follows the scaled template
    big = cv2.resize(dark, (400, 500), interpolation=cv2.INTER_NEAREST)
    out = model.run(big)
    r = face_region(spec.template.scaled(400, 500).kps)
    assert np.mean(out[r[1] : r[3], r[0] : r[2]]) == pytest.approx(200, abs=1.5)
