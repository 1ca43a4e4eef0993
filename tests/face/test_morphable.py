"""The morphable face model fit: exact recovery on rendered landmarks, and eos as the reference."""

from __future__ import annotations

import numpy as np
import pytest

from portraitcli.face.morphable import (
    EXPRESSIONS,
    Pose,
    fit_landmarks,
    fit_shape,
    scaled_orthographic,
    shipped_sfm,
)
from portraitcli.models.recon3d import rotation_matrix
from tests.conftest import data_dir


@pytest.fixture(scope="module")
def sfm():
    return shipped_sfm()


def _landmarks(sfm, alpha, beta, pose: Pose) -> np.ndarray:
    """68 landmarks of a known face: the model's landmark vertices projected; the rest (the jaw
    contour, which has no fixed vertex) at the centroid, where the fit never looks."""
    points = pose.project(sfm.vertices(alpha, beta)[sfm.landmark_vertices])
    out = np.tile(points.mean(0), (68, 1))
    out[sfm.landmark_ids] = points
    return out


def test_the_shipped_model_is_the_surrey_face_model(sfm) -> None:
    assert sfm.mean.shape == (3448, 3) and sfm.basis.shape == (3448, 3, 63)
    assert sfm.blendshapes.shape == (6, 3448, 3) and sfm.triangles.max() == 3447
    assert len(sfm.landmark_ids) == len(sfm.landmark_vertices) and set(sfm.landmark_ids) <= set(range(68))
    pytest.importorskip("eos")
    from portraitcli.face.morphable import load_sfm

    original = load_sfm(data_dir("sfm"))
    for key in ("mean", "basis", "blendshapes"):
        np.testing.assert_allclose(getattr(sfm, key), getattr(original, key), atol=1e-5)
    np.testing.assert_array_equal(sfm.triangles, original.triangles)


def test_scaled_orthographic_recovers_an_exact_camera(sfm) -> None:
    pose = Pose(s=1.3, R=rotation_matrix(np.deg2rad(10), np.deg2rad(-25), np.deg2rad(5)), t=np.array([120.0, -140.0]))
    x = sfm.mean[sfm.landmark_vertices]
    got = scaled_orthographic(x, pose.project(x))
    assert got.s == pytest.approx(1.3, rel=1e-9)
    np.testing.assert_allclose(got.R, pose.R, atol=1e-9)
    np.testing.assert_allclose(got.t, pose.t, atol=1e-7)


def test_the_fit_reads_a_known_expression(sfm) -> None:
    """Exact landmarks of a known face: the expression shown is the one read, mostly.

    The shape prior absorbs part of any expression (0.8 comes back at 0.4-0.7), and at these
    50 landmarks surprise is confused with disgust: a limit of landmarks alone, not checked
    here. Over 20 faces near the mean (shape sd 0.3) the largest weight names the expression
    shown every time except surprise (20 %); over identities drawn from the full prior,
    60-100 % (surprise 25 %).
    """
    rng = np.random.default_rng(3)
    alpha = rng.normal(0, 0.3, 63)
    pose = Pose(s=1.6, R=rotation_matrix(np.deg2rad(-5), np.deg2rad(15), 0.0), t=np.array([128.0, -150.0]))
    for name in ("anger", "disgust", "fear", "happiness", "sadness"):
        beta = 0.8 * np.eye(6)[EXPRESSIONS.index(name)]
        fit = fit_landmarks(sfm, _landmarks(sfm, alpha, beta, pose))
        read = fit.expression()
        assert max(read, key=read.get) == name and 0.3 < read[name] < 0.9, read
        np.testing.assert_allclose(fit.pose.R, pose.R, atol=0.06)  # pitch trades off against shape: ~2 degrees
    neutral = fit_landmarks(sfm, _landmarks(sfm, alpha, np.zeros(6), pose))
    assert neutral.beta.max() < 0.15, neutral.expression()


