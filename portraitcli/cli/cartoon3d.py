"""``portrait cartoon3d``: photo -> 3-D cartoon avatar (cartoon, depth, normals, albedo, mesh, views, lights)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from portraitcli.cli import options as o

DEFAULT_YAWS = "-45,-30,-15,0,15,30,45"
DEFAULT_LIGHTS = ["-0.8,-0.4", "0.8,-0.4"]
#: Yaw angles (degrees) of the head's views in head.png.
HEAD_YAWS = (-30.0, 0.0, 30.0)
#: The turntable head.gif: -60 to 60 degrees in 10 degree steps, and back.
TURNTABLE_YAWS = tuple(float(y) for y in range(-60, 61, 10))


def parse_numbers(text: str, option: str, count: int | None = None) -> list[float]:
    """``"-45,0,45"`` -> [-45.0, 0.0, 45.0].

    Raises:
        UsageError: not a comma-separated list of numbers (of ``count`` items when given).
    """
    from portraitcli.errors import UsageError

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected comma-separated numbers") from None
    if not values or (count is not None and len(values) != count):
        raise UsageError(f"{option} {text!r}: expected {count or 'one or more'} comma-separated numbers")
    return values


def write_head(
    folder: Path, cartoon: Any, cartoon_template: Any, sfm: Any, expression: dict[str, float], size: int
) -> tuple[list[Path], dict[str, Any]]:
    """Fit the morphable model to the cartoon crop and write the head: head.obj / .mtl /
    -texture.png / .glb, head.png (views at :data:`HEAD_YAWS`) and head.gif (a turntable over
    :data:`TURNTABLE_YAWS`, there and back), each view ``size`` px. Returns the paths and the
    head's record for cartoon3d.json (fitted and applied expression, shape coefficients)."""
    import numpy as np

    from portraitcli.face.morphable import EXPRESSIONS
    from portraitcli.io.image import write_gif, write_image
    from portraitcli.io.mesh import write_textured_mesh
    from portraitcli.metrics.identity import template_box
    from portraitcli.models import cartoon3d as c3d

    fitted = c3d.fit_head(sfm, cartoon, template_box(cartoon_template.kps))
    head = c3d.with_expression(fitted, expression)
    size_wh = (cartoon.shape[1], cartoon.shape[0])
    mesh = c3d.head_mesh(sfm, head, size_wh)
    paths = write_textured_mesh(folder, *mesh, cartoon, stem="head")
    turn = {yaw: c3d.render_head(mesh, cartoon, yaw, size) for yaw in (*HEAD_YAWS, *TURNTABLE_YAWS)}
    paths.append(write_image(folder / "head.png", np.concatenate([turn[y] for y in HEAD_YAWS], axis=1)))
    there_and_back = [turn[y] for y in TURNTABLE_YAWS] + [turn[y] for y in TURNTABLE_YAWS[-2:0:-1]]
    paths.append(write_gif(folder / "head.gif", there_and_back))
    meta = {
        "model": "Surrey Face Model 3448 (63 shape components, 6 expression blendshapes), fitted to dlib's 68 "
        "landmarks of cartoon.png",
        "fitted_expression": dict(zip(EXPRESSIONS, np.round(fitted.expression, 4).tolist())),
        "expression": dict(zip(EXPRESSIONS, np.round(head.expression, 4).tolist())),
        "shape_coefficients": np.round(fitted.fit.alpha, 4).tolist(),
        "texture": "cartoon.png, projected through the fitted pose and expression",
        "views": {"yaw": list(HEAD_YAWS), "file": "head.png"},
        "turntable": {"yaw": list(TURNTABLE_YAWS), "file": "head.gif", "frames": "there and back, 80 ms each"},
    }
    return paths, meta


