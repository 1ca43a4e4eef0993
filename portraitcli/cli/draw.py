"""``portrait draw``: photo -> artistic portrait drawing in one of FS2K's three styles."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from portraitcli.cli import options as o


def draw(
    inputs: o.Inputs,
    output: o.Output = None,
    style: Annotated[
        Literal["1", "2", "3"], typer.Option("--style", help="Drawing style (FS2K's three styles).")
    ] = "1",
    recursive: o.Recursive = False,
    overwrite: o.Overwrite = False,
    faces: o.Faces = "largest",
    aligned: o.Aligned = False,
    on_no_face: o.OnNoFace = "error",
    paste_back: o.PasteBack = False,
    size: o.Size = None,
    ext: o.Ext = None,
    device: o.Device = "auto",
    threads: o.Threads = 0,
    workers: o.Workers = 0,
    backend: o.Backend = "local",
    scheduler: o.Scheduler = None,
    address: o.Address = None,
    json_lines: o.JsonLines = False,
    whole: o.Whole = False,
    rotate: o.Rotate = True,
    detector: o.FaceDetectorName = "mtcnn",
    model: o.ModelName = None,
) -> None:
    """Turn face photos into artist's portrait drawings (wavelet disentanglement GAN trained on FS2K).

    By default the largest face is aligned to the FS2K framing and its drawing is written at
    512 px wide (--size to change). --aligned keeps the input's size; --paste-back puts the
    drawing back into the photo.

    Examples:

        portrait draw photo.jpg -o drawing.png --style 2
        portrait draw photos/ -o drawings/ -r --faces all
    """
    from portraitcli.cli.run import run_image_command

    run_image_command(
        "draw",
        inputs,
        output,
        recursive=recursive,
        overwrite=overwrite,
        faces=faces,
        aligned=aligned,
        on_no_face=on_no_face,
        paste_back=paste_back,
        size=size,
        ext=ext,
        device=device,
        threads=threads,
        workers=workers,
        backend=backend,
        address=o.backend_address(backend, scheduler, address),
        json_lines=json_lines,
        whole=whole,
        rotate=rotate,
        detector=detector,
        model_name=model,
        default_size=512,
        model_kwargs={"style": int(style)},
    )


def register(app: typer.Typer) -> None:
    app.command("draw")(draw)
