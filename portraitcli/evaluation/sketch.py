"""Sketch model evaluation on CUFS, as the source paper measured it (no torch, no report writing).

Protocol (Liao and Lin; Wang et al. 2004 SSIM): the generated sketch and the artist's
sketch as 8-bit grayscale at 200x250 (the CUFS crops, no resizing); SSIM with a Gaussian
window (sigma 1.5), population covariance, data_range 255; PSNR in dB; mean over the 100
CUHK student test pairs, and the same on the 23 AR test pairs (a population the model
never saw). Peers computed the same way: the mean training sketch, the grayscale photo,
OpenCV's ``pencilSketch``; any other ONNX generator with the same contract.
"""

from __future__ import annotations

import csv
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from portraitcli.data.cufs import cufs_pairs, load_pair
from portraitcli.metrics.fsim import fsim, fsim_maps
from portraitcli.metrics.pixel import SSIM_SETTINGS, psnr, ssim, to_gray
from portraitcli.metrics.spectrum import nyquist_spike
from portraitcli.types import Aligned, Template

SPLITS = {"cuhk": "cuhk_student", "ar": "ar"}
#: The CUFS crops' width, px: the scale at which the filter peers' settings are chosen.
CUFS_WIDTH = 200
Generator = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TestSet:
    """The test pairs of one CUFS subset, loaded: names, photos (H,W,3) and sketches (H,W)."""

    name: str
    names: list[str]
    photos: list[np.ndarray]
    sketches: list[np.ndarray]


def load_test_sets(data: Path) -> dict[str, TestSet]:
    """The CUHK student (100) and AR (23) test pairs."""
    sets = {}
    for key, subset in SPLITS.items():
        pairs = cufs_pairs(data, subset, "test")
        loaded = [load_pair(p) for p in pairs]
        sets[key] = TestSet(key, [p.name for p in pairs], [a for a, _ in loaded], [b for _, b in loaded])
    return sets


def mean_training_sketch(data: Path) -> np.ndarray:
    """Mean of the 88 CUHK student training sketches: (250, 200) uint8."""
    sketches = [load_pair(p)[1].astype(np.float64) for p in cufs_pairs(data, "cuhk_student", "train")]
    return np.clip(np.rint(np.mean(sketches, axis=0)), 0, 255).astype(np.uint8)


def pencil_sketch(
    photo: np.ndarray, sigma_s: float = 60.0, sigma_r: float = 0.07, shade_factor: float = 0.02
) -> np.ndarray:
    """OpenCV's ``pencilSketch`` (Gastal and Oliveira 2011 domain transform); the defaults are
    OpenCV's: (H,W,3) RGB -> (H,W) uint8."""
    import cv2

    from portraitcli.io.image import rgb_to_bgr

    gray, _ = cv2.pencilSketch(rgb_to_bgr(photo), sigma_s=sigma_s, sigma_r=sigma_r, shade_factor=shade_factor)
    return gray


def dodge_and_burn(photo: np.ndarray, sigma: float = 5.0, shade: float = 0.0) -> np.ndarray:
    """The classic pencil-sketch filter: the luma colour-dodged by its blurred negative.

    ``S = min(255, Y * 255 / (255 - G_sigma * (255 - Y)))`` keeps the edges as pencil lines on
    white; ``shade`` then multiplies in the luma's tone, ``S (1 - shade) + shade S Y / 255``
    (the line-plus-tone split of Lu, Xu and Jia, "Combining Sketch and Tone for Pencil
    Drawing Production", NPAR 2012, by the simplest tone map). Y is OpenCV's BT.601 luma.

    Args:
        photo: (H, W, 3) uint8 RGB.
        sigma: the Gaussian's standard deviation, px (> 0); larger gives thicker lines.
        shade: tone weight in [0, 1]; 0 is lines only.

    Returns:
        (H, W) uint8.
    """
    import cv2

    y = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(np.float32)
    blur = cv2.GaussianBlur(255 - y, (0, 0), sigma)
    s = np.minimum(y * 255 / np.maximum(255 - blur, 1), 255)
    s = s * (1 - shade) + shade * s * y / 255
    return np.rint(s).astype(np.uint8)


