"""Score saved destylize checkpoints on the validation sets, as the trainer's log records them.

    python research/destylize_validation.py RUN_DIR [RUN_DIR...] --pairs runs/pairs [--data DIR] [--checkpoint F]

The run's 100 held-out training pairs (PSNR, SSIM, dlib retrieval top-1/5 among those faces)
and, where the datasets folder (default ``$PORTRAIT_DATA``) has CUFS, the 88 CUHK-student
training sketches (``val_sketch_*``). Validation only: the test split is the benchmark's
(``portrait benchmark destylize``). Prints one JSON line per run. Needs the ``train`` extra.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from portraitcli.data import optional_data_root
from portraitcli.errors import PortraitError
from portraitcli.train.destylize.train import validate_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="destylize run folders")
    parser.add_argument("--pairs", type=Path, required=True, help="output folder of portrait data stylized-pairs")
    parser.add_argument("--data", type=Path, help="datasets folder (CUFS); default $PORTRAIT_DATA")
    parser.add_argument("--checkpoint", help="checkpoint file name (default: the newest of each run)")
    args = parser.parse_args()
    data = optional_data_root(args.data)
    for run in args.runs:
        ckpt = run / "checkpoints" / args.checkpoint if args.checkpoint else None
        print(json.dumps({"run": run.name, **validate_run(run, args.pairs, data, ckpt)}), flush=True)


if __name__ == "__main__":
    try:
        main()
    except PortraitError as e:
        sys.exit(f"error: {e}")
