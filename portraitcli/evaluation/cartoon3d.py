"""Cartoon3d evaluation: 3-D reconstruction on synthetic faces, 2-D cartoons on real faces (no reports).

Protocol (Unsup3d, Wu et al., CVPR 2020, section 4.1, on ``synth_depth/test.npz``): each
128 px render is reduced to the model's 64 px input; the predicted depth *in the input's
view* (the canonical depth moved by the predicted viewpoint) is compared with the true
depth, reduced to 64 px over 2x2 blocks that lie wholly on the face, on the true face mask
eroded by one pixel: the scale-invariant depth error (SIDE) and the mean angle deviation of
the normals (MAD, degrees), averaged over the faces.

The shipped depth is ``portrait cartoon3d``'s: the network's reconstruction averaged with the
morphable fit in the input's view (:func:`fused_depth`); the network alone is an ablation row.
Baselines, scored the same way: a flat depth (a plane facing the camera), the crude
ellipsoid prior that GAN2Shape-style methods start from (a half-ellipsoid fitted to the
mean face, the same for every face), and the classical landmark recipe (the 3-D face
model's mean face turned to the head pose solved from five detected landmarks). An
ablation row turns the same mean face by our own predicted viewpoint: what the depth
network adds over the shape prior. The morphable-model fit (:mod:`portraitcli.face.morphable`,
the head of ``portrait cartoon3d``) is scored too, on dlib's 68 landmarks of the 128 px
render enlarged to 256 px (its own input; the networks see 64 px).

Person-specificity (``residual_depth_corr``, issue 35): per face, the correlation over the
mask between the predicted depth minus the mean face's depth rendered at the face's true
pose, and the true depth minus the same; the median over the faces. The posed mean face
scores about 0 by construction. Expression (``expr_mae``): the mean absolute error of the
fit's six blendshape weights against the rendered ones, beside the all-zero guess.

The 2-D cartoon, on 500 real test faces (250 of UTKFace's seeded test split, 250 FS2K test
photos, detected and aligned to the cartoon model's template): the KID of the cartoons
against the toon images (the 100 toon training targets, aligned the same way; the only
toons there are), and the identity distance between each photo and its cartoon (dlib's
descriptor, both taken in the template's face box). Beside it: OpenCV's edge-preserving
``stylization`` filter, and the photos themselves (a reference: identity distance 0, the
KID of real photos against toons).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from portraitcli.data import dataset_dir
from portraitcli.errors import UsageError
from portraitcli.metrics.depth import erode_mask, mad, side
from portraitcli.models.recon3d import SIZE, ellipsoid_depth, inverse_warp

#: image (S, S, 3) uint8 RGB -> depth (S, S) float in the image's view, > 0.
DepthFn = Callable[[np.ndarray], np.ndarray]

#: Unsup3d's and the 3-D cartoon paper's numbers on their synthetic BFM faces (SIDE x 1e-2, MAD degrees).
PAPER_BFM = {"Unsup3d": {"side": 0.793e-2, "mad": 16.51}, "Wang et al.": {"side": 0.802e-2, "mad": 15.41}}


def load_synth(data: Path) -> dict[str, np.ndarray]:
    """``synth_depth/test.npz``: image (N, 128, 128, 3) uint8, depth (N, 128, 128) float32, mask (N, 128, 128) bool.

    Raises:
        UsageError: the file is missing.
    """
    path = dataset_dir(data, "synth_depth") / "test.npz"
    if not path.is_file():
        raise UsageError(f"{path} is missing (see the datasets README)")
    with np.load(path) as z:
        return {k: z[k] for k in ("image", "depth", "mask", "pose", "expr")}


def reduce_depth(depth: np.ndarray, mask: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Average (H, W) depth over ``factor`` x ``factor`` blocks; a block is valid when all its pixels are."""
    h, w = depth.shape
    d = depth.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    m = mask.reshape(h // factor, factor, w // factor, factor).all(axis=(1, 3))
    return d, m


def reduce_image(image: np.ndarray, size: int = SIZE) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8 by area averaging."""
    import cv2

    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def flat_depth(image: np.ndarray) -> np.ndarray:
    """Baseline: a plane facing the camera at depth 1."""
    return np.ones(image.shape[:2], np.float64)


def ellipsoid_baseline(image: np.ndarray) -> np.ndarray:
    """Baseline: the mean-face half-ellipsoid (:func:`portraitcli.models.recon3d.ellipsoid_depth`) for every face."""
    return ellipsoid_depth(image.shape[:2])


def fit_ellipsoid(vertices: np.ndarray, crop_extent: float) -> dict[str, Any]:
    """Fit :data:`~portraitcli.models.recon3d.ELLIPSOID` to face vertices.

    ``vertices`` (V, 3): x right, y up, z towards the camera, in camera units.

    The semi-axes and centre come from the vertices' x-y bounding box; the bulge ``h`` is the
    least-squares fit of ``z = z0 + h * sqrt(1 - (x/a)^2 - (y/b)^2)``.

    Args:
        crop_extent: the crop's side in camera units at the face's distance.
    """
    lo, hi = vertices.min(0), vertices.max(0)
    c, half = (lo + hi) / 2, (hi - lo) / 2
    s = np.sqrt(
        np.clip(1 - ((vertices[:, 0] - c[0]) / half[0]) ** 2 - ((vertices[:, 1] - c[1]) / half[1]) ** 2, 0, None)
    )
    (_, h), *_ = np.linalg.lstsq(np.stack([np.ones_like(s), s], 1), vertices[:, 2], rcond=None)
    return {
        "semi_axes": (half[0] / crop_extent, half[1] / crop_extent),
        "center": (c[0] / crop_extent, -c[1] / crop_extent),
        "bulge": float(h),
    }


def posed_mean_face(data: Path, size: int = SIZE) -> DepthFn:
    """Baseline: the 3-D face model's mean face, turned to the pose solved from the face's landmarks.

    The classical single-image recipe: detect the five landmarks (on the 4x enlarged
    crop), solve the head's pitch and yaw by PnP against the mean face
    (:func:`portraitcli.face.shape.detect_pose`), and rotate the mean face's depth
    (:func:`portraitcli.face.shape.mean_face_depth`) to that view; the frontal mean face
    where no face is found.
    """
    from portraitcli.face.detect import FaceDetector
    from portraitcli.face.shape import detect_pose, mean_face_depth, mean_face_landmarks

    detector = FaceDetector()
    depth = mean_face_depth(data, size)
    landmarks3d = mean_face_landmarks(data)

    def predict(image: np.ndarray) -> np.ndarray:
        pose = detect_pose(image, detector, landmarks3d)
        if pose is None:
            return depth
        _, view_depth, _ = inverse_warp(depth, np.array([pose[0], pose[1], 0.0, 0.0, 0.0, 0.0]))
        return view_depth

    return predict


def baselines(data: Path) -> dict[str, DepthFn]:
    """The classical baselines of the table (the posed mean face reads ``sfm/`` under ``data``)."""
    return {
        "flat depth": flat_depth,
        "ellipsoid prior": ellipsoid_baseline,
        "mean face, landmark pose": posed_mean_face(data),
    }


def mean_face_our_view(data: Path, model: Any, size: int = SIZE) -> DepthFn:
    """Ablation: the 3-D face model's mean face turned by *our* predicted viewpoint.

    What the depth network adds over the shape prior: the same view as ours, the mean
    face's depth (:func:`portraitcli.face.shape.mean_face_depth`) in place of the predicted
    one (the exported depth is shrunk towards it by the model's ``prior_blend``).
    """
    from portraitcli.face.shape import mean_face_depth

    depth = mean_face_depth(data, size)

    def predict(image: np.ndarray) -> np.ndarray:
        _, view_depth, _ = inverse_warp(depth, model.run(image).view)
        return view_depth

    return predict


def onnx_depth(model: Any) -> DepthFn:
    """The view depth predicted by a ``Recon3dModel``: its canonical depth moved by its viewpoint."""

    def predict(image: np.ndarray) -> np.ndarray:
        recon = model.run(image)
        _, view_depth, _ = inverse_warp(recon.depth, recon.view)
        return view_depth

    return predict


def onnx_view_depth(model: Any) -> DepthFn:
    """The view-depth network's depth of a ``Recon3dModel`` (recon3d-v2), already in the input's view.

    Raises:
        UsageError: the model has no view-depth output.
    """

    def predict(image: np.ndarray) -> np.ndarray:
        recon = model.run(image)
        if recon.view_depth is None:
            raise UsageError("this recon3d model has no view-depth output")
        return recon.view_depth.astype(np.float64)

    return predict


def fused_depth(model: Any, upscale: int = 2, weight: float | None = None, view_share: float | None = None) -> DepthFn:
    """``portrait cartoon3d``'s depth: the network's reconstruction fused with the morphable fit
    (:func:`portraitcli.models.cartoon3d.reconstruct`, the fused target's share ``weight`` and the
    view-depth network's share ``view_share`` in it, by default the product's), seen in the
    input's view. The render is enlarged ``upscale`` times (bicubic), as the product's 256 px
    face; takes the native render."""
    import cv2

    from portraitcli.face.morphable import shipped_sfm
    from portraitcli.models.cartoon3d import VIEW_DEPTH_SHARE, reconstruct

    vshare = VIEW_DEPTH_SHARE if view_share is None else view_share
    sfm = shipped_sfm()

    def predict(image: np.ndarray) -> np.ndarray:
        face = cv2.resize(image, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
        recon = reconstruct(face, model, sfm, weight, vshare)
        _, view_depth, _ = inverse_warp(recon.depth.astype(np.float64), recon.view.astype(np.float64))
        return view_depth

    predict.native = True  # type: ignore[attr-defined]
    return predict


def posed_mean_depths(synth: dict[str, np.ndarray], size: int = SIZE) -> np.ndarray:
    """The morphable model's mean face rendered at each test face's true pose: (N, size, size)
    float64 camera-space z, NaN off the face (the reference of ``residual_depth_corr``)."""
    from portraitcli.data.synth_depth import rasterize_fast as rasterize
    from portraitcli.face.morphable import shipped_sfm
    from portraitcli.face.shape import project, to_protocol
    from portraitcli.models.recon3d import rotation_matrix

    model = shipped_sfm()
    out = []
    for yaw, pitch, roll in synth["pose"]:
        v = to_protocol(model.mean) @ rotation_matrix(pitch=pitch, yaw=yaw, roll=roll).T
        uv, z = project(v, size)
        depth, _ = rasterize(uv, z, np.zeros((len(uv), 1)), model.triangles, size)
        out.append(np.where(np.isfinite(depth), depth, np.nan))
    return np.stack(out)


def residual_corr(pred: np.ndarray, gt: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """Correlation over ``mask`` (where ``reference`` is finite) of ``pred - reference`` and
    ``gt - reference``; NaN with fewer than 10 pixels or a constant residual."""
    ok = mask & np.isfinite(reference) & np.isfinite(pred)
    if ok.sum() < 10:
        return float("nan")
    a, b = (pred - reference)[ok], (gt - reference)[ok]
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def score(
    predict: DepthFn, synth: dict[str, np.ndarray], size: int = SIZE, mean_depths: np.ndarray | None = None
) -> dict[str, Any]:
    """Mean SIDE and MAD of ``predict`` over the synthetic faces (module docstring).

    ``predict`` gets the render reduced to ``size`` px, or the render itself when it has an
    attribute ``native = True``. With ``mean_depths`` (:func:`posed_mean_depths`) also the
    median ``residual_depth_corr``.

    Returns:
        ``{"side", "mad", "side_std", "mad_std", ["residual_depth_corr"], "per_image": {"side": [...], "mad": [...]}}``.
    """
    factor = synth["image"].shape[1] // size
    sides, mads, corrs = [], [], []
    native = getattr(predict, "native", False)
    for i, (image, depth, mask) in enumerate(zip(synth["image"], synth["depth"], synth["mask"])):
        gt, m = reduce_depth(depth, mask, factor)
        m = erode_mask(m)
        pred = predict(image if native else reduce_image(image, size))
        sides.append(side(pred, gt, m))
        mads.append(mad(pred, gt, m))
        if mean_depths is not None:
            corrs.append(residual_corr(pred, gt, mean_depths[i], m))
    out = {
        "side": float(np.mean(sides)),
        "mad": float(np.mean(mads)),
        "side_std": float(np.std(sides)),
        "mad_std": float(np.std(mads)),
        "per_image": {"side": sides, "mad": mads},
    }
    if mean_depths is not None:
        out["residual_depth_corr"] = float(np.nanmedian(corrs))
    return out


#: The morphable fit's input: the 128 px render enlarged this much (dlib's 68-point model wants faces of 100+ px).
FIT_UPSCALE = 2


class RenderFits:
    """The morphable fit (:func:`~portraitcli.face.morphable.fit_landmarks`) of each render, None
    without a face: dlib's 68 landmarks on the render enlarged :data:`FIT_UPSCALE` times.
    Remembered per image, so the depth and expression scores fit each face once."""

    def __init__(self) -> None:
        from portraitcli.face.detect import FaceDetector
        from portraitcli.face.morphable import shipped_sfm

        self.detector, self.model = FaceDetector(), shipped_sfm()
        self._fits: dict[bytes, Any] = {}

    def __call__(self, image: np.ndarray) -> Any:
        import hashlib

        import cv2

        from portraitcli.face.detect import landmarks68
        from portraitcli.face.morphable import fit_landmarks

        key = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).digest()
        if key not in self._fits:
            big = cv2.resize(image, None, fx=FIT_UPSCALE, fy=FIT_UPSCALE, interpolation=cv2.INTER_CUBIC)
            found = self.detector.detect(big)
            self._fits[key] = fit_landmarks(self.model, landmarks68(big, found[0].bbox)) if found else None
        return self._fits[key]


def morphable_fit_depth(data: Path, fits: RenderFits, size: int = SIZE) -> DepthFn:
    """The morphable model fitted to dlib's 68 landmarks, its depth rasterized at the fitted pose
    (:func:`~portraitcli.face.morphable.fitted_depth`); the frontal mean face where no face is found.
    Takes the native render (``native``)."""
    from portraitcli.face.morphable import fitted_depth
    from portraitcli.face.shape import mean_face_depth

    model, fallback = fits.model, mean_face_depth(data, size)

    def predict(image: np.ndarray) -> np.ndarray:
        fit = fits(image)
        if fit is None:
            return fallback
        depth, _ = fitted_depth(model, fit, size, FIT_UPSCALE * image.shape[0] / size)
        return depth

    predict.native = True  # type: ignore[attr-defined]
    return predict


def score_expression(synth: dict[str, np.ndarray], fits: RenderFits) -> dict[str, Any]:
    """``expr_mae`` of the morphable fit on the renders (dlib's 68 landmarks), and of the all-zero guess.

    Faces where no face is detected count with the all-zero guess.
    """
    errors, zero, misses = [], [], 0
    for image, expr in zip(synth["image"], synth["expr"]):
        fit = fits(image)
        misses += fit is None
        guess = np.zeros_like(expr) if fit is None else fit.beta
        errors.append(float(np.abs(guess - expr).mean()))
        zero.append(float(np.abs(expr).mean()))
    return {
        "expr_mae": float(np.mean(errors)),
        "expr_mae_zero": float(np.mean(zero)),
        "n": len(errors),
        "n_no_face": misses,
    }


#: photo crop (S, S, 3) uint8 RGB -> cartoon (S, S, 3) uint8 RGB.
CartoonFn = Callable[[np.ndarray], np.ndarray]


def opencv_stylization(photo: np.ndarray) -> np.ndarray:
    """Baseline: OpenCV's edge-preserving stylization filter (Gastal and Oliveira), default settings."""
    import cv2

    from portraitcli.io.image import rgb_to_bgr

    return rgb_to_bgr(cv2.stylization(rgb_to_bgr(photo), sigma_s=60, sigma_r=0.45))


def cartoon_test_faces(data: Path, template: dict, n_utk: int = 250, n_fs2k: int = 250) -> dict[str, Any]:
    """The real test faces of the cartoon part, aligned to ``template`` (edges repeated, as the product does).

    The first ``n_utk`` files of UTKFace's seeded test split (the destylize split) and the
    first ``n_fs2k`` FS2K test photos (``pairs.csv`` order) in which a face is found.

    Returns:
        ``{"crops": (N, S, S, 3) uint8, "names": [...], "n_no_face": int}``.
    """
    import cv2

    from portraitcli.data.fs2k import fs2k_pairs
    from portraitcli.data.stylized import PairsConfig, split, utkface_files
    from portraitcli.face.align import similarity_transform, warp_affine
    from portraitcli.face.detect import FaceDetector
    from portraitcli.io import read_image

    detector = FaceDetector()
    kps = np.asarray(template["kps"], np.float32)
    size = tuple(template["size"])
    crops, names, misses = [], [], 0
    _, utk_test = split(utkface_files(data), PairsConfig())
    sources = [("utkface", utk_test, n_utk), ("fs2k", [p.photo for p in fs2k_pairs(data, "test")], n_fs2k)]
    for label, files, n in sources:
        taken = 0
        for f in files:
            if taken == n:
                break
            rgb = read_image(f).rgb
            faces = detector.detect(rgb)
            if not faces:
                misses += 1
                continue
            # edge pixels repeated past the photo, as the product frames tight crops (never mirrored)
            crops.append(warp_affine(rgb, similarity_transform(faces[0].kps, kps), size, border=cv2.BORDER_REPLICATE))
            names.append(f"{label}/{f.name}")
            taken += 1
    return {"crops": np.stack(crops), "names": names, "n_no_face": misses}


def onnx_cartoonizer(path: Path, threads: int = 2) -> CartoonFn:
    """The cartoons of an exported cartoon generator."""
    from portraitcli.models.cartoon import CartoonModel
    from portraitcli.runtime.session import create_session

    return CartoonModel(None, create_session(str(path), "cpu", threads)).run  # type: ignore[arg-type]


def score_cartoon(
    cartoonize: CartoonFn,
    crops: np.ndarray,
    toon_features: np.ndarray,
    extractor: Any,
    descriptor: Any,
    box: tuple[float, float, float, float],
    photo_ids: np.ndarray,
) -> dict[str, Any]:
    """KID (x 1e3 is how tables print it; stored plain) against the toons, the mean identity
    distance, and the mean Nyquist spike of the cartoons' luma (a period-2 pattern such as
    dotted eyes raises it above 1; :func:`~portraitcli.metrics.spectrum.nyquist_spike`)."""
    import cv2

    from portraitcli.metrics.distribution import kid_from_features
    from portraitcli.metrics.identity import identity_distance
    from portraitcli.metrics.spectrum import nyquist_spike

    outputs = [cartoonize(c) for c in crops]
    kid, kid_std = kid_from_features(extractor(iter(outputs)), toon_features)
    ids = identity_distance(descriptor.embed(outputs, box=box), photo_ids)
    spike = float(np.mean([nyquist_spike(cv2.cvtColor(o, cv2.COLOR_RGB2GRAY)) for o in outputs]))
    return {
        "kid_cartoon": kid,
        "kid_cartoon_std": kid_std,
        "id_dist_cartoon": ids["id_distance"],
        "spike_cartoon": spike,
        "_outputs": outputs,
    }


def settings(synth: dict[str, np.ndarray], size: int = SIZE) -> dict[str, Any]:
    """The protocol, recorded beside the numbers."""
    return {
        "dataset": "synth_depth/test.npz (Surrey Face Model renders, 10 degree camera, seed 0)",
        "n": int(len(synth["image"])),
        "resolution": f"{size} px (renders area-reduced from {synth['image'].shape[1]}; true depth averaged "
        "over 2x2 blocks wholly on the face)",
        "mask": "true face mask, eroded by one pixel (3x3)",
        "side": "Unsup3d's scale-invariant depth error (plain value; papers print it x 1e-2)",
        "mad": "mean angle deviation of normals from depth (degrees), 10 degree field of view",
    }
