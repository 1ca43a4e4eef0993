"""Option types shared by the image commands (Typer ``Annotated`` aliases)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

Inputs = Annotated[list[str], typer.Argument(help="Image files, folders or glob patterns.", show_default=False)]
Output = Annotated[
    Path | None,
    typer.Option("-o", "--output", help="Output file (one input) or folder (several inputs or a folder)."),
]
Recursive = Annotated[bool, typer.Option("-r", "--recursive", help="Descend into sub-folders.")]
Overwrite = Annotated[
    bool,
    typer.Option("--overwrite", help="Replace existing outputs (only files this command writes, never an input)."),
]
Faces = Annotated[
    Literal["largest", "all"], typer.Option("--faces", help="largest: one face per image; all: every face.")
]
Aligned = Annotated[
    bool, typer.Option("--aligned", help="Inputs already are crops in the model's framing: no detection.")
]
OnNoFace = Annotated[
    Literal["error", "skip", "whole"],
    typer.Option("--on-no-face", help="error: fail the file; skip: write nothing; whole: use the whole image."),
]
PasteBack = Annotated[bool, typer.Option("--paste-back", help="Composite the result into the original photo.")]
Size = Annotated[
    int | None, typer.Option("--size", help="Output width in px for face crops (height keeps the aspect).")
]
Ext = Annotated[
    str | None, typer.Option("--ext", help="Output format for batches (png, jpg, webp...); default: as input.")
]
Device = Annotated[Literal["auto", "cpu", "cuda"], typer.Option("--device", help="cuda never falls back to the CPU.")]
Threads = Annotated[int, typer.Option("--threads", help="ONNX Runtime threads; 0 = one per core.", min=0)]
Workers = Annotated[
    int,
    typer.Option(
        "--workers",
        min=0,
        help="Processes for a batch, each with its own model and detector; 0 = one per core (up to 4) "
        "for 8 files or more, else 1.",
    ),
]
Backend = Annotated[
    Literal["local", "dask", "ray"],
    typer.Option("--backend", help="local: this machine; dask or ray: a cluster (optional extras, resumable)."),
]
Scheduler = Annotated[
    str | None,
    typer.Option("--scheduler", help="--backend dask: the scheduler's address (default: a local cluster)."),
]
Address = Annotated[
    str | None,
    typer.Option("--address", help="--backend ray: the cluster's address or auto (default: a local Ray)."),
]


def backend_address(backend: str, scheduler: str | None, address: str | None) -> str | None:
    """The cluster address of ``--backend``: ``--scheduler`` for dask, ``--address`` for ray.

    Raises:
        UsageError: an address given for the other backend, or for ``local``.
    """
    from portraitcli.errors import UsageError

    if scheduler and backend != "dask":
        raise UsageError("--scheduler goes with --backend dask")
    if address and backend != "ray":
        raise UsageError("--address goes with --backend ray")
    return scheduler or address


ModelName = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="A shipped model by name instead of the newest (e.g. sketch-v5; `portrait models` lists them).",
    ),
]
JsonLines = Annotated[
    bool, typer.Option("--json", help="Print one JSON record per input on stdout (input, output, status, ...).")
]
Whole = Annotated[
    bool,
    typer.Option(
        "--whole", help="Stylize the whole photo at its own size (tiled; no face detection, background included)."
    ),
]
FaceDetectorName = Annotated[
    Literal["mtcnn", "hog"],
    typer.Option(
        "--detector",
        help="mtcnn: MTCNN boxes with dlib's landmarks (fast; dlib HOG when it finds nothing); hog: dlib HOG only.",
    ),
]
Rotate = Annotated[
    bool,
    typer.Option("--rotate/--no-rotate", help="No face found: try the photo turned by 90, 180 or 270 degrees."),
]
