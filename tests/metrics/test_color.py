from __future__ import annotations

import numpy as np

from portraitcli.metrics.color import mean_lab, skin_delta_e, skin_mask

KPS = np.array([[98.9, 38.39], [79.07, 39.74], [29.03, 38.74], [49.0, 39.93], [64.22, 75.23]])


def test_skin_discs_sit_between_the_eyes_and_the_nose_tip() -> None:
    mask = skin_mask(KPS, (128, 128))
    ys, xs = np.nonzero(mask)
    assert 40 < ys.min() and ys.max() < 75  # below the eyes, above the nose tip
    assert mask[57, 89] and mask[57, 39] and mask[57, 64] and not mask[57, 10] and not mask[100, 64]
    discs = np.array([mask[:, :52].sum(), mask[:, 52:77].sum(), mask[:, 77:].sum()])  # three discs
    radius = 0.12 * np.linalg.norm(KPS[0] - KPS[2])
    np.testing.assert_allclose(discs, np.pi * radius**2, rtol=0.1)


def test_skin_delta_e_is_the_cie76_distance_of_the_mean_lab_colours() -> None:
    from skimage.color import deltaE_cie76, rgb2lab

    mask = skin_mask(KPS, (128, 128))
    light = np.full((128, 128, 3), (224, 172, 140), np.uint8)
    dark = np.full((128, 128, 3), (96, 62, 45), np.uint8)
    dark[~mask] = 255  # outside the skin: ignored
    expected = deltaE_cie76(rgb2lab(light[:1, :1] / 255.0), rgb2lab(dark[64:65, 64:65] / 255.0))[0, 0]
    assert abs(skin_delta_e(dark, light, mask) - expected) < 1e-9
    assert expected > 30  # a dark face recovered light is far beyond a just-noticeable difference
    assert skin_delta_e(light, light, mask) == 0.0
    white = mean_lab(np.full((4, 4, 3), 255, np.uint8), np.ones((4, 4), bool))
    np.testing.assert_allclose(white, [100, 0, 0], atol=0.01)  # D65 white
