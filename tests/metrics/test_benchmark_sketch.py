from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from portraitcli.cli.app import main
from tests.conftest import data_dir

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_benchmark_sketch_regenerates_the_shipped_numbers(tmp_path: Path, capsys, monkeypatch) -> None:
    """`portrait benchmark sketch` on the shipped weights reproduces docs/ and the manifest.

    With ``--keep-ablations`` and the committed report in ``--out``, the ablation rows whose
    run folders are not here are carried; their paired differences, recomputed from the
    per-image CSV against a fresh scoring of the shipped model, equal the committed ones.
    """
    root = data_dir("cufs").parent
    docs_dir = REPO / "docs" / "benchmarks"
    for name in ("sketch.json", "sketch_per_image.csv"):
        shutil.copy(docs_dir / name, tmp_path / name)
    monkeypatch.delenv("PORTRAIT_WEIGHTS", raising=False)
    monkeypatch.setattr("portraitcli.benchmark.sketch.record_metrics", lambda *a, **k: None)
    argv = ["benchmark", "sketch", "--data", str(root), "--out", str(tmp_path), "--no-images", "--keep-ablations"]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads((tmp_path / "sketch.json").read_text())
    for key in ("task", "model", "sha256", "dataset", "split", "n", "metrics", "baselines", "settings"):
        assert key in result
    assert result["n"] == 100 and result["n_ar"] == 23
    assert set(result["metrics"]) == {"ssim", "psnr", "ssim_ar", "psnr_ar", "spike_cuhk", "spike_fs2k"}
    assert 0.9 < result["checkerboard"]["artist_cuhk"] < 1.1  # the artists draw no period-2 pattern
    assert "| method | CUHK test photos | FS2K test photos |" in (tmp_path / "sketch.md").read_text()
    assert all(isinstance(v, float) for v in result["metrics"].values())
    assert result["baselines"]["grayscale photo"]["ssim"] == pytest.approx(0.5335, abs=5e-4)
    manifest = json.loads((REPO / "weights" / "manifest.json").read_text())["models"][result["model"]]
    assert manifest["sha256"] == result["sha256"]
    for k, v in result["metrics"].items():
        assert manifest["metrics"][k] == pytest.approx(v, rel=1e-4), k  # recorded to 5 significant digits
    docs = json.loads((REPO / "docs" / "benchmarks" / "sketch.json").read_text())
    assert docs["sha256"] == result["sha256"]
    assert docs["metrics"]["ssim"] == pytest.approx(result["metrics"]["ssim"], abs=1e-6)
    assert result["ablation_runs"].keys() == docs["ablation_runs"].keys()
    for name in docs["ablation_runs"]:
        assert result["ablation_runs"][name]["carried"] and result["baselines"][name] == docs["baselines"][name]
        diff, recorded = result["ssim_diff_vs_ours"][name], docs["ssim_diff_vs_ours"][name]
        assert [diff["mean"], *diff["ci95"]] == pytest.approx([recorded["mean"], *recorded["ci95"]], abs=2e-6)


def test_recorded_ablations_refuse_another_protocol(tmp_path: Path) -> None:
    """Rows scored under other settings are not carried; library versions may differ."""
    from portraitcli.benchmark.recorded import recorded_ablations
    from portraitcli.errors import UsageError

    report = {
        "baselines": {"abl": {"ssim": 0.5, "kind": "ablation"}, "gray": {"ssim": 0.4}},
        "ablation_runs": {"abl": {"run": "00001-x", "config": {}, "sha256": "0" * 64}},
        "settings": {"ssim": {"sigma": 1.5}, "versions": {"python": "3.11"}},
    }
    (tmp_path / "r.json").write_text(json.dumps(report))
    (tmp_path / "r.csv").write_text("method,image,ssim\nabl,a.jpg,0.5\ngray,a.jpg,0.4\n")
    kept = recorded_ablations(tmp_path / "r.json", tmp_path / "r.csv", {"ssim": {"sigma": 1.5}, "versions": {}})
    assert kept.rows == {"abl": {"ssim": 0.5, "kind": "ablation"}} and kept.runs["abl"]["carried"]
    assert kept.per_image == {"abl": {"a.jpg": {"ssim": 0.5}}}
    assert not recorded_ablations(tmp_path / "r.json", tmp_path / "r.csv", report["settings"], skip=["abl"]).rows
    with pytest.raises(UsageError, match="another protocol"):
        recorded_ablations(tmp_path / "r.json", tmp_path / "r.csv", {"ssim": {"sigma": 2.0}})


def test_recorded_ablations_read_method_names_with_commas(tmp_path: Path) -> None:
    """Quoted names, and the unquoted ones of draw reports written before the CSV was quoted."""
    from portraitcli.benchmark.recorded import recorded_ablations

    names = ("full model, ConvT decoders (draw-v1)", "pix2pix, seed 1")
    report = {
        "baselines": {n: {"ssim": 0.5, "kind": "ablation"} for n in names},
        "ablation_runs": {n: {"run": "r", "config": {}, "sha256": "0" * 64} for n in names},
        "settings": {"ssim": {"sigma": 1.5}},
    }
    (tmp_path / "r.json").write_text(json.dumps(report))
    (tmp_path / "r.csv").write_text(
        "method,image,style,ssim\n"
        "full model, ConvT decoders (draw-v1),photo1/a,1,0.25\n"
        '"pix2pix, seed 1",photo1/a,1,0.75\n'
    )
    kept = recorded_ablations(tmp_path / "r.json", tmp_path / "r.csv", report["settings"])
    assert kept.per_image == {
        names[0]: {"photo1/a": {"style": 1.0, "ssim": 0.25}},
        names[1]: {"photo1/a": {"style": 1.0, "ssim": 0.75}},
    }


