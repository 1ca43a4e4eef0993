"""``portrait data``: make the derived datasets the training recipes use (never copies of the data)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Make derived training / test sets from the datasets folder.", no_args_is_help=True)


@app.command("stylized-pairs")
def stylized_pairs(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write (pairs.json, train/, test/).")],
    data: Annotated[
        Path | None, typer.Option("--data", help="Datasets folder (holds utkface/); default $PORTRAIT_DATA.")
    ] = None,
    set_: Annotated[list[str], typer.Option("--set", help="Override key=value (n_train, n_test, seed, ...).")] = [],  # noqa: B006
) -> None:
    """Stylized / real UTKFace pairs for destylize: seeded split, aligned targets, misaligned stylized inputs."""
    from rich.console import Console

    from portraitcli.data import data_root
    from portraitcli.data.stylized import PairsConfig, make_pairs
    from portraitcli.errors import UsageError
    from portraitcli.train.common.runs import apply_overrides

    if (out / "pairs.json").exists():
        raise UsageError(f"{out} already holds pairs.json; choose another --out")
    cfg = apply_overrides(PairsConfig(), list(set_))
    record = make_pairs(data_root(data), out, cfg)
    Console(stderr=True).print(
        f"wrote {len(record['train'])} training and {len(record['test'])} test faces to {out} "
        f"(no face found: {record['n_no_face']})"
    )


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="data")
