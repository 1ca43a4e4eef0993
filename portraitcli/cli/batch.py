"""Running an image model over one file or a whole batch, for the image commands.

One file: errors propagate (the CLI maps them to exit codes). A batch: each file's
failure is recorded and the batch goes on; a Rich progress bar and a summary table go to
stderr, ``--json`` records (one JSON object per input) to stdout, and the batch ends with
:class:`BatchFailedError` (exit code 7) when any file failed.
"""

from __future__ import annotations

import glob
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from portraitcli.errors import BatchFailedError, PortraitError, UsageError
from portraitcli.face.pipeline import PipelineOptions, Result, process
from portraitcli.io.discover import Job, discover, plan_outputs
from portraitcli.io.image import IMAGE_EXTENSIONS, check_distinct, output_format, read_image, write_image
from portraitcli.types import Template

#: Writes the outputs of one input into a folder: (folder, pipeline result) -> paths written.
FolderWriter = Callable[[Path, Result], list[Path]]


@dataclass(frozen=True)
class Loaded:
    """What an image command runs, built once per invocation.

    Attributes:
        run_model: aligned crop (h, w, 3) uint8 RGB -> output image.
        template: the model's framing.
        detector: the face detector (None with ``--aligned``).
        write: for commands whose outputs are a folder per input (cartoon3d): writes
            the pipeline's result into that folder. None: one image file per input.
    """

    run_model: Callable[[np.ndarray], np.ndarray]
    template: Template
    detector: Any
    write: FolderWriter | None = None


@dataclass(frozen=True)
class RunOptions:
    """Options every image command shares (see ``portrait sketch --help``)."""

    pipeline: PipelineOptions
    recursive: bool = False
    overwrite: bool = False
    json_lines: bool = False
    ext: str | None = None
    device: str = "auto"
    threads: int = 0


def _face_outputs(base: Path, n: int, faces_all: bool) -> list[Path]:
    if not faces_all:
        return [base]
    return [base.with_name(f"{base.stem}_face{i + 1}{base.suffix}") for i in range(n)]


def _existing_outputs(base: Path, faces_all: bool, folders: bool = False) -> list[Path]:
    if folders:
        return [base] if base.is_dir() and any(base.iterdir()) else []
    if not faces_all:
        return [base] if base.exists() else []
    return sorted(base.parent.glob(f"{base.stem}_face*{base.suffix}")) if base.parent.is_dir() else []


def process_file(job: Job, loaded: Loaded, opts: RunOptions) -> dict[str, Any]:
    """Read, process and write one file; return its record (raises on failure)."""
    t0 = time.perf_counter()
    check_distinct(job.input, job.output)
    image = read_image(job.input)
    result: Result = process(image, loaded.run_model, loaded.template, loaded.detector, opts.pipeline)
    if loaded.write is not None:
        paths = loaded.write(job.output, result) if result.images else []
    else:
        faces_all = opts.pipeline.faces == "all" and not opts.pipeline.paste_back and result.mode == "faces"
        paths = _face_outputs(job.output, len(result.images), faces_all)
        for path in paths:
            check_distinct(job.input, path)
        for path, img, alpha in zip(paths, result.images, result.alphas):
            write_image(path, img, alpha)
    return {
        "input": str(job.input),
        "output": str(paths[0]) if paths and result.images else None,
        "outputs": [str(p) for p in paths] if result.images else [],
        "status": "ok" if result.mode != "skipped" else "no_face",
        "error": None,
        "mode": result.mode,
        "faces": len(result.faces),
        "seconds": round(time.perf_counter() - t0, 4),
    }


def _failure(job: Job, error: Exception, t0: float) -> dict[str, Any]:
    code = error.exit_code if isinstance(error, PortraitError) else 1
    message = str(error) if isinstance(error, PortraitError) else f"internal error: {type(error).__name__}: {error}"
    return {
        "input": str(job.input),
        "output": None,
        "outputs": [],
        "status": "failed",
        "error": message,
        "exit_code": code,
        "faces": 0,
        "seconds": round(time.perf_counter() - t0, 4),
    }


def is_single(inputs: list[str]) -> bool:
    """One input that is neither a folder nor a glob pattern."""
    return len(inputs) == 1 and not Path(inputs[0]).is_dir() and not glob.has_magic(inputs[0])


