from __future__ import annotations

import json
from pathlib import Path

import pytest

from portraitcli.cli.app import main
from tests.conftest import data_dir

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_benchmark_sketch_regenerates_the_shipped_numbers(tmp_path: Path, capsys, monkeypatch) -> None:
    """`portrait benchmark sketch` on the shipped weights reproduces docs/ and the manifest."""
    root = data_dir("cufs").parent
    monkeypatch.delenv("PORTRAIT_WEIGHTS", raising=False)
    monkeypatch.setattr("portraitcli.benchmark.sketch.record_metrics", lambda *a, **k: None)
    code = main(["benchmark", "sketch", "--data", str(root), "--out", str(tmp_path), "--no-images"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads((tmp_path / "sketch.json").read_text())
    for key in ("task", "model", "sha256", "dataset", "split", "n", "metrics", "baselines", "settings"):
        assert key in result
    assert result["n"] == 100 and result["n_ar"] == 23
    assert set(result["metrics"]) == {"ssim", "psnr", "ssim_ar", "psnr_ar"}
    assert all(isinstance(v, float) for v in result["metrics"].values())
    assert result["baselines"]["grayscale photo"]["ssim"] == pytest.approx(0.5335, abs=5e-4)
    manifest = json.loads((REPO / "weights" / "manifest.json").read_text())["models"][result["model"]]
    assert manifest["sha256"] == result["sha256"]
    for k, v in result["metrics"].items():
        assert manifest["metrics"][k] == pytest.approx(v, abs=1e-4), k
    docs = json.loads((REPO / "docs" / "benchmarks" / "sketch.json").read_text())
    assert docs["sha256"] == result["sha256"]
    assert docs["metrics"]["ssim"] == pytest.approx(result["metrics"]["ssim"], abs=1e-6)
