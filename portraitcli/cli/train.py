"""``portrait train``: train, export and publish the models (needs the ``train`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Train, export and publish the models (needs PyTorch and the train extra).", no_args_is_help=True
)


Sets = Annotated[list[str], typer.Option("--set", help="Config override key=value (repeatable).")]
Runs = Annotated[Path, typer.Option("--runs", help="Folder of run folders.")]
Resume = Annotated[Path | None, typer.Option("--resume", help="Continue the run in this folder.")]


def _require_torch() -> None:
    from portraitcli.errors import RuntimeDeviceError

    try:
        import torch  # noqa: F401
    except ImportError:
        raise RuntimeDeviceError(
            "training needs PyTorch: pip install torch==2.13.0 && pip install 'portraitcli[train]'"
        ) from None


def _config_and_run_dir(
    config_cls: type, task: str, set_: list[str], runs: Path, resume: Path | None, desc: str | None, desc_field: str
) -> tuple[Any, Path]:
    """The run's config and folder: the run's latest config plus ``set_`` when resuming, else a
    new ``runs/NNNNN-TASK-DESC`` folder (DESC defaults to the config's ``desc_field``).

    The latest config is that of the run's last ``resume`` event in ``log.jsonl`` (what the
    last session trained with, as the manifest records it), else ``config.json``'s: an
    override given to an earlier resume stays in force when a later one only extends
    ``epochs``."""
    import json

    from portraitcli.errors import UsageError
    from portraitcli.train.common.publish import run_resumes
    from portraitcli.train.common.runs import apply_overrides, log_resume, make_run_dir, saved_config

    if resume is not None:
        if not (resume / "config.json").is_file():
            raise UsageError(f"--resume {resume}: no config.json there; not a run folder")
        logged = run_resumes(resume) if (resume / "log.jsonl").is_file() else []  # none before a first epoch
        resumes = [r for r in logged if "config" in r]
        saved = resumes[-1]["config"] if resumes else json.loads((resume / "config.json").read_text())["config"]
        cfg = apply_overrides(saved_config(config_cls, saved), list(set_))
        log_resume(resume, cfg)
        return cfg, resume
    cfg = apply_overrides(config_cls(), list(set_))
    return cfg, make_run_dir(runs, task, desc or str(getattr(cfg, desc_field)))


def _train_then_export(
    task: str,
    config_name: str,
    desc_field: str,
    data: Path | None,
    set_: list[str],
    runs: Path,
    resume: Path | None,
    desc: str | None,
) -> None:
    """A train command whose trainer is ``train(cfg, data, run_dir, console)`` in
    ``portraitcli.train.TASK.train`` and exporter ``export_run(run_dir, ckpt, console)`` in
    ``.export``: make the run folder, train, export, print the ONNX file's path."""
    _require_torch()
    import importlib

    from rich.console import Console

    from portraitcli.data import data_root

    package = f"portraitcli.train.{task}"
    config_cls = getattr(importlib.import_module(f"{package}.config"), config_name)
    console = Console(stderr=True)
    root = data_root(data)
    cfg, run_dir = _config_and_run_dir(config_cls, task, set_, runs, resume, desc, desc_field)
    console.print(f"run folder: {run_dir}")
    ckpt = importlib.import_module(f"{package}.train").train(cfg, root, run_dir, console)
    print(importlib.import_module(f"{package}.export").export_run(run_dir, ckpt, console))


@app.command("sketch")
def train_sketch(
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds cufs/); default $PORTRAIT_DATA.")
    ] = None,
    set_: Sets = [],  # noqa: B006
    runs: Runs = Path("runs"),
    resume: Resume = None,
    desc: Annotated[str | None, typer.Option("--desc", help="Run folder suffix (default: the variant).")] = None,
    export: Annotated[
        bool,
        typer.Option(
            "--export/--no-export",
            help="Export to ONNX when done (--no-export: on a machine without the face detector; "
            "`portrait train export RUN` later).",
        ),
    ] = True,
) -> None:
    """Train a sketch model on CUFS (the paper's SE-U-Net CycleGAN + supervised L1 by default; sketch-v5's
    recipe with --set variant=perceptual, see the README), then export it to ONNX."""
    _require_torch()

    from rich.console import Console

    from portraitcli.data import data_root
    from portraitcli.train.sketch.config import SketchConfig
    from portraitcli.train.sketch.export import export_run
    from portraitcli.train.sketch.train import train

    console = Console(stderr=True)
    root = data_root(data)
    cfg, run_dir = _config_and_run_dir(SketchConfig, "sketch", set_, runs, resume, desc, "variant")
    console.print(f"run folder: {run_dir}")
    ckpt = train(cfg, root, run_dir, console)
    print(export_run(run_dir, ckpt, root, console) if export else ckpt)


