"""The batch engine: plan the outputs of files, folders and globs, then run a model over them.

No terminal output here: :func:`run` yields one record per input, and the CLI
(:mod:`portraitcli.cli.batch`) draws the progress bar and the summary. Every output path is
planned and checked (:mod:`portraitcli.io.plan`) before the model is loaded or anything
is written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from portraitcli.errors import PortraitError, UsageError
from portraitcli.face.pipeline import PipelineOptions, Result, process
from portraitcli.io.discover import Job, discover, is_pattern
from portraitcli.io.image import IMAGE_EXTENSIONS, read_image, remove_stale_parts, write_image
from portraitcli.io.plan import Plan, plan_batch, plan_single, single_output
from portraitcli.types import Template


class FolderWriter(Protocol):
    """Writes the outputs of one input into ``folder`` (commands whose outputs are a folder
    per input, such as cartoon3d) and returns the paths written; must not replace any of
    ``protect`` (the run's resolved inputs)."""

    def __call__(self, folder: Path, result: Result, protect: frozenset[Path]) -> list[Path]: ...


@dataclass(frozen=True)
class Loaded:
    """What an image command runs, built once per invocation.

    Attributes:
        run_model: aligned crop (h, w, 3) uint8 RGB -> output image.
        template: the model's framing.
        detector: the face detector (None with ``--aligned``).
        write: for commands whose outputs are a folder per input (cartoon3d). None: one
            image file per input (or per face).
        run_tile: the model for whole-photo tiles, without per-face preprocessing (None:
            ``run_model``).
        model: the manifest name of the model that runs (``sketch-v6``), written into every
            record of a processed file; None where no shipped model runs.
    """

    run_model: Callable[[np.ndarray], np.ndarray]
    template: Template
    detector: Any
    write: FolderWriter | None = None
    run_tile: Callable[[np.ndarray], np.ndarray] | None = None
    model: str | None = None


@dataclass(frozen=True)
class RunOptions:
    """Options every image command shares (see ``portrait sketch --help``)."""

    pipeline: PipelineOptions
    recursive: bool = False
    overwrite: bool = False
    ext: str | None = None
    device: str = "auto"
    threads: int = 0
    workers: int = 0
    backend: str = "local"
    address: str | None = None

    @property
    def faces_all(self) -> bool:
        """Each input may give several files, ``NAME_faceN.EXT``."""
        return self.pipeline.faces == "all" and not self.pipeline.paste_back


#: ``--workers 0`` (auto) starts one process per core, at most this many ...
AUTO_MAX_WORKERS = 4
#: ... and only for batches of at least this many files: a worker's start (imports, model,
#: detector) takes about a second.
AUTO_MIN_JOBS = 8


def resolve_workers(requested: int, n_jobs: int) -> int:
    """The processes a batch of ``n_jobs`` files runs in: ``requested`` (at most one per file),
    or with 0 one per core up to :data:`AUTO_MAX_WORKERS` for :data:`AUTO_MIN_JOBS` files or
    more; 1 where processes cannot be forked (the workers inherit the loader)."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if requested > 0:
        return max(1, min(requested, n_jobs))
    if n_jobs < AUTO_MIN_JOBS:
        return 1
    return max(1, min(os.cpu_count() or 1, AUTO_MAX_WORKERS, n_jobs))


def worker_threads(threads: int, workers: int) -> int:
    """ONNX Runtime intra-op threads per worker: ``threads`` when set (> 0), else the cores
    shared out among ``workers`` (0, ONNX Runtime's one per core, for a single process)."""
    if threads > 0 or workers <= 1:
        return threads
    return max(1, (os.cpu_count() or 1) // workers)


def is_single(inputs: list[str]) -> bool:
    """One input that is neither a folder nor a glob pattern."""
    return len(inputs) == 1 and not Path(inputs[0]).is_dir() and not is_pattern(inputs[0])


def plan(task: str, inputs: list[str], output: Path | None, opts: RunOptions, folders: bool = False) -> Plan:
    """Every output of the run, checked before anything is loaded or written.

    One input file (:func:`is_single`): ``-o FILE``, ``-o DIR`` or ``./STEM_TASK.png``
    (``./STEM_TASK/`` for folder outputs). Otherwise the inputs' tree is mirrored under
    ``-o DIR``.

    Raises:
        UsageError: no input; several inputs without an output folder; any rule of
            :mod:`portraitcli.io.plan` broken.
        BadInputError: an input is missing, or nothing was found.
    """
    if not inputs:
        raise UsageError("give at least one input file, folder or pattern")
    if is_single(inputs):
        src = Path(inputs[0])
        dst = single_output(src, output, task, folders)
        return plan_single(src, dst, overwrite=opts.overwrite, faces_all=opts.faces_all, folders=folders)
    if output is None:
        raise UsageError("several inputs or a folder need an output folder: -o DIR")
    if output.suffix.lower() in IMAGE_EXTENSIONS and not output.is_dir():
        raise UsageError(f"-o {output}: several inputs need an output folder, not an image file name")
    files = discover(inputs, recursive=opts.recursive, exclude=output)
    return plan_batch(files, output, ext=opts.ext, overwrite=opts.overwrite, faces_all=opts.faces_all, folders=folders)


class _Timed:
    """A function that adds up the seconds spent in its calls."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0


class _TimedDetector:
    """A face detector whose ``detect`` calls are timed; everything else passes through."""

    def __init__(self, detector: Any) -> None:
        self._detector = detector
        self.detect = _Timed(detector.detect)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._detector, name)


def process_file(job: Job, loaded: Loaded, run_plan: Plan, opts: RunOptions) -> dict[str, Any]:
    """Read, process and write one file; return its record (raises on failure).

    The record's ``timing`` splits its seconds: ``read`` (decode), ``detect`` (face
    detection), ``model`` (the network, whole-photo tiles included), ``write`` (encode and
    save) and ``other`` (landmarks, alignment, resizing, pasting).
    """
    t0 = time.perf_counter()
    image = read_image(job.input)
    t_read = time.perf_counter() - t0
    run_model, run_tile = _Timed(loaded.run_model), _Timed(loaded.run_tile or loaded.run_model)
    detector = _TimedDetector(loaded.detector) if loaded.detector is not None else None
    result: Result = process(image, run_model, loaded.template, detector, opts.pipeline, run_tile)
    t_write = time.perf_counter()
    if not result.images:
        paths: list[Path] = []
    elif loaded.write is not None:
        paths = loaded.write(job.output, result, run_plan.inputs)
    else:
        paths = run_plan.outputs(job, len(result.images))
        for path, img, alpha in zip(paths, result.images, result.alphas):
            write_image(path, img, alpha)
    t_end = time.perf_counter()
    timing = {
        "read": t_read,
        "detect": detector.detect.seconds if detector is not None else 0.0,
        "model": run_model.seconds + run_tile.seconds,
        "write": t_end - t_write,
    }
    timing["other"] = max(0.0, (t_end - t0) - sum(timing.values()))
    per_face = len(paths) == len(result.faces)  # one output per face (not pasted back)
    detections = [
        {
            "bbox": [round(float(v), 1) for v in face.bbox],
            "score": round(float(face.score), 3),
            "output": str(paths[i]) if per_face else (str(paths[0]) if paths else None),
            **({"padded": result.padded[i]} if i < len(result.padded) else {}),
        }
        for i, face in enumerate(result.faces)
    ]
    return {
        "input": str(job.input),
        "output": str(paths[0]) if paths else None,
        "outputs": [str(p) for p in paths],
        "status": "ok" if result.mode != "skipped" else "no_face",
        "error": None,
        "mode": result.mode,
        "model": loaded.model,
        "faces": len(result.faces),
        "detections": detections,
        "rotation": result.rotation,
        "seconds": round(t_end - t0, 4),
        "timing": {k: round(v, 4) for k, v in timing.items()},
    }


def skipped_record(job: Job, existing: list[Path]) -> dict[str, Any]:
    """The record of a job whose outputs exist (and may not be replaced)."""
    return {
        "input": str(job.input),
        "output": str(existing[0]),
        "outputs": [str(p) for p in existing],
        "status": "skipped",
        "error": "output exists (use --overwrite)",
        "faces": None,
        "seconds": 0.0,
    }


def failure_record(job: Job, error: Exception, t0: float) -> dict[str, Any]:
    """The record of a job that raised ``error`` (its exit code, one-line message), started at ``t0``."""
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


def run(run_plan: Plan, loaded: Loaded, opts: RunOptions) -> Iterator[dict[str, Any]]:
    """Run the model over the plan's jobs, yielding one record per input.

    Before the first job, temporary files that killed earlier runs left in the output
    folders are removed. A batch records each file's failure and goes on; a single input
    raises its error (the CLI maps it to an exit code). Existing outputs are skipped
    unless the plan allows overwriting.

    Yields:
        ``{"input", "output", "outputs", "status", "error", "faces", "seconds", ...}``
        with status ``ok``, ``skipped``, ``no_face`` or ``failed``.
    """
    remove_stale_parts({j.output.parent for j in run_plan.jobs})
    for job in run_plan.jobs:
        if run_plan.single:
            yield process_file(job, loaded, run_plan, opts)
            continue
        t0 = time.perf_counter()
        existing = run_plan.existing(job)
        if existing and not run_plan.overwrite:
            yield skipped_record(job, existing)
            continue
        try:
            record = process_file(job, loaded, run_plan, opts)
        except Exception as e:  # recorded, never swallowed: the CLI reports it
            record = failure_record(job, e, t0)
        yield record


#: What a worker process holds: its loaded model (or the error loading it), the plan, the options.
_WORKER: dict[str, Any] = {}


def _init_worker(load: Callable[[int], Loaded], threads: int, run_plan: Plan, opts: RunOptions) -> None:
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent unwinds; a worker just stops
    _WORKER.update(plan=run_plan, opts=opts)
    try:
        _WORKER["loaded"] = load(threads)
    except Exception as e:  # every file of this worker reports it
        _WORKER["error"] = e


def _work(index: int) -> dict[str, Any]:
    run_plan: Plan = _WORKER["plan"]
    job = run_plan.jobs[index]
    t0 = time.perf_counter()
    try:
        if "error" in _WORKER:
            raise _WORKER["error"]
        return process_file(job, _WORKER["loaded"], run_plan, _WORKER["opts"])
    except Exception as e:
        return failure_record(job, e, t0)


def pending(run_plan: Plan) -> tuple[list[int], dict[int, dict[str, Any]]]:
    """Before a batch runs elsewhere (worker processes, a cluster): remove stale temporary files,
    then split the jobs into those to run (indices) and the skipped ones' records (outputs exist)."""
    remove_stale_parts({j.output.parent for j in run_plan.jobs})
    done: dict[int, dict[str, Any]] = {}
    for i, job in enumerate(run_plan.jobs):
        existing = run_plan.existing(job)
        if existing and not run_plan.overwrite:
            done[i] = skipped_record(job, existing)
    return [i for i in range(len(run_plan.jobs)) if i not in done], done


def in_order(
    run_plan: Plan, done: dict[int, dict[str, Any]], result: Callable[[int], dict], close: Callable[[], None]
) -> Iterator[dict[str, Any]]:
    """Every job's record in input order: ``done[i]``, else ``result(i)`` (which waits for it; a
    lost task, a dead worker, becomes that file's failure); ``close()`` when finished or stopped."""
    try:
        for i, job in enumerate(run_plan.jobs):
            if i in done:
                yield done[i]
                continue
            t0 = time.perf_counter()
            try:
                yield result(i)
            except Exception as e:
                yield failure_record(job, e, t0)
    finally:
        close()


def run_parallel(run_plan: Plan, load: Callable[[int], Loaded], opts: RunOptions, workers: int) -> Iterator[dict]:
    """:func:`run` in ``workers`` forked processes, each with its own model and detector
    (``load(threads)``, :func:`worker_threads` ONNX Runtime threads each); records come in
    input order, with the same skip / overwrite / failure rules.

    The workers are forked here, before the caller starts any thread (a progress bar), and
    the plan and loader reach them by inheritance, never pickled. Each worker writes its files
    atomically; Ctrl-C stops them all and leaves no partial file.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    todo, done = pending(run_plan)
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_init_worker,
        initargs=(load, worker_threads(opts.threads, workers), run_plan, opts),
    )
    futures = {i: pool.submit(_work, i) for i in todo}
    return in_order(run_plan, done, lambda i: futures[i].result(), lambda: pool.shutdown(True, cancel_futures=True))
