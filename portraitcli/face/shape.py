"""3-D face shape priors from the Surrey Face Model (``sfm/`` in the datasets folder).

The mean face placed as in the synthetic-face protocol of ``portrait benchmark cartoon3d``
(``synth_depth/``, made by ``tools/render_synth_depth.py``): centred, scaled to a height of
0.15 units, 1 unit in front of a pinhole camera with a 10 degree field of view. From it:
the depth prior of the 3-D reconstruction (:func:`mean_face_depth`) and the head pose of a
face from its five landmarks (:func:`landmark_pose`, PnP on the mean face's landmark
vertices), the weak viewpoint labels of its training and a classical baseline.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from portraitcli.data import dataset_dir

#: Surrey Face Model vertex of each dlib landmark (``sfm/ibug_to_sfm.txt``): subject's left
#: eye outer (ibug 46) and inner (43) corners, right eye outer (37) and inner (40), nose
#: base (ibug 34, the nose-lip junction).
SFM_KPS_VERTICES = (610, 614, 177, 181, 270)
#: Face height in camera units at distance 1 in the synthetic protocol.
FACE_HEIGHT = 0.15
#: The protocol camera's field of view, degrees.
FOV = 10.0


def read_obj_vertices(path: Path) -> np.ndarray:
    """(V, 3) float64 vertices of a Wavefront OBJ file, in the file's order (trimesh's reader,
    without merging or reordering)."""
    import trimesh

    mesh = trimesh.load(path, process=False, maintain_order=True, force="mesh")
    return np.asarray(mesh.vertices, np.float64)


def mean_face(data: Path) -> np.ndarray:
    """(V, 3) float64 vertices of the Surrey Face Model's mean face in the protocol's units.

    Centred on the vertex mean, scaled to a height of ``FACE_HEIGHT``; x right, y up, z
    towards the camera (the camera looks down -z from distance 1).

    Raises:
        UsageError: ``sfm/`` is missing.
    """
    return to_protocol(read_obj_vertices(dataset_dir(data, "sfm") / "sfm_reference.obj"))


def to_protocol(vertices: np.ndarray) -> np.ndarray:
    """Face vertices (V, 3) in model units -> the protocol's: centred on their mean, ``FACE_HEIGHT`` high."""
    v = vertices - vertices.mean(0)
    return v * (FACE_HEIGHT / np.ptp(v[:, 1]))


def mean_face_landmarks(data: Path) -> np.ndarray:
    """(5, 3) the mean face's landmark vertices (:data:`SFM_KPS_VERTICES`), the 3-D side of :func:`landmark_pose`."""
    return mean_face(data)[list(SFM_KPS_VERTICES)]


def focal_length(size: int, fov: float = FOV) -> float:
    """The protocol camera's focal length in px for a (size, size) image."""
    return (size / 2) / math.tan(math.radians(fov / 2))


def project(vertices: np.ndarray, size: int, fov: float = FOV) -> tuple[np.ndarray, np.ndarray]:
    """Project protocol-space vertices (V, 3) into a (size, size) image of the protocol's camera.

    Returns:
        ``(uv (V, 2) pixel coordinates, principal point at size / 2; z (V,) camera-space depth)``.
    """
    f = focal_length(size, fov)
    z = 1.0 - vertices[:, 2]
    uv = np.stack([f * vertices[:, 0] / z + size / 2, size / 2 - f * vertices[:, 1] / z], 1)
    return uv, z


def mean_face_depth(data: Path, size: int, fov: float = FOV) -> np.ndarray:
    """The mean face's frontal depth map, (size, size) float64 camera-space z, the shape prior.

    The mean face (:func:`mean_face`) 1 unit in front of the protocol's camera, framed as
    the template (:func:`portraitcli.train.recon3d.data.synthetic_template`), its vertex
    depths interpolated linearly over their projections (the front of a face is a height
    field); pixels off the face get the face's farthest depth.
    """
    from scipy.interpolate import griddata

    uv, z = project(mean_face(data), size, fov)
    ys, xs = np.mgrid[0:size, 0:size]
    depth = griddata(uv, z, (xs, ys), method="linear")
    return np.where(np.isnan(depth), np.nanmax(depth), depth)


def camera_matrix(size: int, fov: float = FOV) -> np.ndarray:
    """(3, 3) pinhole intrinsics of the protocol's camera for a (size, size) image, principal point at size / 2."""
    f = focal_length(size, fov)
    return np.array([[f, 0.0, size / 2], [0.0, f, size / 2], [0.0, 0.0, 1.0]])


def landmark_pose(kps: np.ndarray, landmarks3d: np.ndarray, size: int, fov: float = FOV) -> tuple[float, float] | None:
    """Pitch and yaw (degrees, the renderer's view convention) of a face from its five landmarks.

    ``cv2.solvePnP`` of the landmarks against the mean face's landmark vertices in the
    protocol's camera. With five points the yaw is well determined and the pitch weakly
    (measured on 79 synthetic faces: r = 0.93 and 0.50 against the rendered pose).

    Args:
        kps: (5, 2) float pixel coordinates in dlib's order, in a (size, size) image.
        landmarks3d: (5, 3) :func:`mean_face` vertices ``SFM_KPS_VERTICES``.

    Returns:
        ``(pitch, yaw)``, or None when PnP fails.
    """
    import cv2

    obj = np.asarray(landmarks3d, np.float64) * np.array([1.0, -1.0, -1.0])  # OpenCV frame: y down, z forward
    ok, rvec, _ = cv2.solvePnP(
        obj,
        np.asarray(kps, np.float64),
        camera_matrix(size, fov),
        None,
        rvec=np.zeros(3),
        tvec=np.array([0.0, 0.0, 1.0]),
        useExtrinsicGuess=True,
    )
    if not ok:
        return None
    r, _ = cv2.Rodrigues(rvec)
    return math.degrees(math.atan2(r[2, 1], r[2, 2])), math.degrees(math.atan2(-r[2, 0], math.hypot(r[2, 1], r[2, 2])))


def detect_pose(
    face: np.ndarray, detector: object, landmarks3d: np.ndarray, upsample: int = 4
) -> tuple[float, float] | None:
    """:func:`landmark_pose` of a small square crop (S, S, 3) uint8 RGB, detected after ``upsample``-times
    bicubic enlargement (the detector misses 64 px faces); None when no face is found."""
    import cv2

    size = face.shape[0]
    big = cv2.resize(face, (upsample * size, upsample * size), interpolation=cv2.INTER_CUBIC)
    found = detector.detect(big)  # type: ignore[attr-defined]
    if not found:
        return None
    return landmark_pose(found[0].kps / upsample, landmarks3d, size)
