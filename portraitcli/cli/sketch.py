"""``portrait sketch``: photo -> pencil sketch."""

from __future__ import annotations

from typing import Annotated

import typer

from portraitcli.cli import options as o


def sketch(
    inputs: o.Inputs,
    output: o.Output = None,
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
    match_exposure: Annotated[
        bool,
        typer.Option(
            "--match-exposure/--no-match-exposure",
            help="Match the face's brightness and contrast to the model's training photos first "
            "(helps dark and under-exposed faces).",
        ),
    ] = True,
) -> None:
    """Turn face photos into pencil sketches (a U-Net on ImageNet MobileNetV2 features, trained on CUFS).

    By default the largest face is aligned to the CUFS framing and its sketch is written at
    400 px wide (--size to change: the model draws at that size, up to 1024 px wide).
    --aligned keeps the input's size; --paste-back puts the sketch back into the photo.
    The face's brightness and contrast are matched to the CUFS training photos before the
    model runs (--no-match-exposure to skip).

    Examples:

        portrait sketch photo.jpg -o sketch.png
        portrait sketch photos/ -o sketches/ -r --json
        portrait sketch 'shots/*.jpg' -o out/ --faces all --ext png
    """
    from portraitcli.cli.run import run_image_command

    run_image_command(
        "sketch",
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
        default_size=400,
        model_kwargs={"match_exposure": match_exposure},
    )


def register(app: typer.Typer) -> None:
    app.command("sketch")(sketch)
