"""``portrait data``: make the derived datasets the training recipes use (never copies of the data)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Make derived training / test sets from the datasets folder.", no_args_is_help=True)


@app.command("stylized-pairs")
def stylized_pairs(
    out: Annotated[Path, typer.Option("-o", "--output", "--out", help="Folder to write (pairs.json, train/, test/).")],
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds utkface/); default $PORTRAIT_DATA.")
    ] = None,
    set_: Annotated[list[str], typer.Option("--set", help="Override key=value (n_train, n_test, seed, ...).")] = [],  # noqa: B006
) -> None:
    """Stylized / real UTKFace pairs for destylize: seeded split, aligned targets, misaligned stylized inputs."""
    from rich.console import Console

    from portraitcli.configs import apply_overrides
    from portraitcli.data import data_root
    from portraitcli.data.stylized import PairsConfig, make_pairs
    from portraitcli.errors import UsageError

    if (out / "pairs.json").exists():
        raise UsageError(f"{out} already holds pairs.json; choose another --out")
    cfg = apply_overrides(PairsConfig(), list(set_))
    record = make_pairs(data_root(data), out, cfg)
    Console(stderr=True).print(
        f"wrote {len(record['train'])} training and {len(record['test'])} test faces to {out} "
        f"(no face found: {record['n_no_face']})"
    )


@app.command("pair-sketches")
def pair_sketches(
    pairs: Annotated[Path, typer.Option("--pairs", help="Output folder of `portrait data stylized-pairs`.")],
    task: Annotated[
        str, typer.Option("--task", help="sketch, or draw (each face in one of its styles, drawn at random).")
    ] = "sketch",
    threads: Annotated[int, typer.Option("--threads", min=0, help="ONNX Runtime threads (0: all cores).")] = 0,
) -> None:
    """The shipped sketch (or draw) model's drawing of every training face of a pairs folder (for sketch_source)."""
    from rich.console import Console

    from portraitcli.data.stylized import DRAWING_DIRS, make_model_sketches
    from portraitcli.errors import UsageError
    from portraitcli.models.base import load_model

    if task not in DRAWING_DIRS:
        raise UsageError(f"--task must be one of {', '.join(DRAWING_DIRS)}; got {task!r}")
    info = make_model_sketches(pairs, load_model(task, "cpu", threads), task)
    out = pairs.joinpath(*DRAWING_DIRS[task])
    Console(stderr=True).print(f"wrote {info['n']} drawings by {info['model']} to {out}")


@app.command("synth-depth")
def synth_depth(
    out: Annotated[Path, typer.Option("-o", "--output", "--out", help="The .npz file to write.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of faces.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (0 is the test set's, refused).")] = 1,
    size: Annotated[int, typer.Option("--size", min=16, help="Image side in px.")] = 128,
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds sfm/); default $PORTRAIT_DATA.")
    ] = None,
) -> None:
    """Synthetic faces with true depth, rendered as the cartoon3d test set was, with another seed (a validation set)."""
    from rich.console import Console

    from portraitcli.data import data_root, dataset_dir
    from portraitcli.data.synth_depth import render_faces
    from portraitcli.errors import UsageError
    from portraitcli.io.image import write_npz

    if out.exists():
        raise UsageError(f"{out} exists; choose another --out")
    if out.suffix != ".npz":
        raise UsageError(f"--out must name a .npz file, got {out}")
    write_npz(out, **render_faces(dataset_dir(data_root(data), "sfm"), n, size, seed))
    Console(stderr=True).print(f"wrote {n} faces ({size} px, seed {seed}) to {out}")


#: Training rows each task needs: dataset folder -> predicate on a pairs.csv row.
PACKS = {
    "sketch": ("cufs", lambda row: row["split"] == "train"),
    "draw": ("fs2k", lambda row: row["split"] == "train"),
}
#: Tasks whose training data are whole folders (relative to the datasets folder) rather than a pairs.csv split.
TREES = {
    "cartoon": ("toon/train",),
    "recon3d": ("utkface", "sfm/sfm_reference.obj"),  # all of UTKFace: the seeded split needs every name
}


@app.command("pack")
def pack(
    task: Annotated[str, typer.Argument(help="sketch, draw, cartoon or recon3d.")],
    out: Annotated[
        Path, typer.Option("-o", "--output", "--out", help="A datasets-shaped folder to write (keep it git-ignored).")
    ],
    data: Annotated[Path | None, typer.Option("--data", help="Datasets folder; default $PORTRAIT_DATA.")] = None,
) -> None:
    """Copy the training split a task needs into a small datasets folder, to `carry` to a lent GPU machine.

    The copy keeps the layout (``OUT/cufs/pairs.csv`` ...), so ``--data OUT`` trains from it.
    Never commit it: it is dataset files.
    """
    import csv
    import shutil

    from rich.console import Console

    from portraitcli.data import data_root, dataset_dir
    from portraitcli.errors import UsageError
    from portraitcli.io.image import write_csv_atomic

    if task not in PACKS and task not in TREES:
        raise UsageError(f"pack: task must be one of {', '.join([*PACKS, *TREES])}")
    console = Console(stderr=True)
    if task in TREES:
        root = data_root(data)
        for rel in TREES[task]:
            src_path, dst_path = root / rel, out / rel
            if not src_path.exists():
                raise UsageError(f"{src_path} is missing")
            dst_path.parent.mkdir(parents=True, exist_ok=True)
            if src_path.is_dir():
                shutil.copytree(src_path, dst_path, dirs_exist_ok=True)
            else:
                shutil.copyfile(src_path, dst_path)
        size = sum(p.stat().st_size for rel in TREES[task] for p in [out / rel, *(out / rel).rglob("*")] if p.is_file())
        console.print(f"packed {', '.join(TREES[task])} into {out} ({size / 2**20:.1f} MiB)")
        return
    name, keep = PACKS[task]
    src = dataset_dir(data_root(data), name)
    with (src / "pairs.csv").open(newline="") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        rows = [r for r in reader if keep(r)]
    dst = out / name
    for row in rows:
        for col in ("photo", "sketch"):
            (dst / row[col]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / row[col], dst / row[col])
    write_csv_atomic(dst / "pairs.csv", fields, ([r[k] for k in fields] for r in rows))
    size = sum(p.stat().st_size for p in dst.rglob("*") if p.is_file())
    console.print(f"packed {len(rows)} {name} training pairs into {dst} ({size / 2**20:.1f} MiB)")


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="data")