def single_output(src: Path, output: Path | None, task: str, folders: bool = False) -> Path:
    """Where one file's output goes: ``-o FILE``; ``-o DIR`` (an existing folder or a path
    without extension) gets the input's name; no ``-o`` gives ``./STEM_TASK.png``.
    For folder outputs: ``-o DIR`` itself, or ``./STEM_TASK/``.

    Raises:
        UsageError: the output extension is not an image format.
    """
    if folders:
        return output if output is not None else Path(f"{src.stem}_{task}")
    if output is None:
        return Path(f"{src.stem}_{task}.png")
    if output.is_dir() or not output.suffix:
        return output / src.name
    output_format(output)
    return output


def folder_jobs(jobs: list[Job]) -> list[Job]:
    """Folder outputs for planned jobs: ``out/a/b.jpg`` -> ``out/a/b``; when two inputs differ
    only by extension, each keeps it in the name (``b_jpg``, ``b_png``)."""
    targets = [j.output.with_suffix("") for j in jobs]
    counts: dict[str, int] = {}
    for t in targets:
        counts[str(t).lower()] = counts.get(str(t).lower(), 0) + 1
    return [
        Job(j.input, j.rel, t if counts[str(t).lower()] == 1 else t.with_name(j.output.name.replace(".", "_")))
        for j, t in zip(jobs, targets)
    ]


def run_batch(
    task: str,
    inputs: list[str],
    output: Path | None,
    opts: RunOptions,
    load: Callable[[], Loaded],
    stdout: Any = None,
    console: Console | None = None,
    folders: bool = False,
) -> list[dict[str, Any]]:
    """Run a model over files, folders or globs.

    Args:
        task: the command's name, used for the default output name (``photo_TASK.png``).
        inputs: files, folders or glob patterns.
        output: output file (one input) or folder.
        opts: shared options.
        load: builds the :class:`Loaded` model once; called after the inputs are checked
            so that usage errors come first.
        folders: each input's outputs are a folder (the command's ``Loaded.write``).

    Returns:
        The records of every input, in order.

    Raises:
        PortraitError: one file mode, the file's own error; batch mode, UsageError for
            bad arguments and BatchFailedError when any file failed.
    """
    stdout = stdout or sys.stdout
    console = console or Console(stderr=True)
    if not inputs:
        raise UsageError("give at least one input file, folder or pattern")

    if is_single(inputs):
        src = Path(inputs[0])
        dst = single_output(src, output, task, folders)
        job = Job(src, Path(src.name), dst)
        check_distinct(src, dst)
        record = process_file(job, load(), opts)
        if record["status"] == "no_face":
            console.print(f"[yellow]skipped[/]: {src}: no face found (--on-no-face skip)")
        if opts.json_lines:
            print(json.dumps(record), file=stdout, flush=True)
        elif record["outputs"]:
            print("\n".join(record["outputs"]), file=stdout, flush=True)
        return [record]

    if output is None:
        raise UsageError("several inputs or a folder need an output folder: -o DIR")
    if output.suffix.lower() in IMAGE_EXTENSIONS and not output.is_dir():
        raise UsageError(f"-o {output}: several inputs need an output folder, not an image file name")
    files = discover(inputs, recursive=opts.recursive, exclude=output)
    jobs = plan_outputs(files, output, opts.ext)
    if folders:
        jobs = folder_jobs(jobs)
    loaded = load()
    faces_all = opts.pipeline.faces == "all" and not opts.pipeline.paste_back
    records: list[dict[str, Any]] = []
    progress = Progress(
        TextColumn(f"[bold]{task}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}"),
        console=console,
        transient=True,
    )
    with progress:
        bar = progress.add_task(task, total=len(jobs), current="")
        for job in jobs:
            progress.update(bar, current=str(job.rel))
            t0 = time.perf_counter()
            existing = _existing_outputs(job.output, faces_all, folders)
            if existing and not opts.overwrite:
                record = {
                    "input": str(job.input),
                    "output": str(existing[0]),
                    "outputs": [str(p) for p in existing],
                    "status": "skipped",
                    "error": "output exists (use --overwrite)",
                    "faces": None,
                    "seconds": 0.0,
                }
            else:
                try:
                    record = process_file(job, loaded, opts)
                except KeyboardInterrupt:
                    raise
                except Exception as e:  # recorded, never swallowed: reported below
                    record = _failure(job, e, t0)
            records.append(record)
            if opts.json_lines:
                print(json.dumps(record), file=stdout, flush=True)
            progress.advance(bar)
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
            errors.add_row(r["input"], r["error"])
        console.print(errors)
