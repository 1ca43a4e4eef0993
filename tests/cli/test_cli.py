from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from portraitcli.cli.app import main
from portraitcli.io import read_image, write_image
from tests.conftest import TEMPLATE_KPS, add_model, make_conv_model


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def photo(tmp_path: Path, astronaut: np.ndarray) -> Path:
    return write_image(tmp_path / "astronaut.jpg", astronaut)


def test_import_and_help_do_not_load_torch_or_onnxruntime() -> None:
    code = (
        "import sys, portraitcli, portraitcli.cli.app as a\n"
        "a.main(['--help'])\n"
        "bad = [m for m in ('torch', 'onnxruntime', 'cv2', 'dlib') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["sketch", "--help"]])
def test_help_and_version_print_and_load_no_model_runtime(args: list[str]) -> None:
    """Help and version import neither torch, ONNX Runtime, OpenCV nor dlib (timing is in benchmarks)."""
    code = (
        "import sys\nfrom portraitcli.cli.app import main\n"
        f"code = main({args!r})\n"
        "bad = [m for m in ('torch', 'onnxruntime', 'cv2', 'dlib') if m in sys.modules]\n"
        "assert code == 0 and not bad, (code, bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip()


def test_version(capsys) -> None:
    from portraitcli import __version__

    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"portrait {__version__}"


def test_sketch_one_file(capsys, weights_dir: Path, photo: Path, tmp_path: Path) -> None:
    out_path = tmp_path / "out" / "sketch.png"
    code, out, err = run(capsys, "sketch", str(photo), "-o", str(out_path), "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["status"] == "ok" and record["faces"] == 1 and record["output"] == str(out_path)
    assert record["model"] == "sketch-v1"
    img = read_image(out_path)
    assert img.rgb.shape == (500, 400, 3)  # default --size 400 with the 200x250 framing


def test_sketch_size_aligned_and_paste_back(capsys, weights_dir: Path, photo: Path, tmp_path: Path) -> None:
    code, _, err = run(capsys, "sketch", str(photo), "-o", str(tmp_path / "s.png"), "--size", "200")
    assert code == 0, err
    assert read_image(tmp_path / "s.png").rgb.shape == (250, 200, 3)
    code, _, err = run(capsys, "sketch", str(photo), "-o", str(tmp_path / "a.png"), "--aligned")
    assert code == 0, err
    assert read_image(tmp_path / "a.png").rgb.shape == (512, 512, 3)  # --aligned keeps the size
    code, _, err = run(capsys, "sketch", str(photo), "-o", str(tmp_path / "p.jpg"), "--paste-back")
    assert code == 0, err
    pasted = read_image(tmp_path / "p.jpg").rgb.astype(int)
    original = read_image(photo).rgb.astype(int)
    assert pasted.shape == original.shape
    # a drawing model pastes into the whole photo drawn in its style: one gray picture
    assert np.abs(pasted[..., 0] - pasted[..., 2]).mean() < 4


def test_sketch_matches_exposure_unless_told_not_to(
    capsys, weights_dir: Path, astronaut: np.ndarray, tmp_path: Path
) -> None:
    """An under-exposed photo is brought to the template's exposure; --no-match-exposure skips it."""
    manifest = json.loads((weights_dir / "manifest.json").read_text())
    manifest["models"]["sketch-v1"]["template"]["exposure"] = {"mean": 200.0, "std": 30.0}
    (weights_dir / "manifest.json").write_text(json.dumps(manifest))
    dark = write_image(tmp_path / "dark.png", (astronaut * 0.4).astype(np.uint8))
    means = {}
    for flag in ("--match-exposure", "--no-match-exposure"):
        out_path = tmp_path / f"{flag}.png"
        code, _, err = run(capsys, "sketch", str(dark), "-o", str(out_path), "--size", "200", flag)
        assert code == 0, err
        means[flag] = read_image(out_path).rgb[111:201, 64:135].mean()  # the face region at 200x250
    assert means["--match-exposure"] == pytest.approx(200, abs=3)
    assert means["--no-match-exposure"] < 100


def test_output_keeps_input_alpha(capsys, weights_dir: Path, astronaut: np.ndarray, tmp_path: Path) -> None:
    alpha = np.full(astronaut.shape[:2], 255, np.uint8)
    alpha[:, :100] = 0
    src = write_image(tmp_path / "rgba.png", astronaut, alpha)
    code, _, err = run(capsys, "sketch", str(src), "-o", str(tmp_path / "o.png"), "--aligned")
    assert code == 0, err
    with Image.open(tmp_path / "o.png") as im:
        assert im.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(im)[:, :, 3], alpha)


@pytest.mark.parametrize(
    "content, code_expected",
    [(b"", 3), (b"hello, not a png", 3)],
)
def test_bad_input_exit_code_and_no_output(
    capsys, weights_dir, tmp_path: Path, content: bytes, code_expected: int
) -> None:
    src = tmp_path / "bad.png"
    src.write_bytes(content)
    dst = tmp_path / "out.png"
    code, out, err = run(capsys, "sketch", str(src), "-o", str(dst))
    assert code == code_expected
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not dst.exists() and out == ""


def test_missing_input(capsys, weights_dir, tmp_path: Path) -> None:
    code, _, err = run(capsys, "sketch", str(tmp_path / "nope.jpg"), "-o", str(tmp_path / "x.png"))
    assert code == 3 and "No such file" in err


def test_output_equal_to_input_refused(capsys, weights_dir, photo: Path) -> None:
    before = photo.read_bytes()
    code, _, err = run(capsys, "sketch", str(photo), "-o", str(photo))
    assert code == 2 and "refusing to overwrite" in err
    assert photo.read_bytes() == before


def test_no_face_policies(capsys, weights_dir, tmp_path: Path) -> None:
    flat = write_image(tmp_path / "flat.png", np.full((300, 240, 3), 90, np.uint8))
    code, _, err = run(capsys, "sketch", str(flat), "-o", str(tmp_path / "e.png"))
    assert code == 4 and "no face" in err and not (tmp_path / "e.png").exists()
    code, _, _ = run(capsys, "sketch", str(flat), "-o", str(tmp_path / "s.png"), "--on-no-face", "skip")
    assert code == 0 and not (tmp_path / "s.png").exists()
    code, _, _ = run(capsys, "sketch", str(flat), "-o", str(tmp_path / "w.png"), "--on-no-face", "whole")
    assert code == 0 and read_image(tmp_path / "w.png").rgb.shape == (300, 240, 3)


def test_bad_option_values_are_usage_errors(capsys, weights_dir, photo: Path, tmp_path: Path) -> None:
    for args in (["--faces", "biggest"], ["--on-no-face", "ignore"], ["--device", "tpu"], ["--size", "3"]):
        code, _, err = run(capsys, "sketch", str(photo), "-o", str(tmp_path / "x.png"), *args)
        assert code == 2, (args, err)
    code, _, _ = run(capsys, "sketch", str(photo), "-o", str(tmp_path / "x.gif"))
    assert code == 2
    code, _, _ = run(capsys, "sketch", "--no-such-option")
    assert code == 2


def test_cuda_unavailable_is_an_error_not_a_fallback(capsys, weights_dir, photo: Path, tmp_path: Path) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("CUDA is available here")
    code, _, err = run(capsys, "sketch", str(photo), "-o", str(tmp_path / "x.png"), "--device", "cuda")
    assert code == 6 and "cuda" in err.lower()
    assert not (tmp_path / "x.png").exists()


def test_weights_sha_mismatch(capsys, weights_dir: Path, photo: Path, tmp_path: Path) -> None:
    onnx_file = weights_dir / "sketch-v1.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes() + b"\0")
    code, _, err = run(capsys, "sketch", str(photo), "-o", str(tmp_path / "x.png"))
    assert code == 5 and "sha256" in err


def test_weights_missing(capsys, weights_dir: Path, photo: Path, tmp_path: Path) -> None:
    (weights_dir / "sketch-v1.onnx").unlink()
    code, _, err = run(capsys, "sketch", str(photo), "-o", str(tmp_path / "x.png"))
    assert code == 5 and "missing" in err


def test_model_option_runs_an_older_model_and_refuses_other_tasks(
    capsys, weights_dir: Path, photo: Path, tmp_path: Path
) -> None:
    from tests.conftest import TEMPLATE_KPS, add_model, make_conv_model

    code, _, err = run(capsys, "sketch", str(photo), "-o", str(tmp_path / "v1.png"))
    assert code == 0, err
    inverted = make_conv_model(weights_dir / "sketch-v2.onnx", [[-1 / 3, -1 / 3, -1 / 3]])
    add_model(weights_dir, "sketch-v2", inverted, {"size": [200, 250], "kps": TEMPLATE_KPS})
    code, out, err = run(capsys, "sketch", str(photo), "-o", str(tmp_path / "newest.png"), "--json")
    assert code == 0 and json.loads(out)["model"] == "sketch-v2", err
    code, out, err = run(
        capsys, "sketch", str(photo), "-o", str(tmp_path / "older.png"), "--model", "sketch-v1", "--json"
    )
    assert code == 0 and json.loads(out)["model"] == "sketch-v1", err
    v1, newest, older = (read_image(tmp_path / f"{n}.png").rgb for n in ("v1", "newest", "older"))
    assert np.array_equal(older, v1) and np.abs(newest.astype(int) - v1).mean() > 20
    for name in ("sketch-v3", "draw-v1"):
        code, _, err = run(capsys, "sketch", str(photo), "-o", str(tmp_path / "bad.png"), "--model", name)
        assert code == 2 and "shipped: sketch-v2, sketch-v1" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "draw", str(photo), "-o", str(tmp_path / "bad.png"), "--model", "sketch-v1")
    assert code == 2 and "not a shipped draw model (shipped: none)" in err
    style = ["-s", str(photo), "-o", str(tmp_path / "bad.png")]
    code, _, err = run(capsys, "stylize", str(photo), *style, "--model", "sketch-v1")
    assert code == 2 and "not a shipped stylize model" in err
    code, _, err = run(capsys, "stylize", str(photo), *style, "--model", "stylize-v1", "--method", "gatys")
    assert code == 2 and "--method fast" in err
    code, _, err = run(capsys, "cartoon3d", str(photo), "-o", str(tmp_path / "bad"), "--model", "sketch-v1")
    assert code == 2 and "not a shipped cartoon model" in err
    assert not (tmp_path / "bad.png").exists() and not (tmp_path / "bad").exists()


def test_models_lists_manifest(capsys, weights_dir: Path) -> None:
    code, out, _ = run(capsys, "models", "--json")
    assert code == 0 and "sketch-v1" in json.loads(out)
    code, out, _ = run(capsys, "models")
    assert code == 0 and "sketch-v1 (default)" in out


def _batch_tree(root: Path, astronaut: np.ndarray) -> None:
    write_image(root / "a.jpg", astronaut)
    write_image(root / "nested" / "deeper" / "b.png", astronaut[:, ::-1].copy())
    write_image(root / "nested" / "c.webp", astronaut)
    (root / "nested" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    write_image(root / "noface.png", np.full((200, 200, 3), 200, np.uint8))
    (root / "notes.txt").write_text("not an image, ignored")


def test_batch_folder(capsys, weights_dir, astronaut: np.ndarray, tmp_path: Path) -> None:
    """Acceptance: nested folders, one corrupt file, one face-less image; skip and --overwrite."""
    src, dst = tmp_path / "in", tmp_path / "out"
    _batch_tree(src, astronaut)
    code, out, err = run(capsys, "sketch", str(src), "-o", str(dst), "--recursive", "--json")
    assert code == 7, err
    records = [json.loads(line) for line in out.splitlines()]
    by_name = {Path(r["input"]).name: r for r in records}
    assert [Path(r["input"]).name for r in records] == ["a.jpg", "c.webp", "corrupt.jpg", "b.png", "noface.png"]
    assert {k: v["status"] for k, v in by_name.items()} == {
        "a.jpg": "ok",
        "b.png": "ok",
        "c.webp": "ok",
        "corrupt.jpg": "failed",
        "noface.png": "failed",
    }
    assert by_name["corrupt.jpg"]["exit_code"] == 3 and by_name["noface.png"]["exit_code"] == 4
    for r in records:
        assert set(r) >= {"input", "output", "status", "error", "faces", "seconds"}
    assert (dst / "a.jpg").is_file() and (dst / "nested" / "deeper" / "b.png").is_file()
    assert (dst / "nested" / "c.webp").is_file()
    assert not (dst / "nested" / "corrupt.jpg").exists() and not (dst / "noface.png").exists()
    assert "failures" in err and "corrupt.jpg" in err

    stamp = (dst / "a.jpg").stat().st_mtime_ns
    code, out, _ = run(capsys, "sketch", str(src), "-o", str(dst), "--recursive", "--json")
    statuses = {Path(json.loads(line)["input"]).name: json.loads(line)["status"] for line in out.splitlines()}
    assert code == 7
    assert statuses["a.jpg"] == "skipped" and statuses["b.png"] == "skipped"
    assert (dst / "a.jpg").stat().st_mtime_ns == stamp

    time.sleep(0.01)
    code, out, _ = run(
        capsys, "sketch", str(src), "-o", str(dst), "-r", "--json", "--overwrite", "--on-no-face", "skip"
    )
    statuses = {Path(json.loads(line)["input"]).name: json.loads(line)["status"] for line in out.splitlines()}
    assert code == 7  # the corrupt file still fails
    assert statuses["a.jpg"] == "ok" and statuses["noface.png"] == "no_face"
    assert (dst / "a.jpg").stat().st_mtime_ns != stamp


def test_workers_give_the_same_records_and_bytes(capsys, weights_dir, astronaut: np.ndarray, tmp_path: Path) -> None:
    """--workers 2 (forked processes) against --workers 1: the same records in the same order,
    the same failures and exit code, byte-identical files; then skips like a plain run."""
    from portraitcli.batch import resolve_workers, worker_threads

    src = tmp_path / "in"
    _batch_tree(src, astronaut)
    runs = {}
    for n in ("1", "2"):
        dst = tmp_path / f"out{n}"
        code, out, err = run(capsys, "sketch", str(src), "-o", str(dst), "-r", "--json", "--workers", n)
        records = [json.loads(line) for line in out.splitlines()]
        runs[n] = (code, [(Path(r["input"]).name, r["status"], r.get("exit_code")) for r in records], dst)
    assert runs["1"][:2] == runs["2"][:2] and runs["1"][0] == 7
    files = sorted(p.relative_to(runs["1"][2]) for p in runs["1"][2].rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(runs["2"][2]) for p in runs["2"][2].rglob("*") if p.is_file())
    for f in files:
        assert (runs["1"][2] / f).read_bytes() == (runs["2"][2] / f).read_bytes(), f
    code, out, _ = run(capsys, "sketch", str(src), "-o", str(runs["2"][2]), "-r", "--json", "--workers", "2")
    assert code == 7 and {json.loads(line)["status"] for line in out.splitlines()} == {"skipped", "failed"}
    assert resolve_workers(0, 3) == 1 and resolve_workers(5, 3) == 3 and resolve_workers(0, 100) >= 1
    assert worker_threads(0, 1) == 0 and worker_threads(3, 2) == 3 and worker_threads(0, 2) >= 1


def test_batch_all_ok_exit_zero_and_ext_collisions(capsys, weights_dir, astronaut: np.ndarray, tmp_path: Path) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    write_image(src / "x.jpg", astronaut)
    write_image(src / "x.png", astronaut)
    code, out, err = run(capsys, "sketch", str(src), "-o", str(dst), "--ext", "png")
    assert code == 0, err
    assert sorted(p.name for p in dst.iterdir()) == ["x.jpg.png", "x.png.png"]


def test_batch_glob_and_not_recursive(capsys, weights_dir, astronaut: np.ndarray, tmp_path: Path) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    write_image(src / "one.jpg", astronaut)
    write_image(src / "sub" / "two.jpg", astronaut)
    code, _, err = run(capsys, "sketch", str(src), "-o", str(dst))
    assert code == 0, err
    assert [p.name for p in dst.rglob("*.jpg")] == ["one.jpg"]
    code, _, err = run(capsys, "sketch", str(src / "**" / "*.jpg"), "-o", str(tmp_path / "g"), "-r")
    assert code == 0, err
    assert sorted(str(p.relative_to(tmp_path / "g")) for p in (tmp_path / "g").rglob("*.jpg")) == [
        "one.jpg",
        "sub/two.jpg",
    ]


def test_batch_needs_output_folder(capsys, weights_dir, astronaut: np.ndarray, tmp_path: Path) -> None:
    write_image(tmp_path / "in" / "a.jpg", astronaut)
    code, _, err = run(capsys, "sketch", str(tmp_path / "in"))
    assert code == 2 and "-o DIR" in err


def test_faces_all_writes_one_file_per_face(capsys, weights_dir, astronaut: np.ndarray, tmp_path: Path) -> None:
    two = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)
    src = write_image(tmp_path / "two.png", two)
    code, out, err = run(capsys, "sketch", str(src), "-o", str(tmp_path / "o.png"), "--faces", "all", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["faces"] >= 2
    assert all(Path(p).is_file() for p in record["outputs"]) and len(record["outputs"]) == record["faces"]


def test_console_script_installed() -> None:
    exe = Path(sys.executable).parent / "portrait"
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, env={**os.environ})
    assert out.returncode == 0 and out.stdout.startswith("portrait ")


@pytest.mark.slow
def test_shipped_sketch_on_100_fs2k_test_photos(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Acceptance (sketch issue): a folder of 100 FS2K test photos runs with no failure."""
    import csv

    from tests.conftest import data_dir

    fs2k = data_dir("fs2k")
    monkeypatch.delenv("PORTRAIT_WEIGHTS", raising=False)
    with (fs2k / "pairs.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "test"][:100]
    src = tmp_path / "photos"
    src.mkdir()
    for r in rows:
        (src / Path(r["photo"]).name).symlink_to(fs2k / r["photo"])
    code, out, err = run(capsys, "sketch", str(src), "-o", str(tmp_path / "out"), "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0, err
    assert len(records) == 100 and all(r["status"] == "ok" for r in records), (out[-2000:], err[-3000:])
    assert read_image(tmp_path / "out" / Path(rows[0]["photo"]).name).rgb.shape == (500, 400, 3)


@pytest.mark.slow
def test_shipped_destylize_undoes_the_shipped_sketch_from_the_command_line(
    capsys, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The product loop of the destylize issue: `portrait sketch`, then `portrait destylize` on its file."""
    from portraitcli.face.align import similarity_transform, warp_affine
    from portraitcli.face.detect import FaceDetector
    from portraitcli.metrics.pixel import psnr
    from portraitcli.runtime.weights import find_model

    monkeypatch.delenv("PORTRAIT_WEIGHTS", raising=False)
    code, _, err = run(capsys, "sketch", str(photo), "-o", str(tmp_path / "sketch.png"))
    assert code == 0, err
    code, out, err = run(capsys, "destylize", str(tmp_path / "sketch.png"), "-o", str(tmp_path / "face.png"), "--json")
    assert code == 0, err
    assert json.loads(out)["mode"] != "whole"  # the face was found on the sketch
    sketch, face = read_image(tmp_path / "sketch.png").rgb, read_image(tmp_path / "face.png").rgb
    assert face.shape == (256, 256, 3) and (face[..., 0] != face[..., 2]).any()  # default --size, colour again
    template = find_model("destylize").template
    detector = FaceDetector()

    def aligned(img: np.ndarray) -> np.ndarray:
        return warp_affine(img, similarity_transform(detector.detect(img)[0].kps, template.kps), template.size)

    real = aligned(read_image(photo).rgb)
    assert psnr(aligned(face), real) > psnr(aligned(sketch), real) + 2.0  # nearer the photo than the sketch is


def test_draw_passes_the_style_and_refuses_a_bad_one(capsys, weights_dir: Path, photo: Path, tmp_path: Path) -> None:

    # luma plus a style-dependent offset: style 1 darker, style 3 lighter
    model = make_conv_model(weights_dir / "draw-v1.onnx", [[0.299, 0.587, 0.114, -0.5, 0.0, 0.5]])
    kps = (np.array(TEMPLATE_KPS) - (100, 125)) * 0.9 + (128, 128)
    add_model(weights_dir, "draw-v1", model, {"size": [256, 256], "kps": kps.tolist()})
    means = []
    for style in ("1", "3"):
        out_path = tmp_path / f"d{style}.png"
        code, out, err = run(capsys, "draw", str(photo), "-o", str(out_path), "--style", style, "--json")
        assert code == 0, err
        img = read_image(out_path).rgb
        assert img.shape == (512, 512, 3)  # default --size 512 with the square framing
        means.append(img.mean())
    assert means[1] - means[0] > 100
    code, _, err = run(capsys, "draw", str(photo), "-o", str(tmp_path / "x.png"), "--style", "4")
    assert code == 2 and not (tmp_path / "x.png").exists()


def test_destylize_falls_back_to_the_whole_image(capsys, weights_dir: Path, tmp_path: Path) -> None:

    model = make_conv_model(weights_dir / "destylize-v1.onnx", [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    kps = (np.array(TEMPLATE_KPS) - (100, 125)) * 0.5 + (64, 64)
    add_model(weights_dir, "destylize-v1", model, {"size": [128, 128], "kps": kps.tolist()})
    painting = write_image(tmp_path / "painting.png", np.full((300, 200, 3), 90, np.uint8))
    code, out, err = run(capsys, "destylize", str(painting), "-o", str(tmp_path / "face.png"), "--json")
    assert code == 0, err
    assert json.loads(out)["mode"] == "whole"
    assert read_image(tmp_path / "face.png").rgb.shape == (300, 200, 3)
    code, _, _ = run(capsys, "destylize", str(painting), "-o", str(tmp_path / "e.png"), "--on-no-face", "error")
    assert code == 4 and not (tmp_path / "e.png").exists()


def test_fully_convolutional_models_draw_at_the_size_asked(weights_dir: Path) -> None:
    """--size beyond the crop: a fully convolutional model runs on a larger crop of the same
    framing (real detail, capped at 1024 px wide); any other model keeps its crop."""
    from portraitcli.cli.run import MAX_CROP_WIDTH, load_task

    assert load_task("sketch", "cpu", 1, False, None, 800).template.size == (200, 250)  # not flagged
    manifest = json.loads((weights_dir / "manifest.json").read_text())
    manifest["models"]["sketch-v1"]["input"] = {"fully_convolutional": True}
    (weights_dir / "manifest.json").write_text(json.dumps(manifest))
    base = load_task("sketch", "cpu", 1, False).template
    big = load_task("sketch", "cpu", 1, False, None, 800).template
    assert big.size == (800, 992) and base.size == (200, 250)
    np.testing.assert_allclose(big.kps, base.kps * np.array([4.0, 992 / 250]), rtol=1e-6)
    assert load_task("sketch", "cpu", 1, False, None, 5000).template.size[0] == MAX_CROP_WIDTH
    assert load_task("sketch", "cpu", 1, False, None, 120).template.size == (200, 250)  # smaller: resized output
