"""Regenerate docs/benchmarks/cartoon3d.{json,md} and the picture grid.

    python benchmarks/cartoon3d.py [--data ../shared/datasets] [--part depth|cartoon|all]
        [--recon-model RUN/model.onnx] [--cartoon-model RUN/model.onnx]

The same as ``portrait benchmark cartoon3d``: SIDE and MAD of the shipped 3-D reconstruction
on ``synth_depth/test.npz`` beside a flat depth and the mean-face ellipsoid; KID against the
toons and photo-to-cartoon identity distance of the shipped 2-D cartoon on 500 real test
faces beside OpenCV's stylization. See ``portraitcli/evaluation/cartoon3d.py`` for the protocol.
"""

from __future__ import annotations

import sys

from portraitcli.cli.app import main

if __name__ == "__main__":
    sys.exit(main(["benchmark", "cartoon3d", *sys.argv[1:]]))
