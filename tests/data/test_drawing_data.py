from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from portraitcli.data.fs2k import drawing_pairs, load_drawing_pair
from portraitcli.errors import BadInputError, UsageError
from portraitcli.io import write_image
from tests.conftest import data_dir


def test_apdrawing_side_by_side_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (32, 24, 3), dtype=np.uint8)
    drawing = rng.integers(0, 256, (32, 24), dtype=np.uint8)
    for split, names in (("train", ["b", "a"]), ("test", ["c"])):
        for name in names:
            write_image(
                tmp_path / "apdrawing" / split / f"{name}.png",
                np.concatenate([photo, drawing[..., None].repeat(3, 2)], 1),
            )
    pairs = drawing_pairs(tmp_path, "apdrawing", "train")
    assert [p.name for p in pairs] == ["a", "b"] and all(p.style == 1 for p in pairs)
    assert drawing_pairs(tmp_path / "apdrawing", "apdrawing", "test", style=1)[0].name == "c"
    assert drawing_pairs(tmp_path, "apdrawing", "test", style=2) == []
    p, d = load_drawing_pair(pairs[0])
    np.testing.assert_array_equal(p, photo)
    np.testing.assert_array_equal(d, drawing)
    write_image(tmp_path / "apdrawing" / "test" / "odd.png", np.zeros((20, 33, 3), np.uint8))
    with pytest.raises(BadInputError, match="odd width"):
        load_drawing_pair(drawing_pairs(tmp_path, "apdrawing", "test")[1])
    with pytest.raises(UsageError, match="no val/ folder|splits"):
        drawing_pairs(tmp_path, "apdrawing", "val")
    with pytest.raises(UsageError, match="--style"):
        drawing_pairs(tmp_path, "apdrawing", "test", style=4)
    with pytest.raises(UsageError, match="drawing datasets"):
        drawing_pairs(tmp_path, "nope", "test")


def test_fs2k_splits_and_styles() -> None:
    root = data_dir("fs2k")
    train, test = drawing_pairs(root, "fs2k", "train"), drawing_pairs(root, "fs2k", "test")
    assert (len(train), len(test)) == (1058, 1046)
    assert Counter(p.style for p in test) == {1: 619, 2: 381, 3: 46}
    assert not {p.name for p in train} & {p.name for p in test}
    photo, drawing = load_drawing_pair(drawing_pairs(root, "fs2k", "test", style=3)[0])
    assert photo.dtype == drawing.dtype == np.uint8 and photo.shape[:2] == drawing.shape


def test_pack_copies_only_the_training_rows(tmp_path: Path, capsys) -> None:
    from portraitcli.cli.app import main

    root = tmp_path / "data"
    rows = ["split,sketch_style,gender,smile,frontal_face,photo,sketch"]
    for i, split in enumerate(("train", "train", "test")):
        write_image(root / "fs2k" / "photo" / f"p{i}.jpg", np.zeros((20, 20, 3), np.uint8))
        write_image(root / "fs2k" / "sketch" / f"s{i}.jpg", np.zeros((20, 20), np.uint8))
        rows.append(f"{split},0,0,0,1,photo/p{i}.jpg,sketch/s{i}.jpg")
    (root / "fs2k" / "pairs.csv").write_text("\n".join(rows) + "\n")
    assert main(["data", "pack", "draw", "--out", str(tmp_path / "pack"), "--data", str(root)]) == 0
    packed = tmp_path / "pack" / "fs2k"
    assert sorted(p.name for p in (packed / "photo").iterdir()) == ["p0.jpg", "p1.jpg"]
    assert [p.name for p in drawing_pairs(tmp_path / "pack", "fs2k", "train")] == ["photo/p0", "photo/p1"]
    assert drawing_pairs(tmp_path / "pack", "fs2k", "test") == []
    assert main(["data", "pack", "cartoon", "--out", str(tmp_path / "x"), "--data", str(root)]) == 2  # no toon/
    assert main(["data", "pack", "faces", "--out", str(tmp_path / "x"), "--data", str(root)]) == 2
    write_image(root / "toon" / "train" / "photo" / "a.jpg", np.zeros((20, 20, 3), np.uint8))
    write_image(root / "toon" / "test" / "photo" / "b.jpg", np.zeros((20, 20, 3), np.uint8))
    assert main(["data", "pack", "cartoon", "--out", str(tmp_path / "x"), "--data", str(root)]) == 0
    assert [p.name for p in (tmp_path / "x").rglob("*.jpg")] == ["a.jpg"]  # the training folder only
