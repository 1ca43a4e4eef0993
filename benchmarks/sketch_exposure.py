"""Regenerate docs/benchmarks/sketch_exposure.{json,md}: the sketch model raw vs exposure-matched.

    python benchmarks/sketch_exposure.py [--data ../shared/datasets] [--out docs/benchmarks] [--record]
        [--split test|validation] [--model "NAME=runs/RUN/model.onnx"]...

The same as ``portrait benchmark sketch-exposure``: scores the shipped sketch model on the
CUHK and AR test pairs and on the FS2K test photos, each sketched as it is and after its face
region's luma is matched to the CUFS training photos'. ``--split validation`` scores the AR
training pairs and every third FS2K training photo instead (sketch_exposure_validation.*). See
``portraitcli/benchmark/sketch_exposure.py`` for the protocol and the rule. ``--record``
writes the measured reference into the shipped model's manifest template, which makes
matching that model's default.
"""

from __future__ import annotations

import sys

from portraitcli.cli.app import main

if __name__ == "__main__":
    sys.exit(main(["benchmark", "sketch-exposure", *sys.argv[1:]]))
