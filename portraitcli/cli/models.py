"""``portrait models``: the shipped models and their provenance."""

from __future__ import annotations

from typing import Annotated

import typer


def models(
    json_out: Annotated[bool, typer.Option("--json", help="Print the manifest entries as JSON.")] = False,
) -> None:
    """List the shipped models: name, task, size, training data, test metrics.

    The newest model of each task, which the commands run unless --model names another, is
    marked "(default)".
    """
    import json
    import sys

    from rich.console import Console
    from rich.table import Table

    from portraitcli.runtime.weights import load_manifest, versions_of, weights_dir

    folder = weights_dir()
    manifest = load_manifest(folder)
    if json_out:
        print(json.dumps(manifest, indent=2))
        return
    defaults = {versions_of(manifest, task)[0] for task in {e["task"] for e in manifest.values()}}
    table = Table(title=f"shipped models ({folder})", title_justify="left")
    for col in ("name", "task", "input", "MB", "trained on", "test metrics"):
        table.add_column(col, no_wrap=col == "name")
    for name, e in sorted(manifest.items()):
        path = folder / e["file"]
        mb = f"{path.stat().st_size / 1e6:.1f}" if path.is_file() else "missing"
        size = e.get("template", {}).get("size")
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in e.get("metrics", {}).items() if isinstance(v, (int, float)))
        table.add_row(
            f"{name} (default)" if name in defaults else name,
            e["task"],
            "x".join(map(str, size)) if size else "-",
            mb,
            e.get("training", {}).get("data", "-"),
            metrics,
        )
    Console(file=sys.stdout).print(table)


def register(app: typer.Typer) -> None:
    app.command("models")(models)
