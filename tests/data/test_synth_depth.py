"""Synthetic validation faces: the renderer re-creates the benchmark's test faces exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from portraitcli.cli.app import main
from portraitcli.data import synth_depth
from portraitcli.errors import EXIT_USAGE, UsageError
from tests.conftest import data_dir


def test_the_test_seed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="test faces"):
        synth_depth.render_faces(tmp_path, 1, seed=synth_depth.TEST_SEED)


def test_rendering_matches_the_tool_that_made_the_test_set() -> None:
    pytest.importorskip("eos")
    sfm = data_dir("sfm")
    with np.load(data_dir("synth_depth") / "test.npz") as z:
        test = {k: z[k][:2] for k in ("image", "depth", "mask", "pose", "light")}
    # the test set's seed, through the private renderer: the same faces (images and masks bit for
    # bit; float32 depths to 1e-6: NumPy's SIMD paths round the last bit differently between CPUs)
    again = synth_depth._render(sfm, 2, 128, synth_depth.TEST_SEED, progress=False)
    for key, value in test.items():
        if value.dtype.kind == "f":
            np.testing.assert_allclose(again[key], value, rtol=1e-6, atol=0, err_msg=key)
        else:
            np.testing.assert_array_equal(again[key], value, err_msg=key)


def test_cli_writes_a_validation_set_and_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("eos")
    data = data_dir("sfm").parent
    out = tmp_path / "val.npz"
    args = ["data", "synth-depth", "--out", str(out), "--n", "2", "--size", "32", "--seed", "5", "--data", str(data)]
    assert main(args) == 0
    with np.load(out) as z:
        assert z["image"].shape == (2, 32, 32, 3) and z["depth"].shape == (2, 32, 32) and z["mask"].any()
        assert (z["depth"][z["mask"]] > 0.9).all() and np.abs(z["pose"][:, 0]).max() <= 30
    before = out.read_bytes()
    assert main(args) == EXIT_USAGE
    assert out.read_bytes() == before and "exists" in capsys.readouterr().err


def test_the_vectorized_rasterizer_draws_what_the_loop_draws() -> None:
    from portraitcli.face.morphable import shipped_sfm
    from portraitcli.face.shape import project, to_protocol
    from portraitcli.models.recon3d import rotation_matrix

    model = shipped_sfm()
    rng = np.random.default_rng(0)
    for size, yaw in ((48, 0.4), (160, -0.6)):  # the far cheek hidden: the z-buffer decides
        v = to_protocol(model.mean) @ rotation_matrix(pitch=0.1, yaw=yaw, roll=0.05).T
        uv, z = project(v, size)
        attr = rng.random((len(v), 2))
        depth, values = synth_depth.rasterize(uv, z, attr, model.triangles, size)
        fast_depth, fast_values = synth_depth.rasterize_fast(uv, z, attr, model.triangles, size)
        np.testing.assert_array_equal(np.isfinite(fast_depth), np.isfinite(depth))
        np.testing.assert_allclose(fast_depth, depth, rtol=0, atol=1e-12)
        np.testing.assert_allclose(fast_values, values, rtol=0, atol=1e-12)
    empty, _ = synth_depth.rasterize_fast(uv - 1000, z, attr, model.triangles, 16)
    assert np.isinf(empty).all()
