"""Face framing and compositing: no mirrored padding, blended paste-back, whole-photo mode,
auto-rotation, faces in reading order with their boxes in the JSON records."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitcli.face.align import align_face, similarity_transform, warp_affine
from portraitcli.face.detect import FaceDetector
from portraitcli.face.pipeline import PipelineOptions, paste_faces, process, run_tiled
from portraitcli.io import read_image, write_image
from portraitcli.metrics.pixel import to_gray
from portraitcli.types import LoadedImage, Template
from tests.cli.test_cli import run
from tests.conftest import TEMPLATE_KPS

TEMPLATE = Template((200, 250), np.asarray(TEMPLATE_KPS, np.float32))


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture()
def tight(astronaut: np.ndarray) -> np.ndarray:
    """The astronaut cut close around her face: the CUFS framing reaches past every edge."""
    return np.ascontiguousarray(astronaut[50:250, 160:320])


def test_a_crop_past_the_edge_repeats_the_edge_and_never_mirrors(tight: np.ndarray, detector: FaceDetector) -> None:
    (face,) = detector.detect(tight)[:1]
    aligned = align_face(tight, face, TEMPLATE)
    assert aligned.valid is not None and aligned.padded > 0.1
    mirrored = warp_affine(tight, similarity_transform(face.kps, TEMPLATE.kps), TEMPLATE.size)  # reflect-101
    outside = aligned.valid < 0.01
    # the old padding showed the face's own features again out there; ours only repeats the edge pixel
    assert np.abs(mirrored[outside].astype(int) - aligned.crop[outside]).mean() > 10
    M_inv = cv2.invertAffineTransform(aligned.M)
    ys, xs = np.nonzero(outside)
    src = (M_inv @ np.stack([xs, ys, np.ones_like(xs)]).astype(np.float64)).T
    h, w = tight.shape[:2]
    edge = tight[np.clip(np.rint(src[:, 1]), 0, h - 1).astype(int), np.clip(np.rint(src[:, 0]), 0, w - 1).astype(int)]
    assert np.abs(edge.astype(int) - aligned.crop[ys, xs]).mean() < 4


def test_drawings_are_blank_paper_outside_the_photo(
    capsys, weights_dir: Path, tight: np.ndarray, tmp_path: Path
) -> None:
    src = write_image(tmp_path / "tight.png", tight)
    code, out, err = run(capsys, "sketch", str(src), "-o", str(tmp_path / "s.png"), "--size", "200", "--json")
    assert code == 0, err
    record = json.loads(out)
    (face,) = record["detections"]
    assert face["padded"] > 0.1 and face["output"] == str(tmp_path / "s.png")
    sketch = read_image(tmp_path / "s.png").rgb[..., 0]
    found = FaceDetector().detect(tight)[0]
    valid = align_face(tight, found, TEMPLATE).valid
    assert (sketch[valid < 0.01] >= 252).all()


def _brightness_normalising_model(crop: np.ndarray) -> np.ndarray:
    """A stand-in drawing model whose output depends on the crop it sees: luma moved to mean 160,
    as exposure matching does; a face crop and the whole photo get different offsets."""
    y = to_gray(crop).astype(np.float32)
    return np.clip(y - y.mean() + 160.0, 0, 255).astype(np.uint8)


def test_paste_back_leaves_no_seam(astronaut: np.ndarray, detector: FaceDetector) -> None:
    """Two people; the faces pasted into the whole photo drawn by the same model. At the mask's
    boundary the tone step between the pasted face and the drawing around it is under 8 gray levels."""
    from portraitcli.face.paste import face_mask, paste_back
    from portraitcli.face.pipeline import drawn_at_scale
    from portraitcli.metrics.pixel import seam_step

    photo = np.ascontiguousarray(np.concatenate([astronaut, astronaut[:, ::-1]], axis=1))
    faces = sorted((f for f in detector.detect(photo) if f.score >= 0.5), key=lambda f: f.bbox[0])
    assert len(faces) == 2
    model = _brightness_normalising_model
    out = paste_faces(photo, faces, model, TEMPLATE, detector)
    scale = np.mean([np.sqrt(abs(np.linalg.det(similarity_transform(f.kps, TEMPLATE.kps)[:, :2]))) for f in faces])
    base = drawn_at_scale(photo, model, float(scale))
    steps = []
    for face in faces:
        mask = face_mask(photo.shape[:2], detector.outline(photo, face))
        crop_out = cv2.resize(model(align_face(photo, face, TEMPLATE).crop), TEMPLATE.size)
        assert abs(float(crop_out.mean()) - 160.0) < 3.0  # the face alone was normalised on its own
        steps.append(seam_step(out, base, (mask > 0.4) & (mask < 0.6)))
    assert max(steps) < 8, steps
    # without the tone matching, the same paste leaves a step
    untoned = paste_back(base, crop_out, align_face(photo, faces[-1], TEMPLATE).M, match_tone=False)
    mask = face_mask(photo.shape[:2], detector.outline(photo, faces[-1]))
    assert seam_step(untoned, base, (mask > 0.4) & (mask < 0.6)) > 8


def test_whole_photo_tiles_without_seams(astronaut: np.ndarray) -> None:
    big = cv2.resize(astronaut, (1100, 900), interpolation=cv2.INTER_LINEAR)
    tiled = run_tiled(big, to_gray, tile=256, overlap=32)
    assert tiled.shape == big.shape[:2]
    assert np.abs(tiled.astype(int) - to_gray(big)).max() <= 1  # a pointwise model: tiles change nothing


def test_whole_option_writes_a_same_size_drawing(capsys, weights_dir: Path, astronaut: np.ndarray, tmp_path) -> None:
    src = write_image(tmp_path / "wide.png", cv2.resize(astronaut, (900, 600)))
    code, out, err = run(capsys, "sketch", str(src), "-o", str(tmp_path / "w.png"), "--whole", "--json")
    assert code == 0, err
    assert json.loads(out)["mode"] == "whole-image"
    assert read_image(tmp_path / "w.png").rgb.shape == (600, 900, 3)
    code, _, err = run(capsys, "sketch", str(src), "-o", str(tmp_path / "x.png"), "--whole", "--aligned")
    assert code == 2 and "--whole" in err


@pytest.mark.parametrize("k", [1, 2, 3])
def test_a_turned_photo_is_found_and_recorded(capsys, weights_dir: Path, astronaut: np.ndarray, tmp_path, k) -> None:
    src = write_image(tmp_path / "turned.png", np.ascontiguousarray(np.rot90(astronaut, k)))
    code, out, err = run(capsys, "sketch", str(src), "-o", str(tmp_path / "s.png"), "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["rotation"] == (360 - 90 * k) % 360
    x1, y1, x2, y2 = record["detections"][0]["bbox"]
    h, w = np.rot90(astronaut, k).shape[:2]
    assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h  # the box is in the input photo's coordinates
    upright = FaceDetector().detect(astronaut)[0]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    ux, uy = (upright.bbox[0] + upright.bbox[2]) / 2, (upright.bbox[1] + upright.bbox[3]) / 2
    expected = np.array([[ux, uy]])
    for _ in range(k):  # where the upright face's centre lands in np.rot90(image, k)
        hh = astronaut.shape[1] if _ % 2 == 0 else astronaut.shape[0]
        expected = np.array([[expected[0, 1], hh - 1 - expected[0, 0]]])
    assert np.hypot(cx - expected[0, 0], cy - expected[0, 1]) < 20
    code, _, err = run(capsys, "sketch", str(src), "-o", str(tmp_path / "n.png"), "--no-rotate")
    assert code == 4 and "no face" in err


def test_faces_all_in_reading_order_with_boxes(capsys, weights_dir: Path, astronaut: np.ndarray, tmp_path) -> None:
    canvas = np.full((512, 768, 3), 200, np.uint8)
    canvas[128:384, :256] = cv2.resize(astronaut, (256, 256))  # the smaller face on the left
    canvas[:, 256:] = astronaut
    src = write_image(tmp_path / "two.png", canvas)
    code, out, err = run(capsys, "sketch", str(src), "-o", str(tmp_path / "o.png"), "--faces", "all", "--json")
    assert code == 0, err
    record = json.loads(out)
    centres = [(d["bbox"][0] + d["bbox"][2]) / 2 for d in record["detections"]]
    assert len(centres) >= 2 and centres == sorted(centres)
    assert [d["output"] for d in record["detections"]] == record["outputs"]
    assert all(d["score"] > 0 for d in record["detections"])


def test_process_keeps_the_alpha_of_a_turned_photo(astronaut: np.ndarray, detector: FaceDetector) -> None:
    alpha = np.full(astronaut.shape[:2], 255, np.uint8)
    alpha[:, :64] = 0
    turned = LoadedImage(np.ascontiguousarray(np.rot90(astronaut)), np.ascontiguousarray(np.rot90(alpha)), None, "PNG")
    result = process(turned, to_gray, TEMPLATE, detector, PipelineOptions())
    assert result.rotation == 270 and result.alphas[0] is not None and result.alphas[0].shape == (250, 200)


def test_inside_mask_equals_warping_a_photo_sized_image_of_ones() -> None:
    """Reference: OpenCV's bilinear warp of ones (border 0), which the mask avoids allocating."""
    from portraitcli.face.align import inside_mask

    rng = np.random.default_rng(0)
    for _ in range(5):
        a, s = rng.uniform(-0.3, 0.3), rng.uniform(0.5, 2.0)
        M = np.array(
            [
                [s * np.cos(a), -s * np.sin(a), rng.uniform(-200, 50)],
                [s * np.sin(a), s * np.cos(a), rng.uniform(-200, 50)],
            ]
        )
        ref = cv2.warpAffine(np.ones((300, 400), np.float32), M, (200, 250), flags=cv2.INTER_LINEAR, borderValue=0.0)
        np.testing.assert_allclose(inside_mask((300, 400), M, (200, 250)), ref, atol=1e-3)