def write_face(
    folder: Path,
    cartoon: Any,
    recon_model: Any,
    cartoon_template: Any,
    size: int,
    yaws: list[float],
    pitch: float,
    lights: list[list[float]],
    sfm: Any,
    expression: dict[str, float],
) -> list[Path]:
    """Run the 3-D stage on one cartoon crop and write every output into ``folder``; return the paths.

    ``sfm`` (the morphable model) and ``expression`` (:func:`portraitcli.models.cartoon3d.parse_expression`)
    make the head (:func:`write_head`).
    """
    import json

    import numpy as np

    from portraitcli.io.image import write_image, write_npy, write_text_atomic
    from portraitcli.io.mesh import write_textured_mesh
    from portraitcli.models import cartoon3d as c3d

    tw, th = cartoon_template.size
    if cartoon.shape[:2] != (th, tw):  # --aligned or --on-no-face whole: bring it to the template's scale
        import cv2

        cartoon = cv2.resize(cartoon, (tw, th), interpolation=cv2.INTER_AREA)
    face = c3d.to_recon_frame(cartoon, cartoon_template, recon_model.spec.template, size)
    face3d = c3d.lift(face, c3d.reconstruct(face, recon_model, sfm))
    depth16, near, far = c3d.depth_image(face3d.depth)
    views = [c3d.render_view(face3d, yaw, pitch) for yaw in yaws]
    relit = [c3d.relight(face3d, lx, ly) for lx, ly in lights]
    paths = [
        write_image(folder / "cartoon.png", cartoon),
        write_image(folder / "face.png", face),
        write_image(folder / "depth.png", depth16),
        write_npy(folder / "depth.npy", face3d.depth.astype(np.float32)),
        write_image(folder / "normal.png", c3d.normal_image(face3d.depth)),
        write_image(folder / "albedo.png", np.rint(face3d.albedo * 255).astype(np.uint8)),
        *write_textured_mesh(folder, *c3d.mesh_arrays(face3d), face3d.texture),
        write_image(folder / "views.png", np.concatenate(views, axis=1)),
        write_image(folder / "relit.png", np.concatenate(relit, axis=1)),
    ]
    head_paths, head_meta = write_head(folder, cartoon, cartoon_template, sfm, expression, size)
    paths += head_paths
    recon = face3d.recon
    meta = {
        "view": dict(zip(("pitch", "yaw", "roll", "tx", "ty", "tz"), np.round(recon.view.astype(float), 4).tolist())),
        "light": dict(zip(("ambient", "diffuse", "lx", "ly"), np.round(recon.light.astype(float), 4).tolist())),
        "depth_png": {"near": near, "far": far, "encoding": "65535 * (far - z) / (far - near)"},
        "depth_npy": f"({size}, {size}) float32 camera-space z, the 64 px prediction fused with "
        + (
            f"the view-depth network's on the fitted face mesh (share {c3d.VIEW_FUSION_WEIGHT})"
            if recon.view_depth is not None
            else f"the morphable fit's depth (fit share {c3d.FIT_WEIGHT})"
        )
        + f", bicubic upsampling, Gaussian-smoothed (sigma {c3d.SMOOTH_SIGMA} px of the prediction)",
        "camera": "pinhole, 10 degree field of view, x right, y down, z forward",
        "views": {"yaw": yaws, "pitch": pitch},
        "lights": [{"lx": lx, "ly": ly} for lx, ly in lights],
        "models": {"recon3d": recon_model.spec.name},
    }
    meta["head"] = head_meta
    paths.append(write_text_atomic(folder / "cartoon3d.json", json.dumps(meta, indent=2) + "\n"))
    return paths


