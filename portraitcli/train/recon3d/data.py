"""Training faces and the crop template of the 3-D reconstruction.

The template is the framing of the synthetic-face protocol that the benchmark uses
(``synth_depth/``, made by ``tools/render_synth_depth.py``): the Surrey Face Model's mean
face, centred, scaled to a height of 0.15 units, 1 unit in front of a pinhole camera with a
10 degree field of view. Its five dlib landmarks (eye corners, nose base) projected into the
crop are the template, so real photos aligned to it are framed as the synthetic faces are.

Training faces: UTKFace's seeded train split (the same split as the destylize pairs),
detected and aligned to that template, cached as one ``.npz`` under the cache folder; or the
2-D cartoons of the same faces (:func:`cartoon_faces`), made as ``portrait cartoon3d`` makes
them, since at inference the reconstruction sees cartoons.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.progress import track

from portraitcli.data.stylized import PairsConfig, split, utkface_files
from portraitcli.face.align import similarity_transform, warp_affine
from portraitcli.face.shape import detect_pose, mean_face_landmarks, project
from portraitcli.io import read_image
from portraitcli.types import Face


def landmark_views(data: Path, faces: np.ndarray) -> np.ndarray:
    """(N, 2) float32 pitch and yaw (degrees) of aligned (N, S, S, 3) faces by
    :func:`portraitcli.face.shape.detect_pose`; NaN where no face was found."""
    from portraitcli.face.detect import FaceDetector

    detector = FaceDetector()
    landmarks3d = mean_face_landmarks(data)
    views = np.full((len(faces), 2), np.nan, np.float32)
    for i, face in enumerate(track(faces, description="landmark poses")):
        pose = detect_pose(face, detector, landmarks3d)
        if pose is not None:
            views[i] = pose
    return views


def cached_landmark_views(data: Path, faces: np.ndarray, names: list[str], cache: Path | None) -> np.ndarray:
    """:func:`landmark_views` of the aligned faces, cached beside them (keyed by the names and pixels' size)."""
    key = hashlib.sha256(json.dumps([list(map(str, names)), list(faces.shape)]).encode()).hexdigest()[:12]
    path = cache / f"recon3d-views-{key}.npy" if cache else None
    if path is not None and path.is_file():
        return np.load(path)
    views = landmark_views(data, faces)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, views)
    return views


def synthetic_template(data: Path, size: int, fov: float = 10.0) -> dict:
    """The crop template of the synthetic-face protocol at ``size`` px (module docstring).

    Args:
        data: the datasets folder (holds ``sfm/sfm_reference.obj``).
        size: crop side in px.

    Returns:
        ``{"size": [size, size], "kps": [[x, y] * 5], "source": words}``, the points in
        dlib's landmark order.

    Raises:
        UsageError: ``sfm/`` is missing.
    """
    uv, _ = project(mean_face_landmarks(data), size, fov)
    return {
        "size": [size, size],
        "kps": uv.round(2).tolist(),
        "source": "Surrey Face Model mean face in the synthetic-face protocol (10 degree camera, height 0.15 at 1)",
    }


def _train_split_faces(
    data: Path,
    cache_name: str,
    key_parts: list,
    crop: Callable[[np.ndarray, Face], np.ndarray],
    description: str,
    cache: Path | None,
    split_cfg: PairsConfig | None,
) -> dict:
    """Detect every face of UTKFace's train split and keep ``crop(rgb, face)``; cached as
    ``{cache_name}-{key}.npz``, the key hashing ``key_parts`` and the file names."""
    files, _ = split(utkface_files(data), split_cfg or PairsConfig())
    key = hashlib.sha256(json.dumps([*key_parts, [f.name for f in files]]).encode()).hexdigest()[:12]
    path = cache / f"{cache_name}-{key}.npz" if cache else None
    if path is not None and path.is_file():
        with np.load(path) as z:
            return {"faces": z["faces"], "names": list(z["names"]), "n_no_face": int(z["n_no_face"])}
    from portraitcli.face.detect import FaceDetector

    detector = FaceDetector()
    faces, names = [], []
    for f in track(files, description=description):
        rgb = read_image(f).rgb
        found = detector.detect(rgb)
        if found:
            faces.append(crop(rgb, found[0]))
            names.append(f.name)
    out = {"faces": np.stack(faces), "names": names, "n_no_face": len(files) - len(faces)}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, faces=out["faces"], names=np.array(names), n_no_face=out["n_no_face"])
    return out


def aligned_faces(
    data: Path,
    template: dict,
    cache: Path | None,
    split_cfg: PairsConfig | None = None,
    cache_name: str = "recon3d-utkface",
) -> dict:
    """UTKFace's train split aligned to ``template`` (cached as ``{cache_name}-{key}.npz``; the
    cartoon trainer's real photos use this too).

    Returns:
        ``{"faces": (N, S, S, 3) uint8 RGB, "names": [file names], "n_no_face": int}``.

    Raises:
        UsageError: UTKFace is missing or too small.
    """
    tpl_kps = np.asarray(template["kps"], np.float32)
    size = tuple(template["size"])

    def crop(rgb: np.ndarray, face: Face) -> np.ndarray:
        return warp_affine(rgb, similarity_transform(face.kps, tpl_kps), size)

    return _train_split_faces(data, cache_name, [template], crop, "aligning UTKFace train faces", cache, split_cfg)


