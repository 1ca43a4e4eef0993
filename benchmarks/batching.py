"""Does batched inference pay on CPU? Per-face model time at batch 1 and batch 4.

For each shipped model with a dynamic batch axis, runs ONNX Runtime on random inputs of the
model's template size, batch 1 and batch ``--batch``, with 1 and 2 intra-op threads, and
reports milliseconds per face (median of ``--repeats`` runs after a warm-up). Writes
docs/benchmarks/batching.{json,md}.

    python benchmarks/batching.py
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from portraitcli.runtime.weights import find_model, verify

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
#: The tasks whose models take one image stack with a batch axis.
TASKS = ("sketch", "draw", "cartoon")


def per_face_ms(session: ort.InferenceSession, x: np.ndarray, repeats: int) -> float:
    """Median wall time of one run divided by the batch size, ms."""
    name = session.get_inputs()[0].name
    session.run(None, {name: x})
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        session.run(None, {name: x})
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times) / len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for task in TASKS:
        spec = find_model(task)
        if spec is None or spec.template is None:
            continue
        w, h = spec.template.size
        for threads in (1, 2):
            options = ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
            session = ort.InferenceSession(str(verify(spec)), options, providers=["CPUExecutionProvider"])
            channels = session.get_inputs()[0].shape[1]  # draw-v3: the photo and its style planes
            ms = {}
            for batch in (1, args.batch):
                x = rng.uniform(-1, 1, (batch, channels, h, w)).astype(np.float32)
                ms[batch] = per_face_ms(session, x, args.repeats)
            rows.append(
                {
                    "model": spec.name,
                    "size": [w, h],
                    "threads": threads,
                    "ms_batch_1": round(ms[1], 1),
                    f"ms_batch_{args.batch}": round(ms[args.batch], 1),
                    "gain": round(ms[1] / ms[args.batch], 3),
                }
            )
            print(rows[-1])
    result = {"batch": args.batch, "rows": rows, "host": f"{platform.processor() or platform.machine()}"}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "batching.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Batched inference on CPU",
        "",
        "Per-face model time (ms, median of runs) at batch 1 and batch "
        f"{args.batch}, random inputs of each model's template size. Regenerate: `python benchmarks/batching.py`.",
        "",
        f"| model | size | threads | batch 1 | batch {args.batch} | gain |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['model']} | {r['size'][0]}x{r['size'][1]} | {r['threads']} | {r['ms_batch_1']} | "
        f"{r[f'ms_batch_{args.batch}']} | {r['gain']:.2f}x |"
        for r in rows
    ]
    (args.out / "batching.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
