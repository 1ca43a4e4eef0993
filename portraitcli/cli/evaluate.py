"""``portrait evaluate``: metrics of a folder of predictions against references."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer


def evaluate(
    task: Annotated[
        Literal["sketch", "draw", "destylize", "style", "cartoon", "depth"],
        typer.Option("--task", help="sketch, draw: grayscale; destylize, style, cartoon: RGB; depth: depth maps."),
    ],
    pred: Annotated[Path, typer.Option("--pred", help="Folder of predictions (depth: .npy/.npz folder or .npz).")],
    ref: Annotated[Path, typer.Option("--ref", help="Folder of references, paired by relative path and stem.")],
    metrics: Annotated[
        str | None,
        typer.Option(
            "--metrics", help="Comma-separated: ssim, psnr, fid, kid, id; depth: side, mad. Default per task."
        ),
    ] = None,
    resize: Annotated[
        Literal["none", "pred-to-ref"], typer.Option("--resize", help="none: sizes must match; pred-to-ref: resize.")
    ] = "none",
    kid_subsets: Annotated[int, typer.Option("--kid-subsets", help="KID subsets.", min=1)] = 100,
    fid_bootstrap: Annotated[
        int, typer.Option("--fid-bootstrap", help="Bootstrap resamples for FID's CI.", min=2)
    ] = 20,
    fov: Annotated[float, typer.Option("--fov", help="Depth: camera field of view in degrees.")] = 10.0,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Write the whole report (summary, settings) as JSON to this file.")
    ] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write per-image values as CSV to this file.")] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the whole report as JSON on stdout (default: the means).")
    ] = False,
) -> None:
    """Score predictions against references: per-image values, mean / std / median, set metrics, settings.

    The mean of each metric is printed as JSON on stdout (--json: the whole report); the
    table goes to stderr. Example:

        portrait evaluate --task sketch --pred out/ --ref refs/ --report r.json --csv r.csv
    """
    import json

    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    from portraitcli.io.image import write_csv_atomic, write_text_atomic
    from portraitcli.metrics import evaluate as ev

    if task not in ev.DEFAULT_METRICS:
        from portraitcli.errors import UsageError

        raise UsageError(f"--task must be one of {', '.join(ev.DEFAULT_METRICS)}, got {task!r}")
    chosen = ev.DEFAULT_METRICS[task] if metrics is None else metrics  # --metrics '' is an error, not the defaults
    names = [m.strip().lower() for m in chosen.split(",") if m.strip()]
    ev.check_metrics(task, names)
    check_report_paths({"--report": report_path, "--csv": csv_path}, [pred, ref])
    console = Console(stderr=True)
    set_values: dict[str, float] = {}
    details: dict = {}
    if task == "depth":
        with console.status("evaluating depth maps..."):
            rows = ev.evaluate_depth(pred, ref, names, fov)
        per_names = names
        report_settings = {
            "task": "depth",
            "protocol": "Unsup3d (Wu et al., CVPR 2020): SIDE = std of log-depth difference; MAD = mean normal "
            "angle in degrees; valid mask = reference mask & positive prediction, eroded by 1 px",
            "fov_degrees": fov,
            "n": len(rows),
        }
    else:
        pairs = ev.pair_files(pred, ref)
        color = ev.TASK_COLOR[task]
        per_names = [m for m in names if m in ev.PIXEL_METRICS]
        rows = []
        if per_names:
            for key, values in track(
                ev.per_image(pairs, per_names, color, resize),
                total=len(pairs.keys),
                console=console,
                description=f"evaluate {task}",
                transient=True,
            ):
                rows.append((key, values))
        else:
            rows = [(k, {}) for k in pairs.keys]
        wanted = [m for m in names if m in ev.SET_METRICS]
        if wanted:
            with console.status(f"computing {', '.join(wanted)} over {len(pairs.keys)} pairs..."):
                set_values, details = ev.set_metrics(
                    pairs, wanted, kid_subsets=kid_subsets, fid_bootstrap_n=fid_bootstrap
                )
        report_settings = ev.settings(task, color, resize, len(rows))
    summary = {m: ev.summarize([v[m] for _, v in rows]) for m in per_names}
    means = {m: s["mean"] for m, s in summary.items()}
    means.update(set_values)
    report = {
        "task": task,
        "pred": str(pred),
        "ref": str(ref),
        "n": len(rows),
        "metrics": means,
        "summary": summary,
        "details": details,
        "settings": report_settings,
    }

    table = Table(title=f"portrait evaluate --task {task}: {len(rows)} pairs", title_justify="left")
    for col in ("metric", "mean", "std", "median", "min", "max"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for m, s in summary.items():
        table.add_row(m, *(f"{s.get(k, float('nan')):.4f}" for k in ("mean", "std", "median", "min", "max")))
    for m, v in set_values.items():
        table.add_row(m, f"{v:.4f}", "", "", "", "")
    console.print(table)
    for key in ("fid_warning",):
        if key in details:
            console.print(f"[yellow]warning[/]: {details[key]}")
    if csv_path is not None and per_names:
        write_csv_atomic(
            csv_path, ["key", *per_names], ([key, *(f"{values[m]:.6f}" for m in per_names)] for key, values in rows)
        )
    if report_path is not None:
        write_text_atomic(report_path, json.dumps(ev.json_safe(report), indent=2, allow_nan=False) + "\n")
    print(json.dumps(ev.json_safe(report if json_out else report["metrics"]), allow_nan=False))


def check_report_paths(reports: dict[str, Path | None], inputs: list[Path]) -> None:
    """Refuse report files that would land among the scored files.

    Raises:
        UsageError: a report path is one of ``inputs`` or lies inside one of them (a
            prediction or reference folder), or two reports share a path.
    """
    import os

    from portraitcli.errors import UsageError

    roots = [Path(os.path.realpath(p)) for p in inputs]
    seen: dict[Path, str] = {}
    for option, path in reports.items():
        if path is None:
            continue
        target = Path(os.path.realpath(path))
        for root in roots:
            if target == root or target.is_relative_to(root):
                raise UsageError(f"{option} {path}: lies inside the scored folder {root}; write the report elsewhere")
        if target in seen:
            raise UsageError(f"{option} and {seen[target]} name the same file {path}")
        seen[target] = option


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
