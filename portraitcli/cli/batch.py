"""The terminal side of a batch: progress bar, JSON lines and the summary table.

The work itself is :mod:`portraitcli.batch`. One file: its error propagates (the CLI maps it
to an exit code). A batch: a Rich progress bar and a summary table (with every failure) go
to stderr, ``--json`` records to stdout, and the batch ends with
:class:`~portraitcli.errors.BatchFailedError` (exit code 7) when any file failed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from portraitcli.batch import AUTO_MAX_WORKERS, Loaded, RunOptions, plan, resolve_workers, run, run_parallel
from portraitcli.errors import BatchFailedError
from portraitcli.io.discover import empty_roots


def run_batch(
    task: str,
    inputs: list[str],
    output: Path | None,
    opts: RunOptions,
    load: Callable[[int], Loaded],
    *,
    json_lines: bool = False,
    stdout: Any = None,
    console: Console | None = None,
    folders: bool = False,
) -> list[dict[str, Any]]:
    """Plan, load the model, run, and report.

    Args:
        task: the command's name, used for the default output name (``photo_TASK.png``).
        inputs: files, folders or glob patterns.
        output: output file (one input) or folder.
        opts: shared options.
        load: builds the :class:`~portraitcli.batch.Loaded` model with the given ONNX Runtime
            thread count; called after the outputs are planned, so that usage errors come
            first, once, or once in each worker process of a batch (``opts.workers``).
        json_lines: print one JSON record per input on stdout.
        folders: each input's outputs are a folder (the command's ``Loaded.write``).

    Returns:
        The records of every input, in order.

    Raises:
        PortraitError: one file, the file's own error; a batch, UsageError for bad
            arguments and BatchFailedError when any file failed.
    """
    stdout = stdout or sys.stdout
    console = console or Console(stderr=True)
    run_plan = plan(task, inputs, output, opts, folders)
    workers = 1 if run_plan.single else resolve_workers(opts.workers, len(run_plan.jobs))
    if opts.backend != "local" and not run_plan.single:
        from portraitcli.backends import run_backend

        n = opts.workers or min(os.cpu_count() or 1, AUTO_MAX_WORKERS)
        records_in_order = run_backend(opts.backend, run_plan, load, opts, n)
    elif workers > 1:
        records_in_order = run_parallel(run_plan, load, opts, workers)  # forks before the progress bar starts
    else:
        records_in_order = run(run_plan, load(opts.threads), opts)
    if run_plan.single:
        records = list(records_in_order)
        record = records[0]
        if record["status"] == "no_face":
            console.print(f"[yellow]skipped[/]: {escape(record['input'])}: no face found (--on-no-face skip)")
        if json_lines:
            print(json.dumps(record), file=stdout, flush=True)
        elif record["outputs"]:
            print("\n".join(record["outputs"]), file=stdout, flush=True)
        return records

    for item in empty_roots(inputs, [job.input for job in run_plan.jobs]):
        console.print(f"[yellow]warning[/]: {escape(item)}: no image files in this folder")
    progress = Progress(
        TextColumn(f"[bold]{task}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}", markup=False),
        console=console,
        transient=True,
    )
    records: list[dict[str, Any]] = []
    with progress:
        bar = progress.add_task(task, total=len(run_plan.jobs), current="")
        for job, record in zip(run_plan.jobs, records_in_order):
            records.append(record)
            if json_lines:
                print(json.dumps(record), file=stdout, flush=True)
            progress.update(bar, advance=1, current=str(job.rel))
    _summary(task, records, console)
    failed = [r for r in records if r["status"] == "failed"]
    if failed:
        raise BatchFailedError(f"{len(failed)} of {len(records)} files failed (listed above)")
    return records


def _summary(task: str, records: list[dict[str, Any]], console: Console) -> None:
    counts: dict[str, int] = {}
    for r in records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    table = Table(title=f"portrait {task}: {len(records)} inputs", title_justify="left")
    table.add_column("status")
    table.add_column("files", justify="right")
    for status in ("ok", "skipped", "no_face", "failed"):
        if counts.get(status):
            table.add_row(status, str(counts[status]))
    console.print(table)
    failed = [r for r in records if r["status"] == "failed"]
    if failed:
        errors = Table(title="failures", title_justify="left", show_lines=False)
        errors.add_column("input", overflow="fold")
        errors.add_column("error", overflow="fold")
        for r in failed:
            errors.add_row(escape(r["input"]), escape(r["error"]))
        console.print(errors)