#: The filters' settings tried, each scored by SSIM on the 88 CUHK *training* pairs; the best
#: is the peer (no test image is looked at).
PEER_GRIDS: dict[str, list[dict[str, float]]] = {
    "dodge-and-burn pencil sketch": [{"sigma": v} for v in (2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0, 50.0)],
    "OpenCV pencilSketch": [
        {"sigma_s": a, "sigma_r": b, "shade_factor": c}
        for a in (20.0, 60.0)
        for b in (0.05, 0.1)
        for c in (0.02, 0.05, 0.1)
    ],
}
PEER_FILTERS: dict[str, Callable[..., np.ndarray]] = {
    "dodge-and-burn pencil sketch": dodge_and_burn,
    "OpenCV pencilSketch": pencil_sketch,
}


def configure_peers(data: Path) -> dict[str, dict[str, float]]:
    """Each filter peer's settings: the grid point with the best mean SSIM on the CUHK training pairs.

    Returns:
        ``{peer name: settings}``.
    """
    train = [load_pair(p) for p in cufs_pairs(data, "cuhk_student", "train")]
    chosen = {}
    for name, grid in PEER_GRIDS.items():
        fn = PEER_FILTERS[name]
        scores = [np.mean([ssim(fn(photo, **kw), sketch) for photo, sketch in train]) for kw in grid]
        chosen[name] = grid[int(np.argmax(scores))]
    return chosen


#: Each filter's settings in pixels, which :func:`baselines` scales with the crop's width.
SPATIAL_SETTINGS = {"dodge-and-burn pencil sketch": ("sigma",), "OpenCV pencilSketch": ("sigma_s",)}


def _at_scale(name: str, settings: dict[str, float]) -> Generator:
    """A filter peer whose pixel settings (chosen on 200 px wide CUFS crops) follow the
    photo's width, so that a 384 px crop gets the same lines as a 200 px one, only finer."""
    fn = PEER_FILTERS[name]

    def generate(photo: np.ndarray) -> np.ndarray:
        k = photo.shape[1] / CUFS_WIDTH
        return fn(photo, **{key: v * k if key in SPATIAL_SETTINGS[name] else v for key, v in settings.items()})

    return generate


def baselines(data: Path, peers: dict[str, dict[str, float]] | None = None) -> dict[str, Generator]:
    """The training-free peers, each photo -> (H, W) uint8 sketch; the filters with ``peers``'
    settings (:func:`configure_peers`), OpenCV's defaults when None, their pixel settings
    scaled to the photo's width (:data:`SPATIAL_SETTINGS`: unchanged on CUFS's 200x250)."""
    import cv2

    mean = mean_training_sketch(data)
    peers = peers or {}

    def mean_sketch(photo: np.ndarray) -> np.ndarray:
        h, w = photo.shape[:2]
        return mean if mean.shape == (h, w) else cv2.resize(mean, (w, h), interpolation=cv2.INTER_CUBIC)

    out: dict[str, Generator] = {"mean training sketch": mean_sketch, "grayscale photo": to_gray}
    for name in PEER_FILTERS:
        out[name] = _at_scale(name, peers.get(name, {}))
    return out


def style_kid(
    generators: dict[str, Generator], faces: list[tuple[str, Aligned]], references: list[np.ndarray]
) -> dict[str, dict[str, float]]:
    """How much each generator's sketches of real photos look like artists' sketches: KID
    (Binkowski et al. 2018; :func:`~portraitcli.metrics.distribution.kid_from_features` on
    TF-Inception pool3 features) between its outputs on ``faces`` (blank paper where the
    crop passed the photo's edge) and the artists' ``references``, gray repeated to RGB.
    Needs torch (the ``eval`` extra).

    Returns:
        ``{name: {"kid": mean over subsets, "kid_std": std, "n_kid": len(faces)}}``.
    """
    from portraitcli.face.align import blank_outside
    from portraitcli.metrics.distribution import InceptionFeatures, kid_from_features

    features = InceptionFeatures()
    reference = features(np.repeat(s[..., None], 3, axis=2) for s in references)
    out = {}
    for name, generate in generators.items():
        drawn = features(np.repeat(blank_outside(generate(a.crop), a.valid)[..., None], 3, axis=2) for _, a in faces)
        kid, std = kid_from_features(drawn, reference)
        out[name] = {"kid": kid, "kid_std": std, "n_kid": len(faces)}
    return out