def cartoon3d(
    inputs: o.Inputs,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Output folder (one input), or the folder of per-input folders."),
    ] = None,
    yaw: Annotated[
        str, typer.Option("--yaw", help="Yaw angles of the views, degrees, comma-separated.")
    ] = DEFAULT_YAWS,
    pitch: Annotated[float, typer.Option("--pitch", help="Pitch of the views, degrees (> 0 looks down).")] = 0.0,
    light: Annotated[
        list[str],
        typer.Option("--light", help="Light direction LX,LY for a relit image (repeatable; LX > 0 from the right)."),
    ] = DEFAULT_LIGHTS,  # noqa: B006
    size: Annotated[int, typer.Option("--size", help="Side of the 3-D outputs in px.", min=64, max=1024)] = 256,
    expression: Annotated[
        str | None,
        typer.Option(
            "--expression",
            help="Expression of the head mesh, NAME=WEIGHT,... with weights in 0..1; names: "
            "anger, disgust, fear, happiness, sadness, surprise (default: the photo's).",
        ),
    ] = None,
    neutral: Annotated[
        bool, typer.Option("--neutral", help="Remove the photo's expression from the head (then --expression).")
    ] = False,
    recursive: o.Recursive = False,
    overwrite: o.Overwrite = False,
    faces: o.Faces = "largest",
    aligned: o.Aligned = False,
    on_no_face: o.OnNoFace = "error",
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
    """Turn face photos into 3-D cartoon avatars: a 2-D cartoon, then its depth (Unsup3d-style) and a textured mesh.

    Each input gets a folder: cartoon.png, face.png, depth.png (16-bit) and depth.npy,
    normal.png, albedo.png, mesh.obj / mesh.mtl / texture.png and mesh.glb, views.png (the
    face turned by each --yaw), relit.png (one image per --light), the fitted 3-D head
    head.obj / head.mtl / head-texture.png / head.glb, head.png (views at -30, 0 and 30
    degrees) and head.gif (a turntable, -60 to 60 degrees): a morphable face model with the
    person's shape and the photo's expression unless --expression / --neutral change it;
    and cartoon3d.json. With --faces all, one sub-folder per face. --model picks the 2-D
    cartoon model (e.g. cartoon-v1); the 3-D reconstruction is always the newest.

    Examples:

        portrait cartoon3d photo.jpg -o avatar/
        portrait cartoon3d photos/ -o avatars/ --yaw -30,0,30 --light 0.8,-0.4
        portrait cartoon3d photo.jpg -o smile/ --neutral --expression happiness=0.8
    """
    from portraitcli.batch import Loaded, RunOptions
    from portraitcli.cli.batch import run_batch
    from portraitcli.face.pipeline import PipelineOptions
    from portraitcli.models.cartoon3d import parse_expression
    from portraitcli.runtime.session import check_device
    from portraitcli.runtime.weights import model_of_task

    check_device(device)
    if model is not None:
        model_of_task("cartoon", model)  # a wrong name fails before any file is read or written
    yaws = parse_numbers(yaw, "--yaw")
    lights = [parse_numbers(item, "--light", 2) for item in light]
    expression_weights = parse_expression(expression, neutral)
    pipeline = PipelineOptions(faces=faces, aligned=aligned, on_no_face=on_no_face, rotate=rotate)
    opts = RunOptions(
        pipeline,
        recursive,
        overwrite,
        None,
        device,
        threads,
        workers,
        backend,
        o.backend_address(backend, scheduler, address),
    )

    def load(threads: int) -> Loaded:
        from portraitcli.cli.run import load_task
        from portraitcli.io.image import atomic_folder
        from portraitcli.models.base import load_model

        cartoon = load_task("cartoon", device, threads, not aligned, detector_name=detector, model_name=model)
        recon_model = load_model("recon3d", device, threads)
        from portraitcli.face.morphable import shipped_sfm

        sfm = shipped_sfm()

        def write(folder: Path, result: Any, protect: frozenset[Path]) -> list[Path]:
            several = len(result.images) > 1
            written: list[Path] = []
            with atomic_folder(folder, protect) as tmp:
                for i, crop in enumerate(result.images):
                    sub = tmp / f"face{i + 1}" if several else tmp
                    paths = write_face(
                        sub, crop, recon_model, cartoon.template, size, yaws, pitch, lights, sfm, expression_weights
                    )
                    written += [folder / p.relative_to(tmp) for p in paths]
            return written

        return Loaded(cartoon.run_model, cartoon.template, cartoon.detector, write, model=cartoon.model)

    run_batch("cartoon3d", inputs, output, opts, load, json_lines=json_lines, folders=True)


def register(app: typer.Typer) -> None:
    app.command("cartoon3d")(cartoon3d)
