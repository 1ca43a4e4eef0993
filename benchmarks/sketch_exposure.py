"""Regenerate docs/benchmarks/sketch_exposure.{json,md}: the sketch model raw vs exposure-matched.

    python benchmarks/sketch_exposure.py [--data ../shared/datasets] [--out docs/benchmarks] [--record]
        [--model "NAME=runs/RUN/model.onnx"]...

Scores the shipped sketch model on the CUHK and AR test pairs and on the FS2K test photos,
each sketched as it is and after its face region's luma is matched to the CUFS training
photos'. See ``portraitcli/benchmark/sketch_exposure.py`` for the protocol and the rule.
``--record`` writes the measured reference into the shipped model's manifest template, which
makes matching that model's default.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from portraitcli.benchmark.sketch_exposure import record_exposure, run, write  # noqa: E402
from portraitcli.runtime.weights import find_model, verify  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("PORTRAIT_DATA", "../shared/datasets"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks")
    parser.add_argument("--record", action="store_true", help="record the reference exposure in the manifest")
    parser.add_argument(
        "--model", action="append", default=[], metavar="NAME=ONNX", help="another sketch model to score beside it"
    )
    args = parser.parse_args()
    spec = find_model("sketch")
    others = {}
    for item in args.model:
        name, sep, path = item.partition("=")
        if not sep or not Path(path).is_file():
            parser.error(f"--model {item!r}: expected NAME=PATH to an ONNX file")
        others[name] = Path(path)
    result = run(args.data.resolve(), verify(spec), spec.template, spec.template.exposure, others)
    write(result, spec.name, args.out)
    if args.record:
        record_exposure(spec.name, result["reference"])
    print((args.out / "sketch_exposure.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
