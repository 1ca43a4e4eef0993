from __future__ import annotations

import numpy as np
import pytest

from portraitcli.errors import BadInputError
from portraitcli.metrics.depth import angle_deviation, erode_mask, mad, normals_from_depth, side
from portraitcli.metrics.identity import consistency_ratio, identity_distance, retrieval_ratio


def _sphere_depth(h: int = 64, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w]
    r2 = ((xs - w / 2) / (w / 3)) ** 2 + ((ys - h / 2) / (h / 3)) ** 2
    mask = r2 < 1
    depth = 10.0 - np.sqrt(np.clip(1 - r2, 0, 1))
    return depth, mask


def test_side_is_scale_invariant_and_positive_otherwise() -> None:
    depth, mask = _sphere_depth()
    assert side(depth * 3.7, depth, mask) == pytest.approx(0.0, abs=1e-12)
    noisy = depth * np.exp(np.random.default_rng(0).normal(0, 0.01, depth.shape))
    assert side(noisy, depth, mask) == pytest.approx(0.01, rel=0.1)
    with pytest.raises(BadInputError, match="positive"):
        side(depth - 20, depth, mask)


def test_mad_zero_for_identical_and_90_for_orthogonal() -> None:
    depth, mask = _sphere_depth()
    inner = erode_mask(mask)
    assert mad(depth, depth, inner) == pytest.approx(0.0, abs=1e-6)
    n1 = np.zeros((8, 8, 3))
    n1[..., 2] = 1
    n2 = np.zeros((8, 8, 3))
    n2[..., 0] = 1
    assert angle_deviation(n1, n2, np.ones((8, 8), bool)) == pytest.approx(90.0)


def test_normals_of_a_plane_facing_the_camera() -> None:
    n = normals_from_depth(np.full((16, 16), 5.0))
    np.testing.assert_allclose(n[1:-1, 1:-1], np.broadcast_to([0, 0, 1], (14, 14, 3)), atol=1e-9)


def test_erode_mask() -> None:
    m = np.zeros((7, 7), bool)
    m[1:6, 1:6] = True
    assert erode_mask(m).sum() == 9


def test_identity_distance_and_retrieval() -> None:
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(20, 128))
    d = identity_distance(gallery, gallery)
    assert d["id_distance"] == 0.0 and d["n_pairs"] == 20
    assert retrieval_ratio(gallery, gallery, 1)["top1"] == 1.0
    assert retrieval_ratio(gallery, gallery, 5)["top5"] == 1.0
    query = gallery.copy()
    query[3] = np.nan  # no face found: counted as a miss, and reported
    r = retrieval_ratio(query, gallery, 1)
    assert r["top1"] == pytest.approx(19 / 20) and r["n_no_face"] == 1
    shuffled = gallery[::-1].copy()
    assert retrieval_ratio(shuffled, gallery, 1)["top1"] == 0.0
    # explicit ground truth: queries of repeated identities against a gallery of unique ones
    assert retrieval_ratio(shuffled, gallery, 1, np.arange(20)[::-1])["top1"] == 1.0


def test_consistency_ratio_across_styles() -> None:
    rng = np.random.default_rng(1)
    faces = rng.normal(size=(10, 128))
    noisy = {s: faces + rng.normal(0, 0.01, faces.shape) for s in ("a", "b", "c")}
    assert consistency_ratio(noisy)["consistency"] == 1.0
    noisy["c"] = noisy["c"][::-1].copy()  # style c recovers the wrong people
    r = consistency_ratio(noisy)
    assert r["consistency"] == pytest.approx(2 / 6) and r["n_queries"] == 60  # only a<->b agree
    noisy["c"] = faces.copy()
    noisy["c"][0] = np.nan  # a face not found: its 4 queries miss, counted, never dropped
    r = consistency_ratio(noisy)
    assert r["consistency"] == pytest.approx(56 / 60) and r["n_no_face"] == 1
    with pytest.raises(BadInputError):
        consistency_ratio({"a": faces})


@pytest.mark.slow
def test_face_descriptor_of_an_image_with_itself(astronaut: np.ndarray) -> None:
    from portraitcli.metrics.identity import FaceDescriptor

    desc = FaceDescriptor()
    a = desc.embed([astronaut, astronaut[:, ::-1].copy(), np.full((100, 100, 3), 128, np.uint8)])
    assert a.shape == (3, 128)
    assert identity_distance(a[:1], a[:1])["id_distance"] == 0.0
    assert np.linalg.norm(a[0] - a[1]) < 0.6  # the mirrored photo is the same person
    assert np.isnan(a[2]).all()


@pytest.mark.slow
def test_aligned_descriptor_with_template_box_matches_detection(astronaut: np.ndarray) -> None:
    from portraitcli.face.detect import FaceDetector
    from portraitcli.metrics.identity import FaceDescriptor, template_box

    desc = FaceDescriptor()
    face = FaceDetector().detect(astronaut)[0]
    box = template_box(face.kps)
    assert np.abs(np.subtract(box, face.bbox)).max() < 8  # close to dlib's own box
    d_box, d_det = desc.aligned(astronaut, box), desc(astronaut)
    assert np.linalg.norm(d_box - d_det) < 0.1
    assert not np.isnan(desc.embed([astronaut], box=box)).any()
