from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.transform import SimilarityTransform

from portraitcli.face.align import mean_template, similarity_transform, transform_points, warp_affine
from portraitcli.face.paste import feather_mask, paste_back


def _random_similarity(rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(-np.pi, np.pi)
    s = rng.uniform(0.2, 3.0)
    t = rng.uniform(-100, 100, 2)
    return np.array([[s * np.cos(angle), -s * np.sin(angle), t[0]], [s * np.sin(angle), s * np.cos(angle), t[1]]])


def test_similarity_recovers_exact_transform() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        M = _random_similarity(rng)
        src = rng.uniform(0, 300, (5, 2))
        np.testing.assert_allclose(similarity_transform(src, transform_points(M, src)), M, atol=1e-8)


def test_similarity_matches_scikit_image_on_noisy_points() -> None:
    """Reference: skimage's SimilarityTransform.estimate (Umeyama least squares)."""
    rng = np.random.default_rng(1)
    for _ in range(20):
        src = rng.uniform(0, 300, (5, 2))
        dst = transform_points(_random_similarity(rng), src) + rng.normal(0, 3, (5, 2))
        if hasattr(SimilarityTransform, "from_estimate"):
            ref = SimilarityTransform.from_estimate(src, dst)
        else:  # scikit-image < 0.26
            ref = SimilarityTransform()
            assert ref.estimate(src, dst)
        np.testing.assert_allclose(similarity_transform(src, dst), ref.params[:2], atol=1e-7)


def test_similarity_rejects_degenerate_input() -> None:
    with pytest.raises(ValueError):
        similarity_transform(np.zeros((5, 2)), np.ones((5, 2)))
    with pytest.raises(ValueError):
        similarity_transform(np.zeros((5, 2)), np.ones((4, 2)))


def test_warp_affine_antialiases_strong_shrink() -> None:
    # A one-pixel checkerboard shrunk 8x must come out mid-gray, not aliased black/white.
    board = (np.indices((800, 800)).sum(0) % 2 * 255).astype(np.uint8)
    M = np.array([[0.125, 0, 0], [0, 0.125, 0]])
    out = warp_affine(board, M, (100, 100))
    assert abs(out[10:90, 10:90].mean() - 127.5) < 3 and out[10:90, 10:90].std() < 6


def test_warp_affine_downscale_keeps_geometry() -> None:
    img = np.zeros((400, 400), np.uint8)
    cv2.circle(img, (300, 100), 20, 255, -1)
    M = np.array([[0.2, 0, 0], [0, 0.2, 0]])
    out = warp_affine(img, M, (80, 80))
    ys, xs = np.nonzero(out > 127)
    assert abs(xs.mean() - 60) < 0.6 and abs(ys.mean() - 20) < 0.6


def test_mean_template() -> None:
    kps = np.stack([np.full((5, 2), i, np.float32) for i in range(3)])
    tpl = mean_template(kps, (200, 250))
    assert tpl.size == (200, 250) and np.allclose(tpl.kps, 1.0)
    assert np.allclose(tpl.scaled(400, 500).kps, 2.0)


def test_feather_mask_shape_and_range() -> None:
    m = feather_mask((200, 250))
    assert m.shape == (250, 200) and m.dtype == np.float32
    assert m[125, 100] == pytest.approx(1.0) and m[0, 0] < 0.05


def test_paste_back_of_identity_crop_restores_image(astronaut: np.ndarray) -> None:
    """Crop with M, paste the unchanged crop back with M^-1: the image comes back."""
    M = np.array([[0.9, -0.1, -120.0], [0.1, 0.9, -40.0]])
    crop = cv2.warpAffine(astronaut, M, (200, 250), flags=cv2.INTER_LINEAR)
    out = paste_back(astronaut, crop, M)
    assert out.shape == astronaut.shape
    # Inside the crop the image is resampled twice (bilinear), outside untouched.
    assert np.abs(out.astype(int) - astronaut).mean() < 2.0
    changed = paste_back(astronaut, np.zeros_like(crop), M, match_tone=False)
    centre = transform_points(cv2.invertAffineTransform(M), np.array([[100.0, 125.0]]))[0].round().astype(int)
    assert changed[centre[1], centre[0]].max() == 0  # the crop's centre was replaced
    assert (changed[0, -1] == astronaut[0, -1]).all()  # far away: untouched


def test_paste_back_gray_crop_gives_rgb(astronaut: np.ndarray) -> None:
    M = np.array([[1.0, 0, -150.0], [0, 1.0, -50.0]])
    out = paste_back(astronaut, np.full((250, 200), 128, np.uint8), M)
    assert out.shape == astronaut.shape and out.dtype == np.uint8


def test_fit_template_recovers_a_shape_under_random_framing() -> None:
    from portraitcli.face.align import fit_template, similarity_transform, transform_points

    shape = np.array([[158, 100], [138, 100], [98, 100], [118, 100], [128, 130]], np.float64)  # in 256 x 256
    rng = np.random.default_rng(0)
    kps, sizes = [], []
    for _ in range(20):
        a, s = rng.uniform(-0.2, 0.2), rng.uniform(0.8, 1.2)
        M = np.array([[s * np.cos(a), -s * np.sin(a), 0], [s * np.sin(a), s * np.cos(a), 0]])
        M[:, 2] = (128, 100) - M[:, :2] @ (128, 100)  # eyes stay at (128, 100) in a 256 * s frame
        kps.append(transform_points(M, shape) + (128 * (s - 1), 100 * (s - 1)))
        sizes.append((256 * s, 256 * s))
    tpl = fit_template(np.array(kps), np.array(sizes), (128, 128))
    # the same shape, at half the scale of the 256 px frame, eyes centred at height 50
    M = similarity_transform(shape, tpl.kps)
    np.testing.assert_allclose(transform_points(M, shape), tpl.kps, atol=1e-3)
    np.testing.assert_allclose(np.sqrt(np.linalg.det(M[:, :2])), 0.5, atol=1e-3)
    np.testing.assert_allclose(tpl.kps[:4].mean(0), (64, 50), atol=1e-3)
    assert tpl.size == (128, 128)
