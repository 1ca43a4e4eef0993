"""Training faces and the crop template of the 3-D reconstruction.

The template is the framing of the synthetic-face protocol that the benchmark uses
(``synth_depth/``, made by ``tools/render_synth_depth.py``): the Surrey Face Model's mean
face, centred, scaled to a height of 0.15 units, 1 unit in front of a pinhole camera with a
10 degree field of view. Its five dlib landmarks (eye corners, nose base) projected into the
crop are the template, so real photos aligned to it are framed as the synthetic faces are.

Training faces: UTKFace's seeded train split (the same split as the destylize pairs),
detected and aligned to that template, cached as one ``.npz`` under the cache folder.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
from rich.progress import track

from portraitcli.data import dataset_dir
from portraitcli.data.stylized import PairsConfig, split, utkface_files
from portraitcli.face.align import similarity_transform, warp_affine
from portraitcli.io import read_image

#: Surrey Face Model vertex of each dlib landmark (``sfm/ibug_to_sfm.txt``): subject's left
#: eye outer (ibug 46) and inner (43) corners, right eye outer (37) and inner (40), nose
#: base (ibug 34, the nose-lip junction).
SFM_KPS_VERTICES = (610, 614, 177, 181, 270)
#: Face height in camera units at distance 1 in the synthetic protocol.
FACE_HEIGHT = 0.15


def read_obj_vertices(path: Path) -> np.ndarray:
    """(V, 3) float64 vertices of a Wavefront OBJ file (its ``v x y z`` lines)."""
    rows = [line.split()[1:4] for line in path.read_text().splitlines() if line.startswith("v ")]
    return np.array(rows, np.float64)


def mean_face(data: Path) -> np.ndarray:
    """(V, 3) float64 vertices of the Surrey Face Model's mean face in the protocol's units.

    Centred on the vertex mean, scaled to a height of ``FACE_HEIGHT``; x right, y up, z
    towards the camera (the camera looks down -z from distance 1).

    Raises:
        UsageError: ``sfm/`` is missing.
    """
    v = read_obj_vertices(dataset_dir(data, "sfm") / "sfm_reference.obj")
    v = v - v.mean(0)
    return v * (FACE_HEIGHT / np.ptp(v[:, 1]))


def mean_face_depth(data: Path, size: int, fov: float = 10.0) -> np.ndarray:
    """The mean face's frontal depth map, (size, size) float64 camera-space z, the shape prior.

    The mean face (:func:`mean_face`) 1 unit in front of the protocol's camera, framed as
    the template (:func:`synthetic_template`), its vertex depths interpolated linearly over
    their projections (the front of a face is a height field); pixels off the face get the
    face's farthest depth.
    """
    from scipy.interpolate import griddata

    v = mean_face(data)
    f = (size / 2) / math.tan(math.radians(fov / 2))
    z = 1.0 - v[:, 2]
    uv = np.stack([f * v[:, 0] / z + size / 2, size / 2 - f * v[:, 1] / z], 1)
    ys, xs = np.mgrid[0:size, 0:size]
    depth = griddata(uv, z, (xs, ys), method="linear")
    return np.where(np.isnan(depth), np.nanmax(depth), depth)


def landmark_views(data: Path, faces: np.ndarray, fov: float = 10.0) -> np.ndarray:
    """Pitch and yaw of aligned faces from their five landmarks (PnP on the mean face).

    Each (S, S, 3) crop is upsampled 4x, its landmarks detected, and the head rotation
    solved by ``cv2.solvePnP`` against the mean face's landmark vertices in the protocol's
    camera. The angles follow the renderer's view convention (degrees). With five points,
    yaw is well determined and pitch weakly (measured on synthetic faces: yaw r = 0.93,
    pitch r = 0.50 against the rendered pose).

    Returns:
        (N, 2) float32 (pitch, yaw); NaN where no face was found.
    """
    import cv2

    from portraitcli.face.detect import FaceDetector

    size = faces.shape[1]
    obj = mean_face(data)[list(SFM_KPS_VERTICES)] * np.array([1.0, -1.0, -1.0])  # OpenCV: y down, z forward
    f = (size / 2) / math.tan(math.radians(fov / 2))
    camera = np.array([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1]], np.float64)
    detector = FaceDetector()
    views = np.full((len(faces), 2), np.nan, np.float32)
    for i, face in enumerate(track(faces, description="landmark poses")):
        found = detector.detect(cv2.resize(face, (4 * size, 4 * size), interpolation=cv2.INTER_CUBIC))
        if not found:
            continue
        ok, rvec, _ = cv2.solvePnP(
            obj,
            found[0].kps.astype(np.float64) / 4,
            camera,
            None,
            rvec=np.zeros(3),
            tvec=np.array([0.0, 0.0, 1.0]),
            useExtrinsicGuess=True,
        )
        if ok:
            r, _ = cv2.Rodrigues(rvec)
            yaw = math.degrees(math.atan2(-r[2, 0], math.hypot(r[2, 1], r[2, 2])))
            views[i] = (math.degrees(math.atan2(r[2, 1], r[2, 2])), yaw)
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
    v = mean_face(data)
    f = (size / 2) / math.tan(math.radians(fov / 2))
    k = v[list(SFM_KPS_VERTICES)]
    z = 1.0 - k[:, 2]
    uv = np.stack([f * k[:, 0] / z + size / 2, size / 2 - f * k[:, 1] / z], 1)
    return {
        "size": [size, size],
        "kps": uv.round(2).tolist(),
        "source": "Surrey Face Model mean face in the synthetic-face protocol (10 degree camera, height 0.15 at 1)",
    }


def aligned_faces(data: Path, template: dict, cache: Path | None, split_cfg: PairsConfig | None = None) -> dict:
    """UTKFace's train split aligned to ``template``.

    Returns:
        ``{"faces": (N, S, S, 3) uint8 RGB, "names": [file names], "n_no_face": int}``.

    Raises:
        UsageError: UTKFace is missing or too small.
    """
    split_cfg = split_cfg or PairsConfig()
    files, _ = split(utkface_files(data), split_cfg)
    key = hashlib.sha256(json.dumps([template, [f.name for f in files]]).encode()).hexdigest()[:12]
    path = cache / f"recon3d-utkface-{key}.npz" if cache else None
    if path is not None and path.is_file():
        with np.load(path) as z:
            return {"faces": z["faces"], "names": list(z["names"]), "n_no_face": int(z["n_no_face"])}
    from portraitcli.face.detect import FaceDetector

    detector = FaceDetector()
    tpl_kps = np.asarray(template["kps"], np.float32)
    size = tuple(template["size"])
    faces, names = [], []
    for f in track(files, description="aligning UTKFace train faces"):
        rgb = read_image(f).rgb
        found = detector.detect(rgb)
        if found:
            faces.append(warp_affine(rgb, similarity_transform(found[0].kps, tpl_kps), size))
            names.append(f.name)
    out = {"faces": np.stack(faces), "names": names, "n_no_face": len(files) - len(faces)}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, faces=out["faces"], names=np.array(names), n_no_face=out["n_no_face"])
    return out
