"""Batch throughput of ``portrait sketch`` on FS2K test photos: workers, threads, time split, memory.

    python benchmarks/throughput.py --data ../shared/datasets [--n 200] [--json docs/benchmarks/throughput.json]

Each configuration runs the same batch (``--n`` FS2K test photos, evenly spaced, into a fresh
output folder) in a fresh Python process, timed end to end (model and detector loading
included, as a user waits for it):

- ``default``: one process, ONNX Runtime's own thread count (one per core);
- ``1 worker x 1 thread`` and ``2 workers x 1 thread``: ``--workers N --threads 1``;
- ``1 worker x 1 thread, dlib HOG``: the same with ``--detector hog`` (the detector before MTCNN);
- ``dask local, 2 workers`` and ``ray local, 2 CPUs``: ``--backend dask|ray --workers 2
  --threads 1`` (a local cluster started and stopped inside the run; skipped when the
  extra is not installed).

Reported: images per second of each; ``speedup_2_workers`` (2 workers over 1, one thread
each: the scaling), ``speedup_vs_default`` (2 workers over the default run); the per-image
time split of the 1-worker run (``read``, ``detect``, ``model``, ``write``, ``other`` from the
``--json`` records) and ``overhead_ratio`` (seconds outside the model over seconds in it);
peak RSS of each process; and ``rss_growth_mb``, the resident memory the 1-worker process
gained from its 10th to its last image over a batch of ``--n-rss`` (300) photos.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONFIGS = {
    "default": [],
    "1 worker x 1 thread": ["--workers", "1", "--threads", "1"],
    "2 workers x 1 thread": ["--workers", "2", "--threads", "1"],
    "1 worker x 1 thread, dlib HOG": ["--workers", "1", "--threads", "1", "--detector", "hog"],
    "dask local, 2 workers": ["--backend", "dask", "--workers", "2", "--threads", "1"],
    "ray local, 2 CPUs": ["--backend", "ray", "--workers", "2", "--threads", "1"],
}
#: Configurations that need an optional extra, by the module they import.
EXTRAS = {"dask local, 2 workers": "distributed", "ray local, 2 CPUs": "ray"}
#: Run in a child process: the batch, then its own and its children's peak RSS (MiB) on stderr.
CHILD = """
import json, resource, sys
from portraitcli.cli.app import main
code = main(sys.argv[1:])
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"rss_main_mb": me, "rss_worker_mb": kids}), file=sys.stderr)
sys.exit(code)
"""


def fs2k_test_photos(data: Path, n: int) -> list[Path]:
    """``n`` FS2K test photos, evenly spaced over ``pairs.csv``'s test rows."""
    with (data / "fs2k" / "pairs.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "test"]
    step = max(1, len(rows) // n)
    return [data / "fs2k" / r["photo"] for r in rows[::step][:n]]


def run_config(photos: list[Path], args: list[str], out: Path) -> dict:
    """One batch in a fresh process: wall seconds, records, peak RSS."""
    argv = [sys.executable, "-c", CHILD, "sketch", *map(str, photos), "-o", str(out), "--json", *args]
    argv += ["--on-no-face", "skip"]
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - t0
    if done.returncode not in (0, 7):
        raise SystemExit(f"{args}: exit {done.returncode}: {done.stderr[-2000:]}")
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    rss = json.loads(done.stderr.strip().splitlines()[-1])
    return {"seconds": seconds, "records": records, **rss}


def rss_growth(photos: list[Path], out: Path) -> float:
    """MiB of resident memory a one-process batch gains from its 10th image to its last."""
    code = f"""
import sys
from pathlib import Path
sys.argv = ["x"]
from portraitcli.batch import RunOptions, plan, run
from portraitcli.cli.run import load_task
from portraitcli.face.pipeline import PipelineOptions
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
photos = {[str(p) for p in photos]!r}
opts = RunOptions(PipelineOptions(on_no_face="skip", size=400), threads=1, workers=1)
run_plan = plan("sketch", photos, Path({str(out)!r}), opts)
loaded = load_task("sketch", "cpu", 1, True)
marks = []
for i, record in enumerate(run(run_plan, loaded, opts)):
    if i in (9, len(photos) - 1):
        marks.append(rss())
print(marks[1] - marks[0])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--n-rss", type=int, default=300)
    parser.add_argument("--json", type=Path, default=REPO / "docs" / "benchmarks" / "throughput.json")
    args = parser.parse_args()

    from portraitcli.sysinfo import machine

    photos = fs2k_test_photos(args.data, args.n)
    result: dict = {"n_images": len(photos), "machine": machine(), "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in CONFIGS.items():
            if name in EXTRAS and importlib.util.find_spec(EXTRAS[name]) is None:
                result.setdefault("not_measured", []).append(f"{name}: {EXTRAS[name]} is not installed")
                continue
            print(name, flush=True)
            r = run_config(photos, extra, Path(tmp) / name.replace(" ", "_"))
            ok = [rec for rec in r["records"] if rec["status"] == "ok"]
            result["runs"][name] = {
                "args": " ".join(extra) or "(none)",
                "seconds": round(r["seconds"], 2),
                "images_per_second": round(len(photos) / r["seconds"], 3),
                "n_ok": len(ok),
                "peak_rss_main_mb": round(r["rss_main_mb"], 1),
                "peak_rss_worker_mb": round(r["rss_worker_mb"], 1)
                if "1 worker" not in name and name != "default"
                else None,
            }
            if name.startswith("1 worker x 1 thread"):
                split = {k: sum(rec["timing"][k] for rec in ok) / len(ok) for k in ok[0]["timing"]}
                overhead = round((sum(split.values()) - split["model"]) / split["model"], 3)
                result["runs"][name]["time_split_s"] = {k: round(v, 4) for k, v in split.items()}
                result["runs"][name]["overhead_ratio"] = overhead
                if name == "1 worker x 1 thread":
                    result["time_split_s"] = result["runs"][name]["time_split_s"]
                    result["overhead_ratio"] = overhead
        runs = result["runs"]
        two, one = runs["2 workers x 1 thread"], runs["1 worker x 1 thread"]
        result["speedup_2_workers"] = round(two["images_per_second"] / one["images_per_second"], 3)
        result["speedup_vs_default"] = round(two["images_per_second"] / runs["default"]["images_per_second"], 3)
        more = fs2k_test_photos(args.data, args.n_rss)
        result["rss_growth_mb"] = round(rss_growth(more, Path(tmp) / "rss"), 1)
        result["n_rss"] = len(more)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    args.json.with_suffix(".md").write_text(markdown(result))
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))


def markdown(result: dict) -> str:
    """The runs as a table, with the acceptance figures."""
    lines = [
        "# Batch throughput",
        "",
        f"`portrait sketch` on {result['n_images']} FS2K test photos, each configuration in a fresh process",
        "(model and detector loading included).",
        "Regenerate: `python benchmarks/throughput.py --data ../shared/datasets`.",
        "",
        "| run | arguments | images/s | seconds | peak RSS main (MiB) | peak RSS worker (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in result["runs"].items():
        worker = "-" if r["peak_rss_worker_mb"] is None else f"{r['peak_rss_worker_mb']:.0f}"
        lines.append(
            f"| {name} | `{r['args']}` | {r['images_per_second']:.2f} | {r['seconds']:.1f} | "
            f"{r['peak_rss_main_mb']:.0f} | {worker} |"
        )
    split = ", ".join(f"{k} {1000 * v:.0f} ms" for k, v in result["time_split_s"].items())
    lines += [
        "",
        f"- speedup of 2 workers over 1 (1 thread each): **{result['speedup_2_workers']:.2f}**; "
        f"over the default run: {result['speedup_vs_default']:.2f}",
        f"- per-image time, 1 worker: {split}; overhead ratio (outside the model / model) "
        f"**{result['overhead_ratio']:.2f}**",
        f"- resident memory gained over a {result['n_rss']}-image batch: **{result['rss_growth_mb']:.1f} MiB**",
    ]
    hog = result["runs"].get("1 worker x 1 thread, dlib HOG")
    if hog:
        lines.append(
            f"- with dlib HOG instead of MTCNN: detect {1000 * hog['time_split_s']['detect']:.0f} ms per image, "
            f"overhead ratio {hog['overhead_ratio']:.2f}"
        )
    lines += [f"- not measured: {item}" for item in result.get("not_measured", [])]
    m = result["machine"]
    lines += ["", f"Host: {m['processor']}, {m['cpu_count']} CPUs.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
