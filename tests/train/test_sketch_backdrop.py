"""Backdrop replacement of the sketch training photos."""

from __future__ import annotations

import cv2
import numpy as np

from portraitcli.train.sketch.backdrop import backdrop_mask, random_background, replace_backdrop


def _studio_portrait() -> np.ndarray:
    """A blue backdrop, a dark head and shoulders, and a blue badge on the shirt (not backdrop)."""
    photo = np.zeros((120, 100, 3), np.uint8)
    photo[:] = (60, 160, 230)
    cv2.ellipse(photo, (50, 55), (25, 32), 0, 0, 360, (90, 60, 40), -1)
    photo[90:] = (30, 30, 30)
    photo[100:110, 45:55] = (60, 160, 230)
    return photo


def test_the_backdrop_is_the_border_colour_connected_to_the_border() -> None:
    photo = _studio_portrait()
    hard = backdrop_mask(photo, grow=0, feather=0)
    assert hard.dtype == np.float32 and hard.shape == (120, 100)
    assert hard[5, 5] == 1 and hard[50, 95] == 1  # backdrop
    assert hard[55, 50] == 0 and hard[95, 10] == 0  # head, shirt
    assert hard[105, 50] == 0  # the badge has the backdrop's colour but is enclosed by the shirt
    grown = backdrop_mask(photo, grow=2, feather=0)
    assert grown.sum() > hard.sum() and np.all(grown >= hard)
    soft = backdrop_mask(photo)
    assert 0 < soft[55, 25] < 1 or 0 < soft[55, 24] < 1  # feathered at the head's edge


def test_replace_backdrop_composites_by_the_mask() -> None:
    photo = _studio_portrait()
    background = np.full_like(photo, 200)
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :50], mask[:, 50] = 1.0, 0.5
    out = replace_backdrop(photo, mask, background)
    assert out.dtype == np.uint8
    assert np.all(out[:, :50] == 200) and np.all(out[:, 51:] == photo[:, 51:])
    np.testing.assert_allclose(out[:, 50], (photo[:, 50].astype(float) + 200) / 2, atol=1)


def test_random_background_has_the_size_asked() -> None:
    rng = np.random.default_rng(0)
    sources = [np.random.default_rng(i).integers(0, 256, (80, 60, 3), dtype=np.uint8) for i in range(3)]
    assert random_background(sources, (40, 50), rng).shape == (50, 40, 3)
