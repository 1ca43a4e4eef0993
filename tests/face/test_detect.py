from __future__ import annotations

import csv
import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitcli.face.align import align_face, transform_points
from portraitcli.face.detect import FaceDetector
from portraitcli.io import read_image
from portraitcli.types import Template
from tests.conftest import TEMPLATE_KPS, data_dir


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def test_astronaut_face_and_landmarks(detector: FaceDetector, astronaut: np.ndarray) -> None:
    faces = detector.detect(astronaut)
    assert faces, "no face on the astronaut"
    f = faces[0]
    x1, y1, x2, y2 = f.bbox
    assert 150 < x1 < 200 and 50 < y1 < 100 and 240 < x2 < 290 and 140 < y2 < 190
    assert f.kps.shape == (5, 2) and f.kps.dtype == np.float32
    # the subject's left eye (image right) is right of her right eye; the nose is below both
    assert f.kps[0, 0] > f.kps[1, 0] > f.kps[3, 0] > f.kps[2, 0]
    assert f.kps[4, 1] > f.kps[:4, 1].max()


def test_no_face_on_flat_image(detector: FaceDetector) -> None:
    assert detector.detect(np.full((200, 200, 3), 127, np.uint8)) == []


def test_small_face_found_by_upsampling(detector: FaceDetector, astronaut: np.ndarray) -> None:
    """A face of ~35 px is missed at dlib's default pyramid and found after upsampling."""
    small = cv2.resize(astronaut, (200, 200), interpolation=cv2.INTER_AREA)
    canvas = np.full((600, 600, 3), 110, np.uint8)
    canvas[200:400, 300:500] = small
    plain = FaceDetector(upsample=0, max_upsample=0)
    assert plain.detect(canvas) == []
    faces = FaceDetector(upsample=0, max_upsample=2).detect(canvas)
    assert faces and 300 < faces[0].bbox[0] < 400


def test_large_image_detected_on_a_reduced_copy(detector: FaceDetector, astronaut: np.ndarray) -> None:
    big = cv2.resize(astronaut, (3000, 3000), interpolation=cv2.INTER_CUBIC)
    faces = detector.detect(big)
    assert faces
    ref = detector.detect(astronaut)[0].kps * (3000 / 512)
    assert np.abs(faces[0].kps - ref).max() < 3000 / 512 * 4


@pytest.mark.parametrize("angle, scale, shift", [(0, 1.0, (0, 0)), (12, 0.8, (30, -20)), (-10, 1.3, (-40, 25))])
def test_aligned_crops_are_stable(detector: FaceDetector, astronaut: np.ndarray, angle, scale, shift) -> None:
    """The same face, rotated, scaled and moved, lands on the template within a few px."""
    h, w = astronaut.shape[:2]
    M = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    M[:, 2] += shift
    moved = cv2.warpAffine(astronaut, M, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=(120, 120, 120))
    template = Template((200, 250), np.asarray(TEMPLATE_KPS, np.float32))
    face = detector.detect(moved)[0]
    aligned = align_face(moved, face, template)
    # landmarks of the detection, mapped into the crop, sit on the template
    mapped = transform_points(aligned.M, face.kps)
    assert np.abs(mapped - template.kps).max() < 6.0
    # and re-detecting on the crop finds them there again
    again = detector.detect(aligned.crop)
    assert again and np.abs(again[0].kps - template.kps).max() < 6.0


def _sample_photos(root: Path, n: int, rng: random.Random) -> list[Path]:
    cufs = root / "cufs"
    with (cufs / "pairs.csv").open() as f:
        cufs_photos = [cufs / r["photo"] for r in csv.DictReader(f)]
    with (root / "fs2k" / "pairs.csv").open() as f:
        fs2k_photos = [root / "fs2k" / r["photo"] for r in csv.DictReader(f)]
    utk = sorted((root / "utkface" / "images").iterdir())
    per = n // 3
    return rng.sample(cufs_photos, per) + rng.sample(fs2k_photos, per) + rng.sample(utk, n - 2 * per)


@pytest.mark.slow
def test_detection_rate_on_real_photos(detector: FaceDetector) -> None:
    """Acceptance: a face on >= 98% of 200 photos drawn from CUFS, FS2K and UTKFace."""
    data_dir("cufs")
    data_dir("fs2k")
    root = data_dir("utkface").parent
    photos = _sample_photos(root, 200, random.Random(0))
    found = sum(bool(detector.detect(read_image(p).rgb)) for p in photos)
    assert found / len(photos) >= 0.98, f"faces found on {found}/{len(photos)} photos"
