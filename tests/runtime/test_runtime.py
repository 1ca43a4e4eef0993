from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from portraitcli.errors import RuntimeDeviceError, UsageError, WeightsError
from portraitcli.runtime import session as session_mod
from portraitcli.runtime import weights as weights_mod
from portraitcli.runtime.session import create_session, providers_for
from portraitcli.runtime.weights import find_model, load_manifest, verify

REPO = Path(__file__).resolve().parents[2]


def test_providers_for() -> None:
    cpu_only = ["CPUExecutionProvider"]
    both = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert providers_for("auto", cpu_only) == cpu_only
    assert providers_for("auto", both) == both
    assert providers_for("cpu", both) == cpu_only
    assert providers_for("cuda", both) == both
    with pytest.raises(RuntimeDeviceError, match="no CUDA provider"):
        providers_for("cuda", cpu_only)
    with pytest.raises(UsageError):
        providers_for("gpu", both)


def test_both_runtimes_installed_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_mod, "installed_runtimes", lambda: ["onnxruntime", "onnxruntime-gpu"])
    create_session.cache_clear()
    with pytest.raises(RuntimeDeviceError, match="pip uninstall -y onnxruntime onnxruntime-gpu"):
        create_session("whatever.onnx")


def test_session_is_cached_and_runs(weights_dir: Path) -> None:
    spec = find_model("sketch")
    path = str(verify(spec))
    s1 = create_session(path, "cpu", 1)
    assert create_session(path, "cpu", 1) is s1
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 32, 48)).astype(np.float32)
    (y,) = s1.run(None, {"input": x})
    expected = (x * np.array([0.299, 0.587, 0.114], np.float32)[None, :, None, None]).sum(1, keepdims=True)
    np.testing.assert_allclose(y, expected, atol=1e-6)


def test_find_model_by_task_and_name(weights_dir: Path) -> None:
    assert find_model("sketch").name == "sketch-v1"
    assert find_model("sketch-v1").template.size == (200, 250)
    with pytest.raises(WeightsError, match="no shipped model"):
        find_model("draw")


def test_newest_version_wins(weights_dir: Path) -> None:
    manifest = json.loads((weights_dir / "manifest.json").read_text())
    manifest["models"]["sketch-v2"] = {**manifest["models"]["sketch-v1"], "version": 2}
    (weights_dir / "manifest.json").write_text(json.dumps(manifest))
    assert find_model("sketch").name == "sketch-v2"


def test_broken_manifest(weights_dir: Path) -> None:
    (weights_dir / "manifest.json").write_text("{not json")
    with pytest.raises(WeightsError, match="cannot read"):
        load_manifest()


def test_env_var_chooses_weights_dir(weights_dir: Path) -> None:
    assert weights_mod.weights_dir() == weights_dir


#: ONNX size limits per task, in bytes: the issues' (sketch, draw, destylize); the cartoon3d
#: issue sets none, so its two models get ours, 30 MB each (the cartoon's five-level U-Net
#: exports 25.8 MB; recon3d-v2's Unsup3d networks and view-depth U-Net 25.3 MB).
SIZE_LIMITS = {"sketch": 15e6, "draw": 25e6, "destylize": 25e6, "cartoon": 30e6, "recon3d": 30e6, "stylize": 10e6}


def test_shipped_manifest_is_consistent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shipped model's file exists, matches its sha256 and has the provenance fields."""
    monkeypatch.delenv("PORTRAIT_WEIGHTS", raising=False)
    folder = REPO / "weights"
    for name, entry in load_manifest(folder).items():
        spec = find_model(name, folder)
        verify(spec)
        assert spec.path.stat().st_size <= SIZE_LIMITS[spec.task], name
        for key in ("task", "version", "file", "sha256", "template", "license", "training", "metrics"):
            assert key in entry, (name, key)
        for key in ("data", "command", "seed", "duration_s", "hardware"):
            assert key in entry["training"], (name, key)


@pytest.mark.slow
def test_wheel_carries_the_weights_and_no_research(tmp_path: Path) -> None:
    """A non-editable install must find its weights inside the package; research is not installed."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {out.stderr.strip()[-300:]}")
    (wheel,) = tmp_path.glob("portraitcli-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "portraitcli/weights/manifest.json" in names
    shipped = json.loads((REPO / "weights" / "manifest.json").read_text())["models"]
    for entry in shipped.values():
        assert f"portraitcli/weights/{entry['file']}" in names
    # research stays out of the product: no experiment scripts, seed means or carried rows
    assert not [n for n in names if n.startswith(("research/", "tests/", "benchmarks/"))]
    assert not [n for n in names if Path(n).stem in ("seeds", "recorded", "sketch_exposure", "sketch_sweep")]


def test_run_spec_reads_a_run_folder(weights_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "runs" / "00003-draw-full"
    run.mkdir(parents=True)
    (run / "model.onnx").write_bytes((weights_dir / "sketch-v1.onnx").read_bytes())
    with pytest.raises(UsageError, match="template.json"):
        weights_mod.run_spec(run / "model.onnx", "draw")
    (run / "template.json").write_text(json.dumps({"size": [64, 64], "kps": [[1, 2]] * 5, "n": 3}))
    spec = weights_mod.run_spec(run / "model.onnx", "draw")
    assert spec.name == "00003-draw-full/model.onnx" and spec.task == "draw" and spec.template.size == (64, 64)
    assert verify(spec) == run / "model.onnx"


def test_package_file_finds_data_in_installed_packages_and_says_how_to_install() -> None:
    from portraitcli.errors import WeightsError
    from portraitcli.runtime.weights import package_file

    assert package_file("portraitcli", "__init__.py", "pip install portraitcli").is_file()
    with pytest.raises(WeightsError, match="no_such_pkg is not installed: pip install no-such-pkg"):
        package_file("no_such_pkg", "w.bin", "pip install no-such-pkg")
    with pytest.raises(WeightsError, match="missing from the installed portraitcli"):
        package_file("portraitcli", "no-such-file.bin", "pip install portraitcli")
