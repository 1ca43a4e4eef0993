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


def aligned_faces(data: Path, template: dict, cache: Path | None, split_cfg: PairsConfig | None = None) -> dict:
    """UTKFace's train split aligned to ``template``.

    Returns:
        ``{"faces": (N, S, S, 3) uint8 RGB, "names": [file names], "n_no_face": int}``.

    Raises:
        UsageError: UTKFace is missing or too small.
    """
    tpl_kps = np.asarray(template["kps"], np.float32)
    size = tuple(template["size"])

    def crop(rgb: np.ndarray, face: Face) -> np.ndarray:
        return warp_affine(rgb, similarity_transform(face.kps, tpl_kps), size)

    return _train_split_faces(
        data, "recon3d-utkface", [template], crop, "aligning UTKFace train faces", cache, split_cfg
    )


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
