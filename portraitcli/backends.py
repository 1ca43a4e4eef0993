"""Batches on Dask or Ray (``--backend dask|ray``): the same files, records and rules, more machines.

Each file is one task; a worker process loads the command's model once (``load(threads)``,
kept for the rest of the run) and writes its outputs itself, atomically, so the workers must
see the input and output folders (one machine, or a shared file system). Existing outputs
are skipped before anything is submitted, so an interrupted batch resumes where it stopped.
Records come back in input order. Both libraries are optional extras, imported only here:
``pip install 'portraitcli[dask]'`` (``dask[distributed]``) or ``'portraitcli[ray]'``.

- Dask: ``--scheduler ADDRESS`` connects to a running scheduler; without it a
  ``LocalCluster`` of ``--workers`` processes with one thread each is started and stopped.
- Ray: ``--address ADDRESS`` (or ``auto``) joins a running cluster; without it a local Ray
  is started with ``--workers`` CPUs. Ray sets ``OMP_NUM_THREADS=1`` in its workers; ONNX
  Runtime's thread count is set explicitly instead (``--threads``, default 1 per task).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from portraitcli.batch import Loaded, RunOptions, failure_record, in_order, pending, process_file
from portraitcli.errors import UsageError
from portraitcli.io.plan import Plan

BACKENDS = ("local", "dask", "ray")
#: The models loaded in this worker process, by run (a long-lived cluster serves many runs).
_LOADED: dict[str, Loaded | Exception] = {}


def remote_file(
    run_id: str, load: Callable[[int], Loaded], threads: int, run_plan: Plan, opts: RunOptions, i: int
) -> dict:
    """Process file ``i`` of ``run_plan`` in a worker; return its record (failures recorded)."""
    if run_id not in _LOADED:
        try:
            _LOADED[run_id] = load(threads)
        except Exception as e:  # every file of the run on this worker reports it
            _LOADED[run_id] = e
    job = run_plan.jobs[i]
    t0 = time.perf_counter()
    try:
        loaded = _LOADED[run_id]
        if isinstance(loaded, Exception):
            raise loaded
        return process_file(job, loaded, run_plan, opts)
    except Exception as e:
        return failure_record(job, e, t0)


def _missing(backend: str, package: str) -> UsageError:
    return UsageError(f"--backend {backend} needs {package}: pip install 'portraitcli[{backend}]'")


def run_dask(run_plan: Plan, load: Callable[[int], Loaded], opts: RunOptions, workers: int) -> Iterator[dict]:
    """The batch on Dask (``opts.address``: a scheduler; None: a local cluster of ``workers``)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise _missing("dask", "dask[distributed]") from None
    todo, done = pending(run_plan)
    cluster = None
    if opts.address:
        client = Client(opts.address)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    run_id, threads = uuid.uuid4().hex, opts.threads or 1
    plan_future = client.scatter(run_plan, broadcast=True)
    futures = {
        i: client.submit(remote_file, run_id, load, threads, plan_future, opts, i, pure=False, key=f"{run_id}-{i}")
        for i in todo
    }

    def close() -> None:
        client.cancel(list(futures.values()))
        client.close()
        if cluster is not None:
            cluster.close()

    return in_order(run_plan, done, lambda i: futures[i].result(), close)


def run_ray(run_plan: Plan, load: Callable[[int], Loaded], opts: RunOptions, workers: int) -> Iterator[dict]:
    """The batch on Ray (``opts.address``: a cluster; None: a local Ray with ``workers`` CPUs)."""
    try:
        import ray
    except ImportError:
        raise _missing("ray", "ray") from None
    todo, done = pending(run_plan)
    started = not ray.is_initialized()
    if started:
        kwargs: dict[str, Any] = {"address": opts.address} if opts.address else {"num_cpus": workers}
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kwargs)
    run_id, threads = uuid.uuid4().hex, opts.threads or 1
    task = ray.remote(num_cpus=1, max_retries=0)(remote_file)
    plan_ref, load_ref = ray.put(run_plan), ray.put(load)
    refs = {i: task.remote(run_id, load_ref, threads, plan_ref, opts, i) for i in todo}

    def close() -> None:
        for ref in refs.values():
            ray.cancel(ref)
        if started:
            ray.shutdown()

    return in_order(run_plan, done, lambda i: ray.get(refs[i]), close)


def run_backend(
    backend: str, run_plan: Plan, load: Callable[[int], Loaded], opts: RunOptions, workers: int
) -> Iterator[dict]:
    """:func:`run_dask` or :func:`run_ray` by name.

    Raises:
        UsageError: an unknown backend, or its package is not installed.
    """
    if backend == "dask":
        return run_dask(run_plan, load, opts, workers)
    if backend == "ray":
        return run_ray(run_plan, load, opts, workers)
    raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