def real_photo_identity(
    generators: dict[str, Generator], faces: list[tuple[str, Aligned]], template: Template
) -> dict[str, dict[str, float]]:
    """Identity kept on real photos: each output's dlib descriptor against its own photo's.

    Every aligned photo crop is described at the template's face box (no detection), and so
    is each generator's output (gray repeated to RGB; blank paper where the crop passed the
    photo's edge, as ``portrait sketch`` writes it). ``id_dist_real``: the mean descriptor
    distance output -> its photo; ``id_top1_real``: the share of outputs whose nearest photo
    among all the test photos is their own.

    Returns:
        ``{generator name: {"id_dist_real", "id_top1_real", "n_real"}}``.
    """
    from portraitcli.face.align import blank_outside
    from portraitcli.metrics.identity import FaceDescriptor, identity_distance, retrieval_ratio, template_box

    descriptor = FaceDescriptor()
    box = template_box(template.kps)
    gallery = descriptor.embed((a.crop for _, a in faces), box)
    out = {}
    for name, generate in generators.items():
        drawn = (np.repeat(blank_outside(generate(a.crop), a.valid)[..., None], 3, axis=2) for _, a in faces)
        query = descriptor.embed(drawn, box)
        out[name] = {
            "id_dist_real": identity_distance(query, gallery)["id_distance"],
            "id_top1_real": retrieval_ratio(query, gallery, 1)["top1"],
            "n_real": len(faces),
        }
    return out


_REFERENCE_MAPS: dict[int, tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]] = {}


