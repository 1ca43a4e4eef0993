"""Train several sketch recipes at once (on one GPU, or the CPU) and score each on the CUFS test pairs.

A lent GPU is held for minutes, not hours, and its training runs must come back small. So
this script starts one ``portrait train sketch --no-export`` per recipe, all concurrently,
stops them at ``--time-limit`` seconds (a run stopped early keeps its newest checkpoint,
every ``checkpoint_every`` epochs), then for each run folder:

1. slims its newest checkpoint to the network ``portrait train export`` takes (G's weight
   average when the run kept one, else G): about 13 MB instead of about 80 MB;
2. scores that generator, in torch on the training device, on the 100 CUHK student and
   23 AR test pairs with the benchmark's protocol (:func:`portraitcli.evaluation.sketch.score`),
   for a first look. The published table comes from ``portrait benchmark sketch`` on the
   exported ONNX files (``portrait train export RUN``), on the CPU.

Recipes are ``NAME=key=value,key=value`` (config overrides, as ``--set``); ``--set`` adds
overrides common to all. Writes ``RUNS/sweep.json`` and prints the table.

Example (the 200-epoch sweep of the sketch issue, on a lent GPU)::

    python research/sketch_sweep.py --data DATA --runs gpu-runs --set device=cuda --set epochs=200 \\
        --recipe ours-s0=seed=0 --recipe no-se-s0=use_se=false,seed=0 --recipe g-alone-s0=variant=pix2pix-l1,seed=0
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import torch
import typer
from rich.console import Console
from rich.table import Table

from portraitcli.evaluation.sketch import load_test_sets, score
from portraitcli.train.common.average import AVERAGE_KEY, keeps_average
from portraitcli.train.common.checkpoint import checkpoint_epoch, latest_checkpoint, slim_checkpoint
from portraitcli.train.sketch.export import load_generator
from portraitcli.train.sketch.train import sketcher

console = Console(stderr=True)
METRICS = ("cuhk_ssim", "cuhk_psnr", "ar_ssim", "ar_psnr")


def parse_recipe(text: str) -> tuple[str, list[str]]:
    """``"NAME=k=v,k=v"`` -> ``("NAME", ["k=v", "k=v"])`` (``"NAME="`` for the defaults)."""
    name, _, sets = text.partition("=")
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise typer.BadParameter(f"recipe name {name!r}: letters, digits, '-' and '_' only")
    return name, [s for s in sets.split(",") if s]


def launch(name: str, sets: list[str], data: Path, runs: Path) -> tuple[subprocess.Popen, Path]:
    """Start ``portrait train sketch --no-export`` for one recipe; its output goes to RUNS/NAME.out."""
    out = runs / f"{name}.out"
    cmd = [sys.executable, "-m", "portraitcli", "train", "sketch", "--no-export", "--data", str(data)]
    cmd += ["--runs", str(runs), "--desc", name] + [a for s in sets for a in ("--set", s)]
    with out.open("w") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT), out


def main(
    data: Path = typer.Option(..., help="Datasets folder (holds cufs/)."),
    runs: Path = typer.Option(Path("runs/sweep"), help="Folder of the run folders."),
    recipe: list[str] = typer.Option(..., help="NAME=key=value,key=value (repeatable)."),
    set_: list[str] = typer.Option([], "--set", help="Override common to every recipe (repeatable)."),
    time_limit: float = typer.Option(480.0, help="Seconds before unfinished runs are stopped."),
    device: str = typer.Option("cuda" if torch.cuda.is_available() else "cpu", help="Device that scores."),
) -> None:
    runs.mkdir(parents=True, exist_ok=True)
    recipes = dict(parse_recipe(r) for r in recipe)
    t0 = time.time()
    procs = {name: launch(name, [*set_, *sets], data, runs) for name, sets in recipes.items()}
    console.print(f"started {len(procs)} runs")
    while any(p.poll() is None for p, _ in procs.values()) and time.time() - t0 < time_limit:
        time.sleep(5)
    stopped = [name for name, (p, _) in procs.items() if p.poll() is None]
    for name in stopped:
        procs[name][0].terminate()
    for p, _ in procs.values():
        p.wait()
    console.print(f"training: {time.time() - t0:.0f} s; stopped early: {stopped or 'none'}")

    tests = load_test_sets(data)
    results = []
    for name in recipes:
        folders = sorted(runs.glob(f"[0-9][0-9][0-9][0-9][0-9]-sketch-{name}"))
        ckpt = latest_checkpoint(folders[-1]) if folders else None
        if ckpt is None:
            console.print(f"[red]{name}: no checkpoint[/red]; see {procs[name][1]}")
            results.append({"name": name, "error": procs[name][1].read_text()[-2000:]})
            continue
        slim_checkpoint(ckpt, [AVERAGE_KEY] if keeps_average(ckpt) else ["G"])
        generate = sketcher(load_generator(ckpt).to(device), device)
        row = {"name": name, "run": folders[-1].name, "sets": recipes[name], "epoch": checkpoint_epoch(ckpt)}
        row["finished"] = name not in stopped and procs[name][0].returncode == 0
        for key, test in tests.items():
            s = score(generate, test)
            row.update({f"{key}_ssim": s["ssim"], f"{key}_psnr": s["psnr"]})
        results.append(row)
    (runs / "sweep.json").write_text(json.dumps({"common": set_, "results": results}, indent=2) + "\n")

    table = Table("recipe", "epoch", "CUHK SSIM", "CUHK PSNR", "AR SSIM", "AR PSNR", title="torch scores, test pairs")
    for r in results:
        if "error" in r:
            table.add_row(r["name"], "failed", "", "", "", "")
            continue
        table.add_row(
            r["name"],
            str(r["epoch"]) + ("" if r["finished"] else " (stopped)"),
            *(f"{r[k]:.4f}" if "ssim" in k else f"{r[k]:.2f}" for k in METRICS),
        )
    Console().print(table)


if __name__ == "__main__":
    typer.run(main)
