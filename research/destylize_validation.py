"""Score saved destylize checkpoints on the validation sets, as the trainer's log records them.

    python research/destylize_validation.py RUN_DIR [RUN_DIR...] --pairs runs/pairs [--data DIR] [--checkpoint F]
    python research/destylize_validation.py RUN_DIR --pairs runs/pairs256 --onnx weights/destylize-v5.onnx

With ``--onnx``, that model (any size; its faces resized to the pairs') and the stylized inputs
themselves are scored on the first run's validation split instead of the runs' checkpoints.

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


def validate_onnx(run: Path, pairs: Path, data: Path | None, onnx: Path) -> dict[str, dict[str, float]]:
    """``{model name or "stylized input": validation scores}`` on ``run``'s held-out pairs and,
    with CUFS in ``data``, the CUFS training sketches (keys as the trainer logs them)."""
    import numpy as np

    from portraitcli.configs import saved_config
    from portraitcli.data.stylized import read_record
    from portraitcli.evaluation.destylize import onnx_recover
    from portraitcli.metrics.pixel import psnr, ssim
    from portraitcli.models.destylize import resize_square
    from portraitcli.train.destylize.config import DestylizeConfig
    from portraitcli.train.destylize.train import (
        ValidationRetrieval,
        load_pairs,
        sketch_validation,
        validation_split,
    )

    cfg = saved_config(DestylizeConfig, json.loads((run / "config.json").read_text())["config"])
    names, inputs, targets = load_pairs(pairs)
    template = read_record(pairs)["template"]
    val = validation_split(len(names), cfg)[0]
    sets = {"val_": (inputs[val], targets[val], ValidationRetrieval(targets[val], template["kps"]))}
    sketches = sketch_validation(data, cfg, template)
    if sketches is not None:
        sets["val_sketch_"] = sketches
    model = onnx_recover(onnx)
    results: dict[str, dict[str, float]] = {}
    for name, recover in ((onnx.stem, model), ("stylized input", lambda x: x)):
        scores: dict[str, float] = {}
        for prefix, (x, y, retrieval) in sets.items():
            out = np.stack([resize_square(recover(face), y.shape[1]) for face in x])
            scores[prefix + "psnr"] = float(np.mean([psnr(o, t) for o, t in zip(out, y)]))
            scores[prefix + "ssim"] = float(np.mean([ssim(o, t) for o, t in zip(out, y)]))
            scores |= {prefix + k.removeprefix("val_"): v for k, v in retrieval(out).items()}
        results[name] = scores
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="destylize run folders")
    parser.add_argument("--pairs", type=Path, required=True, help="output folder of portrait data stylized-pairs")
    parser.add_argument("--data", type=Path, help="datasets folder (CUFS); default $PORTRAIT_DATA")
    parser.add_argument("--checkpoint", help="checkpoint file name (default: the newest of each run)")
    parser.add_argument("--onnx", type=Path, help="score this ONNX destylize model on the first run's split instead")
    args = parser.parse_args()
    data = optional_data_root(args.data)
    if args.onnx is not None:
        for name, scores in validate_onnx(args.runs[0], args.pairs, data, args.onnx).items():
            print(json.dumps({"model": name, **scores}), flush=True)
        return
    for run in args.runs:
        ckpt = run / "checkpoints" / args.checkpoint if args.checkpoint else None
        print(json.dumps({"run": run.name, **validate_run(run, args.pairs, data, ckpt)}), flush=True)


if __name__ == "__main__":
    try:
        main()
    except PortraitError as e:
        sys.exit(f"error: {e}")
