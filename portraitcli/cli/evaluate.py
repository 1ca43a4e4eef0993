"""``portrait evaluate``: metrics of a folder of predictions against references."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def evaluate(
    task: Annotated[str, typer.Option("--task", help="sketch, draw (grayscale) or destylize, style (RGB).")],
    pred: Annotated[Path, typer.Option("--pred", help="Folder of predictions.")],
    ref: Annotated[Path, typer.Option("--ref", help="Folder of references (paired by relative path and stem).")],
    metrics: Annotated[str, typer.Option("--metrics", help="Comma-separated: ssim, psnr.")] = "ssim,psnr",
    resize: Annotated[str, typer.Option("--resize", help="none (sizes must match) or pred-to-ref.")] = "none",
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the summary and settings as JSON.")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write per-image values as CSV.")] = None,
) -> None:
    """Score predictions against references: per-image values, mean / std / median, settings."""
    import csv
    import io
    import json

    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    from portraitcli.errors import UsageError
    from portraitcli.metrics.evaluate import PIXEL_METRICS, TASK_COLOR, pair_files, per_image, settings, summarize

    if task not in TASK_COLOR:
        raise UsageError(f"--task must be one of {', '.join(TASK_COLOR)}, got {task!r}")
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    unknown = [m for m in names if m not in PIXEL_METRICS]
    if unknown or not names:
        raise UsageError(
            f"--metrics: unknown {', '.join(unknown) or '(none given)'}; available: {', '.join(PIXEL_METRICS)}"
        )
    console = Console(stderr=True)
    pairs = pair_files(pred, ref)
    rows = []
    for key, values in track(
        per_image(pairs, names, TASK_COLOR[task], resize),
        total=len(pairs.keys),
        console=console,
        description=f"evaluate {task}",
        transient=True,
    ):
        rows.append((key, values))
    summary = {m: summarize([v[m] for _, v in rows]) for m in names}
    report = {
        "task": task,
        "pred": str(pred),
        "ref": str(ref),
        "n": len(rows),
        "metrics": {m: s["mean"] for m, s in summary.items()},
        "summary": summary,
        "settings": settings(task, TASK_COLOR[task], resize, len(rows)),
    }
    table = Table(title=f"portrait evaluate --task {task}: {len(rows)} pairs", title_justify="left")
    for col in ("metric", "mean", "std", "median", "min", "max"):
        table.add_column(col, justify="right" if col != "metric" else "left")
    for m, s in summary.items():
        table.add_row(m, *(f"{s.get(k, float('nan')):.4f}" for k in ("mean", "std", "median", "min", "max")))
    console.print(table)
    console.print(
        f"settings: {report['settings']['color']}; SSIM gaussian sigma 1.5, population covariance, "
        f"data_range 255; resize: {report['settings']['resize']}"
    )
    if csv_path is not None:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["key", *names])
        for key, values in rows:
            w.writerow([key, *(f"{values[m]:.6f}" for m in names)])
        _write_text(csv_path, buf.getvalue())
    if json_path is not None:
        _write_text(json_path, json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["metrics"]))


def _write_text(path: Path, text: str) -> None:
    """Atomic text write (temporary file + rename)."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