def test_fit_shape_matches_eos(sfm) -> None:
    """Aldrian and Smith's linear shape fit against eos's ``fit_shape_to_landmarks_linear``."""
    eos = pytest.importorskip("eos")
    shape_model = eos.morphablemodel.load_model(str(data_dir("sfm") / "sfm_shape_3448.bin")).get_shape_model()
    rng = np.random.default_rng(0)
    pose = Pose(s=1.4, R=rotation_matrix(np.deg2rad(8), np.deg2rad(-20), 0.0), t=np.array([100.0, -120.0]))
    points = pose.project(sfm.vertices(rng.normal(0, 1, 63))[sfm.landmark_vertices]) + rng.normal(0, 1.5, (50, 2))
    sub = sfm.at_landmarks()
    ours = fit_shape(sub, pose, points, sub.vertices(), lam=3.0)
    # eos's 3x4 affine camera maps model points to image px (y down): rows (s R0, t0), (-s R1, -t1)
    camera = np.zeros((3, 4), np.float32)
    camera[0, :3], camera[0, 3] = pose.s * pose.R[0], pose.t[0]
    camera[1, :3], camera[1, 3] = -pose.s * pose.R[1], -pose.t[1]
    camera[2, 3] = 1.0
    reference = eos.fitting.fit_shape_to_landmarks_linear(
        shape_model,
        camera,
        [p.astype(np.float32).reshape(2, 1) for p in points],
        sfm.landmark_vertices.tolist(),
        sfm.mean.reshape(-1).astype(np.float32),
        3.0,
    )
    np.testing.assert_allclose(ours, np.asarray(reference), atol=2e-3)


def test_a_turned_head_reads_its_far_side_from_the_mirror_twin(sfm) -> None:
    from portraitcli.face.morphable import Fit
    from portraitcli.models.cartoon3d import Head, head_mesh, mirror_twins

    twin = mirror_twins(sfm)
    assert (twin[twin] == np.arange(len(twin))).mean() > 0.95
    np.testing.assert_allclose(sfm.mean[twin][:, 0], -sfm.mean[:, 0], atol=2.5)  # mm
    pose = Pose(s=1.2, R=rotation_matrix(0.0, np.deg2rad(50), 0.0), t=np.array([128.0, -128.0]))
    head = Head(fit=Fit(np.zeros(63), np.zeros(6), pose), expression=np.zeros(6), landmarks=np.zeros((68, 2)))
    verts, faces, uv = head_mesh(sfm, head, (256, 256))
    front = pose.project(sfm.mean)
    direct = np.stack([front[:, 0] / 256, 1 - front[:, 1] / 256], -1)
    swapped = np.flatnonzero(np.abs(uv - np.clip(direct, 0, 1)).max(1) > 1e-9)
    assert len(swapped) > 100  # a cheek's worth, mostly on the far side
    far_side = np.sign(sfm.mean[swapped, 0])
    assert abs(far_side.mean()) > 0.8  # (a few folds on the near side face away too: nostrils, ears)
    np.testing.assert_allclose(uv[swapped], np.clip(direct[twin[swapped]], 0, 1))
    assert verts.shape == (3448, 3) and faces.shape == sfm.triangles.shape


def test_texture_points_outside_the_face_outline_read_just_inside_it() -> None:
    from portraitcli.models.cartoon3d import face_outline, inside_outline

    square = np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]])
    points = np.array([[50.0, 50.0], [150.0, 50.0], [-20.0, -20.0], [50.0, 99.0]])
    got = inside_outline(points, square, inset=0.1)
    np.testing.assert_array_equal(got[[0, 3]], points[[0, 3]])  # inside: unchanged
    np.testing.assert_allclose(got[1], [100 - 5.0, 50.0])  # the nearest edge point, 10 % to the centre
    np.testing.assert_allclose(got[2], [5.0, 5.0])  # a corner
    np.testing.assert_array_equal(inside_outline(points, np.zeros((4, 2))), points)  # degenerate: as is
    landmarks = np.zeros((68, 2))
    landmarks[:17] = np.stack([np.linspace(0, 100, 17), 100 + 50 * np.sin(np.linspace(0, np.pi, 17))], 1)  # jaw
    landmarks[17:27] = np.stack([np.linspace(10, 90, 10), np.full(10, 60.0)], 1)  # brows
    outline = face_outline(landmarks)
    assert outline.shape == (27, 2)
    np.testing.assert_allclose(outline[17:, 1], 60.0 - (150.0 - 60.0) / 3)  # the forehead, above the brows
    np.testing.assert_allclose(outline[17:, 0], np.linspace(90, 10, 10))  # brows right to left: one loop
