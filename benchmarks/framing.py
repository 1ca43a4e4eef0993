"""Face framing and compositing on real photos: mirrored padding, paste-back seams, --whole memory.

    python benchmarks/framing.py [--data ../shared/datasets] [-o docs/benchmarks] [--images docs/images]

1. Mirrored padding. UTKFace photos are tight 200x200 crops, so the CUFS framing of the
   sketch model reaches past their edges. For the first 200 faces of the seeded UTKFace test
   split (``portrait data stylized-pairs``' split, seed 0), the face is aligned to the shipped
   sketch template twice: with the old reflect-101 border and with today's replicated edge.
   A crop pixel shows *mirrored content* when its source lies more than 2 px outside the
   photo and the crop there equals the reflect-101 copy (within 2 gray levels) while that
   copy differs from the repeated edge pixel (by more than 10): content from inside the
   photo, such as a second eye. A face counts when over 1% of its crop is such content.
2. Paste-back seams. The shipped sketch model, ``portrait sketch --paste-back`` on two people
   side by side: at the face mask's boundary (0.4 < mask < 0.6) the tone step between the
   pasted face and the drawing around it (:func:`portraitcli.metrics.pixel.seam_step`: the
   change of the local mean the paste made there, doubled).
3. ``--whole`` on a 4000x3000 photo: peak memory (RSS of the process) and time.

Writes ``framing.md`` / ``framing.json`` and the before/after grid ``framing_before_after.png``.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from portraitcli.benchmark.pictures import grid, label  # noqa: E402
from portraitcli.data import data_root  # noqa: E402
from portraitcli.data.stylized import PairsConfig, split, utkface_files  # noqa: E402
from portraitcli.face.align import align_face, blank_outside, similarity_transform, warp_affine  # noqa: E402
from portraitcli.face.detect import FaceDetector  # noqa: E402
from portraitcli.face.paste import face_mask  # noqa: E402
from portraitcli.face.pipeline import drawn_at_scale, paste_faces  # noqa: E402
from portraitcli.io import read_image, write_image  # noqa: E402
from portraitcli.io.image import write_text_atomic  # noqa: E402
from portraitcli.metrics.pixel import seam_step  # noqa: E402
from portraitcli.models.base import load_model  # noqa: E402


def mirrored_share(photo: np.ndarray, old: np.ndarray, new: np.ndarray, M: np.ndarray) -> float:
    """The share of a crop that shows content from inside the photo beyond its edge (see above)."""
    h, w = photo.shape[:2]
    ch, cw = new.shape[:2]
    ys, xs = np.mgrid[0:ch, 0:cw]
    src = cv2.invertAffineTransform(M) @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    depth = np.maximum.reduce([-src[0], src[0] - (w - 1), -src[1], src[1] - (h - 1), np.zeros(xs.size)])
    far = depth.reshape(ch, cw) > 2
    edge = photo[np.clip(np.rint(src[1]), 0, h - 1).astype(int), np.clip(np.rint(src[0]), 0, w - 1).astype(int)]
    edge = edge.reshape(ch, cw, 3).astype(int)
    copies = np.abs(new.astype(int) - old).max(2) <= 2
    interior = np.abs(old.astype(int) - edge).max(2) > 10
    return float((far & copies & interior).mean())


def padding_study(data: Path, sketch, n: int = 200) -> tuple[dict, list]:
    _, test_files = split(utkface_files(data), PairsConfig())
    detector = FaceDetector()
    template = sketch.spec.template
    rows, examples = [], []
    for path in test_files[:n]:
        photo = read_image(path).rgb
        faces = detector.detect(photo)
        if not faces:
            continue
        M = similarity_transform(faces[0].kps, template.kps)
        old = warp_affine(photo, M, template.size)  # reflect-101, as before
        aligned = align_face(photo, faces[0], template)
        rows.append(
            {
                "name": path.name,
                "padded": aligned.padded,
                "mirrored_old": mirrored_share(photo, old, old, M),
                "mirrored_new": mirrored_share(photo, old, aligned.crop, M),
            }
        )
        examples.append((path.name, old, aligned))
    summary = {
        "photos": n,
        "faces": len(rows),
        "faces_padded": sum(r["padded"] > 0 for r in rows),
        "mean_padded_share": float(np.mean([r["padded"] for r in rows])),
        "faces_mirrored_old": sum(r["mirrored_old"] > 0.01 for r in rows),
        "faces_mirrored_new": sum(r["mirrored_new"] > 0.01 for r in rows),
        "max_mirrored_new": float(max(r["mirrored_new"] for r in rows)),
    }
    worst = sorted(range(len(rows)), key=lambda i: -rows[i]["padded"])[:6]
    return summary, [examples[i] for i in worst]


def before_after_grid(examples: list, sketch, path: Path) -> None:
    rows = []
    for _name, old, aligned in examples:
        before = sketch.run(old)
        after = blank_outside(sketch.run(aligned.crop), aligned.valid)
        rows.append(
            [
                label(Image.fromarray(old), "crop, mirrored (before)"),
                label(Image.fromarray(before), "sketch before"),
                label(Image.fromarray(aligned.crop), "crop, edge repeated"),
                label(Image.fromarray(after), "sketch now"),
            ]
        )
    grid(rows).save(path, optimize=True)


def seam_study(sketch, picture: Path) -> dict:
    from skimage import data as skdata

    astronaut = skdata.astronaut()
    photo = np.ascontiguousarray(np.concatenate([astronaut, astronaut[:, ::-1]], axis=1))
    detector = FaceDetector()
    faces = sorted((f for f in detector.detect(photo) if f.score >= 0.5), key=lambda f: f.bbox[0])
    plain = functools.partial(sketch.run, match_exposure=False)
    out = paste_faces(photo, faces, sketch.run, sketch.spec.template, detector, plain)
    template = sketch.spec.template
    scale = np.mean([np.sqrt(abs(np.linalg.det(similarity_transform(f.kps, template.kps)[:, :2]))) for f in faces])
    base = drawn_at_scale(photo, plain, float(scale))
    jumps = []
    for face in faces:
        mask = face_mask(photo.shape[:2], detector.outline(photo, face))
        band = (mask > 0.4) & (mask < 0.6)
        jumps.append(seam_step(out, base, band))
    write_image(picture, cv2.resize(out, (out.shape[1] // 2, out.shape[0] // 2), interpolation=cv2.INTER_AREA))
    return {"faces": len(faces), "seam_jump_gray_levels": jumps}


def whole_study(tmp: Path) -> dict:
    from skimage import data as skdata

    big = cv2.resize(skdata.astronaut(), (4000, 3000), interpolation=cv2.INTER_CUBIC)
    src = write_image(tmp / "big.jpg", big)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "portraitcli", "sketch", str(src), "-o", str(tmp / "out.png"), "--whole"],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
    shape = read_image(tmp / "out.png").rgb.shape
    return {
        "input": "4000x3000",
        "output": f"{shape[1]}x{shape[0]}",
        "peak_rss_mib": round(peak_mib),
        "seconds": round(seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--images", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    sketch = load_model("sketch", "cpu", 2)
    padding, examples = padding_study(data_root(args.data), sketch)
    before_after_grid(examples, sketch, args.images / "framing_before_after.png")
    seams = seam_study(sketch, args.images / "framing_paste_back.png")
    with tempfile.TemporaryDirectory() as tmp:
        whole = whole_study(Path(tmp))
    result = {"model": sketch.spec.name, "padding": padding, "paste_back": seams, "whole": whole}
    args.output.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.output / "framing.json", json.dumps(result, indent=2) + "\n")
    p, s, w = padding, seams, whole
    lines = [
        "# Face framing and compositing on real photos",
        "",
        f"Regenerated by `python benchmarks/framing.py --data ../shared/datasets` with `{sketch.spec.name}`. "
        "The protocol is in the script's docstring.",
        "",
        "| measure | before (mirrored padding, rectangle paste) | now |",
        "|---|---:|---:|",
        f"| UTKFace test faces whose CUFS crop reaches past the photo | {p['faces_padded']} of {p['faces']} | "
        f"{p['faces_padded']} of {p['faces']} |",
        f"| mean share of the crop outside the photo | {p['mean_padded_share']:.2f} | {p['mean_padded_share']:.2f} |",
        "| faces with mirrored content (over 1% of the crop) | "
        f"{p['faces_mirrored_old']} | {p['faces_mirrored_new']} |",
        "| paste-back seam, two people (gray levels, under 8 is invisible) | a gray patch in the colour photo | "
        + ", ".join(f"{j:.1f}" for j in s["seam_jump_gray_levels"])
        + " |",
        f"| `--whole` on a {w['input']} photo: peak memory, time (2 CPU threads) | - | "
        f"{w['peak_rss_mib']} MiB, {w['seconds']} s |",
        "",
        "The six UTKFace faces with the most padding: the old mirrored crop and its sketch, then "
        "today's crop (edge repeated) and sketch (blank paper where the photo ends):",
        "",
        "![before and after](../images/framing_before_after.png)",
        "",
        "`portrait sketch two.png --paste-back --faces all`: the faces, drawn in the CUFS framing, pasted into "
        "the whole photo drawn at their scale:",
        "",
        "![paste-back](../images/framing_paste_back.png)",
        "",
    ]
    write_text_atomic(args.output / "framing.md", "\n".join(lines))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