@app.command("draw")
def train_draw(
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds fs2k/ or apdrawing/); default $PORTRAIT_DATA.")
    ] = None,
    set_: Sets = [],  # noqa: B006
    runs: Runs = Path("runs"),
    resume: Resume = None,
    desc: Annotated[str | None, typer.Option("--desc", help="Run folder suffix (default: the mode).")] = None,
    cache: Annotated[Path, typer.Option("--cache", help="Cache of detected landmarks and aligned pairs.")] = Path(
        "runs/cache"
    ),
) -> None:
    """Train the draw model (wavelet feature-disentanglement GAN) on FS2K, then export it to ONNX."""
    _require_torch()

    from rich.console import Console

    from portraitcli.data import data_root
    from portraitcli.train.draw.config import DrawConfig
    from portraitcli.train.draw.export import export_run
    from portraitcli.train.draw.train import train

    console = Console(stderr=True)
    root = data_root(data)
    cfg, run_dir = _config_and_run_dir(DrawConfig, "draw", set_, runs, resume, desc, "mode")
    console.print(f"run folder: {run_dir}")
    ckpt = train(cfg, root, run_dir, cache, console)
    print(export_run(run_dir, ckpt, console))


@app.command("destylize")
def train_destylize(
    pairs: Annotated[Path, typer.Option("--pairs", help="Output folder of `portrait data stylized-pairs`.")],
    set_: Sets = [],  # noqa: B006
    runs: Runs = Path("runs"),
    resume: Resume = None,
    desc: Annotated[str | None, typer.Option("--desc", help="Run folder suffix (default: the arch).")] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Datasets folder (CUFS training sketches validate); default $PORTRAIT_DATA."),
    ] = None,
) -> None:
    """Train the destylize model (IFRP: SRN with spatial transformers + DN) on stylized pairs, then export it."""
    _require_torch()

    from rich.console import Console

    from portraitcli.data import optional_data_root
    from portraitcli.train.destylize.config import DestylizeConfig
    from portraitcli.train.destylize.export import export_run
    from portraitcli.train.destylize.train import train

    console = Console(stderr=True)
    cfg, run_dir = _config_and_run_dir(DestylizeConfig, "destylize", set_, runs, resume, desc, "arch")
    console.print(f"run folder: {run_dir}")
    root = optional_data_root(data)
    ckpt = train(cfg, pairs, run_dir, console, root)
    if cfg.oracle_align:
        console.print("oracle_align is a diagnostic (its model needs the true misalignment): not exported")
        print(ckpt)
        return
    print(export_run(run_dir, ckpt, console))


@app.command("cartoon")
def train_cartoon(
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds toon/); default $PORTRAIT_DATA.")
    ] = None,
    set_: Sets = [],  # noqa: B006
    runs: Runs = Path("runs"),
    resume: Resume = None,
    desc: Annotated[str | None, typer.Option("--desc", help="Run folder suffix.")] = None,
) -> None:
    """Train the 2-D cartoon generator of cartoon3d (pix2pix + perceptual) on the toon pairs, then export it."""
    _train_then_export("cartoon", "CartoonConfig", "size", data, set_, runs, resume, desc)


@app.command("stylize")
def train_stylize(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Datasets folder (wikiart224, fs2k, cufs, utkface, toon); default $PORTRAIT_DATA."),
    ] = None,
    set_: Sets = [],  # noqa: B006
    runs: Runs = Path("runs"),
    resume: Resume = None,
    desc: Annotated[str | None, typer.Option("--desc", help="Run folder suffix (default: the crop size).")] = None,
) -> None:
    """Train the fast model of `portrait stylize` (WCT on MobileNetV2, Gatys losses on VGG-19), then export it."""
    _train_then_export("stylize", "StylizeConfig", "crop", data, set_, runs, resume, desc)


