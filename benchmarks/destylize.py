"""Regenerate docs/benchmarks/destylize.{json,md} and docs/images/destylize_grid.jpg.

    python benchmarks/destylize.py --pairs runs/pairs [--data ../shared/datasets] \
        [--compare "plain U-Net=RUN_DIR"]...

The same as ``portrait benchmark destylize``: scores the shipped destylize model on the
stylized UTKFace test faces (seen and unseen styles) and the CUFS test sketches (PSNR, SSIM,
face retrieval top-1/top-5, face consistency) beside the stylized input and the baseline
runs given (their ``model.onnx``, trained on the same pairs with the same budget). The pairs
folder is made by ``portrait data stylized-pairs --out runs/pairs``. See
``portraitcli/evaluation/destylize.py`` for the protocol.
"""

from __future__ import annotations

import sys

from portraitcli.cli.app import main

if __name__ == "__main__":
    sys.exit(main(["benchmark", "destylize", *sys.argv[1:]]))
