"""MTCNN detector: NMS and box helpers by hand, detections against dlib HOG's, weight checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from portraitcli.errors import WeightsError
from portraitcli.face.detect import FaceDetector
from portraitcli.face.mtcnn import (
    MTCNNFaceDetector,
    calibrate,
    eyes_agree,
    face_weights_dir,
    hog_box,
    make_detector,
    nms,
    square,
)


def test_nms_union_and_min_by_hand() -> None:
    boxes = np.array(
        [
            [0, 0, 9, 9, 0.9],  # area 100
            [1, 0, 10, 9, 0.8],  # IoU with the first: 90 / 110 = 0.82
            [0, 0, 4, 4, 0.95],  # inside the first: IoU 25 / 100, intersection over min 1.0
            [50, 50, 59, 59, 0.7],  # alone
        ],
        float,
    )
    assert nms(boxes, 0.7).tolist() == [2, 0, 3]
    assert nms(boxes, 0.7, mode="min").tolist() == [2, 3]
    assert nms(np.zeros((0, 5)), 0.5).tolist() == []


def test_calibrate_and_square_by_hand() -> None:
    box = np.array([[10.0, 20.0, 29.0, 59.0, 1.0]])  # 20 wide, 40 high
    moved = calibrate(box, np.array([[0.1, -0.1, 0.0, 0.5]]))
    assert moved[0, :4].tolist() == pytest.approx([12, 16, 29, 79])
    sq = square(box)
    assert sq[0, :4].tolist() == pytest.approx([0, 20, 39, 59])
    assert hog_box(np.array([0.0, 0.0, 99.0, 99.0]), (0.0, 0.1, 1.2)) == pytest.approx((-10, 0, 110, 120))


@pytest.fixture(scope="module")
def mtcnn() -> MTCNNFaceDetector:
    return MTCNNFaceDetector()


def test_astronaut_agrees_with_dlib_hog(mtcnn: MTCNNFaceDetector, astronaut: np.ndarray) -> None:
    boxes = mtcnn.boxes(astronaut)
    assert len(boxes) == 1 and boxes[0, 4] > 0.99
    hog = FaceDetector().detect(astronaut)[0]
    face = mtcnn.detect(astronaut)[0]
    iod = np.linalg.norm(hog.kps[:2].mean(0) - hog.kps[2:4].mean(0))
    assert np.abs(face.kps - hog.kps).max() < 0.1 * iod
    # MTCNN's own eye centres lie between dlib's eye corners
    eyes_x = sorted(boxes[0, 5:7])
    assert hog.kps[2, 0] < eyes_x[0] < hog.kps[3, 0] and hog.kps[1, 0] < eyes_x[1] < hog.kps[0, 0]


def test_a_sideways_face_is_dropped_for_the_rotation_search(astronaut: np.ndarray) -> None:
    """MTCNN finds the astronaut turned by 270 degrees, but its eyes and dlib's disagree: no face,
    so `--rotate` turns the photo upright instead of cropping a sideways face."""
    turned = np.ascontiguousarray(np.rot90(astronaut, 3))
    mtcnn = MTCNNFaceDetector(fallback=False)
    row = mtcnn.boxes(turned)[0]
    assert row[4] > 0.9  # O-Net is sure
    assert not eyes_agree(row, mtcnn.landmarks(turned, hog_box(row)))
    assert mtcnn.detect(turned) == []
    upright = mtcnn.boxes(astronaut)[0]
    assert eyes_agree(upright, mtcnn.landmarks(astronaut, hog_box(upright)))


def test_flat_image_has_no_face_even_after_the_fallback(mtcnn: MTCNNFaceDetector) -> None:
    flat = np.full((240, 240, 3), 127, np.uint8)
    assert len(mtcnn.boxes(flat)) == 0 and mtcnn.detect(flat) == []


def test_several_faces_found(mtcnn: MTCNNFaceDetector, astronaut: np.ndarray) -> None:
    two = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)
    faces = mtcnn.detect(two)
    assert len(faces) == 2 and {f.bbox[0] < 512 for f in faces} == {True, False}


def test_altered_network_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "face"
    shutil.copytree(face_weights_dir(), folder)
    (folder / "mtcnn-rnet.onnx").write_bytes(b"not a network")
    with pytest.raises(WeightsError, match="mtcnn-rnet.onnx"):
        MTCNNFaceDetector(folder=folder)


def test_make_detector_names() -> None:
    assert type(make_detector("hog")) is FaceDetector
    assert isinstance(make_detector("mtcnn"), MTCNNFaceDetector)
