"""``portrait cartoon3d`` end to end with tiny models: the folder of outputs, the mesh, batches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from portraitcli.io import read_image, write_image
from tests.cli.test_cli import run

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
trimesh = pytest.importorskip("trimesh")

EXPECTED = {
    "cartoon.png",
    "face.png",
    "depth.png",
    "depth.npy",
    "normal.png",
    "albedo.png",
    "mesh.obj",
    "mesh.mtl",
    "texture.png",
    "mesh.glb",
    "head.obj",
    "head.mtl",
    "head-texture.png",
    "head.glb",
    "head.png",
    "head.gif",
    "views.png",
    "relit.png",
    "cartoon3d.json",
}


def test_one_photo_writes_the_whole_folder(capsys, cartoon3d_weights: Path, astronaut: np.ndarray, tmp_path: Path):
    photo = write_image(tmp_path / "astronaut.jpg", astronaut)
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "cartoon3d", str(photo), "-o", str(out), "--yaw", "-30,0,30", "--size", "128")
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == EXPECTED
    assert set(stdout.split()) == {str(out / name) for name in EXPECTED}
    assert read_image(out / "cartoon.png").rgb.shape == (256, 256, 3)
    views = read_image(out / "views.png").rgb
    assert views.shape == (128, 3 * 128, 3)
    relit = read_image(out / "relit.png").rgb
    assert relit.shape == (128, 2 * 128, 3) and np.abs(relit[:, :128].astype(int) - relit[:, 128:]).mean() > 0
    from PIL import Image

    depth16 = Image.open(out / "depth.png")
    assert depth16.mode == "I;16"
    depth = np.load(out / "depth.npy")
    assert depth.shape == (128, 128) and depth.dtype == np.float32 and 0.9 <= depth[10:-10, 10:-10].min()
    meta = json.loads((out / "cartoon3d.json").read_text())
    assert meta["views"]["yaw"] == [-30, 0, 30] and set(meta["view"]) == {"pitch", "yaw", "roll", "tx", "ty", "tz"}
    for name in ("mesh.obj", "mesh.glb"):
        mesh = trimesh.load(out / name, force="mesh")
        assert len(mesh.faces) > 1000 and mesh.visual.kind == "texture"
        material = mesh.visual.material  # OBJ: SimpleMaterial; GLB: PBRMaterial
        texture = material.image if name.endswith(".obj") else material.baseColorTexture
        assert texture.size == (128, 128)  # the texture travels with the mesh
        assert len(mesh.split(only_watertight=False)) == 1  # one surface, not torn
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]

    # the same folder again: refused, then with --overwrite the files are replaced, other files left alone
    (out / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "cartoon3d", str(photo), "-o", str(out), "--size", "128")
    assert code == 2 and "--overwrite" in err
    code, _, err = run(capsys, "cartoon3d", str(photo), "-o", str(out), "--size", "128", "--overwrite")
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "mine"
    assert read_image(out / "views.png").rgb.shape == (128, 7 * 128, 3)


def test_batch_reports_bad_files_and_skips_done_ones(capsys, cartoon3d_weights: Path, astronaut: np.ndarray, tmp_path):
    src = tmp_path / "in"
    write_image(src / "a.jpg", astronaut)
    (src / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "cartoon3d", str(src), "-o", str(out), "--size", "96", "--json")
    assert code == 7, err
    done = {Path(r["input"]).name: r for r in map(json.loads, stdout.splitlines())}["a.jpg"]
    assert done["status"] == "ok" and done["model"] == "cartoon-v1"
    assert {p.name for p in out.iterdir()} == {"a"} and (out / "a" / "mesh.glb").is_file()
    code, stdout, _ = run(capsys, "cartoon3d", str(src / "a.jpg"), str(src / "broken.png"), "-o", str(out), "--json")
    records = {Path(r["input"]).name: r for r in map(json.loads, stdout.splitlines())}
    assert records["a.jpg"]["status"] == "skipped" and records["broken.png"]["status"] == "failed"


def test_aligned_input_of_another_size(capsys, cartoon3d_weights: Path, astronaut: np.ndarray, tmp_path: Path):
    crop = write_image(tmp_path / "crop.png", astronaut[40:360, 100:420])  # 320 px, not the template's 256
    code, _, err = run(capsys, "cartoon3d", str(crop), "-o", str(tmp_path / "o"), "--aligned", "--size", "64")
    assert code == 0, err
    assert read_image(tmp_path / "o" / "cartoon.png").rgb.shape == (256, 256, 3)


def _mouth(obj: Path) -> np.ndarray:
    """The head's mouth vertices (the Surrey Face Model's vertices of ibug landmarks 49-68)."""
    from portraitcli.face.morphable import shipped_sfm

    sfm = shipped_sfm()
    mouth = sfm.landmark_vertices[sfm.landmark_ids >= 48]
    return np.asarray(trimesh.load(obj, force="mesh", process=False).vertices)[mouth]


def test_the_head_takes_the_expression_asked_for(capsys, cartoon3d_weights: Path, astronaut: np.ndarray, tmp_path):
    photo = write_image(tmp_path / "astronaut.jpg", astronaut)
    runs = {"smile": ["--expression", "happiness=1.0"], "calm": ["--neutral"], "gasp": ["--expression", "surprise=1"]}
    for name, args in runs.items():
        code, _, err = run(capsys, "cartoon3d", str(photo), "-o", str(tmp_path / name), "--size", "64", *args)
        assert code == 0, err
    meta = {k: json.loads((tmp_path / k / "cartoon3d.json").read_text())["head"] for k in runs}
    fitted = meta["smile"]["fitted_expression"]
    assert fitted["happiness"] > 0.3  # the astronaut smiles (the fit reads about 0.9)
    assert meta["smile"]["expression"] == {**fitted, "happiness": 1.0}
    assert set(meta["calm"]["expression"].values()) == {0.0}
    assert meta["gasp"]["expression"]["surprise"] == 1.0
    assert meta["calm"]["shape_coefficients"] == meta["smile"]["shape_coefficients"]  # one person
    smile, calm, gasp = (_mouth(tmp_path / k / "head.obj") for k in runs)
    width = np.ptp(calm[:, 0])
    assert np.abs(smile - calm).max() > 0.02 * width and np.abs(gasp - calm).max() > 0.02 * width
    # a smile widens the mouth, surprise opens it
    assert np.ptp(smile[:, 0]) > np.ptp(calm[:, 0]) and np.ptp(gasp[:, 1]) > np.ptp(calm[:, 1])
    mesh = trimesh.load(tmp_path / "smile" / "head.glb", force="mesh")
    assert len(mesh.vertices) == 3448 and mesh.visual.kind == "texture"
    views = read_image(tmp_path / "smile" / "head.png").rgb
    assert views.shape == (64, 3 * 64, 3)
    front = views[:, 64:128].astype(int)
    assert (front.sum(-1) < 3 * 250).mean() > 0.3  # the face covers the middle view, on white
    assert np.abs(front - views[:, :64]).mean() > 5  # the side view differs
    from PIL import Image

    with Image.open(tmp_path / "smile" / "head.gif") as gif:
        assert gif.n_frames == 24 and gif.size == (64, 64) and gif.info.get("loop") == 0


def test_bad_options_are_usage_errors(capsys, cartoon3d_weights: Path, astronaut: np.ndarray, tmp_path: Path):
    photo = write_image(tmp_path / "p.jpg", astronaut)
    code, _, err = run(capsys, "cartoon3d", str(photo), "-o", str(tmp_path / "o"), "--expression", "joy=1")
    assert code == 2 and "anger, disgust, fear, happiness, sadness, surprise" in err
    for args in (
        ["--yaw", "left"],
        ["--light", "1"],
        ["--light", "a,b"],
        ["--expression", "happiness=1.5"],
        ["--expression", "happiness"],
        ["--expression", "fear=0.1,fear=0.2"],
    ):
        code, _, err = run(capsys, "cartoon3d", str(photo), "-o", str(tmp_path / "o"), *args)
        assert code == 2, err
        assert not (tmp_path / "o").exists()
