"""Face detectors on the project's datasets: recall, landmark agreement, time.

    python benchmarks/detector.py --data ../shared/datasets [--json docs/benchmarks/detector.json]
    python benchmarks/detector.py --data ../shared/datasets --fit     # refit mtcnn.HOG_BOX

Each dataset's images hold exactly one face, so ``recall`` is the share of images in which a
detector finds at least one. Rows: dlib HOG (the pipeline's detector until now), MTCNN alone,
and MTCNN with the HOG fallback (``--detector mtcnn``, as shipped). ``kps_error`` is the
median over faces found by both of the largest distance between the two detectors' first
face's 5 landmarks, in units of the inter-ocular distance (0 means the same crop);
``ms`` is the mean detection time per image (one thread, this host).

Sets: CUFS (all 411 photos), FS2K test photos (1,045), UTKFace's seeded test split (500
tight 200 px crops, the destylize split), toon photos (132, StyleGAN-made, 512 px).
``--fit`` measures :data:`portraitcli.face.mtcnn.HOG_BOX` on 300 FS2K *training* photos.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from portraitcli.face.detect import FaceDetector  # noqa: E402
from portraitcli.face.mtcnn import MTCNNFaceDetector  # noqa: E402
from portraitcli.io import read_image  # noqa: E402


def datasets(data: Path) -> dict[str, list[Path]]:
    """The benchmark's image lists, by set name."""
    from portraitcli.data.stylized import PairsConfig, split, utkface_files

    with (data / "cufs" / "pairs.csv").open() as f:
        cufs = [data / "cufs" / r["photo"] for r in csv.DictReader(f)]
    with (data / "fs2k" / "pairs.csv").open() as f:
        fs2k = [data / "fs2k" / r["photo"] for r in csv.DictReader(f) if r["split"] == "test"]
    _, utk = split(utkface_files(data), PairsConfig())
    toon = sorted((data / "toon").glob("*/photo/*.jpg"))
    return {"CUFS": cufs, "FS2K test": fs2k, "UTKFace test": utk, "toon photos": toon}


def fs2k_train(data: Path, n: int) -> list[Path]:
    with (data / "fs2k" / "pairs.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
    return [data / "fs2k" / r["photo"] for r in rows[:: max(1, len(rows) // n)][:n]]


def fit(data: Path, n: int) -> dict[str, float]:
    """Median (dx, dy, side) of dlib HOG's box relative to MTCNN's, over faces both find once."""
    hog, mtcnn = FaceDetector(), MTCNNFaceDetector(fallback=False)
    rows = []
    for path in fs2k_train(data, n):
        rgb = read_image(path).rgb
        faces, boxes = hog.detect(rgb), mtcnn.boxes(rgb)
        if len(faces) != 1 or len(boxes) != 1:
            continue
        x1, y1, x2, y2 = faces[0].bbox
        m = boxes[0]
        mw = m[2] - m[0] + 1
        rows.append(
            (
                ((x1 + x2) / 2 - (m[0] + m[2] + 1) / 2) / mw,
                ((y1 + y2) / 2 - (m[1] + m[3] + 1) / 2) / mw,
                (x2 - x1) / mw,
            )
        )
    med = np.median(np.asarray(rows), 0)
    return {
        "n": len(rows),
        "dx": round(float(med[0]), 3),
        "dy": round(float(med[1]), 3),
        "side": round(float(med[2]), 3),
    }


def _interocular(kps: np.ndarray) -> float:
    return float(np.linalg.norm(kps[:2].mean(0) - kps[2:4].mean(0)))


def evaluate(sets: dict[str, list[Path]]) -> dict:
    """Recall, landmark agreement with HOG and time of each detector on each set."""
    detectors = {
        "dlib HOG": FaceDetector(),
        "MTCNN": MTCNNFaceDetector(fallback=False),
        "MTCNN + HOG fallback": MTCNNFaceDetector(fallback=True),
    }
    out: dict = {}
    for set_name, files in sets.items():
        found = {k: 0 for k in detectors}
        seconds = {k: 0.0 for k in detectors}
        errors: dict[str, list[float]] = {k: [] for k in detectors}
        for path in files:
            rgb = read_image(path).rgb
            first = {}
            for name, det in detectors.items():
                t = time.perf_counter()
                faces = det.detect(rgb)
                seconds[name] += time.perf_counter() - t
                if faces:
                    found[name] += 1
                    first[name] = faces[0].kps
            if "dlib HOG" in first:
                ref = first["dlib HOG"]
                for name, kps in first.items():
                    errors[name].append(float(np.linalg.norm(kps - ref, axis=1).max()) / _interocular(ref))
        out[set_name] = {
            name: {
                "recall": round(found[name] / len(files), 4),
                "kps_error": round(float(np.median(errors[name])), 4) if errors[name] else None,
                "ms": round(1000 * seconds[name] / len(files), 1),
            }
            for name in detectors
        }
        out[set_name]["n"] = len(files)
        print(set_name, json.dumps(out[set_name]), flush=True)
    return out


def markdown(result: dict) -> str:
    names = [k for k in next(iter(result["sets"].values())) if k != "n"]
    lines = [
        "# Face detectors",
        "",
        "Regenerate: `python benchmarks/detector.py --data ../shared/datasets --json docs/benchmarks/detector.json`.",
        "Recall: the share of images (one face each) in which a face is found; kps error: median largest",
        "landmark distance to dlib HOG's, in inter-ocular distances; ms: mean per image, 1 thread.",
        "",
        "| set | n | " + " | ".join(f"{n} recall | {n} kps error | {n} ms" for n in names) + " |",
        "|---|---|" + "---|---|---|" * len(names),
    ]
    for set_name, row in result["sets"].items():
        cells = []
        for n in names:
            r = row[n]
            err = "-" if r["kps_error"] is None else f"{r['kps_error']:.3f}"
            cells += [f"{100 * r['recall']:.1f}%", err, f"{r['ms']:.0f}"]
        lines.append(f"| {set_name} | {row['n']} | " + " | ".join(cells) + " |")
    host = result["host"]
    lines += ["", f"Host: {host['processor']}, {host['cpu_count']} CPUs; busy hosts inflate ms.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--fit", action="store_true", help="measure HOG_BOX on FS2K training photos")
    parser.add_argument("--n-fit", type=int, default=300)
    parser.add_argument("--limit", type=int, default=0, help="at most this many images per set (a quick look)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    if args.fit:
        print(json.dumps(fit(args.data, args.n_fit)))
        return
    sets = datasets(args.data)
    if args.limit:
        sets = {k: v[:: max(1, len(v) // args.limit)][: args.limit] for k, v in sets.items()}
    from portraitcli.face.mtcnn import HOG_BOX
    from portraitcli.sysinfo import machine

    result = {"sets": evaluate(sets), "host": machine(), "hog_box": list(HOG_BOX)}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        args.json.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