def _reference_maps(sketch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An artist's sketch's FSIM maps, computed once per array for all the rows of a run."""
    hit = _REFERENCE_MAPS.get(id(sketch))
    if hit is None or hit[0] is not sketch:
        hit = (sketch, fsim_maps(sketch))
        _REFERENCE_MAPS[id(sketch)] = hit
    return hit[1]


def score(generate: Generator, test: TestSet) -> dict[str, Any]:
    """SSIM, PSNR and FSIM (:func:`~portraitcli.metrics.fsim.fsim`, the artist's sketch as the
    reference) of a generator over a test set.

    Returns:
        ``{"ssim": mean, "psnr": mean dB, "fsim": mean, "spike": mean Nyquist spike ratio of the outputs
        (:func:`~portraitcli.metrics.spectrum.nyquist_spike`), "ssim_std", "psnr_std", "n",
        "per_image": {...}}``.
    """
    ssims, psnrs, spikes, fsims = [], [], [], []
    for photo, sketch in zip(test.photos, test.sketches):
        pred = generate(photo)
        if pred.shape != sketch.shape:
            raise ValueError(f"generator output {pred.shape} != reference {sketch.shape}")
        ssims.append(ssim(pred, sketch))
        psnrs.append(psnr(pred, sketch))
        spikes.append(nyquist_spike(pred))
        fsims.append(fsim(sketch, pred, _reference_maps(sketch)))
    return {
        "ssim": float(np.mean(ssims)),
        "psnr": float(np.mean(psnrs)),
        "fsim": float(np.mean(fsims)),
        "spike": float(np.mean(spikes)),
        "ssim_std": float(np.std(ssims)),
        "psnr_std": float(np.std(psnrs)),
        "n": len(ssims),
        "per_image": {n: {"ssim": s, "psnr": p} for n, s, p in zip(test.names, ssims, psnrs)},
    }


def model_size(path: Path) -> tuple[int, int] | None:
    """The crop (W, H) a sketch model was trained at: the ``template.json`` beside its ONNX
    file (a run folder's), else None (the photo's own size)."""
    import json

    tpl = path.parent / "template.json"
    return tuple(json.loads(tpl.read_text())["size"]) if tpl.is_file() else None  # type: ignore[return-value]


def onnx_generator(
    path: Path, threads: int = 2, template: Template | None = None, size: tuple[int, int] | None = None
) -> Generator:
    """A sketch generator from an ONNX file with the sketch model's contract.

    ``template``: when given with an exposure, each photo is first matched to it, as
    ``portrait sketch`` does (:func:`~portraitcli.face.exposure.match_template_exposure`); by
    default the photo goes in as it is (the paper's protocol, which every table row uses).
    ``size`` (W, H): the model's crop; a photo of another size (CUFS's 200x250 for a model
    framed at 384x480) is resized to it (bicubic) and the sketch back to the photo's size
    (area averaging), so every model is scored at the protocol's 200x250.
    """
    import cv2

    from portraitcli.face.exposure import match_template_exposure
    from portraitcli.models.sketch import photo_to_tensor, tensor_to_sketch
    from portraitcli.runtime.session import create_session

    session = create_session(str(path), "cpu", threads)
    name = session.get_inputs()[0].name

    def generate(photo: np.ndarray) -> np.ndarray:
        h, w = photo.shape[:2]
        if size is not None and (w, h) != tuple(size):
            photo = cv2.resize(photo, tuple(size), interpolation=cv2.INTER_CUBIC)
        photo = match_template_exposure(photo, template)
        (y,) = session.run(None, {name: photo_to_tensor(photo)[None]})
        out = tensor_to_sketch(y[0], *photo.shape[:2])
        return out if out.shape == (h, w) else cv2.resize(out, (w, h), interpolation=cv2.INTER_AREA)

    return generate


def settings() -> dict[str, Any]:
    """The measurement settings recorded with every result."""
    import cv2
    import onnxruntime
    import PIL
    import skimage

    return {
        "ssim": SSIM_SETTINGS,
        "color": "8-bit grayscale (Pillow convert('L') luma)",
        "size": "200x250, no resizing (CUFS crops; the model runs on the photo as given, --aligned)",
        "versions": {
            "scikit-image": skimage.__version__,
            "onnxruntime": onnxruntime.__version__,
            "opencv": cv2.__version__,
            "pillow": PIL.__version__,
            "python": platform.python_version(),
        },
    }


PAPER = {"LLE": 0.4624, "Pix2Pix": 0.4683, "CycleGAN": 0.5931, "ComboGAN": 0.4075, "Liao and Lin": 0.6205}


#: FS2K test photos (evenly spaced over the split) whose sketches are checked for checkerboard.
N_FS2K_SPIKE = 40
#: FS2K test photos on which identity is measured (all of the split's 1,045).
N_REAL = 1045


def real_faces(data: Path, n_fs2k: int, astronaut: bool = False) -> list[tuple[str, Aligned]]:
    """Real photos from outside CUFS, detected and aligned to the shipped sketch model's template.

    Args:
        data: the datasets folder (holds ``fs2k/``).
        n_fs2k: how many FS2K test photos, evenly spaced over ``pairs.csv``'s test rows.
        astronaut: put scikit-image's astronaut first.

    Returns:
        ``[(name, aligned)]``: ``aligned.crop`` (H, W, 3) uint8 RGB in the CUFS framing at the
        shipped model's crop size,
        ``aligned.valid`` where it lies inside the photo; photos where no face is found are
        left out.
    """
    from skimage import data as skdata

    from portraitcli.face.align import align_face
    from portraitcli.face.detect import FaceDetector
    from portraitcli.io import read_image
    from portraitcli.runtime.weights import find_model

    template = find_model("sketch").template
    detector = FaceDetector()
    photos = [("astronaut", skdata.astronaut())] if astronaut else []
    with (data / "fs2k" / "pairs.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "test"]
    for r in rows[:: max(1, len(rows) // n_fs2k)][:n_fs2k] if n_fs2k < len(rows) else rows:
        photos.append((Path(r["photo"]).stem, read_image(data / "fs2k" / r["photo"]).rgb))
    faces = []
    for name, rgb in photos:
        found = detector.detect(rgb)
        if found:
            faces.append((name, align_face(rgb, found[0], template)))
    return faces