def _fake_datasets(root: Path, astronaut) -> Path:
    """CUFS-shaped (2 CUHK train, 3 CUHK test, 2 AR train, 2 AR test pairs) and FS2K-shaped (4
    test photos: the astronaut at four exposures, each 'drawn' as the luma of the bright one;
    the same 4 again as the training split)."""
    import csv

    import numpy as np

    from portraitcli.io import write_image
    from portraitcli.metrics.pixel import to_gray

    rng = np.random.default_rng(0)
    rows = []
    cufs_sets = (("cuhk_student", "train", 2), ("cuhk_student", "test", 3), ("ar", "train", 2), ("ar", "test", 2))
    for subset, split, n in cufs_sets:
        for i in range(n):
            photo = rng.integers(120, 256, (250, 200, 3), dtype=np.uint8)
            name = f"{subset}/{split}/{i}.png"
            write_image(root / "cufs" / "photos" / name, photo)
            write_image(root / "cufs" / "sketches" / name, to_gray(photo))
            rows.append([subset, split, f"photos/{name}", f"sketches/{name}"])
    with (root / "cufs" / "pairs.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["subset", "split", "photo", "sketch"], *rows])
    fs2k = []
    for i, gain in enumerate((1.0, 0.7, 0.45, 0.3)):
        write_image(root / "fs2k" / "photo" / f"image{i}.png", (astronaut * gain).astype(np.uint8))
        write_image(root / "fs2k" / "sketch" / f"sketch{i}.png", to_gray(astronaut))
        for split in ("test", "train"):
            fs2k.append([split, 0, 0, 0, 1, f"photo/image{i}.png", f"sketch/sketch{i}.png"])
    with (root / "fs2k" / "pairs.csv").open("w", newline="") as f:
        header = ["split", "sketch_style", "gender", "smile", "frontal_face", "photo", "sketch"]
        csv.writer(f).writerows([header, *fs2k])
    return root


def test_exposure_benchmark_on_a_tiny_dataset(tmp_path: Path, capsys, weights_dir: Path, astronaut) -> None:
    """With a luma 'model', matching brings the dark astronauts back to their bright drawing."""
    data = _fake_datasets(tmp_path / "data", astronaut)
    out = tmp_path / "out"
    other = weights_dir / "sketch-v1.onnx"
    code = main(["benchmark", "sketch-exposure", "--data", str(data), "--out", str(out), "--model", f"same={other}"])
    _, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads((out / "sketch_exposure.json").read_text())
    sets = result["sets"]
    assert (sets["cuhk"]["n"], sets["ar"]["n"], sets["fs2k"]["n"], sets["fs2k_dark"]["n"]) == (3, 2, 4, 1)
    assert sets["fs2k"]["matched"] > sets["fs2k"]["raw"] + 0.05  # the dark copies come back
    assert sets["fs2k_dark"]["diff"]["mean"] > sets["fs2k"]["diff"]["mean"]  # the darkest most of all
    assert 150 < result["reference"]["mean"] < 230  # measured on the 2 bright CUHK training photos
    # the same model given again: every paired difference is exactly 0
    assert all(d["mean"] == 0 for d in result["others"]["same"]["vs_model"].values())
    md = (out / "sketch_exposure.md").read_text()
    assert "| FS2K test, darkest quarter (FS2K drawings) | 1 |" in md and "Other models" in md


def test_exposure_benchmark_validation_split(tmp_path: Path, capsys, weights_dir: Path, astronaut) -> None:
    """``--split validation``: AR training pairs and every third FS2K training photo, no CUHK
    set and no rule, in its own report; an unknown split is a usage error."""
    data = _fake_datasets(tmp_path / "data", astronaut)
    out = tmp_path / "out"
    code = main(["benchmark", "sketch-exposure", "--data", str(data), "--out", str(out), "--split", "validation"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert not (out / "sketch_exposure.json").exists()
    result = json.loads((out / "sketch_exposure_validation.json").read_text())
    assert result["split"] == "validation" and "rule" not in result
    sets = result["sets"]
    assert list(sets) == ["ar", "fs2k", "fs2k_dark"]
    assert (sets["ar"]["n"], sets["fs2k"]["n"], sets["fs2k_dark"]["n"]) == (2, 2, 1)  # FS2K photos 0 and 3
    assert result["fs2k_names"] == ["image0", "image3"]
    md = (out / "sketch_exposure_validation.md").read_text()
    assert "| AR training pairs (CUFS artists) | 2 |" in md and "--split validation" in md and "Rule" not in md
    code = main(["benchmark", "sketch-exposure", "--data", str(data), "--out", str(out), "--split", "val"])
    _, err = capsys.readouterr()
    assert code == 2 and "--split must be one of test, validation" in err
