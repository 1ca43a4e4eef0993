"""``python -m portraitcli.train.sketch DATA [key=value ...]``: the same as ``portrait train sketch``."""

from __future__ import annotations

import sys
from pathlib import Path

from portraitcli.train.common.runs import apply_overrides, make_run_dir
from portraitcli.train.sketch.config import SketchConfig
from portraitcli.train.sketch.train import train

if __name__ == "__main__":
    data, *overrides = sys.argv[1:]
    cfg = apply_overrides(SketchConfig(), overrides)
    train(cfg, Path(data), make_run_dir(Path("runs"), "sketch", cfg.variant))
