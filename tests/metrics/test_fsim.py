"""FSIM (Zhang et al. 2011) against its formula, hand-checked values and phase congruency's properties."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from portraitcli.errors import BadInputError
from portraitcli.metrics import fsim as F


def test_pooling_formula_by_hand() -> None:
    pc1, pc2 = np.array([[1.0, 0.0]]), np.array([[0.5, 0.0]])
    g1, g2 = np.array([[10.0, 0.0]]), np.array([[20.0, 0.0]])
    # S_PC = (2*0.5 + 0.85) / (1 + 0.25 + 0.85); S_G = (2*200 + 160) / (100 + 400 + 160); PC_m = [1, 0]
    assert F.fsim_from_maps(pc1, pc2, g1, g2) == pytest.approx((1.85 / 2.1) * (560 / 660), abs=1e-12)


def test_conv2_same_is_matlabs() -> None:
    # MATLAB: conv2([1 2 3], [1 1], 'same') = [3 5 3]; conv2(magic(3), [1 2; 3 4], 'same')
    assert F.conv2_same(np.array([[1.0, 2, 3]]), np.array([[1.0, 1]])).tolist() == [[3, 5, 3]]
    magic = np.array([[8.0, 1, 6], [3, 5, 7], [4, 9, 2]])
    out = F.conv2_same(magic, np.array([[1.0, 2], [3, 4]]))  # full[1:4, 1:4]
    assert out[0, 0] == 5 * 1 + 3 * 2 + 1 * 3 + 8 * 4 and out[2, 2] == 2 * 4  # the corner: one term


def test_scharr_gradient_of_a_ramp() -> None:
    ramp = np.tile(np.arange(32, dtype=np.float64) * 3, (32, 1))
    g = F.gradient_magnitude(ramp)
    assert np.allclose(g[1:-1, 1:-1], 6.0)  # (3 + 10 + 3) / 16 * (3 * 2)


def test_phase_congruency_marks_edges_and_ignores_contrast() -> None:
    step = np.zeros((96, 96))
    step[:, 48:] = 100.0
    pc = F.phase_congruency(step)
    assert pc.min() >= 0 and pc.max() <= 1 + 1e-9
    assert pc[48, 47:49].min() > 0.7 and pc[48, 20] < 0.1  # on the edge; 28 px from it
    np.testing.assert_allclose(F.phase_congruency(step * 2.5), pc, atol=1e-4)  # dimensionless (up to epsilon)


def test_fsim_identity_ordering_and_errors(astronaut: np.ndarray) -> None:
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[100:350, 150:350]  # 250x200, CUFS's size
    assert F.fsim(gray, gray) == pytest.approx(1.0)
    mild, strong = (cv2.GaussianBlur(gray, (0, 0), s) for s in (1.0, 3.0))
    assert 1.0 > F.fsim(gray, mild) > F.fsim(gray, strong) > 0.5
    assert F.fsim(gray, mild) == pytest.approx(F.fsim(mild, gray), abs=1e-12)  # symmetric
    big = cv2.resize(gray, (400, 500))  # F = 2: box-filtered and subsampled first
    assert F.fsim(big, cv2.GaussianBlur(big, (0, 0), 2.0)) == pytest.approx(F.fsim(gray, mild), abs=0.05)
    with pytest.raises(BadInputError):
        F.fsim(gray, gray[:-1])
    with pytest.raises(BadInputError):
        F.fsim(np.full((32, 32), 7, np.uint8), np.full((32, 32), 7, np.uint8))


def test_precomputed_reference_maps_give_the_same_fsim(astronaut: np.ndarray) -> None:
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[100:350, 150:350]
    blurred = cv2.GaussianBlur(gray, (0, 0), 1.5)
    assert F.fsim(gray, blurred, F.fsim_maps(gray)) == F.fsim(gray, blurred)