@app.command("recon3d")
def train_recon3d(
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds utkface/ and sfm/); default $PORTRAIT_DATA.")
    ] = None,
    set_: Sets = [],  # noqa: B006
    runs: Runs = Path("runs"),
    resume: Resume = None,
    desc: Annotated[str | None, typer.Option("--desc", help="Run folder suffix (default: the training data).")] = None,
    cache: Annotated[Path, typer.Option("--cache", help="Cache of the aligned training faces.")] = Path("runs/cache"),
) -> None:
    """Train the 3-D reconstruction of cartoon3d (Unsup3d: depth, albedo, view, light) on UTKFace, then export it."""
    _require_torch()

    from rich.console import Console

    from portraitcli.data import data_root
    from portraitcli.train.recon3d.config import Recon3dConfig
    from portraitcli.train.recon3d.export import export_run
    from portraitcli.train.recon3d.train import prior_depth, train

    console = Console(stderr=True)
    root = data_root(data)
    cfg, run_dir = _config_and_run_dir(Recon3dConfig, "recon3d", set_, runs, resume, desc, "data")
    console.print(f"run folder: {run_dir}")
    ckpt = train(cfg, root, run_dir, cache, console)
    prior = prior_depth(cfg, root, cfg.size) if cfg.prior_blend else None
    print(export_run(run_dir, ckpt, console, prior, cfg.prior_blend))


@app.command("export")
def export(
    run_dir: Annotated[Path, typer.Argument(help="A run folder of `portrait train TASK`.")],
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="Checkpoint to export (default: the run's newest).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (sketch: CUFS, for the crop template).")
    ] = None,
) -> None:
    """Export a run's generator to ONNX (model.onnx in the run folder), as its training command does when it ends.

    For runs trained with --no-export, or on another machine and carried here.
    """
    _require_torch()

    import json

    from rich.console import Console

    from portraitcli.errors import UsageError
    from portraitcli.train.common.checkpoint import latest_checkpoint

    console = Console(stderr=True)
    if not (run_dir / "config.json").is_file():
        raise UsageError(f"{run_dir}: no config.json there; not a run folder")
    task = json.loads((run_dir / "config.json").read_text()).get("task")
    if checkpoint is not None and not checkpoint.is_file():
        raise UsageError(f"--checkpoint {checkpoint}: no such file")
    ckpt = checkpoint or latest_checkpoint(run_dir)
    if ckpt is None:
        raise UsageError(f"{run_dir}: no checkpoint to export")
    if task == "sketch":
        from portraitcli.data import data_root
        from portraitcli.train.sketch.export import export_run as export_sketch

        print(export_sketch(run_dir, ckpt, data_root(data), console))
        return
    exporters = {
        "draw": "portraitcli.train.draw.export",
        "cartoon": "portraitcli.train.cartoon.export",
        "destylize": "portraitcli.train.destylize.export",
        "stylize": "portraitcli.train.stylize.export",
    }
    if task not in exporters:
        takes = ", ".join(["sketch", *exporters])
        raise UsageError(f"{run_dir}: `portrait train export` takes {takes} runs, not {task!r}")
    import importlib

    print(importlib.import_module(exporters[task]).export_run(run_dir, ckpt, console))


@app.command("publish")
def publish(
    run_dir: Annotated[
        Path | None,
        typer.Argument(
            help="A finished run folder (holds model.onnx and template.json); leave out to only record metrics."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Manifest name, e.g. sketch-v1.")] = None,
    metrics: Annotated[
        list[str],
        typer.Option("--metrics", help="A benchmark report (docs/benchmarks/TASK.json) whose test metrics to record."),
    ] = [],  # noqa: B006
    weights: Annotated[Path, typer.Option("--weights", help="The weights folder to publish into.")] = Path("weights"),
) -> None:
    """Copy a run's ONNX model into weights/ and write its manifest entry; record benchmark metrics.

    The only command that writes weights/manifest.json. Examples:

        portrait train publish runs/00012-sketch --name sketch-v5
        portrait benchmark sketch && portrait train publish --metrics docs/benchmarks/sketch.json
    """
    from portraitcli.errors import UsageError
    from portraitcli.train.common.publish import publish_run, record_metrics

    if run_dir is None and not metrics:
        raise UsageError("give a run folder (with --name) or --metrics REPORT.json")
    if run_dir is not None:
        if name is None:
            raise UsageError("--name TASK-vN is needed to publish a run")
        print(publish_run(run_dir, name, weights))
    if metrics:
        for model in record_metrics(weights, [Path(m) for m in metrics]):
            print(f"recorded the test metrics of {model}")