def cartoon_faces(
    data: Path, template: dict, cache: Path | None, cartoon_model: Path, split_cfg: PairsConfig | None = None
) -> dict:
    """The 2-D cartoons of UTKFace's train split, in the reconstruction's framing ``template``.

    Each photo is detected, aligned to the cartoon model's template, turned into a cartoon
    by ``cartoon_model`` (an exported cartoon generator, ``template.json`` beside it or a
    shipped model's file) and warped into ``template`` as ``portrait cartoon3d`` does
    (:func:`portraitcli.models.cartoon3d.to_recon_frame`). Cached, keyed by the model's sha256.

    Returns:
        ``{"faces": (N, S, S, 3) uint8 RGB, "names": [file names], "n_no_face": int}``, the
        same faces as :func:`aligned_faces` finds.

    Raises:
        UsageError: UTKFace or the model (or its template) is missing.
    """
    from portraitcli.models.cartoon import CartoonModel
    from portraitcli.models.cartoon3d import to_recon_frame
    from portraitcli.runtime.session import create_session
    from portraitcli.runtime.weights import run_spec
    from portraitcli.types import Template

    spec = run_spec(cartoon_model, "cartoon")
    model = CartoonModel(spec, create_session(str(cartoon_model), "cpu", 2))
    recon_tpl = Template(tuple(template["size"]), np.asarray(template["kps"], np.float32))

    def crop(rgb: np.ndarray, face: Face) -> np.ndarray:
        photo = warp_affine(rgb, similarity_transform(face.kps, spec.template.kps), spec.template.size)
        return to_recon_frame(model.run(photo), spec.template, recon_tpl, recon_tpl.size[0])

    return _train_split_faces(
        data,
        "recon3d-utkface-cartoon",
        [template, spec.sha256],
        crop,
        "cartoons of UTKFace train faces",
        cache,
        split_cfg,
    )


def synthetic_faces(path: Path, size: int) -> dict[str, np.ndarray]:
    """Synthetic faces with their true 3-D shape, as depth supervision (``synth_train``).

    ``path``: renders of ``portrait data synth-depth`` (never the test set's seed), whose
    ``coeffs`` and ``expr`` give each face's Surrey Face Model mesh. Each render is reduced to
    ``size`` px by area averaging, as the benchmark reduces its test faces, and its target is
    the *canonical* depth the reconstruction predicts: the same mesh in the protocol's units
    (:func:`portraitcli.face.shape.to_protocol`), frontal, rasterized at ``size`` px; the
    render's pose becomes the network's viewpoint convention (camera frame with y down and z
    forward, so the yaw and roll change sign: ``(pitch, -yaw, -roll)``). Seen from that
    viewpoint (:func:`portraitcli.models.recon3d.inverse_warp`) the target reproduces the
    render's true depth at SIDE 0.39e-2 and MAD 5.1 degrees at 64 px (the resampling's floor).

    The view-depth network's target is the render's own depth, averaged over blocks as the
    benchmark does (a block counts as on the face when all its pixels are), the face's
    farthest depth elsewhere (the far plane the render's black background stands for).

    Returns:
        ``image`` (N, size, size, 3) uint8 RGB, ``depth`` (N, size, size) float32 canonical
        camera-space z (the face's farthest depth off the mesh), ``mask`` (N, size, size) bool
        on the mesh, ``view`` (N, 3) float32 pitch, yaw, roll in degrees (network convention),
        ``view_depth`` (N, size, size) float32 and ``view_mask`` (N, size, size) bool, the same in the render's view.

    Raises:
        UsageError: the file is missing or lacks the shape coefficients.
    """
    import cv2

    from portraitcli.data.synth_depth import rasterize_fast
    from portraitcli.errors import UsageError
    from portraitcli.face.morphable import shipped_sfm
    from portraitcli.face.shape import to_protocol

    if not Path(path).is_file():
        raise UsageError(f"{path} is not a file (make one with portrait data synth-depth --seed 11)")
    with np.load(path) as z:
        if not {"image", "coeffs", "expr", "pose"} <= set(z.files):
            raise UsageError(f"{path} lacks image/coeffs/expr/pose (make it with portrait data synth-depth)")
        images, coeffs, expr, pose = z["image"], z["coeffs"], z["expr"], z["pose"]
        true_depth, true_mask = z["depth"], z["mask"]
    factor = images.shape[1] // size
    if factor * size != images.shape[1]:
        raise UsageError(f"{path}: renders of {images.shape[1]} px do not reduce to {size} px")
    sfm = shipped_sfm()
    depth = np.empty((len(images), size, size), np.float32)
    mask = np.empty((len(images), size, size), bool)
    for i in track(range(len(images)), description="canonical depth of the synthetic faces"):
        v = to_protocol(sfm.vertices(coeffs[i].astype(np.float64), expr[i].astype(np.float64)))
        uv, zz = project(v, size)
        d, _ = rasterize_fast(uv, zz, np.zeros((len(v), 1)), sfm.triangles, size)
        mask[i] = np.isfinite(d)
        depth[i] = np.where(mask[i], d, d[mask[i]].max())
    reduced = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in images])
    view = np.stack([pose[:, 1], -pose[:, 0], -pose[:, 2]], 1).astype(np.float32)
    n = len(images)
    blocks = true_depth.reshape(n, size, factor, size, factor).mean(axis=(2, 4))
    view_mask = true_mask.reshape(n, size, factor, size, factor).all(axis=(2, 4))
    far = np.where(view_mask, blocks, 0.0).max(axis=(1, 2), keepdims=True)
    view_depth = np.where(view_mask, blocks, far).astype(np.float32)
    return {
        "image": reduced,
        "depth": depth,
        "mask": mask,
        "view": view,
        "view_depth": view_depth,
        "view_mask": view_mask,
    }
