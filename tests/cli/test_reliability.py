"""Reliability battery: every bad input and every risky output path, through the command line.

Each case asserts the exit code, the ``error:`` line on stderr, and the exact set of files
(with their contents) on disk afterwards: nothing outside ``-o``, no input replaced, no
file the user did not name replaced without ``--overwrite``, no temporary file left.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from portraitcli.io import write_image
from tests.cli.test_cli import run

REPO = Path(__file__).resolve().parents[2]


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (hidden ones included): relative path -> sha256 of its bytes.
    The test weights folder (``weights/``) is left out."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != "weights"
    }


def one_error_line(err: str) -> str:
    """The ``error:`` line of stderr (exactly one, no traceback)."""
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture()
def face(astronaut: np.ndarray) -> np.ndarray:
    return astronaut


# --- data loss and writes outside the output folder ---------------------------------------


def test_faces_all_never_replaces_an_unnamed_face_file(capsys, weights_dir, face, tmp_path: Path) -> None:
    src = tmp_path / "in"
    write_image(src / "p.jpg", face)
    (src / "p_face1.png").write_bytes(b"the user's own file")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "sketch", str(src / "p.jpg"), "-o", str(src / "p.png"), "--faces", "all")
    assert code == 2 and "p_face1.png" in one_error_line(err) and "--overwrite" in err
    assert snapshot(tmp_path) == before


def test_faces_all_batch_into_the_input_folder_never_replaces_an_input(
    capsys, weights_dir, face, tmp_path: Path
) -> None:
    src = tmp_path / "in"
    write_image(src / "p.jpg", face)
    write_image(src / "p_face1.png", face[::-1].copy())  # an input photo that a face output would hit
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "sketch", str(src), "-o", str(src), "--ext", "png", "--faces", "all", "--overwrite")
    assert code == 2 and "would replace" in one_error_line(err)
    assert snapshot(tmp_path) == before


def test_absolute_globs_write_under_the_output_folder(capsys, weights_dir, face, tmp_path: Path) -> None:
    for g in ("g1", "g2"):
        write_image(tmp_path / g / "x.jpg", face)
    before = {g: snapshot(tmp_path / g) for g in ("g1", "g2")}
    out = tmp_path / "out"
    code, _, err = run(capsys, "sketch", f"{tmp_path}/g1/*.jpg", f"{tmp_path}/g2/*.jpg", "-o", str(out), "--ext", "png")
    assert code == 0, err
    assert set(snapshot(out)) == {"g1/x.png", "g2/x.png"}
    assert {g: snapshot(tmp_path / g) for g in ("g1", "g2")} == before


@pytest.mark.parametrize(
    "inputs, expected",
    [
        (["..", "../../other"], {"parent/a.png", "other/b.png"}),
        (["../gN/*.jpg"], {"c.png"}),
        (["../../other/*.jpg", "../gN/*.jpg"], {"other/b.png", "gN/c.png"}),
    ],
)
def test_relative_roots_never_leave_the_output_folder(
    capsys, weights_dir, face, tmp_path: Path, monkeypatch, inputs: list[str], expected: set[str]
) -> None:
    write_image(tmp_path / "other" / "b.jpg", face)
    write_image(tmp_path / "parent" / "a.jpg", face)
    write_image(tmp_path / "parent" / "gN" / "c.jpg", face)
    cwd = tmp_path / "parent" / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "sketch", *inputs, "-o", "out", "--ext", "png")
    assert code == 0, err
    after = snapshot(tmp_path)
    new = {k for k in after if k not in before}
    assert new == {f"parent/work/out/{e}" for e in expected}
    assert all(after[k] == v for k, v in before.items())


def test_two_inputs_with_one_output_name_are_refused(capsys, weights_dir, face, tmp_path: Path, monkeypatch) -> None:
    write_image(tmp_path / "a.jpg", face)
    write_image(tmp_path / "d" / "a.jpg", face[::-1].copy())
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    for extra in ([], ["--overwrite"]):
        code, _, err = run(capsys, "sketch", "a.jpg", "d/a.jpg", "-o", "out/", *extra)
        line = one_error_line(err)
        assert code == 2 and "a.jpg and d/a.jpg" in line
        assert snapshot(tmp_path) == before


@pytest.mark.parametrize("option", ["--csv", "--report"])
@pytest.mark.parametrize("inside", ["ref", "pred"])
def test_evaluate_reports_never_land_on_scored_images(capsys, face, tmp_path: Path, option: str, inside: str) -> None:
    for folder in ("pred", "ref"):
        write_image(tmp_path / folder / "a.png", face)
        write_image(tmp_path / folder / "b.png", face[::-1].copy())
    before = snapshot(tmp_path)
    report = tmp_path / inside / "a.png"
    code, _, err = run(
        capsys, "evaluate", "--task", "sketch", "--pred", str(tmp_path / "pred"), "--ref", str(tmp_path / "ref"),
        option, str(report),
    )  # fmt: skip
    assert code == 2 and "scored folder" in one_error_line(err)
    assert snapshot(tmp_path) == before


def test_single_file_keeps_an_existing_output_unless_overwrite(capsys, weights_dir, face, tmp_path: Path) -> None:
    src = write_image(tmp_path / "p.jpg", face)
    out = tmp_path / "p_sketch.png"
    out.write_bytes(b"an earlier result")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "sketch", str(src), "-o", str(out))
    assert code == 2 and "--overwrite" in one_error_line(err)
    assert snapshot(tmp_path) == before
    code, _, err = run(capsys, "sketch", str(src), "-o", str(out), "--overwrite")
    assert code == 0, err
    assert set(snapshot(tmp_path)) == {"p.jpg", "p_sketch.png"} and out.read_bytes() != b"an earlier result"


def test_default_output_name_is_not_replaced_either(capsys, weights_dir, face, tmp_path: Path, monkeypatch) -> None:
    write_image(tmp_path / "p.jpg", face)
    (tmp_path / "p_sketch.png").write_bytes(b"mine")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "sketch", "p.jpg")
    assert code == 2 and "p_sketch.png" in one_error_line(err)
    assert (tmp_path / "p_sketch.png").read_bytes() == b"mine"


def test_output_folder_equal_to_the_input_folder(capsys, weights_dir, face, tmp_path: Path) -> None:
    src = tmp_path / "in"
    write_image(src / "a.jpg", face)
    write_image(src / "b.png", face)
    before = snapshot(tmp_path)
    for extra in ([], ["--overwrite"]):
        code, out, err = run(capsys, "sketch", str(src), "-o", str(src), "--json", *extra)
        assert code == 2 and "would replace an input" in one_error_line(err) and out == ""
        assert snapshot(tmp_path) == before
    code, _, err = run(capsys, "sketch", str(src), "-o", str(src), "--ext", "webp")  # new names: allowed
    assert code == 0, err
    assert set(snapshot(tmp_path)) == {"in/a.jpg", "in/b.png", "in/a.webp", "in/b.webp"}


def test_cartoon3d_output_folder_holding_its_input(capsys, weights_dir, face, tmp_path: Path) -> None:
    """``cartoon3d in/face.png -o in/``: the folder output would write its own face.png over the input."""
    src = tmp_path / "in"
    write_image(src / "face.png", face)
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "cartoon3d", str(src / "face.png"), "-o", str(src))
    assert code == 2 and "--overwrite" in one_error_line(err)
    assert snapshot(tmp_path) == before


def test_cartoon3d_overwrite_still_never_replaces_the_input(capsys, cartoon3d_weights, face, tmp_path: Path) -> None:
    src = tmp_path / "in"
    write_image(src / "face.png", face)
    before = snapshot(src)
    code, _, err = run(capsys, "cartoon3d", str(src / "face.png"), "-o", str(src), "--overwrite", "--size", "64")
    assert code == 2 and "is an input" in one_error_line(err)
    assert snapshot(src) == before
    assert not [p for p in tmp_path.rglob("*.part")]


# --- exit codes and messages ---------------------------------------------------------------


def _manifest(weights_dir: Path) -> dict:
    return json.loads((weights_dir / "manifest.json").read_text())


def _entry(m: dict, drop: str = "", **changes: object) -> dict:
    entry = {k: v for k, v in m["models"]["sketch-v1"].items() if k != drop}
    return {"models": {"sketch-v1": {**entry, **changes}}}


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda m: [m], "JSON object"),
        (lambda m: _entry(m, drop="file"), "file"),
        (lambda m: _entry(m, drop="sha256"), "sha256"),
        (lambda m: _entry(m, version="one"), "version"),
        (lambda m: _entry(m, template={"size": [1]}), "template"),
        (lambda m: _entry(m, file="../x.onnx"), "inside"),
    ],
)  # fmt: skip
def test_malformed_manifest_is_exit_5(capsys, weights_dir, face, tmp_path: Path, mutate, words: str) -> None:
    src = write_image(tmp_path / "p.jpg", face)
    (weights_dir / "manifest.json").write_text(json.dumps(mutate(_manifest(weights_dir))))
    code, _, err = run(capsys, "sketch", str(src), "-o", str(tmp_path / "o.png"))
    assert code == 5 and words in one_error_line(err)
    assert not (tmp_path / "o.png").exists()


def test_unreadable_weights_file_is_exit_5(capsys, weights_dir, face, tmp_path: Path, monkeypatch) -> None:
    from portraitcli.runtime import weights

    def refuse(path: Path) -> str:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(weights, "sha256_of", refuse)  # root reads any file: simulate the refusal
    src = write_image(tmp_path / "p.jpg", face)
    code, _, err = run(capsys, "sketch", str(src), "-o", str(tmp_path / "o.png"))
    assert code == 5 and "cannot read the weights file" in one_error_line(err)


def test_missing_weights_folder_never_falls_back(capsys, face, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PORTRAIT_WEIGHTS", str(tmp_path / "nonexistent"))
    src = write_image(tmp_path / "p.jpg", face)
    code, _, err = run(capsys, "sketch", str(src), "-o", str(tmp_path / "o.png"))
    assert code == 5 and "PORTRAIT_WEIGHTS" in one_error_line(err)
    assert not (tmp_path / "o.png").exists()


def test_folder_named_like_a_file(capsys, weights_dir, tmp_path: Path) -> None:
    (tmp_path / "dir.jpg").mkdir()
    code, _, err = run(capsys, "cartoon3d", str(tmp_path / "dir.jpg"), "-o", str(tmp_path / "out"))
    assert code == 3 and "no image files" in one_error_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.jpg", "weights"]
    code, _, err = run(capsys, "sketch", str(tmp_path / "dir.jpg"))
    assert code == 2 and "-o DIR" in one_error_line(err)


def test_empty_input_folder_is_an_error_and_a_warning_beside_others(capsys, weights_dir, face, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "sketch", str(tmp_path / "empty"), "-o", str(tmp_path / "out"))
    assert code == 3 and "no image files" in one_error_line(err)
    write_image(tmp_path / "full" / "a.jpg", face)
    code, _, err = run(capsys, "sketch", str(tmp_path / "empty"), str(tmp_path / "full"), "-o", str(tmp_path / "out"))
    assert code == 0 and "warning" in err and "empty" in err
    assert set(snapshot(tmp_path / "out")) == {"a.jpg"}


def test_output_option_naming_an_existing_file_in_batch_mode(capsys, weights_dir, face, tmp_path: Path) -> None:
    write_image(tmp_path / "in" / "a.jpg", face)
    (tmp_path / "report").write_text("mine")
    code, _, err = run(capsys, "sketch", str(tmp_path / "in"), "-o", str(tmp_path / "report"))
    assert code == 2 and "existing file" in one_error_line(err)
    assert (tmp_path / "report").read_text() == "mine"


@pytest.mark.parametrize("fmt, name", [("PPM", "p.png"), ("TGA", "p.jpg"), ("GIF", "p.png")])
def test_other_formats_behind_an_image_name_are_refused(
    capsys, weights_dir, face, tmp_path: Path, fmt: str, name: str
) -> None:
    Image.fromarray(face).save(tmp_path / name, format=fmt)
    code, _, err = run(capsys, "sketch", str(tmp_path / name), "-o", str(tmp_path / "o.png"))
    assert code == 3 and f"is a {fmt} image" in one_error_line(err)
    assert not (tmp_path / "o.png").exists()


def test_file_name_starting_with_a_dash(capsys, weights_dir, face, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "-dash.jpg", face)
    code, _, err = run(capsys, "sketch", "-dash.jpg")
    assert code == 2 and "--" in one_error_line(err)
    code, _, err = run(capsys, "sketch", "-o", "o.png", "--", "-dash.jpg")
    assert code == 0, err


def test_aligned_input_over_the_size_limit_is_exit_3(capsys, weights_dir, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    Image.new("RGB", (2100, 2100), (128, 100, 90)).save(big)
    code, _, err = run(capsys, "sketch", str(big), "-o", str(tmp_path / "o.png"), "--aligned")
    assert code == 3 and "--aligned" in one_error_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.png", "weights"]


def test_markup_characters_in_paths(capsys, weights_dir, face, tmp_path: Path) -> None:
    src = tmp_path / "x[" / "[bold]a[/"
    write_image(src / "p[1].jpg", face)
    (src / "bad[.png").write_bytes(b"not an image")
    code, _, err = run(capsys, "sketch", str(tmp_path / "x["), "-r", "-o", str(tmp_path / "o[ut"))
    assert code == 7 and "bad[.png" in err and "MarkupError" not in err
    assert set(snapshot(tmp_path / "o[ut")) == {"[bold]a[/p[1].jpg"}


def test_evaluate_writes_standard_json(capsys, face, tmp_path: Path) -> None:
    for folder in ("pred", "ref"):
        write_image(tmp_path / folder / "a.png", face)  # identical: PSNR is infinite
    report = tmp_path / "r.json"
    code, out, err = run(
        capsys, "evaluate", "--task", "sketch", "--pred", str(tmp_path / "pred"), "--ref", str(tmp_path / "ref"),
        "--report", str(report),
    )  # fmt: skip

    def no_constants(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    assert code == 0, err
    means = json.loads(out, parse_constant=no_constants)
    full = json.loads(report.read_text(), parse_constant=no_constants)
    assert means["psnr"] is None and full["summary"]["psnr"]["n_inf"] == 1 and means["ssim"] == pytest.approx(1.0)


def test_evaluate_empty_metrics_is_a_usage_error(capsys, face, tmp_path: Path) -> None:
    for folder in ("pred", "ref"):
        write_image(tmp_path / folder / "a.png", face)
    code, out, err = run(
        capsys, "evaluate", "--task", "sketch", "--pred", str(tmp_path / "pred"), "--ref", str(tmp_path / "ref"),
        "--metrics", "",
    )  # fmt: skip
    assert code == 2 and "--metrics" in one_error_line(err) and out == ""


# --- inputs that pass: each gives an output or a one-line error, and nothing else ----------


def _cases(tmp: Path, face: np.ndarray) -> dict[str, tuple[Path, int]]:
    """name -> (file, expected exit code)."""
    cases: dict[str, tuple[Path, int]] = {}
    (tmp / "empty.jpg").write_bytes(b"")
    cases["empty"] = (tmp / "empty.jpg", 3)
    good = write_image(tmp / "good.jpg", face)
    (tmp / "truncated.jpg").write_bytes(good.read_bytes()[:2000])
    cases["truncated"] = (tmp / "truncated.jpg", 3)
    (tmp / "text.png").write_text("this is text, not a picture\n")
    cases["text as image"] = (tmp / "text.png", 3)
    Image.new("L", (9000, 8000)).save(tmp / "bomb.png")
    cases["decompression bomb"] = (tmp / "bomb.png", 3)
    Image.new("RGB", (12, 12)).save(tmp / "tiny.png")
    cases["tiny"] = (tmp / "tiny.png", 3)
    Image.fromarray(face).convert("CMYK").save(tmp / "cmyk.jpg")
    cases["CMYK"] = (tmp / "cmyk.jpg", 0)
    Image.fromarray(face[:, :, 1].astype(np.uint16) * 257).save(tmp / "16bit.png")
    cases["16-bit"] = (tmp / "16bit.png", 0)
    frames = [Image.fromarray(face), Image.fromarray(face[::-1].copy())]
    frames[0].save(tmp / "animated.webp", save_all=True, append_images=frames[1:], duration=100)
    cases["animated"] = (tmp / "animated.webp", 0)
    frames[0].save(tmp / "pages.tif", save_all=True, append_images=frames[1:])
    cases["multi-page TIFF"] = (tmp / "pages.tif", 0)
    cases["unicode and spaces"] = (write_image(tmp / "Zoë à la plage 写真.jpg", face), 0)
    return cases


def test_input_battery(capsys, weights_dir, face, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name, (path, expected) in _cases(src, face).items():
        out = tmp_path / "out" / f"{path.stem}.png"
        before = snapshot(src)
        code, stdout, err = run(capsys, "sketch", str(path), "-o", str(out))
        assert code == expected, (name, err)
        assert snapshot(src) == before, name
        if expected == 0:
            assert stdout.strip() == str(out) and out.is_file(), name
        else:
            assert str(path) in one_error_line(err) and not out.exists(), name
    assert not [p for p in tmp_path.rglob("*.part")]


def test_read_only_output_folder(capsys, weights_dir, face, tmp_path: Path) -> None:
    src = write_image(tmp_path / "p.jpg", face)
    ro = tmp_path / "ro"
    ro.mkdir()
    with _mounted(ro, "ro"):
        code, _, err = run(capsys, "sketch", str(src), "-o", str(ro / "o.png"))
        assert code == 3 and "cannot write" in one_error_line(err)
        assert list(ro.iterdir()) == []


def test_full_disk_leaves_no_partial_file(capsys, weights_dir, face, tmp_path: Path) -> None:
    src = write_image(tmp_path / "p.jpg", face)
    small = tmp_path / "small"
    small.mkdir()
    with _mounted(small, "size=16k"):
        code, _, err = run(capsys, "sketch", str(src), "-o", str(small / "o.png"), "--size", "800")
        assert code == 3 and "No space left" in one_error_line(err)
        assert list(small.iterdir()) == []


class _mounted:
    """A tmpfs mounted on ``path`` with ``options`` for the block (root only; skips otherwise)."""

    def __init__(self, path: Path, options: str) -> None:
        self.path, self.options = path, options

    def __enter__(self) -> None:
        if os.geteuid() != 0 or not shutil.which("mount"):
            pytest.skip("mounting a tmpfs needs root")
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", self.options, "tmpfs", str(self.path)], capture_output=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["umount", str(self.path)], check=False)


# --- signals, leftovers and the network ----------------------------------------------------

#: Runs the CLI with PNG encoding slowed down, so a signal can land while a .part file exists.
SLOW_WRITER = """
import sys, time
from PIL import Image
save = Image.Image.save
def slow_save(self, fp, *args, **kwargs):
    save(self, fp, *args, **kwargs)
    time.sleep(30)
