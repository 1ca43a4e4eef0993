"""``portrait benchmark TASK``: run a shipped model on its test split and write the tables in docs/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Run a shipped model on its test split, score it beside baselines, write docs/benchmarks/.",
    no_args_is_help=True,
)


#: ``--keep-ablations`` of the sketch and draw benchmarks (see ``portraitcli.benchmark.recorded``).
KeepAblations = Annotated[
    bool,
    typer.Option(
        "--keep-ablations",
        help="Keep the ablation rows of the earlier report in --out that --ablation does not rescore "
        "(same model files, same protocol; for when their run folders are gone).",
    ),
]


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


def _ablation_runs(items: list[str]) -> dict[str, Path]:
    """Parse ``NAME=RUN_DIR`` options; each RUN_DIR must hold ``model.onnx``."""
    return _named_paths(items, "--ablation", "model.onnx")


@app.command("sketch")
def benchmark_sketch(
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds cufs/); default $PORTRAIT_DATA.")
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="ONNX file to score instead of the shipped model.")
    ] = None,
    ablation: Annotated[
        list[str], typer.Option("--ablation", help="NAME=RUN_DIR of an ablation run (repeatable).")
    ] = [],  # noqa: B006
    out: Annotated[Path, typer.Option("--out", help="Folder for sketch.json / sketch.md.")] = Path("docs/benchmarks"),
    images: Annotated[Path | None, typer.Option("--images", help="Folder for the picture grids.")] = Path(
        "docs/images"
    ),
    no_images: Annotated[bool, typer.Option("--no-images", help="Skip the picture grids.")] = False,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the result JSON here.")] = None,
    keep_ablations: KeepAblations = False,
) -> None:
    """CUFS test: SSIM and PSNR (CUHK 100 pairs, AR 23 pairs) beside baselines and ablations."""
    import json

    from rich.console import Console

    from portraitcli.benchmark.sketch import run
    from portraitcli.data import data_root

    runs = _ablation_runs(ablation)
    console = Console(stderr=True)
    with console.status("scoring the sketch model and baselines on CUFS test..."):
        result = run(data_root(data), model, runs, out, None if no_images else images, keep_ablations)
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {out / 'sketch.json'} and {out / 'sketch.md'}")
    print(json.dumps({"model": result["model"], **result["metrics"]}))


@app.command("sketch-exposure")
def benchmark_sketch_exposure(
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds cufs/ and fs2k/); default $PORTRAIT_DATA.")
    ] = None,
    model: Annotated[
        list[str], typer.Option("--model", help="NAME=ONNX of another sketch model to score beside it (repeatable).")
    ] = [],  # noqa: B006
    out: Annotated[
        Path, typer.Option("--out", help="Folder for sketch_exposure.json / .md (_validation for that split).")
    ] = Path("docs/benchmarks"),
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="test: CUHK, AR and FS2K test; validation: AR and FS2K training photos (no model trained on them).",
        ),
    ] = "test",
    record: Annotated[
        bool, typer.Option("--record", help="Record the measured reference exposure in the manifest.")
    ] = False,
) -> None:
    """The shipped sketch model raw vs exposure-matched: CUHK, AR and FS2K test (SSIM, Nyquist spike).

    ``--split validation`` scores the AR and FS2K training photos instead (no sketch model
    trained on them), for decisions made before a test split is looked at; ``--model`` adds
    other sketch models, compared with the shipped one on the matched SSIM.
    """
    from rich.console import Console

    from portraitcli.benchmark.sketch_exposure import SPLITS, record_exposure, report_stem, run, write
    from portraitcli.data import data_root
    from portraitcli.errors import UsageError
    from portraitcli.runtime.weights import find_model, verify

    if split not in SPLITS:
        raise UsageError(f"--split must be one of {', '.join(SPLITS)}, not {split!r}")
    others = _named_paths(model, "--model", "")
    spec = find_model("sketch")
    console = Console(stderr=True)
    with console.status(f"sketching the {split} photos raw and exposure-matched..."):
        result = run(data_root(data), verify(spec), spec.template, spec.template.exposure, others, split)
    write(result, spec.name, out)
    if record:
        record_exposure(spec.name, result["reference"])
    stem = report_stem(split)
    console.print(f"wrote {out / (stem + '.json')} and {out / (stem + '.md')}")
    print((out / f"{stem}.md").read_text())


@app.command("draw")
def benchmark_draw(
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds fs2k/); default $PORTRAIT_DATA.")
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="ONNX file to score instead of the shipped model.")
    ] = None,
    ablation: Annotated[
        list[str], typer.Option("--ablation", help="NAME=RUN_DIR of an ablation run (repeatable).")
    ] = [],  # noqa: B006
    out: Annotated[Path, typer.Option("--out", help="Folder for draw.json / draw.md.")] = Path("docs/benchmarks"),
    images: Annotated[Path | None, typer.Option("--images", help="Folder for the picture grids.")] = Path(
        "docs/images"
    ),
    no_images: Annotated[bool, typer.Option("--no-images", help="Skip the picture grids.")] = False,
    cache: Annotated[Path, typer.Option("--cache", help="Cache of aligned test pairs.")] = Path("runs/cache"),
    kid_subsets: Annotated[int, typer.Option("--kid-subsets", help="KID subsets.", min=1)] = 100,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the result JSON here.")] = None,
    keep_ablations: KeepAblations = False,
) -> None:
    """FS2K test: FID, KID and SSIM per style and overall, beside XDoG, pencilSketch and ablations."""
    import json

    from rich.console import Console

    from portraitcli.benchmark.draw import run
    from portraitcli.data import data_root

    runs = _ablation_runs(ablation)
    console = Console(stderr=True)
    with console.status("scoring the draw model, baselines and ablations on FS2K test..."):
        result = run(
            data_root(data), model, runs, out, None if no_images else images, cache, kid_subsets, keep_ablations
        )
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {out / 'draw.json'} and {out / 'draw.md'}")
    print(json.dumps({"model": result["model"], **result["metrics"]}))


@app.command("destylize")
def benchmark_destylize(
    pairs: Annotated[Path, typer.Option("--pairs", help="Output folder of `portrait data stylized-pairs`.")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Datasets folder (CUFS sketch and round-trip columns); default $PORTRAIT_DATA."),
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="A run's model.onnx to score instead of the shipped model.")
    ] = None,
    baseline: Annotated[
        list[str], typer.Option("--baseline", help="NAME=RUN_DIR of a baseline or ablation run (repeatable).")
    ] = [],  # noqa: B006
    out: Annotated[Path, typer.Option("--out", help="Folder for destylize.json / .md.")] = Path("docs/benchmarks"),
    images: Annotated[Path | None, typer.Option("--images", help="Folder for the picture grid.")] = Path("docs/images"),
    no_images: Annotated[bool, typer.Option("--no-images", help="Skip the picture grid.")] = False,
    frr_faces: Annotated[
        int | None,
        typer.Option("--frr-faces", min=5, help="Retrieval on this many seeded test faces per style (default all)."),
    ] = None,
    no_round_trip: Annotated[
        bool, typer.Option("--no-round-trip", help="Skip the columns of CUFS photos drawn by the shipped models.")
    ] = False,
) -> None:
    """Stylized UTKFace test faces (seen / unseen styles), CUFS sketches and round trips: PSNR, SSIM, FRR, FCR."""
    import json

    from rich.console import Console

    from portraitcli.benchmark.destylize import run
    from portraitcli.data import optional_data_root

    root = optional_data_root(data)
    console = Console(stderr=True)
    with console.status("scoring the destylize model and baselines..."):
        others, images_dir = _ablation_runs(baseline), None if no_images else images
        result = run(pairs, root, model, others, out, images_dir, frr_faces, round_trip=not no_round_trip)
    console.print(f"wrote {out / 'destylize.json'} and {out / 'destylize.md'}")
    print(json.dumps({"model": result["model"], **result["metrics"]}))


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
    part: Annotated[str, typer.Option("--part", help="depth, cartoon or all.")] = "all",
    out: Annotated[Path, typer.Option("--out", help="Folder for cartoon3d.json / .md.")] = Path("docs/benchmarks"),
    images: Annotated[Path | None, typer.Option("--images", help="Folder for the picture grid.")] = Path("docs/images"),
    no_images: Annotated[bool, typer.Option("--no-images", help="Skip the picture grid.")] = False,
) -> None:
    """Synthetic faces with true depth: SIDE and MAD; real faces: the cartoons' KID and identity distance."""
    import json

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
    console.print(f"wrote {out / 'cartoon3d.json'} and {out / 'cartoon3d.md'}")
    print(json.dumps({"models": result["models"], **result["metrics"]}))
