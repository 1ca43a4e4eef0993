"""``--backend dask|ray``: a local 2-worker cluster of each gives the plain run's files, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from portraitcli.cli.app import main
from portraitcli.io import write_image


def _photos(folder: Path, astronaut: np.ndarray) -> None:
    for i, k in enumerate((0, 1, 3)):  # three photos, shifted a little
        write_image(folder / f"p{i}.jpg", np.ascontiguousarray(np.roll(astronaut, 10 * k, axis=1)))
    (folder / "broken.jpg").write_bytes(b"not an image")


def _run(capsys, *args: str) -> tuple[int, list[dict]]:
    code = main(list(args))
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["dask", "ray"])
def test_cluster_backend_matches_the_plain_run(backend: str, capsys, weights_dir, astronaut, tmp_path: Path) -> None:
    pytest.importorskip("distributed" if backend == "dask" else "ray")
    src = tmp_path / "in"
    _photos(src, astronaut)
    code_a, plain = _run(capsys, "sketch", str(src), "-o", str(tmp_path / "plain"), "--json", "--workers", "1")
    code_b, cluster = _run(
        capsys, "sketch", str(src), "-o", str(tmp_path / "cluster"), "--json", "--backend", backend, "--workers", "2"
    )
    assert code_a == code_b == 7  # the broken file fails in both, the batch goes on
    assert [(Path(r["input"]).name, r["status"]) for r in plain] == [
        (Path(r["input"]).name, r["status"]) for r in cluster
    ]
    for name in ("p0.jpg", "p1.jpg", "p2.jpg"):
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "cluster" / name).read_bytes(), name
    code, again = _run(
        capsys, "sketch", str(src), "-o", str(tmp_path / "cluster"), "--json", "--backend", backend, "--workers", "2"
    )
    assert code == 7 and [r["status"] for r in again].count("skipped") == 3  # resumable: done files are skipped


def test_backend_address_options_are_checked(capsys, weights_dir, tmp_path: Path) -> None:
    assert main(["sketch", str(tmp_path), "-o", str(tmp_path / "o"), "--scheduler", "tcp://x:1"]) == 2
    assert "--scheduler goes with --backend dask" in capsys.readouterr().err
    assert main(["sketch", str(tmp_path), "-o", str(tmp_path / "o"), "--backend", "dask", "--address", "auto"]) == 2
    assert "--address goes with --backend ray" in capsys.readouterr().err