Image.Image.save = slow_save
from portraitcli.cli.app import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig, expected", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_mid_batch_leaves_no_temporary_file_and_a_rerun_resumes(
    weights_dir, face, tmp_path: Path, sig: int, expected: int
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for name in ("a", "b"):
        write_image(src / f"{name}.jpg", face)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, "sketch", str(src), "-o", str(out), "--ext", "png"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background shell ignores SIGINT
    )
    deadline = time.monotonic() + 60
    while not list(out.glob(".*.part")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(out.glob(".*.part")), "no temporary file appeared"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == expected, err.decode()
    assert snapshot(out) == {}
    code = subprocess.run(
        [sys.executable, "-m", "portraitcli", "sketch", str(src), "-o", str(out), "--ext", "png"], env=env
    ).returncode
    assert code == 0 and set(snapshot(out)) == {"a.png", "b.png"}


def test_stale_temporary_files_of_dead_runs_are_removed(capsys, weights_dir, face, tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    write_image(src / "a.jpg", face)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / f".a.jpg.{dead.pid}.abcdefgh.part").parent.mkdir(parents=True)
    (out / f".a.jpg.{dead.pid}.abcdefgh.part").write_bytes(b"half")
    (out / f".x.{dead.pid}.ijklmnop.part").mkdir()
    (out / f".b.jpg.{os.getppid()}.qrstuvwx.part").write_bytes(b"a live run's")  # its process exists: kept
    code, _, err = run(capsys, "sketch", str(src), "-o", str(out))
    assert code == 0, err
    assert set(snapshot(out)) == {"a.jpg", f".b.jpg.{os.getppid()}.qrstuvwx.part"}
    assert not (out / f".x.{dead.pid}.ijklmnop.part").exists()


def test_onnx_runtime_telemetry_is_switched_off() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    code = "import os, portraitcli; print(os.environ.get('ORT_DISABLE_TELEMETRY'))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "1"


@pytest.mark.slow
def test_no_network_access_during_a_long_batch(face, tmp_path: Path) -> None:
    """ONNX Runtime sends its telemetry after about 10 s of inference: run the shipped sketch
    model for longer than that under strace and look for any internet socket."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    src = tmp_path / "in"
    for i in range(45):
        write_image(src / f"{i:02d}.png", face)
    trace = tmp_path / "trace.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("PORTRAIT_WEIGHTS", "ORT_DISABLE_TELEMETRY")}
    env["PYTHONPATH"] = str(REPO)
    t0 = time.monotonic()
    done = subprocess.run(
        ["strace", "-f", "-e", "trace=socket,connect", "-o", str(trace), sys.executable, "-m", "portraitcli",
         "sketch", str(src), "-o", str(tmp_path / "out"), "--faces", "all", "--size", "800"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - t0 > 10, "the batch was too short to reach the telemetry upload"
    inet = [line for line in trace.read_text().splitlines() if "AF_INET" in line]
    assert inet == []
