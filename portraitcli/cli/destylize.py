"""``portrait destylize``: stylized portrait -> photorealistic face (IFRP)."""

from __future__ import annotations

import typer

from portraitcli.cli import options as o


def destylize(
    inputs: o.Inputs,
    output: o.Output = None,
    recursive: o.Recursive = False,
    overwrite: o.Overwrite = False,
    faces: o.Faces = "largest",
    aligned: o.Aligned = False,
    on_no_face: o.OnNoFace = "whole",
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
    rotate: o.Rotate = True,
    detector: o.FaceDetectorName = "mtcnn",
    model: o.ModelName = None,
) -> None:
    """Recover the photorealistic face behind a painting or sketch (IFRP Style Removal Network).

    The largest detected face is cropped in the model's framing (a spatial transformer
    inside the network does the fine alignment); when no face is found on a heavy style the
    whole image is used (the JSON record says mode "whole"; --on-no-face error to refuse).
    Output 256 px wide by default (--size).

    Examples:

        portrait destylize painting.jpg -o face.png
        portrait destylize sketches/ -o faces/ --json
    """
    from portraitcli.cli.run import run_image_command

    run_image_command(
        "destylize",
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
        rotate=rotate,
        detector=detector,
        model_name=model,
        default_size=256,
    )


def register(app: typer.Typer) -> None:
    app.command("destylize")(destylize)
