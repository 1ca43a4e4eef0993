"""Regenerate docs/benchmarks/draw.{json,md} and the per-style picture grids.

    python benchmarks/draw.py [--data ../shared/datasets] [--compare "NAME=RUN_DIR"]...

The same as ``portrait benchmark draw``: scores the shipped draw model on the FS2K test
split (FID, KID, SSIM per style and overall) beside XDoG, OpenCV pencilSketch and any other
run given (its ``model.onnx``). See ``portraitcli/evaluation/draw.py`` for the protocol.
"""

from __future__ import annotations

import sys

from portraitcli.cli.app import main

if __name__ == "__main__":
    sys.exit(main(["benchmark", "draw", *sys.argv[1:]]))
