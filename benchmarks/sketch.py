"""Regenerate docs/benchmarks/sketch.{json,md} and the sketch picture grids.

    python benchmarks/sketch.py [--data ../shared/datasets] [--compare "NAME=ONNX"]...

The same as ``portrait benchmark sketch``: scores the shipped sketch model on the CUFS test
pairs (100 CUHK student, 23 AR) with SSIM and PSNR in the paper's setting, beside the
training-free peers and any other model given. See ``portraitcli/evaluation/sketch.py``
for the protocol.
"""

from __future__ import annotations

import sys

from portraitcli.cli.app import main

if __name__ == "__main__":
    sys.exit(main(["benchmark", "sketch", *sys.argv[1:]]))
