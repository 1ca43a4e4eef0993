"""``portrait train``: train, export and publish the models (needs the ``train`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Train, export and publish the models (needs PyTorch and the train extra).", no_args_is_help=True
)


def _require_torch() -> None:
    from portraitcli.errors import RuntimeDeviceError

    try:
        import torch  # noqa: F401
    except ImportError:
        raise RuntimeDeviceError(
            "training needs PyTorch: pip install torch==2.13.0 && pip install 'portraitcli[train]'"
        ) from None


@app.command("sketch")
def train_sketch(
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds cufs/); default $PORTRAIT_DATA.")
    ] = None,
    set_: Annotated[list[str], typer.Option("--set", help="Config override key=value (repeatable).")] = [],  # noqa: B006
    runs: Annotated[Path, typer.Option("--runs", help="Folder of run folders.")] = Path("runs"),
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue the run in this folder.")] = None,
    desc: Annotated[str | None, typer.Option("--desc", help="Run folder suffix (default: the variant).")] = None,
) -> None:
    """Train the sketch model (SE-U-Net CycleGAN + supervised L1) on CUFS, then export it to ONNX."""
    _require_torch()
    import json

    from rich.console import Console

    from portraitcli.data import data_root
    from portraitcli.train.common.runs import apply_overrides, make_run_dir
    from portraitcli.train.sketch.config import SketchConfig
    from portraitcli.train.sketch.export import export_run
    from portraitcli.train.sketch.train import train

    console = Console(stderr=True)
    root = data_root(data)
    if resume is not None:
        saved = json.loads((resume / "config.json").read_text())["config"]
        cfg = apply_overrides(SketchConfig(), [f"{k}={json.dumps(v)}" for k, v in saved.items()] + list(set_))
        run_dir = resume
    else:
        cfg = apply_overrides(SketchConfig(), list(set_))
        run_dir = make_run_dir(runs, "sketch", desc or cfg.variant)
    console.print(f"run folder: {run_dir}")
    ckpt = train(cfg, root, run_dir, console)
    onnx_path = export_run(run_dir, ckpt, root, console)
    print(onnx_path)


@app.command("draw")
def train_draw(
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds fs2k/ or apdrawing/); default $PORTRAIT_DATA.")
    ] = None,
    set_: Annotated[list[str], typer.Option("--set", help="Config override key=value (repeatable).")] = [],  # noqa: B006
    runs: Annotated[Path, typer.Option("--runs", help="Folder of run folders.")] = Path("runs"),
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue the run in this folder.")] = None,
    desc: Annotated[str | None, typer.Option("--desc", help="Run folder suffix (default: the mode).")] = None,
    cache: Annotated[Path, typer.Option("--cache", help="Cache of detected landmarks and aligned pairs.")] = Path(
        "runs/cache"
    ),
) -> None:
    """Train the draw model (wavelet feature-disentanglement GAN) on FS2K, then export it to ONNX."""
    _require_torch()
    import json

    from rich.console import Console

    from portraitcli.data import data_root
    from portraitcli.train.common.runs import apply_overrides, make_run_dir
    from portraitcli.train.draw.config import DrawConfig
    from portraitcli.train.draw.export import export_run
    from portraitcli.train.draw.train import train

    console = Console(stderr=True)
    root = data_root(data)
    if resume is not None:
        saved = json.loads((resume / "config.json").read_text())["config"]
        cfg = apply_overrides(DrawConfig(), [f"{k}={json.dumps(v)}" for k, v in saved.items()] + list(set_))
        run_dir = resume
    else:
        cfg = apply_overrides(DrawConfig(), list(set_))
        run_dir = make_run_dir(runs, "draw", desc or cfg.mode)
    console.print(f"run folder: {run_dir}")
    ckpt = train(cfg, root, run_dir, cache, console)
    print(export_run(run_dir, ckpt, console))


@app.command("destylize")
def train_destylize(
    pairs: Annotated[Path, typer.Option("--pairs", help="Output folder of `portrait data stylized-pairs`.")],
    set_: Annotated[list[str], typer.Option("--set", help="Config override key=value (repeatable).")] = [],  # noqa: B006
    runs: Annotated[Path, typer.Option("--runs", help="Folder of run folders.")] = Path("runs"),
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue the run in this folder.")] = None,
    desc: Annotated[str | None, typer.Option("--desc", help="Run folder suffix (default: the arch).")] = None,
) -> None:
    """Train the destylize model (IFRP: SRN with spatial transformers + DN) on stylized pairs, then export it."""
    _require_torch()
    import json

    from rich.console import Console

    from portraitcli.train.common.runs import apply_overrides, make_run_dir
    from portraitcli.train.destylize.config import DestylizeConfig
    from portraitcli.train.destylize.export import export_run
    from portraitcli.train.destylize.train import train

    console = Console(stderr=True)
    if resume is not None:
        saved = json.loads((resume / "config.json").read_text())["config"]
        cfg = apply_overrides(DestylizeConfig(), [f"{k}={json.dumps(v)}" for k, v in saved.items()] + list(set_))
        run_dir = resume
    else:
        cfg = apply_overrides(DestylizeConfig(), list(set_))
        run_dir = make_run_dir(runs, "destylize", desc or cfg.arch)
    console.print(f"run folder: {run_dir}")
    ckpt = train(cfg, pairs, run_dir, console)
    print(export_run(run_dir, ckpt, console))


@app.command("publish")
def publish(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder (holds model.onnx and template.json).")],
    name: Annotated[str, typer.Option("--name", help="Manifest name, e.g. sketch-v1.")],
    weights: Annotated[Path, typer.Option("--weights", help="The weights folder to publish into.")] = Path("weights"),
) -> None:
    """Copy a run's ONNX model into weights/ and write its manifest entry (sha256, template, provenance)."""
    from portraitcli.train.common.publish import publish_run

    print(publish_run(run_dir, name, weights))
