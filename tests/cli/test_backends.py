"""``--backend dask|ray``: a local 2-worker cluster of each gives the plain run's files, byte for byte.

The cluster runs go through ``python -m portraitcli`` in a subprocess: a cluster runtime that dies
hard (Ray's driver exits the process when its raylet is lost) then fails one test instead of
ending the whole pytest session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from portraitcli.cli.app import main
from portraitcli.io import write_image


def _photos(folder: Path, astronaut: np.ndarray) -> None:
    for i, k in enumerate((0, 1, 3)):  # three photos, shifted a little
        write_image(folder / f"p{i}.jpg", np.ascontiguousarray(np.roll(astronaut, 10 * k, axis=1)))
    (folder / "broken.jpg").write_bytes(b"not an image")


def _run(*args: str) -> tuple[int, list[dict]]:
    done = subprocess.run(
        [sys.executable, "-m", "portraitcli", *args], capture_output=True, text=True, timeout=600, env=os.environ.copy()
    )
    assert done.returncode in (0, 7), f"exit {done.returncode}: {done.stderr[-2000:]}"
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@cache
def _local_ray_fails() -> str:
    """Why a local Ray cannot run one task on this machine ('' when it can), probed in a subprocess."""
    probe = "\n".join(
        [
            "import ray",
            "ray.init(num_cpus=1, include_dashboard=False)",
            "assert ray.get(ray.remote(lambda: 1).remote()) == 1",
        ]
    )
    try:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        return "a local Ray did not start in 180 s"
    if done.returncode == 0:
        return ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return f"a local Ray cannot start here (exit {done.returncode}): {lines[-1] if lines else 'no message'}"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["dask", "ray"])
def test_cluster_backend_matches_the_plain_run(backend: str, weights_dir, astronaut, tmp_path: Path) -> None:
    pytest.importorskip("distributed" if backend == "dask" else "ray")
    if backend == "ray" and (why := _local_ray_fails()):
        pytest.skip(why)
    src = tmp_path / "in"
    _photos(src, astronaut)
    code_a, plain = _run("sketch", str(src), "-o", str(tmp_path / "plain"), "--json", "--workers", "1")
    code_b, cluster = _run(
        "sketch", str(src), "-o", str(tmp_path / "cluster"), "--json", "--backend", backend, "--workers", "2"
    )
    assert code_a == code_b == 7  # the broken file fails in both, the batch goes on
    assert [(Path(r["input"]).name, r["status"]) for r in plain] == [
        (Path(r["input"]).name, r["status"]) for r in cluster
    ]
    for name in ("p0.jpg", "p1.jpg", "p2.jpg"):
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "cluster" / name).read_bytes(), name
    code, again = _run(
        "sketch", str(src), "-o", str(tmp_path / "cluster"), "--json", "--backend", backend, "--workers", "2"
    )
    assert code == 7 and [r["status"] for r in again].count("skipped") == 3  # resumable: done files are skipped


def test_backend_address_options_are_checked(capsys, weights_dir, tmp_path: Path) -> None:
    assert main(["sketch", str(tmp_path), "-o", str(tmp_path / "o"), "--scheduler", "tcp://x:1"]) == 2
    assert "--scheduler goes with --backend dask" in capsys.readouterr().err
    assert main(["sketch", str(tmp_path), "-o", str(tmp_path / "o"), "--backend", "dask", "--address", "auto"]) == 2
    assert "--address goes with --backend ray" in capsys.readouterr().err
