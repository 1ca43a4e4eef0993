"""Per-face model time of the shipped ONNX models on this machine's CPU.

    python benchmarks/speed.py [--threads 2] [--runs 20] [--json docs/benchmarks/speed.json]

Protocol (as ``shared/notes/cpu-inference-speed.md``): ONNX Runtime CPU provider,
``intra_op_num_threads`` = --threads, sequential execution, all graph optimizations; 3
warm-up runs, then --runs timed runs on one aligned crop; the median and min-max are
reported, model time only (no detection, no I/O). Also times the whole ``portrait``
pipeline per face (detect, align, model, write) on the astronaut photo.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from portraitcli.runtime.weights import find_model, load_manifest, verify  # noqa: E402
from portraitcli.sysinfo import machine  # noqa: E402


def model_input(task: str, crop: np.ndarray) -> np.ndarray:
    """The network input of ``task`` for one aligned crop, as the model wrapper builds it."""
    if task == "draw":
        from portraitcli.models.draw import photo_to_input

        return photo_to_input(crop, 1)[None]
    if task == "destylize":
        from portraitcli.models.destylize import crops_to_input

        return crops_to_input(crop[None])
    from portraitcli.models.sketch import photo_to_tensor

    return photo_to_tensor(crop)[None]


def style_image() -> np.ndarray:
    """The style image of the stylize timings: scikit-image's coffee photo (400x600 RGB)."""
    from skimage import data

    return data.coffee()


def time_model(name: str, threads: int, runs: int) -> dict:
    import onnxruntime as ort

    spec = find_model(name)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(verify(spec)), opts, providers=["CPUExecutionProvider"])
    w, h = spec.template.size
    crop = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    if spec.task == "stylize":  # content, style image and strength
        from portraitcli.models.stylize import prepare_style, to_tensor

        x = to_tensor(crop)
        feed = {"content": x, "style": to_tensor(prepare_style(style_image())), "alpha": np.ones(1, np.float32)}
    else:
        x = model_input(spec.task, crop)
        feed = {sess.get_inputs()[0].name: x}
    for _ in range(3):
        sess.run(None, feed)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "model": name,
        "input": list(x.shape),
        "median_ms": round(statistics.median(times), 2),
        "min_ms": round(min(times), 2),
        "max_ms": round(max(times), 2),
        "runs": runs,
        "threads": threads,
    }


def time_pipeline(task: str, runs: int) -> dict:
    """The image-to-image pipeline of ``task`` on the astronaut (recon3d has its own, in cartoon3d)."""
    from skimage import data

    from portraitcli.cli.run import load_task
    from portraitcli.face.pipeline import PipelineOptions, process
    from portraitcli.types import LoadedImage

    loaded = load_task(task, "cpu", 0, True, {"style": style_image()} if task == "stylize" else None)
    image = LoadedImage(data.astronaut(), None, Path("astronaut.png"), "PNG")
    opts = PipelineOptions(size=400)
    process(image, loaded.run_model, loaded.template, loaded.detector, opts)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        process(image, loaded.run_model, loaded.template, loaded.detector, opts)
        times.append((time.perf_counter() - t0) * 1000)
    return {"task": task, "image": "astronaut 512x512", "median_ms": round(statistics.median(times), 2), "runs": runs}


def time_features(n: int) -> dict:
    """FID/KID cost: TF-Inception features of n streamed 256x256 images, plus FID and KID."""
    from portraitcli.metrics.distribution import InceptionFeatures, fid_from_features, kid_from_features

    rng = np.random.default_rng(0)
    images = (rng.integers(0, 256, (256, 256, 3), dtype=np.uint8) for _ in range(n))
    t0 = time.perf_counter()
    feats = InceptionFeatures(batch_size=32)(images)
    t_feat = time.perf_counter() - t0
    t0 = time.perf_counter()
    half = n // 2
    fid_from_features(feats[:half], feats[half:])
    kid_from_features(feats[:half], feats[half:])
    return {
        "images": n,
        "size": "256x256",
        "features_s": round(t_feat, 1),
        "fid_kid_s": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json", type=Path, default=REPO / "docs" / "benchmarks" / "speed.json")
    ap.add_argument("--features", type=int, default=0, help="also time FID/KID features on N images (eval extra)")
    args = ap.parse_args()
    results = {
        "machine": machine(),
        "models": [time_model(n, args.threads, args.runs) for n in sorted(load_manifest())],
        "pipeline": [time_pipeline(t, 5) for t in sorted({e["task"] for e in load_manifest().values()} - {"recon3d"})],
    }
    if args.features:
        results["features"] = time_features(args.features)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Speed on this machine's CPU",
        "",
        f"Regenerated by `python benchmarks/speed.py` on {results['machine']['processor']} "
        f"({results['machine']['cpu_count']} logical CPUs), ONNX Runtime CPU provider, "
        f"{args.threads} intra-op threads; 3 warm-ups, then {args.runs} timed runs; no other load.",
        "",
        "| model | input | median ms | min-max ms |",
        "|---|---|---:|---:|",
        *(
            f"| {m['model']} | {'x'.join(map(str, m['input']))} | {m['median_ms']} | {m['min_ms']}-{m['max_ms']} |"
            for m in results["models"]
        ),
        "",
        "| whole `portrait TASK` pipeline per image (detect, align, model, resize; no file I/O) | median ms |",
        "|---|---:|",
        *(f"| {p['task']} on the {p['image']} | {p['median_ms']} |" for p in results["pipeline"]),
        "",
    ]
    if "features" in results:
        f = results["features"]
        lines += [
            f"FID/KID: TF-Inception features of {f['images']} streamed {f['size']} images in {f['features_s']} s "
            f"(torch, {f['images']} images held as features only); FID + KID of two halves in {f['fid_kid_s']} s.",
            "",
        ]
    args.json.with_suffix(".md").write_text("\n".join(lines))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
