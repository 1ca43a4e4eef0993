"""``portrait stylize``: a photo painted in the style of any image (exemplar style transfer)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import typer

from portraitcli.cli import options as o

#: ``--size`` default: the longer side of a whole-photo output, or the width of a face crop (px).
DEFAULT_SIDE = 512
#: The largest ``--size`` of a whole photo (the model runs on it in one piece).
MAX_SIDE = 2048


@contextmanager
def _iteration_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A transient Rich bar of Gatys iterations (inside the batch's bar where Rich allows two)."""
    from rich.console import Console
    from rich.errors import LiveError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True)
    )
    progress.transient = True
    task = progress.add_task(label, total=None)
    try:
        progress.start()
    except LiveError:  # an older Rich with the batch's bar live: no inner bar
        yield lambda done, total: None
        return
    try:
        yield lambda done, total: progress.update(task, completed=done, total=total)
    finally:
        progress.stop()


def _gatys_runner(iters: int, device: str, threads: int) -> Callable[..., np.ndarray]:
    from portraitcli.models.gatys import GatysStylizer

    stylizer = GatysStylizer(iters=iters, device="cuda" if device == "cuda" else "cpu", threads=threads)

    def run(crop: np.ndarray, style: np.ndarray, strength: float, preserve_color: bool) -> np.ndarray:
        from portraitcli.models.stylize import luminance_transfer, prepare_style

        style = prepare_style(style)
        with _iteration_bar("gatys iterations") as progress:
            if preserve_color:
                return luminance_transfer(crop, style, lambda c, s: stylizer(c, s, strength, progress))
            return stylizer(crop, style, strength, progress)

    return run


def stylize(
    inputs: o.Inputs,
    style: Annotated[
        Path, typer.Option("--style", "-s", help="The style image (a painting, a drawing...).", show_default=False)
    ],
    output: o.Output = None,
    method: Annotated[
        Literal["fast", "gatys"],
        typer.Option("--method", help="fast: our feed-forward model; gatys: image optimisation (needs PyTorch)."),
    ] = "fast",
    strength: Annotated[
        float, typer.Option("--strength", min=0.0, max=1.0, help="Style strength: 0 the photo, 1 the full style.")
    ] = 1.0,
    preserve_color: Annotated[
        bool, typer.Option("--preserve-color", help="Keep the photo's colours: transfer the luminance only.")
    ] = False,
    whole: Annotated[
        bool,
        typer.Option("--whole/--face", help="The whole photo (default), or the largest face aligned and cropped."),
    ] = True,
    size: Annotated[
        int | None,
        typer.Option(
            "--size", help=f"Output px: the longer side of a whole photo, the width of a face (default {DEFAULT_SIDE})."
        ),
    ] = None,
    iters: Annotated[int, typer.Option("--iters", min=1, help="gatys: L-BFGS iterations per scale.")] = 100,
    recursive: o.Recursive = False,
    overwrite: o.Overwrite = False,
    faces: o.Faces = "largest",
    on_no_face: o.OnNoFace = "error",
    ext: o.Ext = None,
    device: o.Device = "auto",
    threads: o.Threads = 0,
    workers: o.Workers = 0,
    backend: o.Backend = "local",
    scheduler: o.Scheduler = None,
    address: o.Address = None,
    json_lines: o.JsonLines = False,
    detector: o.FaceDetectorName = "mtcnn",
    model: o.ModelName = None,
) -> None:
    """Paint photos in the style of an image (feature transforms on MobileNetV2, or Gatys et al.'s optimisation).

    The whole photo is stylized at 512 px on its longer side by default (--size); --face
    aligns and crops the largest face (--faces all: every face) at the sketch models' framing.

    Examples:

        portrait stylize photo.jpg --style painting.jpg -o out.png
        portrait stylize photos/ -s drawing.png -o painted/ --strength 0.7 --preserve-color
        portrait stylize photo.jpg -s painting.jpg --method gatys --iters 50 -o slow.png
    """
    from portraitcli.batch import Loaded, RunOptions
    from portraitcli.cli.batch import run_batch
    from portraitcli.errors import UsageError
    from portraitcli.face.pipeline import PipelineOptions
    from portraitcli.io.image import read_image
    from portraitcli.runtime.session import check_device
    from portraitcli.runtime.weights import model_of_task

    check_device(device)
    if model is not None:
        if method == "gatys":
            raise UsageError("--model goes with --method fast (gatys has no trained weights)")
        model_of_task("stylize", model)  # a wrong name fails before any file is read or written
    side = size or DEFAULT_SIDE
    if whole and not 16 <= side <= MAX_SIDE:
        raise UsageError(f"--size must be between 16 and {MAX_SIDE} px for a whole photo, got {side}")
    style_rgb = read_image(style).rgb  # a missing or broken style image: BadInputError, exit 3
    pipeline = PipelineOptions(faces=faces, on_no_face=on_no_face, size=side, whole=whole, whole_side=side)
    opts = RunOptions(
        pipeline,
        recursive,
        overwrite,
        ext,
        device,
        threads,
        workers,
        backend,
        o.backend_address(backend, scheduler, address),
    )

    def load(threads: int) -> Loaded:
        from portraitcli.models.base import load_model

        if method == "gatys":  # no trained weights: the framing of --face is the sketch model's, 512 px wide
            from portraitcli.runtime.weights import find_model

            sketch = find_model("sketch").template
            assert sketch is not None
            w, h = sketch.size
            template = sketch.scaled(DEFAULT_SIDE, round(DEFAULT_SIDE * h / w / 16) * 16)
            run = functools.partial(_gatys_runner(iters, device, threads), style=style_rgb)
            name = None
        else:
            stylizer = load_model("stylize", device, threads, model)
            template, name = stylizer.spec.template, stylizer.spec.name
            run = functools.partial(stylizer.run, style=style_rgb)
        run = functools.partial(run, strength=strength, preserve_color=preserve_color)
        face_detector = None
        if not whole:
            from portraitcli.face.mtcnn import make_detector

            face_detector = make_detector(detector)
        return Loaded(run, template, face_detector, model=name)

    run_batch("stylize", inputs, output, opts, load, json_lines=json_lines)


def register(app: typer.Typer) -> None:
    app.command("stylize")(stylize)
